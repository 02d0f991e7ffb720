import t from 'tap';
import { requestPasswordReset } from '../../src/domain/password-reset.js';
import { translator, type Locale, type MessageKey, type Params } from '../../src/i18n/index.js';
import { build, Client, createAccount, text } from '../helper.js';
import {
  accountRow,
  count,
  escapeHtml,
  expectRejected,
  HOSTILE,
  outboxFor,
  resetLinkFrom,
  setCookie,
  snapshot,
  type BadInput,
} from './route-helper.js';

/*
 * Bad input on the public forms (sign-up, log in, forgotten password, reset, language): each is
 * refused with 422 and a message in the visitor's language, stores nothing, and echoes what was
 * typed back escaped, never a password.
 */

const LONG_NAME = 'N'.repeat(101);
const LONG_EMAIL = 'a'.repeat(243) + '@example.org'; // 255 characters
const LONG_PASSWORD = 'p'.repeat(201);
const SECRET = 'Unguessable-Secret-42';

type Case = { label: string; form: Record<string, string | string[]>; key: MessageKey; params?: Params; echo?: string };

function localise(cases: Case[], locale: Locale): BadInput[] {
  const tr = translator(locale);
  return cases.map((c) => ({ label: `[${locale}] ${c.label}`, form: c.form, message: tr(c.key, c.params), ...(c.echo !== undefined ? { echo: c.echo } : {}) }));
}

const signup = { name: 'Ana Martin', email: 'ana@example.org', phone: '', password: SECRET, passwordConfirm: SECRET };
const SIGNUP_CASES: Case[] = [
  { label: 'everything empty', form: { name: '', email: '', phone: '', password: '', passwordConfirm: '' }, key: 'error.required' },
  { label: 'nothing sent at all', form: {}, key: 'error.required' },
  { label: 'blank name', form: { ...signup, name: '   ' }, key: 'error.required' },
  { label: '101-character name', form: { ...signup, name: LONG_NAME }, key: 'error.too_long', params: { max: 100 }, echo: LONG_NAME },
  { label: '255-character email', form: { ...signup, email: LONG_EMAIL }, key: 'error.too_long', params: { max: 254 }, echo: LONG_EMAIL },
  { label: '201-character password', form: { ...signup, password: LONG_PASSWORD, passwordConfirm: LONG_PASSWORD }, key: 'error.too_long', params: { max: 200 } },
  { label: 'short password', form: { ...signup, password: 'Sh0rt!', passwordConfirm: 'Sh0rt!' }, key: 'error.too_short', params: { min: 10 } },
  { label: 'passwords differ', form: { ...signup, passwordConfirm: SECRET + 'x' }, key: 'error.password_mismatch' },
  { label: 'email not-an-email', form: { ...signup, email: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
  { label: 'email with an inner space', form: { ...signup, email: 'ana @example.org' }, key: 'error.invalid_email', echo: 'ana @example.org' },
  { label: 'phone abc', form: { ...signup, phone: 'abc' }, key: 'error.invalid_phone', echo: 'abc' },
  { label: 'script in the name', form: { ...signup, name: HOSTILE.script }, key: 'error.invalid_name', echo: HOSTILE.script },
  { label: 'attribute breakout in the name', form: { ...signup, name: HOSTILE.attr }, key: 'error.invalid_name', echo: HOSTILE.attr },
  { label: 'SQL in the name', form: { ...signup, name: HOSTILE.sql }, key: 'error.invalid_name', echo: HOSTILE.sql },
  { label: 'SQL in the email', form: { ...signup, email: HOSTILE.sql }, key: 'error.invalid_email', echo: HOSTILE.sql },
  { label: 'script in the email', form: { ...signup, email: HOSTILE.script }, key: 'error.invalid_email', echo: HOSTILE.script },
  { label: 'script in the phone', form: { ...signup, phone: HOSTILE.attr }, key: 'error.invalid_phone', echo: HOSTILE.attr },
  { label: 'bell character in the name', form: { ...signup, name: HOSTILE.control }, key: 'error.invalid_name' },
  { label: 'newline in the name', form: { ...signup, name: HOSTILE.newline }, key: 'error.invalid_name' },
  { label: 'NUL in the name', form: { ...signup, name: HOSTILE.nul }, key: 'error.invalid_name' },
  { label: 'NUL in the email', form: { ...signup, email: 'ana\u0000@example.org' }, key: 'error.invalid_email' },
  { label: 'a name with no letter', form: { ...signup, name: '1234' }, key: 'error.invalid_name' },
  { label: 'two names (array)', form: { ...signup, name: ['Ana', 'Bob'] }, key: 'error.invalid_value' },
];

t.test('sign-up refuses bad input in French and English', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'taken@example.org' });
  for (const locale of ['en', 'fr'] as const) {
    const c = new Client(app, { 'accept-language': locale });
    await c.get('/signup');
    for (const bad of localise(SIGNUP_CASES, locale)) await expectRejected(t, db, c, '/signup', bad);
    const taken = translator(locale)('error.email_taken');
    await expectRejected(t, db, c, '/signup', { label: `[${locale}] email taken (other case, spaces)`, form: { ...signup, email: '  TAKEN@example.org ' }, message: taken });
  }
  // The French and English messages really differ.
  const en = new Client(app, { 'accept-language': 'en-GB,en;q=0.9' });
  await en.get('/signup');
  let res = await en.post('/signup', { ...signup, email: 'not-an-email' });
  t.match(text(res.body), 'Enter an email address such as name@example.org, without spaces.');
  const fr = new Client(app, { 'accept-language': 'fr-FR' });
  await fr.get('/signup');
  res = await fr.post('/signup', { ...signup, email: 'not-an-email' });
  t.match(text(res.body), 'Saisissez une adresse email comme nom@exemple.fr, sans espace.');
  t.match(res.body, /id="f-email"[^>]*aria-invalid="true"/, 'the field is marked invalid');
  t.equal(count(db, 'accounts'), 2, 'only the admin and the taken account exist');
  t.equal(count(db, 'outbox'), 0);
});

t.test('sign-up accepts names in any script and trims what it should', async (t) => {
  const { app, db } = await build(t);
  const accepted = [
    { name: HOSTILE.unicode, email: 'zoe@example.org' },
    { name: "Seán O'Brien-Smith (fils)", email: 'sean@example.org' },
    { name: '  李小龍  ', email: 'li@example.org' },
    { name: 'Ферма & Co', email: 'ferma@example.org', phone: '+33 (0)6 12-34.56.78' },
  ];
  for (const a of accepted) {
    const c = new Client(app, { 'accept-language': 'en' });
    await c.get('/signup');
    const res = await c.post('/signup', { ...signup, ...a });
    t.equal(res.statusCode, 303, `${a.name} is accepted`);
    const row = accountRow(db, a.email)!;
    t.equal(row.name, a.name.trim());
    t.equal(row.phone, a.phone ?? null);
    const home = await c.get('/');
    t.ok(home.body.includes(escapeHtml(a.name.trim())), 'the name is shown escaped');
  }
  t.equal(count(db, 'outbox'), accepted.length, 'one welcome email each');
});

const login = { email: 'ana@example.org', password: SECRET };
const LOGIN_CASES: Case[] = [
  { label: 'empty', form: { email: '', password: '' }, key: 'error.required' },
  { label: 'missing password', form: { email: 'ana@example.org' }, key: 'error.required', echo: 'ana@example.org' },
  { label: 'not-an-email', form: { ...login, email: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
  { label: 'email with an inner space', form: { ...login, email: 'ana @example.org' }, key: 'error.invalid_email', echo: 'ana @example.org' },
  { label: '255-character email', form: { ...login, email: LONG_EMAIL }, key: 'error.too_long', params: { max: 254 } },
  { label: '201-character password', form: { ...login, password: LONG_PASSWORD }, key: 'error.too_long', params: { max: 200 } },
  { label: 'SQL as email', form: { ...login, email: "' OR 1=1 --" }, key: 'error.invalid_email', echo: "' OR 1=1 --" },
  { label: 'script as email', form: { ...login, email: HOSTILE.script }, key: 'error.invalid_email', echo: HOSTILE.script },
  { label: 'SQL as password', form: { email: 'ana@example.org', password: "' OR '1'='1" }, key: 'error.login_failed' },
  { label: 'wrong password', form: { email: 'ana@example.org', password: SECRET }, key: 'error.login_failed', echo: 'ana@example.org' },
];

t.test('log in refuses bad input, never echoes the password', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  for (const locale of ['en', 'fr'] as const) {
    const c = new Client(app, { 'accept-language': locale });
    await c.get('/login');
    for (const bad of localise(LOGIN_CASES, locale)) await expectRejected(t, db, c, '/login', bad);
    // A hostile "next" is escaped in the hidden field and never used as a redirect.
    const res = await expectRejected(t, db, c, '/login', {
      label: `[${locale}] hostile next`,
      form: { ...login, next: '/"><script>alert(1)</script>' },
      message: translator(locale)('error.login_failed'),
    });
    t.notOk(res.headers.location);
  }
  t.equal(count(db, 'sessions', 'account_id is not null'), 0, 'nobody is logged in');
});

t.test('forgotten password refuses bad input and queues nothing', async (t) => {
  const { app, db } = await build(t);
  const cases: Case[] = [
    { label: 'empty', form: { email: '' }, key: 'error.required' },
    { label: 'not-an-email', form: { email: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
    { label: 'inner space', form: { email: 'admin @carnet.test' }, key: 'error.invalid_email', echo: 'admin @carnet.test' },
    { label: '255-character email', form: { email: LONG_EMAIL }, key: 'error.too_long', params: { max: 254 } },
    { label: 'script', form: { email: HOSTILE.script }, key: 'error.invalid_email', echo: HOSTILE.script },
    { label: 'SQL', form: { email: HOSTILE.sql }, key: 'error.invalid_email', echo: HOSTILE.sql },
    { label: 'control character', form: { email: 'admin\u0007@carnet.test' }, key: 'error.invalid_email' },
  ];
  for (const locale of ['en', 'fr'] as const) {
    const c = new Client(app, { 'accept-language': locale });
    await c.get('/password/forgot');
    for (const bad of localise(cases, locale)) await expectRejected(t, db, c, '/password/forgot', bad);
  }
  t.equal(count(db, 'outbox'), 0);
  t.equal(count(db, 'password_resets'), 0);
});

t.test('choosing a new password refuses bad input and keeps the link usable', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  requestPasswordReset(db, app.mailer, 'ana@example.org');
  const link = resetLinkFrom(outboxFor(db, 'ana@example.org')[0]!);
  const cases: Case[] = [
    { label: 'empty', form: { password: '', passwordConfirm: '' }, key: 'error.required' },
    { label: 'short', form: { password: 'Sh0rt!', passwordConfirm: 'Sh0rt!' }, key: 'error.too_short', params: { min: 10 } },
    { label: '201 characters', form: { password: LONG_PASSWORD, passwordConfirm: LONG_PASSWORD }, key: 'error.too_long', params: { max: 200 } },
    { label: 'different', form: { password: SECRET, passwordConfirm: SECRET + '!' }, key: 'error.password_mismatch' },
    { label: 'confirmation missing', form: { password: SECRET }, key: 'error.required' },
  ];
  for (const locale of ['en', 'fr'] as const) {
    const c = new Client(app, { 'accept-language': locale });
    await c.get(link);
    for (const bad of localise(cases, locale)) await expectRejected(t, db, c, link, bad);
  }
  t.equal(count(db, 'password_resets', 'used_at is null'), 1, 'the link still works');
  const c = new Client(app);
  t.equal((await c.get(link)).statusCode, 200);
  t.equal((await c.post(link, { password: SECRET, passwordConfirm: SECRET })).statusCode, 303);
});

t.test('the language switch refuses a language Carnet does not speak', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org', locale: 'fr' });
  const visitor = new Client(app, { 'accept-language': 'en' });
  await visitor.get('/');
  const member = await new Client(app, { 'accept-language': 'en' }).login('ana@example.org');
  await member.get('/');
  for (const c of [visitor, member]) {
    for (const locale of ['xx', '', 'EN', 'en-US', HOSTILE.script, HOSTILE.sql, ['fr', 'en']]) {
      const before = snapshot(db);
      const res = await c.post('/lang', { locale, next: '/' });
      t.equal(res.statusCode, 422, `locale ${JSON.stringify(locale)}: 422`);
      t.equal(snapshot(db), before, 'nothing stored');
      t.notOk(setCookie(res, 'carnet_lang'), 'no language cookie');
      t.notOk(res.body.includes('<script>alert(1)</script>'));
    }
    const res = await c.post('/lang', { next: '/' });
    t.equal(res.statusCode, 422, 'no locale at all');
  }
  t.match(text((await visitor.post('/lang', { locale: 'xx' })).body), 'Something in the request is not valid', 'the 422 page is in English');
  t.equal(accountRow(db, 'ana@example.org')!.locale, 'fr');
});

t.test('a body that cannot be parsed is refused politely', async (t) => {
  const { app, db } = await build(t);
  const c = new Client(app, { 'accept-language': 'en' });
  await c.get('/signup');
  const before = snapshot(db);
  let res = await c.post('/signup', {}, { 'content-type': 'application/json' });
  t.equal(res.statusCode, 422, 'malformed JSON');
  t.match(text(res.body), 'Something in the request is not valid');
  res = await app.inject({ method: 'POST', url: '/signup', payload: 'x', headers: { 'content-type': 'text/csv', cookie: `carnet_session=${c.cookies.get('carnet_session')}` } });
  t.equal(res.statusCode, 422, 'unsupported content type');
  t.notMatch(res.body, /node_modules|at \S+ \(/);
  t.equal(snapshot(db), before);
});
