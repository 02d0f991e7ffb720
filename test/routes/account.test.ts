import t from 'tap';
import { translator } from '../../src/i18n/index.js';
import { build, Client, createAccount, loggedIn, PASSWORD, text } from '../helper.js';
import { accountRow, count, outboxFor, snapshot } from './route-helper.js';

/*
 * A person's own account page: details (with a unique email), password change (which logs out
 * every other device and tells the owner by email), and "log out of all other devices".
 */

const en = translator('en');

t.test('profile: save details, email stays unique', async (t) => {
  const { app, db } = await build(t);
  const ana = await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'en' });
  await createAccount(db, { email: 'bob@example.org', name: 'Bob' });
  const c = await loggedIn(app, 'ana@example.org');
  let res = await c.get('/account');
  t.equal(res.statusCode, 200);
  t.match(res.body, /id="f-email"[^>]*value="ana@example.org"/, 'the form shows the stored values');
  t.match(text(res.body), en('account.sessions_intro', { count: 1 }));

  res = await c.post('/account/profile', { name: 'Ana María', email: ' Ana.Maria@Example.org ', phone: '06 12 34 56 78', locale: 'fr' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/account');
  t.match(db.$client.prepare('select * from accounts where id = ?').get(ana), {
    name: 'Ana María',
    email: 'ana.maria@example.org',
    phone: '06 12 34 56 78',
    locale: 'fr',
  });
  res = await c.get('/account');
  t.match(text(res.body), translator('fr')('flash.profile_saved'), 'the page now speaks French');
  t.match(res.body, /<html lang="fr">/);

  // Clearing the phone stores no phone.
  res = await c.post('/account/profile', { name: 'Ana María', email: 'ana.maria@example.org', phone: '  ', locale: 'en' });
  t.equal(res.statusCode, 303);
  t.equal(accountRow(db, 'ana.maria@example.org')!.phone, null);

  // Another account's email, in any case, is taken; nothing changes and the form keeps what was typed.
  for (const email of ['bob@example.org', 'BOB@example.org', '  bob@EXAMPLE.org']) {
    await c.get('/account');
    const before = snapshot(db);
    res = await c.post('/account/profile', { name: 'Ana New', email, locale: 'en' });
    t.equal(res.statusCode, 422, email);
    t.match(text(res.body), en('error.email_taken'));
    t.match(res.body, /id="f-name"[^>]*value="Ana New"/, 'the typed name is kept');
    t.equal(snapshot(db), before, 'nothing changed');
  }
  // Keeping one's own email is not "taken".
  await c.get('/account');
  res = await c.post('/account/profile', { name: 'Ana', email: 'ANA.MARIA@example.org', locale: 'en' });
  t.equal(res.statusCode, 303);
  // The new email is the one to log in with.
  await c.post('/logout');
  const again = new Client(app);
  await again.get('/login');
  t.equal((await again.post('/login', { email: 'ana.maria@example.org', password: PASSWORD })).statusCode, 303);
});

t.test('password change: other devices are logged out, this one stays, an email is queued', async (t) => {
  const { app, db } = await build(t);
  const ana = await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'en' });
  const laptop = await loggedIn(app, 'ana@example.org');
  const phone = await loggedIn(app, 'ana@example.org');
  const tablet = await loggedIn(app, 'ana@example.org');
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 3);
  const hash = accountRow(db, 'ana@example.org')!.password_hash;

  await laptop.get('/account');
  let res = await laptop.post('/account/password', { currentPassword: 'not my password', password: 'New-Passphrase-2024', passwordConfirm: 'New-Passphrase-2024' });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), en('error.wrong_password'));
  t.equal(accountRow(db, 'ana@example.org')!.password_hash, hash);
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 3, 'a wrong password logs nobody out');
  t.equal(count(db, 'outbox'), 0);

  res = await laptop.post('/account/password', { currentPassword: PASSWORD, password: 'New-Passphrase-2024', passwordConfirm: 'New-Passphrase-2024' });
  t.equal(res.statusCode, 303);
  t.not(accountRow(db, 'ana@example.org')!.password_hash, hash);
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 1, 'only this device is still logged in');
  res = await laptop.get('/account');
  t.equal(res.statusCode, 200, 'this device stays logged in');
  t.match(text(res.body), en('flash.password_changed'));
  for (const other of [phone, tablet]) {
    res = await other.get('/account');
    t.equal(res.statusCode, 303, 'the other devices are logged out');
    t.match(res.headers.location, /^\/login/);
  }
  const mails = outboxFor(db, 'ana@example.org');
  t.equal(mails.length, 1);
  t.equal(mails[0]!.subject, en('email.password_changed.subject', { coop: 'Coop Test' }));
  t.match(mails[0]!.text_body, 'http://carnet.test/password/forgot');
  t.notMatch(mails[0]!.text_body, 'New-Passphrase-2024', 'the email never contains the password');

  // The old password no longer works, the new one does.
  const c = new Client(app);
  await c.get('/login');
  t.equal((await c.post('/login', { email: 'ana@example.org', password: PASSWORD })).statusCode, 422);
  t.equal((await c.post('/login', { email: 'ana@example.org', password: 'New-Passphrase-2024' })).statusCode, 303);
});

t.test('log out of every other device', async (t) => {
  const { app, db } = await build(t);
  const ana = await createAccount(db, { email: 'ana@example.org', name: 'Ana', locale: 'en' });
  const bob = await createAccount(db, { email: 'bob@example.org', name: 'Bob' });
  const here = await loggedIn(app, 'ana@example.org');
  const there = await loggedIn(app, 'ana@example.org');
  const bobClient = await loggedIn(app, 'bob@example.org');
  let res = await here.get('/account');
  t.match(text(res.body), en('account.sessions_intro', { count: 2 }));
  res = await here.post('/account/sessions/revoke');
  t.equal(res.statusCode, 303);
  t.equal(count(db, 'sessions', 'account_id = ?', ana), 1);
  t.equal(count(db, 'sessions', 'account_id = ?', bob), 1, 'other people are untouched');
  res = await here.get('/account');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), en('flash.sessions_revoked'));
  t.match(text(res.body), en('account.sessions_intro', { count: 1 }));
  t.equal((await there.get('/account')).statusCode, 303, 'the other device is logged out');
  t.equal((await bobClient.get('/account')).statusCode, 200);
  t.equal(count(db, 'outbox'), 0);
});
