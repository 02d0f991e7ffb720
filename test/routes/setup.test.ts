import t from 'tap';
import { translator, type MessageKey } from '../../src/i18n/index.js';
import { build, Client, text } from '../helper.js';
import { accountRow, count, expectRejected, HOSTILE, rolesOf, snapshot } from './route-helper.js';

/*
 * First-run setup: while no admin exists every page leads to /setup; the form creates the coop and
 * its admin and logs them in; afterwards /setup is gone (404) and cannot be replayed.
 */

const VALID = {
  coopName: 'La Ruche de Zoë',
  contactEmail: 'Contact@Ruche.example ',
  defaultLocale: 'en',
  timeZone: 'Europe/Brussels',
  adminName: 'Zoë Ñandú',
  adminEmail: 'zoe@ruche.example',
  password: 'Setup-Passphrase-123',
  passwordConfirm: 'Setup-Passphrase-123',
};

t.test('before setup every page leads to /setup', async (t) => {
  const { app } = await build(t, { setup: false });
  const c = new Client(app);
  for (const url of ['/', '/login', '/signup', '/account', '/admin', '/admin/accounts/1', '/password/forgot', '/nowhere']) {
    const res = await c.get(url);
    t.equal(res.statusCode, 303, `GET ${url}`);
    t.equal(res.headers.location, '/setup');
  }
  for (const url of ['/login', '/signup', '/account/profile', '/admin/settings']) {
    const res = await app.inject({ method: 'POST', url, payload: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.equal(res.statusCode, 303, `POST ${url}`);
    t.equal(res.headers.location, '/setup');
  }
  t.equal((await c.get('/healthz')).statusCode, 200, '/healthz works before setup');
  t.equal((await c.get('/static/css/app.css')).statusCode, 200, 'so do the styles the setup page needs');
  const res = await c.get('/setup');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), translator('fr')('setup.title'), 'in French, the default');
});

t.test('setup creates the coop and its admin and logs them in', async (t) => {
  const { app, db } = await build(t, { setup: false });
  const c = new Client(app, { 'accept-language': 'en' });
  let res = await c.get('/setup');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Set up your coop');
  res = await c.post('/setup', VALID);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin');
  t.match(db.$client.prepare('select * from coop').get(), {
    id: 1,
    name: 'La Ruche de Zoë',
    contact_email: 'contact@ruche.example',
    default_locale: 'en',
    time_zone: 'Europe/Brussels',
    currency: 'EUR',
  });
  const admin = accountRow(db, 'zoe@ruche.example')!;
  t.match(admin, { name: 'Zoë Ñandú', status: 'active', locale: 'en' });
  t.same(rolesOf(db, admin.id as number), ['admin', 'member']);
  t.equal(count(db, 'sessions', 'account_id = ?', admin.id), 1, 'logged in');
  res = await c.get('/admin');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Welcome, Zoë Ñandú');
  t.equal((await c.get('/')).statusCode, 200, 'the other pages open now');

  // Once an admin exists, /setup is gone, for everyone, and cannot be replayed.
  const before = snapshot(db);
  for (const who of [c, new Client(app)]) {
    res = await who.get('/setup');
    t.equal(res.statusCode, 404);
    t.match(text(res.body), /Page not found|Page introuvable/);
    res = await who.post('/setup', { ...VALID, adminEmail: 'mallory@example.org', coopName: 'Taken Over' });
    t.equal(res.statusCode, 404);
  }
  t.equal(snapshot(db), before, 'nothing changed');
  t.equal(count(db, 'accounts'), 1);
});

t.test('setup refuses bad input and stores nothing', async (t) => {
  const { app, db } = await build(t, { setup: false });
  const cases: Array<{ label: string; form: Record<string, string>; key: MessageKey; params?: Record<string, number>; echo?: string }> = [
    { label: 'empty', form: {}, key: 'error.required' },
    { label: 'empty coop name', form: { ...VALID, coopName: '' }, key: 'error.required' },
    { label: '101-character coop name', form: { ...VALID, coopName: 'C'.repeat(101) }, key: 'error.too_long', params: { max: 100 } },
    { label: 'script coop name', form: { ...VALID, coopName: HOSTILE.script }, key: 'error.invalid_name', echo: HOSTILE.script },
    { label: 'attribute breakout admin name', form: { ...VALID, adminName: HOSTILE.attr }, key: 'error.invalid_name', echo: HOSTILE.attr },
    { label: 'SQL admin name', form: { ...VALID, adminName: HOSTILE.sql }, key: 'error.invalid_name', echo: HOSTILE.sql },
    { label: 'control character', form: { ...VALID, adminName: HOSTILE.control }, key: 'error.invalid_name' },
    { label: 'bad contact email', form: { ...VALID, contactEmail: 'not-an-email' }, key: 'error.invalid_email', echo: 'not-an-email' },
    { label: 'inner space', form: { ...VALID, adminEmail: 'zoe @ruche.example' }, key: 'error.invalid_email', echo: 'zoe @ruche.example' },
    { label: '255-character email', form: { ...VALID, adminEmail: 'a'.repeat(243) + '@example.org' }, key: 'error.too_long', params: { max: 254 } },
    { label: 'language xx', form: { ...VALID, defaultLocale: 'xx' }, key: 'error.invalid_choice' },
    { label: 'time zone Mars/Olympus', form: { ...VALID, timeZone: 'Mars/Olympus' }, key: 'error.invalid_time_zone' },
    { label: 'short password', form: { ...VALID, password: 'Sh0rt!xy', passwordConfirm: 'Sh0rt!xy' }, key: 'error.too_short', params: { min: 10 } },
    { label: '201-character password', form: { ...VALID, password: 'q'.repeat(201), passwordConfirm: 'q'.repeat(201) }, key: 'error.too_long', params: { max: 200 } },
    { label: 'passwords differ', form: { ...VALID, passwordConfirm: 'Something-Else-123' }, key: 'error.password_mismatch' },
  ];
  for (const locale of ['fr', 'en'] as const) {
    const c = new Client(app, { 'accept-language': locale });
    await c.get('/setup');
    const tr = translator(locale);
    for (const k of cases) {
      await expectRejected(t, db, c, '/setup', { label: `[${locale}] ${k.label}`, form: k.form, message: tr(k.key, k.params), ...(k.echo ? { echo: k.echo } : {}) });
    }
  }
  t.equal(count(db, 'coop'), 0);
  t.equal(count(db, 'accounts'), 0);
  // Still open: a good form works after all the bad ones.
  const c = new Client(app);
  await c.get('/setup');
  t.equal((await c.post('/setup', VALID)).statusCode, 303);
});

t.test('setup needs the CSRF token too', async (t) => {
  const { app, db } = await build(t, { setup: false });
  const c = new Client(app);
  await c.get('/setup');
  for (const token of ['', 'A'.repeat(43)]) {
    const res = await c.post('/setup', { ...VALID, _csrf: token });
    t.equal(res.statusCode, 403);
  }
  t.equal(count(db, 'accounts'), 0);
  t.equal(count(db, 'coop'), 0);
});
