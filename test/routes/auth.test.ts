import t from 'tap';
import { build, Client, createAccount, PASSWORD, text } from '../helper.js';

t.test('a visitor signs up, logs out and logs back in', async (t) => {
  const { app, db } = await build(t);
  const c = new Client(app, { 'accept-language': 'en' });
  let res = await c.get('/signup');
  t.equal(res.statusCode, 200);
  res = await c.post('/signup', { name: 'Zoë Ñandú', email: ' Zoe@Example.org ', phone: '+33 6 12 34 56 78', password: PASSWORD, passwordConfirm: PASSWORD });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  res = await c.get('/');
  t.match(text(res.body), 'Hello, Zoë Ñandú');
  t.match(text(res.body), 'Welcome, Zoë Ñandú!');
  const row = db.$client.prepare('select email, locale, status from accounts where email = ?').get('zoe@example.org');
  t.same(row, { email: 'zoe@example.org', locale: 'en', status: 'active' });
  res = await c.post('/logout');
  t.equal(res.statusCode, 303);
  res = await c.get('/');
  t.match(text(res.body), 'You are logged out.');
  t.notMatch(text(res.body), 'Hello');
  await c.login('zoe@example.org');
  res = await c.get('/account');
  t.equal(res.statusCode, 200);
});

t.test('wrong email and wrong password get the same answer', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@carnet.test' });
  const c = new Client(app, { 'accept-language': 'en' });
  await c.get('/login');
  const unknown = await c.post('/login', { email: 'nobody@carnet.test', password: PASSWORD });
  const wrong = await c.post('/login', { email: 'ana@carnet.test', password: 'not the password' });
  t.equal(unknown.statusCode, 422);
  t.equal(wrong.statusCode, 422);
  t.match(text(unknown.body), 'Email or password is wrong.');
  t.match(text(wrong.body), 'Email or password is wrong.');
});
