import t from 'tap';
import { translator, type Locale, type MessageKey, type Params } from '../../src/i18n/index.js';
import { build, createAccount, loggedIn, PASSWORD, text } from '../helper.js';
import { accountRow, count, escapeHtml, expectRejected, HOSTILE, outboxFor, rolesOf, snapshot, type BadInput } from './route-helper.js';

/*
 * Bad input on the forms behind a login: account details and password, and the admin's roles,
 * settings and test email. Same rules as the public forms: 422, a message in the account's
 * language, nothing stored, values echoed escaped, passwords never.
 */

const LONG_NAME = 'N'.repeat(101);
const LONG_EMAIL = 'a'.repeat(243) + '@example.org';
const LONG_PASSWORD = 'p'.repeat(201);
const NEW = 'Brand-New-Passphrase-7';

type Case = { label: string; form: Record<string, string | string[]>; key: MessageKey; params?: Params; echo?: string };

function localise(cases: Case[], locale: Locale): BadInput[] {
  const tr = translator(locale);
  return cases.map((c) => ({ label: `[${locale}] ${c.label}`, form: c.form, message: tr(c.key, c.params), ...(c.echo !== undefined ? { echo: c.echo } : {}) }));
}

const profile = { name: 'Ana Martin', email: 'ana@example.org', phone: '', locale: 'fr' };
const PROFILE_CASES: Case[] = [
  { label: 'empty', form: { name: '', email: '', phone: '', locale: '' }, key: 'error.required' },
  { label: 'no locale', form: { name: 'Ana', email: 'ana@example.org' }, key: 'error.required' },
  { label: '101-character name', form: { ...profile, name: LONG_NAME }, key: 'error.too_long', params: { max: 100 }, echo: LONG_NAME },
  { label: '255-character email', form: { ...profile, email: LONG_EMAIL }, key: 'error.too_long', params: { max: 254 }, echo: LONG_EMAIL },
  { label: 'not-an-email', form: { ...profile, email: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
  { label: 'inner space', form: { ...profile, email: 'ana @example.org' }, key: 'error.invalid_email', echo: 'ana @example.org' },
  { label: 'phone abc', form: { ...profile, phone: 'abc' }, key: 'error.invalid_phone', echo: 'abc' },
  { label: '31-character phone', form: { ...profile, phone: '0'.repeat(31) }, key: 'error.too_long', params: { max: 30 } },
  { label: 'language xx', form: { ...profile, locale: 'xx' }, key: 'error.invalid_choice' },
  { label: 'script name', form: { ...profile, name: HOSTILE.script }, key: 'error.invalid_name', echo: HOSTILE.script },
  { label: 'attribute breakout name', form: { ...profile, name: HOSTILE.attr }, key: 'error.invalid_name', echo: HOSTILE.attr },
  { label: 'SQL name', form: { ...profile, name: HOSTILE.sql }, key: 'error.invalid_name', echo: HOSTILE.sql },
  { label: 'SQL phone', form: { ...profile, phone: HOSTILE.sql }, key: 'error.invalid_phone', echo: HOSTILE.sql },
  { label: 'control character', form: { ...profile, name: HOSTILE.control }, key: 'error.invalid_name' },
  { label: 'newline', form: { ...profile, name: HOSTILE.newline }, key: 'error.invalid_name' },
  { label: 'taken email', form: { ...profile, email: 'BOB@example.org' }, key: 'error.email_taken', echo: 'BOB@example.org' },
];

const PASSWORD_CASES: Case[] = [
  { label: 'empty', form: { currentPassword: '', password: '', passwordConfirm: '' }, key: 'error.required' },
  { label: 'new too short', form: { currentPassword: PASSWORD, password: 'Sh0rt!', passwordConfirm: 'Sh0rt!' }, key: 'error.too_short', params: { min: 10 } },
  { label: 'new 201 characters', form: { currentPassword: PASSWORD, password: LONG_PASSWORD, passwordConfirm: LONG_PASSWORD }, key: 'error.too_long', params: { max: 200 } },
  { label: 'current 201 characters', form: { currentPassword: LONG_PASSWORD, password: NEW, passwordConfirm: NEW }, key: 'error.too_long', params: { max: 200 } },
  { label: 'mismatch', form: { currentPassword: PASSWORD, password: NEW, passwordConfirm: NEW + '!' }, key: 'error.password_mismatch' },
  { label: 'wrong current password', form: { currentPassword: 'Not-The-Password-1', password: NEW, passwordConfirm: NEW }, key: 'error.wrong_password' },
];

for (const locale of ['fr', 'en'] as const) {
  t.test(`account forms refuse bad input (${locale})`, async (t) => {
    const { app, db } = await build(t);
    await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale });
    await createAccount(db, { email: 'bob@example.org', name: 'Bob' });
    // The account's language wins over the browser's: send the other one.
    const c = await loggedIn(app, 'ana@example.org', { 'accept-language': locale === 'fr' ? 'en' : 'fr' });
    const hash = accountRow(db, 'ana@example.org')!.password_hash;
    for (const bad of localise(PROFILE_CASES, locale)) await expectRejected(t, db, c, '/account/profile', bad, '/account');
    for (const bad of localise(PASSWORD_CASES, locale)) await expectRejected(t, db, c, '/account/password', bad, '/account');
    t.equal(accountRow(db, 'ana@example.org')!.password_hash, hash, 'the password is unchanged');
    t.equal(count(db, 'outbox'), 0);

    // Unicode names are accepted, and shown escaped.
    await c.get('/account');
    const res = await c.post('/account/profile', { name: HOSTILE.unicode, email: 'ANA@example.org ', phone: '+33 6 12 34 56 78', locale });
    t.equal(res.statusCode, 303);
    t.match(accountRow(db, 'ana@example.org'), { name: HOSTILE.unicode, phone: '+33 6 12 34 56 78', locale });
    t.ok((await c.get('/account')).body.includes(escapeHtml(HOSTILE.unicode)));
  });
}

t.test('admin forms refuse bad input', async (t) => {
  const { app, db } = await build(t);
  const member = await createAccount(db, { email: 'mia@example.org', name: 'Mia', roles: ['member'] });
  const admin = await loggedIn(app, 'admin@carnet.test', { 'accept-language': 'en' });
  const fr = translator('fr'); // the seeded admin reads French

  // Roles: unknown roles are refused and nothing changes.
  const roleCases: Case[] = [
    { label: 'superuser', form: { roles: 'superuser' }, key: 'error.invalid_choice' },
    { label: 'member and superuser', form: { roles: ['member', 'superuser'] }, key: 'error.invalid_choice' },
    { label: 'script role', form: { roles: HOSTILE.script }, key: 'error.invalid_choice' },
    { label: 'SQL role', form: { roles: HOSTILE.sql }, key: 'error.invalid_choice' },
  ];
  for (const bad of localise(roleCases, 'fr')) await expectRejected(t, db, admin, `/admin/accounts/${member}/roles`, bad, `/admin/accounts/${member}`);
  t.same(rolesOf(db, member), ['member']);

  // A role sent twice (a replayed or hand-made form) is one role, not a crash.
  await admin.get(`/admin/accounts/${member}`);
  let res = await admin.post(`/admin/accounts/${member}/roles`, { roles: ['producer', 'producer'] });
  t.equal(res.statusCode, 303, 'a duplicated new role is merged');
  t.same(rolesOf(db, member), ['producer']);
  await admin.get(`/admin/accounts/${member}`);
  res = await admin.post(`/admin/accounts/${member}/roles`, { roles: ['producer', 'producer', 'member', 'member'] });
  t.equal(res.statusCode, 303, 'duplicate roles are merged');
  t.same(rolesOf(db, member), ['member', 'producer']);

  // Settings.
  const settings = { name: 'Coop Test', contactEmail: 'contact@carnet.test', defaultLocale: 'fr', timeZone: 'Europe/Paris' };
  const settingsCases: Case[] = [
    { label: 'empty', form: { name: '', contactEmail: '', defaultLocale: '', timeZone: '' }, key: 'error.required' },
    { label: '101-character name', form: { ...settings, name: LONG_NAME }, key: 'error.too_long', params: { max: 100 }, echo: LONG_NAME },
    { label: 'bad contact email', form: { ...settings, contactEmail: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
    { label: '255-character email', form: { ...settings, contactEmail: LONG_EMAIL }, key: 'error.too_long', params: { max: 254 } },
    { label: 'language xx', form: { ...settings, defaultLocale: 'xx' }, key: 'error.invalid_choice' },
    { label: 'time zone Mars/Olympus', form: { ...settings, timeZone: 'Mars/Olympus' }, key: 'error.invalid_time_zone' },
    { label: 'script time zone', form: { ...settings, timeZone: HOSTILE.script }, key: 'error.invalid_time_zone' },
    { label: 'script name', form: { ...settings, name: HOSTILE.script }, key: 'error.invalid_name', echo: HOSTILE.script },
    { label: 'attribute breakout', form: { ...settings, name: HOSTILE.attr }, key: 'error.invalid_name', echo: HOSTILE.attr },
    { label: 'SQL', form: { ...settings, name: HOSTILE.sql }, key: 'error.invalid_name', echo: HOSTILE.sql },
    { label: 'control character', form: { ...settings, name: 'Coop\u0001' }, key: 'error.invalid_name' },
  ];
  for (const bad of localise(settingsCases, 'fr')) await expectRejected(t, db, admin, '/admin/settings', bad, '/admin/settings');
  t.match(db.$client.prepare('select name, time_zone from coop').get(), { name: 'Coop Test', time_zone: 'Europe/Paris' });

  // The settings page keeps the checkbox as sent when it re-shows the form.
  await admin.get('/admin/settings');
  res = await admin.post('/admin/settings', { ...settings, timeZone: 'Mars/Olympus', requireApproval: 'on' });
  t.match(res.body, /name="requireApproval"[^>]*checked/);
  t.match(text(res.body), fr('error.invalid_time_zone'));

  await admin.get('/admin/settings');
  res = await admin.post('/admin/settings', { ...settings, name: 'Coopérative Zoë Ñandú', timeZone: 'Pacific/Auckland' });
  t.equal(res.statusCode, 303, 'unicode coop names are accepted');
  t.match(db.$client.prepare('select name, time_zone, require_approval from coop').get(), {
    name: 'Coopérative Zoë Ñandú',
    time_zone: 'Pacific/Auckland',
    require_approval: 0,
  });

  // Test email.
  const testCases: Case[] = [
    { label: 'empty', form: { to: '' }, key: 'error.required' },
    { label: 'not-an-email', form: { to: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
    { label: 'inner space', form: { to: 'ana @example.org' }, key: 'error.invalid_email', echo: 'ana @example.org' },
    { label: '255 characters', form: { to: LONG_EMAIL }, key: 'error.too_long', params: { max: 254 } },
    { label: 'script', form: { to: HOSTILE.script }, key: 'error.invalid_email', echo: HOSTILE.script },
    { label: 'header injection', form: { to: 'a@example.org\r\nBcc: victim@example.org' }, key: 'error.invalid_email' },
  ];
  const outbox = count(db, 'outbox');
  for (const bad of localise(testCases, 'fr')) await expectRejected(t, db, admin, '/admin/outbox/test', bad, '/admin/outbox');
  t.equal(count(db, 'outbox'), outbox, 'no email queued');
  t.equal(outboxFor(db).length, outbox);

  // Search with hostile text is harmless and echoed escaped.
  for (const q of [HOSTILE.script, HOSTILE.sql, HOSTILE.attr]) {
    const before = snapshot(db);
    res = await admin.get('/admin/accounts?q=' + encodeURIComponent(q));
    t.equal(res.statusCode, 200);
    t.ok(res.body.includes(escapeHtml(q)), 'the search is echoed escaped');
    t.notOk(res.body.includes('<script>alert(1)</script>'));
    t.notOk(res.body.includes('<img src=x'));
    t.match(text(res.body), fr('admin.no_accounts'));
    t.equal(snapshot(db), before);
  }
  t.equal(count(db, 'accounts'), 2, 'the accounts table is still there');
});
