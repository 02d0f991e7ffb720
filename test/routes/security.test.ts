import t from 'tap';
import { build, Client, createAccount, loggedIn, PASSWORD } from '../helper.js';
import { count, outboxFor, sessionCookieValue, setCookie } from './route-helper.js';

/*
 * Sessions and headers: cookie flags, rotation at login, logout, expiry, the Content-Security-Policy
 * (and pages that respect it), Vary and Cache-Control.
 */

t.test('cookie flags over http', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  const c = new Client(app);
  const res = await c.get('/');
  const cookie = setCookie(res, 'carnet_session');
  t.ok(cookie, 'a visitor gets a session cookie for the forms');
  t.match(cookie, /; HttpOnly/);
  t.match(cookie, /; SameSite=Lax/);
  t.match(cookie, /; Path=\//);
  t.notMatch(cookie, /Secure/, 'not Secure over plain http');
  t.notMatch(cookie, /Max-Age|Expires/, 'a visitor’s cookie ends with the browser');
  t.equal(count(db, 'sessions'), 0, 'a visitor has no session row');
  await c.get('/login');
  const login = await c.post('/login', { email: 'ana@example.org', password: PASSWORD });
  const logged = setCookie(login, 'carnet_session')!;
  t.match(logged, /; Max-Age=2592000/, 'a logged-in session lasts 30 days');
  t.match(logged, /; HttpOnly/);
  t.match(logged, /; SameSite=Lax/);
  t.notMatch(res.headers['strict-transport-security'] ?? '', /max-age/, 'no HSTS over http');
  const lang = await c.post('/lang', { locale: 'en', next: '/' });
  t.equal(lang.statusCode, 403, 'the old form token is dead after login');
  await c.get('/');
  const lang2 = await c.post('/lang', { locale: 'en', next: '/' });
  const langCookie = setCookie(lang2, 'carnet_lang')!;
  t.match(langCookie, /^carnet_lang=en;/);
  t.match(langCookie, /; HttpOnly/);
  t.match(langCookie, /; SameSite=Lax/);
  t.notMatch(langCookie, /Secure/);
});

t.test('cookie flags over https', async (t) => {
  const { app, db } = await build(t, { env: { BASE_URL: 'https://carnet.test' } });
  await createAccount(db, { email: 'ana@example.org' });
  const c = new Client(app);
  let res = await c.get('/');
  t.match(setCookie(res, 'carnet_session'), /; Secure/);
  t.match(res.headers['strict-transport-security'], /max-age=31536000/);
  t.match(res.headers['content-security-policy'], /upgrade-insecure-requests/);
  await c.get('/login');
  res = await c.post('/login', { email: 'ana@example.org', password: PASSWORD });
  t.match(setCookie(res, 'carnet_session'), /; Secure/);
  await c.get('/');
  res = await c.post('/lang', { locale: 'en' });
  t.match(setCookie(res, 'carnet_lang'), /; Secure/);
  // Emailed links use the public https address.
  await c.get('/');
  await c.post('/password/forgot', { email: 'ana@example.org' });
  t.match(outboxFor(db, 'ana@example.org')[0]!.text_body, 'https://carnet.test/password/reset/');
});

t.test('the session rotates at login and ends at logout', async (t) => {
  const { app, db } = await build(t);
  const ana = await createAccount(db, { email: 'ana@example.org' });
  const c = new Client(app);
  await c.get('/login');
  const visitorToken = c.cookies.get('carnet_session')!;
  const res = await c.post('/login', { email: 'ana@example.org', password: PASSWORD });
  const loggedToken = sessionCookieValue(res)!;
  t.ok(loggedToken);
  t.not(loggedToken, visitorToken, 'a new token at login (no session fixation)');
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 1);
  // The visitor token a fixation attacker would know does not give the account.
  const attacker = await app.inject({ method: 'GET', url: '/account', headers: { cookie: `carnet_session=${visitorToken}` } });
  t.equal(attacker.statusCode, 303);
  // The session row never stores the token itself.
  const row = db.$client.prepare('select id_hash from sessions where account_id = ?').get(ana) as { id_hash: string };
  t.not(row.id_hash, loggedToken);
  t.match(row.id_hash, /^[0-9a-f]{64}$/);

  await c.get('/account');
  const out = await c.post('/logout');
  t.equal(out.statusCode, 303);
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 0, 'the session row is deleted');
  t.not(sessionCookieValue(out), loggedToken, 'the browser gets another token');
  const replay = await app.inject({ method: 'GET', url: '/account', headers: { cookie: `carnet_session=${loggedToken}` } });
  t.equal(replay.statusCode, 303, 'the old cookie no longer works');
  t.match(replay.headers.location, /^\/login/);
});

t.test('expired or forged sessions count as none', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  const c = await loggedIn(app, 'ana@example.org');
  t.equal((await c.get('/account')).statusCode, 200);
  db.$client.prepare('update sessions set expires_at = ?').run(Date.now() - 1);
  t.equal((await c.get('/account')).statusCode, 303, 'an expired session is logged out');
  for (const junk of ['x', 'A'.repeat(43) + '!', '../../etc/passwd', '"><script>']) {
    const res = await app.inject({ method: 'GET', url: '/', headers: { cookie: `carnet_session=${encodeURIComponent(junk)}` } });
    t.equal(res.statusCode, 200);
    t.ok(sessionCookieValue(res), 'a junk cookie is replaced');
    t.not(sessionCookieValue(res), junk);
  }
});

t.test('static files set no cookie', async (t) => {
  const { app } = await build(t);
  for (const url of ['/static/css/app.css', '/static/vendor/htmx.min.js', '/static/vendor/pico.min.css']) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.notOk(res.headers['set-cookie'], `${url}: no cookie`);
  }
  t.equal((await app.inject({ method: 'GET', url: '/static/vendor/package.json' })).statusCode, 404, 'only the two vendor files are served');
  t.equal((await app.inject({ method: 'GET', url: '/static/../package.json' })).statusCode, 404);
});

t.test('security headers, and pages that keep to the CSP', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'mia@example.org', name: 'Mia' });
  const admin = await loggedIn(app, 'admin@carnet.test');
  const visitor = new Client(app);
  const pages: Array<[Client, string]> = [
    [visitor, '/'],
    [visitor, '/login'],
    [visitor, '/signup'],
    [visitor, '/password/forgot'],
    [visitor, '/nowhere'],
    [admin, '/'],
    [admin, '/account'],
    [admin, '/admin'],
    [admin, '/admin/accounts'],
    [admin, '/admin/accounts/2'],
    [admin, '/admin/approvals'],
    [admin, '/admin/settings'],
    [admin, '/admin/outbox'],
  ];
  for (const [c, url] of pages) {
    const res = await c.get(url);
    const csp = String(res.headers['content-security-policy']);
    t.match(csp, /script-src 'self'(;|$)/, `${url}: script-src 'self'`);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/, `${url}: nothing unsafe`);
    t.match(csp, /frame-ancestors 'none'/);
    t.match(csp, /default-src 'self'/);
    t.match(csp, /object-src 'none'/);
    t.equal(res.headers['x-content-type-options'], 'nosniff');
    t.equal(res.headers['referrer-policy'], 'same-origin');
    t.match(String(res.headers.vary), /HX-Request/, `${url}: Vary: HX-Request`);
    t.match(String(res.headers['cache-control']), /no-store/, `${url}: never cached`);
    t.match(res.headers['content-type'], 'text/html; charset=utf-8');
    // What the CSP would block must not be in the page.
    t.notMatch(res.body, /<script(?![^>]*\bsrc=)[^>]*>/, `${url}: no inline script`);
    t.notMatch(res.body, /\son[a-z]+\s*=/i, `${url}: no inline event handler`);
    t.notMatch(res.body, /\sstyle\s*=/i, `${url}: no inline style`);
    t.notMatch(res.body, /(src|href)="(https?:)?\/\//, `${url}: nothing from another host`);
  }
});

t.test('htmx requests: same URL, page or fragment, and Vary says so', async (t) => {
  const { app } = await build(t);
  const admin = await loggedIn(app, 'admin@carnet.test');
  const page = await admin.get('/admin/accounts');
  const fragment = await admin.get('/admin/accounts', { 'hx-request': 'true', 'hx-target': 'account-results' });
  t.match(page.body, /<html/);
  t.notMatch(fragment.body, /<html/);
  t.match(String(page.headers.vary), /HX-Request/);
  t.match(String(fragment.headers.vary), /HX-Request/);
});

t.test('the request log never shows the secret of a reset link or an invitation', async (t) => {
  const lines: string[] = [];
  const stream = { write: (line: string) => void lines.push(line) };
  const { app } = await build(t, { logger: { stream }, env: { LOG_LEVEL: 'info' } });
  const secret = 'Zx9'.repeat(14) + 'q';
  for (const url of [`/password/reset/${secret}`, `/invitations/${secret}`, `/invitations/${secret}/accept?x=1`]) {
    await app.inject({ method: 'GET', url });
  }
  const logged = lines.join('\n');
  t.ok(lines.length >= 3, 'requests are logged');
  t.notMatch(logged, secret, 'the secret is not in the log');
  t.match(logged, '"url":"/password/reset/***"');
  t.match(logged, '"url":"/invitations/***/accept?x=1"');
});
