import t from 'tap';
import { DEFAULT_RATE_LIMITS } from '../../src/plugins/context.js';
import { translator } from '../../src/i18n/index.js';
import { build, Client, createAccount, PASSWORD, text } from '../helper.js';
import { count, snapshot } from './route-helper.js';

/*
 * Rate limits with the real defaults: the forms attackers hammer answer 429 with a translated page
 * once the limit is reached, and the refused request does nothing.
 */

t.test('the 21st log-in attempt in a minute gets 429', async (t) => {
  const { app, db } = await build(t, { rateLimits: DEFAULT_RATE_LIMITS });
  t.equal(DEFAULT_RATE_LIMITS.login.max, 20);
  await createAccount(db, { email: 'ana@example.org' });
  const c = new Client(app, { 'accept-language': 'en' });
  await c.get('/login');
  for (let i = 1; i <= DEFAULT_RATE_LIMITS.login.max; i++) {
    const res = await c.post('/login', { email: 'ana@example.org', password: 'guess number ' + i });
    t.equal(res.statusCode, 422, `attempt ${i} is answered`);
  }
  const before = snapshot(db);
  let res = await c.post('/login', { email: 'ana@example.org', password: PASSWORD });
  t.equal(res.statusCode, 429, 'the 21st is refused, even with the right password');
  t.equal(snapshot(db), before, 'and does nothing');
  t.equal(count(db, 'sessions', 'account_id is not null'), 0, 'nobody is logged in');
  t.match(res.headers['content-type'], /^text\/html/);
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After says when to come back');
  t.match(text(res.body), translator('en')('errors.title.429'));
  t.match(text(res.body), translator('en')('errors.body.429'));
  t.notMatch(res.body, /statusCode|Rate limit exceeded/, 'not the plugin’s JSON');

  // In French for a French visitor; pages (GET) are not limited.
  const fr = new Client(app, { 'accept-language': 'fr' });
  res = await fr.get('/login');
  t.equal(res.statusCode, 200, 'the login page itself still opens');
  res = await fr.post('/login', { email: 'ana@example.org', password: PASSWORD });
  t.equal(res.statusCode, 429, 'the limit is per address, whoever asks');
  t.match(text(res.body), translator('fr')('errors.body.429'));
});

t.test('sign-up and password reset have their own limits', async (t) => {
  const { app, db } = await build(t, { rateLimits: DEFAULT_RATE_LIMITS });
  const c = new Client(app, { 'accept-language': 'en' });
  await c.get('/password/forgot');
  for (let i = 1; i <= DEFAULT_RATE_LIMITS.reset.max; i++) {
    t.equal((await c.post('/password/forgot', { email: 'nobody@example.org' })).statusCode, 200);
  }
  await createAccount(db, { email: 'ana@example.org' });
  let res = await c.post('/password/forgot', { email: 'ana@example.org' });
  t.equal(res.statusCode, 429, `request ${DEFAULT_RATE_LIMITS.reset.max + 1} for a reset is refused`);
  t.equal(count(db, 'outbox'), 0, 'no link is sent');

  await c.get('/signup');
  for (let i = 1; i <= DEFAULT_RATE_LIMITS.signup.max; i++) {
    res = await c.post('/signup', { name: 'Bad', email: 'not-an-email', password: '', passwordConfirm: '' });
    t.equal(res.statusCode, 422);
  }
  res = await c.post('/signup', { name: 'Real Person', email: 'real@example.org', password: PASSWORD, passwordConfirm: PASSWORD });
  t.equal(res.statusCode, 429);
  t.equal(count(db, 'accounts', "email = 'real@example.org'"), 0);
  // Login has its own counter, untouched by the others.
  await c.get('/login');
  t.equal((await c.post('/login', { email: 'ana@example.org', password: PASSWORD })).statusCode, 303);
});
