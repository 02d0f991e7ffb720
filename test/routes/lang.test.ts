import t from 'tap';
import { build, Client, createAccount, loggedIn, PASSWORD, text } from '../helper.js';
import { accountRow, setCookie, snapshot } from './route-helper.js';

/*
 * Language: the account's setting beats the switcher's cookie, which beats Accept-Language, which
 * beats the coop's default. POST /lang remembers the choice; its next= only goes to this site.
 */

/** The language a page is in, from <html lang>. */
async function langOf(app: Parameters<typeof loggedIn>[0], headers: Record<string, string>, c?: Client): Promise<string> {
  const res = c ? await c.get('/', headers) : await app.inject({ method: 'GET', url: '/', headers });
  const m = /<html lang="(\w+)">/.exec(res.body);
  return m?.[1] ?? '?';
}

t.test('which language a page is in', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org', locale: 'en' });
  // Coop default (fr) when nothing else says.
  t.equal(await langOf(app, {}), 'fr', 'coop default');
  t.equal(await langOf(app, { 'accept-language': 'de-DE, it;q=0.8' }), 'fr', 'no spoken language in Accept-Language: coop default');
  t.equal(await langOf(app, { 'accept-language': 'en-GB,en;q=0.9,fr;q=0.8' }), 'en', 'Accept-Language beats the coop default');
  t.equal(await langOf(app, { 'accept-language': 'de, fr;q=0.3, en;q=0.7' }), 'en', 'q-values are honoured');
  t.equal(await langOf(app, { 'accept-language': 'en;q=0' }), 'fr', 'q=0 means not wanted');
  t.equal(await langOf(app, { 'accept-language': 'en', cookie: 'carnet_lang=fr' }), 'fr', 'the cookie beats Accept-Language');
  t.equal(await langOf(app, { 'accept-language': 'fr', cookie: 'carnet_lang=en' }), 'en');
  t.equal(await langOf(app, { 'accept-language': 'en', cookie: 'carnet_lang=xx' }), 'en', 'a bad cookie is ignored');
  t.equal(await langOf(app, { 'accept-language': 'x'.repeat(5000) }), 'fr', 'a junk header is ignored');

  // The account's own setting beats both.
  const c = await loggedIn(app, 'ana@example.org');
  t.equal(await langOf(app, { 'accept-language': 'fr', cookie: `carnet_lang=fr; carnet_session=${c.cookies.get('carnet_session')}` }), 'en', 'the account beats all');

  // The coop default changes what visitors without a preference see.
  db.$client.prepare("update coop set default_locale = 'en'").run();
  t.equal(await langOf(app, {}), 'en');
  t.equal(await langOf(app, { 'accept-language': 'fr' }), 'fr');
});

t.test('POST /lang: a cookie for visitors, the account for members', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org', locale: 'fr' });
  const visitor = new Client(app, { 'accept-language': 'fr' });
  await visitor.get('/');
  const before = snapshot(db);
  let res = await visitor.post('/lang', { locale: 'en', next: '/login' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/login');
  t.match(setCookie(res, 'carnet_lang'), /^carnet_lang=en;.*Max-Age=31536000/);
  t.equal(snapshot(db), before, 'a visitor’s choice stores nothing in the database');
  res = await visitor.get('/login');
  t.match(res.body, /<html lang="en">/);
  t.match(text(res.body), 'Log in');

  const member = await loggedIn(app, 'ana@example.org', { 'accept-language': 'fr' });
  await member.get('/');
  res = await member.post('/lang', { locale: 'en', next: '/account' });
  t.equal(res.statusCode, 303);
  t.equal(accountRow(db, 'ana@example.org')!.locale, 'en', 'the account remembers');
  // On another device, without the cookie, the account's language still applies.
  const elsewhere = await loggedIn(app, 'ana@example.org', { 'accept-language': 'fr' });
  t.match((await elsewhere.get('/account')).body, /<html lang="en">/);
  // Emails follow the account's language too.
  await elsewhere.get('/account');
  await elsewhere.post('/account/password', { currentPassword: PASSWORD, password: 'Another-Passphrase-1', passwordConfirm: 'Another-Passphrase-1' });
  const mail = db.$client.prepare("select subject from outbox where to_address = 'ana@example.org'").get() as { subject: string };
  t.match(mail.subject, /^Your password/);
});

t.test('next= only leads back to this site', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  const cases: Array<[string | undefined, string]> = [
    ['/account', '/account'],
    ['/admin/accounts?q=a&page=2', '/admin/accounts?q=a&page=2'],
    ['//evil.example', '/'],
    ['//evil.example/path', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['http:evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['evil.example', '/'],
    ['/ok\r\nSet-Cookie: x=1', '/'],
    ['/' + 'a'.repeat(600), '/'],
    ['', '/'],
    [undefined, '/'],
  ];
  const c = new Client(app);
  for (const [next, expected] of cases) {
    await c.get('/');
    const res = await c.post('/lang', next === undefined ? { locale: 'en' } : { locale: 'en', next });
    t.equal(res.statusCode, 303, `lang next=${JSON.stringify(next)}`);
    t.equal(res.headers.location, expected);
  }
  for (const [next, expected] of cases) {
    const login = new Client(app);
    await login.get('/login');
    const res = await login.post('/login', next === undefined ? { email: 'ana@example.org', password: PASSWORD } : { email: 'ana@example.org', password: PASSWORD, next });
    t.equal(res.statusCode, 303, `login next=${JSON.stringify(next)}`);
    t.equal(res.headers.location, expected);
  }
  // The login page itself drops a foreign next= from its form.
  const res = await new Client(app).get('/login?next=' + encodeURIComponent('//evil.example'));
  t.notMatch(res.body, /name="next" value="\/\/evil/);
  t.match(res.body, /name="next" value="\/login\?next=%2F%2Fevil.example"/, 'only the language switcher keeps this page’s own path');
});
