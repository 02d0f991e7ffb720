import t from 'tap';
import { translator } from '../../src/i18n/index.js';
import { build, Client, createAccount, loggedIn, PASSWORD, text } from '../helper.js';
import { accountRow, count, outboxFor, resetLinkFrom, snapshot } from './route-helper.js';

/*
 * Password reset by emailed link, read from the outbox: the same answer for unknown emails, a link
 * that works once, expires, and is replaced by a newer request.
 */

const en = translator('en');
const NEW = 'Fresh-Passphrase-99';

async function askReset(app: Parameters<typeof loggedIn>[0], email: string, lang = 'en') {
  const c = new Client(app, { 'accept-language': lang });
  await c.get('/password/forgot');
  return c.post('/password/forgot', { email });
}

t.test('an unknown email gets the same page and queues nothing', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'en' });
  const before = snapshot(db);
  const unknown = await askReset(app, 'nobody@example.org');
  t.equal(unknown.statusCode, 200);
  t.equal(snapshot(db), before, 'nothing queued, nothing stored');
  const known = await askReset(app, 'ana@example.org');
  t.equal(known.statusCode, 200);
  const strip = (html: string, email: string) => text(html).replace(email, 'EMAIL').replace(/"X-CSRF-Token": "[^"]+"/, '');
  t.equal(strip(unknown.body, 'nobody@example.org'), strip(known.body, 'ana@example.org'), 'the two pages say the same');
  t.match(text(known.body), en('forgot.sent_body', { email: 'ana@example.org', hours: 2 }));
  t.equal(count(db, 'outbox'), 1);
  t.equal(count(db, 'password_resets'), 1);
});

t.test('the link works once, logs in and logs out everywhere else', async (t) => {
  const { app, db } = await build(t);
  const ana = await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'en' });
  const oldDevice = await loggedIn(app, 'ana@example.org');
  await askReset(app, 'ANA@example.org ');
  const [mail] = outboxFor(db, 'ana@example.org');
  t.equal(mail!.subject, en('email.reset.subject', { coop: 'Coop Test' }));
  const link = resetLinkFrom(mail!);
  t.match(mail!.text_body, 'http://carnet.test/password/reset/');

  const c = new Client(app, { 'accept-language': 'en' });
  let res = await c.get(link);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['referrer-policy'], 'no-referrer', 'the token stays out of Referer headers');
  t.match(text(res.body), en('reset.title'));
  res = await c.post(link, { password: NEW, passwordConfirm: NEW });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  res = await c.get('/');
  t.match(text(res.body), en('flash.password_reset_done'));
  t.match(text(res.body), 'Hello, Ana');
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 1, 'only the new session');
  t.equal((await oldDevice.get('/account')).statusCode, 303, 'the old device is logged out');
  t.equal(outboxFor(db, 'ana@example.org').at(-1)!.subject, en('email.password_changed.subject', { coop: 'Coop Test' }));

  // Used: the link now shows the invalid page, for GET and POST, and changes nothing.
  const other = new Client(app, { 'accept-language': 'en' });
  res = await other.get(link);
  t.equal(res.statusCode, 404);
  t.match(text(res.body), en('reset.invalid_title'));
  const before = snapshot(db);
  res = await other.post(link, { password: 'Another-Passphrase-1', passwordConfirm: 'Another-Passphrase-1' });
  t.equal(res.statusCode, 404);
  t.equal(snapshot(db), before);

  // The new password works.
  const login = new Client(app);
  await login.get('/login');
  t.equal((await login.post('/login', { email: 'ana@example.org', password: NEW })).statusCode, 303);
  t.equal((await login.post('/login', { email: 'ana@example.org', password: PASSWORD })).statusCode, 403, 'old form token after login');
});

t.test('an expired link shows the invalid page', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'fr' });
  await askReset(app, 'ana@example.org');
  const link = resetLinkFrom(outboxFor(db, 'ana@example.org')[0]!);
  db.$client.prepare('update password_resets set expires_at = ?').run(Date.now() - 1000);
  const hash = accountRow(db, 'ana@example.org')!.password_hash;
  for (const lang of ['en', 'fr']) {
    const c = new Client(app, { 'accept-language': lang });
    let res = await c.get(link);
    t.equal(res.statusCode, 404);
    t.match(text(res.body), translator(lang as 'en' | 'fr')('reset.invalid_body', { hours: 2 }));
    res = await c.post(link, { password: NEW, passwordConfirm: NEW });
    t.equal(res.statusCode, 404);
  }
  t.equal(accountRow(db, 'ana@example.org')!.password_hash, hash);
  t.equal(count(db, 'sessions', 'account_id is not null'), 0);
});

t.test('a new request replaces the older link', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'en' });
  await askReset(app, 'ana@example.org');
  await askReset(app, 'ana@example.org');
  const [first, second] = outboxFor(db, 'ana@example.org');
  const oldLink = resetLinkFrom(first!);
  const newLink = resetLinkFrom(second!);
  t.not(oldLink, newLink);
  t.equal(count(db, 'password_resets'), 1, 'only one link is stored');
  const c = new Client(app);
  t.equal((await c.get(oldLink)).statusCode, 404, 'the older link is dead');
  t.equal((await c.post(oldLink, { password: NEW, passwordConfirm: NEW })).statusCode, 404);
  t.equal((await c.get(newLink)).statusCode, 200, 'the newer one works');
  t.equal((await c.post(newLink, { password: NEW, passwordConfirm: NEW })).statusCode, 303);
});

t.test('malformed and unknown tokens', async (t) => {
  const { app, db } = await build(t);
  const c = new Client(app, { 'accept-language': 'en' });
  await c.get('/');
  for (const token of ['short', 'A'.repeat(43), 'x'.repeat(101), '%3Cscript%3E', '..%2F..%2Fetc%2Fpasswd', "'%20OR%201=1"]) {
    const res = await c.get('/password/reset/' + token);
    t.equal(res.statusCode, 404, token);
    t.notMatch(res.body, /<script>/);
    const before = snapshot(db);
    t.equal((await c.post('/password/reset/' + token, { password: NEW, passwordConfirm: NEW })).statusCode, 404);
    t.equal(snapshot(db), before);
  }
});
