import t, { type Test } from 'tap';
import {
  checkboxField,
  emailField,
  localeField,
  nameField,
  newPasswordField,
  PASSWORD_MAX,
  PASSWORD_MIN,
  passwordField,
  phoneField,
  timeZoneField,
} from '../../src/domain/fields.js';

type Schema = { safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: Array<{ message: string }> } } };

/** Asserts each [input, expected output] is accepted and each input in refused is refused (with the message when given). */
function table(t: Test, schema: Schema, accepted: Array<[unknown, unknown]>, refused: Array<[unknown, string?]>): void {
  for (const [input, expected] of accepted) {
    const r = schema.safeParse(input);
    t.ok(r.success, `accepts ${JSON.stringify(input)}`);
    if (r.success) t.same(r.data, expected, `${JSON.stringify(input)} → ${JSON.stringify(expected)}`);
  }
  for (const [input, message] of refused) {
    const r = schema.safeParse(input);
    t.notOk(r.success, `refuses ${JSON.stringify(input)?.slice(0, 40)}`);
    if (!r.success && message) t.equal(r.error.issues[0]!.message, message, `message for ${JSON.stringify(input)?.slice(0, 40)}`);
  }
}

t.test('names', async (t) => {
  table(
    t,
    nameField,
    [
      ['Zoë Ñandú', 'Zoë Ñandú'],
      ["O'Brien", "O'Brien"],
      ['O’Brien', 'O’Brien'],
      ['Jean-Pierre', 'Jean-Pierre'],
      ['GAEC des 3 Chênes (Bio)', 'GAEC des 3 Chênes (Bio)'],
      ['  Ana  ', 'Ana'],
      ['Ferme & Fils', 'Ferme & Fils'],
      ['李小龍', '李小龍'],
      ['a'.repeat(100), 'a'.repeat(100)],
      // decomposed é: a letter followed by a combining mark
      ['Rene\u0301', 'Rene\u0301'],
    ],
    [
      ['', 'error.required'],
      ['   ', 'error.required'],
      ['a'.repeat(101)],
      ['<script>', 'error.invalid_name'],
      ['a;b', 'error.invalid_name'],
      ['Ana\nBob', 'error.invalid_name'],
      ['Ana\tBob', 'error.invalid_name'],
      ['Ana\u0000', 'error.invalid_name'],
      ['Ana\u007f', 'error.invalid_name'],
      ['12345', 'error.invalid_name'],
      ['(1) - 2', 'error.invalid_name'],
      ['Ana "Bob"', 'error.invalid_name'],
      [undefined, 'error.required'],
      [42, 'error.required'],
    ],
  );
});

t.test('emails', async (t) => {
  const local = 'a'.repeat(64);
  const long = `${local}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(50)}.org`; // 246 chars, valid
  table(
    t,
    emailField,
    [
      ['ana@example.org', 'ana@example.org'],
      ['  Ana.Bel@Example.ORG ', 'ana.bel@example.org'],
      ['ana+carnet@ex-ample.fr', 'ana+carnet@ex-ample.fr'],
      [long, long],
    ],
    [
      ['', 'error.required'],
      ['   ', 'error.required'],
      ['ana bel@example.org', 'error.invalid_email'],
      ['ana@exa mple.org', 'error.invalid_email'],
      ['ana.example.org', 'error.invalid_email'],
      ['ana@', 'error.invalid_email'],
      ['@example.org', 'error.invalid_email'],
      ['ana@example', 'error.invalid_email'],
      ['<ana@example.org>', 'error.invalid_email'],
      [`${'a'.repeat(245)}@example.org`], // 257 chars
      [`${'a'.repeat(243)}@example.org`], // 255 chars
      [undefined, 'error.required'],
    ],
  );
});

t.test('phones', async (t) => {
  table(
    t,
    phoneField,
    [
      ['+33 6 12 34 56 78', '+33 6 12 34 56 78'],
      ['06.12.34.56.78', '06.12.34.56.78'],
      ['+1 (555) 123-4567', '+1 (555) 123-4567'],
      ['(555) 123-4567', '(555) 123-4567'],
      ['0612345678', '0612345678'],
      ['  0612345678  ', '0612345678'],
      ['', undefined],
      ['   ', undefined],
      [undefined, undefined],
    ],
    [
      ['abc', 'error.invalid_phone'],
      ['12', 'error.invalid_phone'],
      ['+33 6 12 34 56 7a', 'error.invalid_phone'],
      ['06 12 34 56 78 -', 'error.invalid_phone'],
      ['1'.repeat(31)],
      ['06\n12345678', 'error.invalid_phone'],
    ],
  );
});

t.test('passwords', async (t) => {
  const min = 'x'.repeat(PASSWORD_MIN);
  const max = 'y'.repeat(PASSWORD_MAX);
  table(
    t,
    newPasswordField,
    [
      [min, min],
      [max, max],
      // never trimmed: the spaces are part of the password
      ['  spaced out  ', '  spaced out  '],
    ],
    [['', 'error.required'], ['x'.repeat(PASSWORD_MIN - 1)], ['y'.repeat(PASSWORD_MAX + 1)], [undefined, 'error.required']],
  );
  table(
    t,
    passwordField,
    [
      ['short', 'short'],
      [' a ', ' a '],
      [max, max],
    ],
    [['', 'error.required'], ['y'.repeat(PASSWORD_MAX + 1)], [undefined, 'error.required']],
  );
});

t.test('locale', async (t) => {
  table(
    t,
    localeField,
    [
      ['fr', 'fr'],
      ['en', 'en'],
    ],
    [['de', 'error.invalid_choice'], ['FR', 'error.invalid_choice'], ['', 'error.invalid_choice'], [undefined, 'error.required']],
  );
});

t.test('time zone', async (t) => {
  table(
    t,
    timeZoneField,
    [
      ['Europe/Paris', 'Europe/Paris'],
      ['europe/paris', 'Europe/Paris'],
      ['UTC', 'UTC'],
      ['Asia/Kolkata', 'Asia/Kolkata'],
      ['America/Martinique', 'America/Martinique'],
      ['Indian/Reunion', 'Indian/Reunion'],
    ],
    [['Mars/Olympus', 'error.invalid_time_zone'], ['', 'error.invalid_time_zone'], ['+01:00', 'error.invalid_time_zone'], [undefined, 'error.required']],
  );
});

t.test('checkbox', async (t) => {
  table(
    t,
    checkboxField,
    [
      ['on', true],
      ['true', true],
      ['1', true],
      [true, true],
      [undefined, false],
      ['', false],
      ['off', false],
      ['0', false],
      [false, false],
    ],
    [],
  );
});
