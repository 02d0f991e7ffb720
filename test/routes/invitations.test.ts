import t from 'tap';
import type { Db } from '../../src/db/index.js';
import { findManagedProducer } from '../../src/domain/producers.js';
import { translator } from '../../src/i18n/index.js';
import { build, Client, PASSWORD, text } from '../helper.js';
import { CAST, CAST_EMAILS, castApp, clientAs, type CastCtx } from './admin-cast.js';
import { accountRow, count, expectRejected, HOSTILE, outboxFor, rolesOf, snapshot } from './route-helper.js';

/*
 * An invitation end to end, through the outbox: the admin invites, the link is read from the
 * email's text, and the invited person signs up or accepts with their account. Used, expired,
 * revoked and made-up links all fail clearly.
 */

const fr = translator('fr');
const NEW_PASSWORD = 'a long enough password';

/** The path of the invitation link in the newest email to an address. */
function linkFor(db: Db, email: string): string {
  const mail = outboxFor(db, email).at(-1);
  const m = mail && /http:\/\/carnet\.test(\/invitations\/[A-Za-z0-9_-]{43})/.exec(mail.text_body);
  if (!m) throw new Error('no invitation link for ' + email);
  return m[1]!;
}

/** The admin invites an address to manage farm A through the producer page. */
async function adminInvites(ctx: CastCtx, email: string): Promise<string> {
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get(`/admin/producers/${ctx.farmA.id}`);
  const res = await admin.post(`/admin/producers/${ctx.farmA.id}/invitations`, { email });
  if (res.statusCode !== 303) throw new Error('invite failed: ' + res.statusCode);
  return linkFor(ctx.db, email);
}

t.test('a new person signs up from the emailed link and lands on /producer', async (t) => {
  const ctx = await castApp(t);
  ctx.db.$client.prepare('update coop set require_approval = 1').run();
  const link = await adminInvites(ctx, 'nina@ferme.test');
  const mail = outboxFor(ctx.db, 'nina@ferme.test')[0]!;
  t.equal(mail.subject, 'Ada Admin vous invite à gérer Ferme des Trois Chênes sur Coop Test');

  const nina = new Client(ctx.app);
  let res = await nina.get(link);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['referrer-policy'], 'no-referrer', 'the token never leaks through Referer');
  t.match(text(res.body), fr('invitations.title', { producer: 'Ferme des Trois Chênes' }));
  t.match(res.body, /id="f-email" type="email" value="nina@ferme\.test" readonly/, 'the email is fixed to the invited one');
  t.match(res.body, `action="${link}/signup"`);

  // Bad input first: 422, same form, nothing stored.
  const bads = [
    { label: 'no name', form: { name: '', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD }, message: fr('error.required') },
    { label: 'hostile name', form: { name: HOSTILE.script, password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD }, message: fr('error.invalid_name'), echo: HOSTILE.script },
    { label: 'short password', form: { name: 'Nina', password: 'short', passwordConfirm: 'short' }, message: fr('error.too_short', { min: 10 }) },
    { label: 'mismatch', form: { name: 'Nina', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD + '!' }, message: fr('error.password_mismatch') },
  ];
  for (const bad of bads) await expectRejected(t, ctx.db, nina, `${link}/signup`, bad, link);

  // An email field sent by hand is ignored: the account gets the invited address.
  await nina.get(link);
  res = await nina.post(`${link}/signup`, { name: 'Nina Nouvelle', email: 'evil@example.org', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/producer');
  t.notOk(accountRow(ctx.db, 'evil@example.org'));
  const account = accountRow(ctx.db, 'nina@ferme.test')!;
  t.match(account, { name: 'Nina Nouvelle', status: 'active', locale: 'fr' }, 'active although the coop approves sign-ups');
  t.same(rolesOf(ctx.db, account.id as number), ['producer']);
  t.ok(findManagedProducer(ctx.db, account.id as number, ctx.farmA.id), 'Nina manages farm A');
  t.notOk(findManagedProducer(ctx.db, account.id as number, ctx.farmB.id), 'and not farm B');

  // Logged in: the next page shows her name and the welcome.
  res = await nina.get('/account');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('invitations.flash.welcome', { name: 'Nina Nouvelle', producer: 'Ferme des Trois Chênes' }));

  // The link is used up, for her and for anyone else.
  res = await nina.get(link);
  t.equal(res.statusCode, 404);
  t.match(text(res.body), fr('invitations.invalid_title'));
  const stranger = new Client(ctx.app);
  res = await stranger.get(link);
  t.equal(res.statusCode, 404);
  const before = snapshot(ctx.db);
  res = await stranger.post(`${link}/signup`, { name: 'Again', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD });
  t.equal(res.statusCode, 404);
  t.equal(snapshot(ctx.db), before, 'a used link creates nothing');
});

t.test('an existing account logs in first, then accepts', async (t) => {
  const ctx = await castApp(t);
  const link = await adminInvites(ctx, 'member@carnet.test');
  t.match(outboxFor(ctx.db, 'member@carnet.test')[0]!.text_body, 'Bonjour Mia Member');

  const mia = new Client(ctx.app);
  let res = await mia.get(link);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('invitations.login_first', { email: 'member@carnet.test' }));
  const loginUrl = '/login?next=' + encodeURIComponent(link);
  t.match(res.body, `href="${loginUrl.replace(/&/g, '&amp;')}"`);
  t.notMatch(res.body, 'name="password"', 'no sign-up form for an address that has an account');

  // A sign-up POST for that address is refused and creates nothing.
  let before = snapshot(ctx.db);
  res = await mia.post(`${link}/signup`, { name: 'Mia Again', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD });
  t.equal(res.statusCode, 422);
  t.equal(snapshot(ctx.db), before);

  res = await mia.get(loginUrl);
  res = await mia.post('/login', { email: 'member@carnet.test', password: PASSWORD, next: link });
  t.equal(res.headers.location, link, 'back to the invitation after logging in');
  res = await mia.get(link);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('invitations.accept_as', { name: 'Mia Member', email: 'member@carnet.test' }));
  t.notMatch(text(res.body), fr('invitations.other_email', { email: 'member@carnet.test' }));
  res = await mia.post(`${link}/accept`);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/producer');
  t.same(rolesOf(ctx.db, ctx.ids.member), ['member', 'producer']);
  t.ok(findManagedProducer(ctx.db, ctx.ids.member, ctx.farmA.id));

  // Used: a second accept fails and changes nothing.
  await mia.get('/account');
  before = snapshot(ctx.db);
  res = await mia.post(`${link}/accept`);
  t.equal(res.statusCode, 404);
  t.match(text(res.body), fr('invitations.invalid_title'));
  t.equal(snapshot(ctx.db), before);
});

t.test('a logged-in account may accept an invitation sent to another address, and is warned', async (t) => {
  const ctx = await castApp(t);
  const link = await adminInvites(ctx, 'farm-office@ferme.test');
  const b = await clientAs(ctx.app, 'producerB');
  let res = await b.get(link);
  t.match(text(res.body), fr('invitations.other_email', { email: 'farm-office@ferme.test' }));
  // A stale sign-up form posted while logged in goes back to the accept page.
  res = await b.post(`${link}/signup`, { name: 'Rose', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, link);
  t.notOk(accountRow(ctx.db, 'farm-office@ferme.test'));
  await b.get(link);
  res = await b.post(`${link}/accept`);
  t.equal(res.headers.location, '/producer');
  t.ok(findManagedProducer(ctx.db, ctx.ids.producerB, ctx.farmA.id), 'B now manages farm A too');
  t.ok(findManagedProducer(ctx.db, ctx.ids.producerB, ctx.farmB.id), 'and still farm B');
});

t.test('expired, revoked, replaced and made-up links: a clear 404 page, nothing changes', async (t) => {
  const ctx = await castApp(t);
  const expired = await adminInvites(ctx, 'old@ferme.test');
  ctx.db.$client.prepare("update producer_invitations set expires_at = ? where email = 'old@ferme.test'").run(Date.now() - 1);
  const replaced = await adminInvites(ctx, 'twice@ferme.test');
  await adminInvites(ctx, 'twice@ferme.test');
  const revoked = await adminInvites(ctx, 'revoked@ferme.test');
  const hash = (ctx.db.$client.prepare("select token_hash from producer_invitations where email = 'revoked@ferme.test'").get() as { token_hash: string }).token_hash;
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get(`/admin/producers/${ctx.farmA.id}`);
  t.equal((await admin.post(`/admin/producers/${ctx.farmA.id}/invitations/${hash}/revoke`)).statusCode, 303);
  const links = [expired, replaced, revoked, '/invitations/' + 'A'.repeat(43), '/invitations/short', '/invitations/' + 'x'.repeat(44), '/invitations/%3Cscript%3E'];
  for (const who of ['anonymous', 'member'] as const) {
    const c = await clientAs(ctx.app, who);
    for (const link of links) {
      const res = await c.get(link);
      t.equal(res.statusCode, 404, `${who}: GET ${link.slice(0, 40)}`);
      t.match(text(res.body), fr('invitations.invalid_title'));
      t.match(text(res.body), fr('invitations.invalid_body', { days: 7 }));
      for (const action of ['accept', 'signup']) {
        await c.get('/');
        const before = snapshot(ctx.db);
        const post = await c.post(`${link}/${action}`, { name: 'Someone', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD });
        const want = who === 'anonymous' && action === 'accept' ? 403 : 404;
        t.equal(post.statusCode, want, `${who}: POST ${action} ${link.slice(0, 40)}`);
        t.equal(snapshot(ctx.db), before, 'nothing changed');
      }
    }
  }
});

t.test('every invitation route as each member of the cast', async (t) => {
  const ctx = await castApp(t);
  for (const who of CAST) {
    const email = `guest-${who.toLowerCase()}@ferme.test`;
    // GET: everyone sees the page; the form depends on who they are.
    const link = await adminInvites(ctx, email);
    const c = await clientAs(ctx.app, who);
    let res = await c.get(link);
    t.equal(res.statusCode, 200, `${who}: GET`);
    t.match(res.body, who === 'anonymous' ? `action="${link}/signup"` : `action="${link}/accept"`);

    // accept: a visitor is refused; any account may accept as itself.
    let before = snapshot(ctx.db);
    res = await c.post(`${link}/accept`);
    if (who === 'anonymous') {
      t.equal(res.statusCode, 403, 'anonymous: accept refused');
      t.equal(snapshot(ctx.db), before);
    } else {
      t.equal(res.statusCode, 303, `${who}: accept`);
      t.equal(res.headers.location, '/producer');
      t.ok(findManagedProducer(ctx.db, ctx.ids[who], ctx.farmA.id));
      t.ok(rolesOf(ctx.db, ctx.ids[who]).includes('producer'));
    }

    // sign up: only a visitor creates an account.
    const other = await adminInvites(ctx, `signup-${who.toLowerCase()}@ferme.test`);
    await c.get(other);
    before = snapshot(ctx.db);
    res = await c.post(`${other}/signup`, { name: 'New Person', password: NEW_PASSWORD, passwordConfirm: NEW_PASSWORD });
    t.equal(res.statusCode, 303, `${who}: signup`);
    if (who === 'anonymous') {
      t.equal(res.headers.location, '/producer');
      t.ok(accountRow(ctx.db, 'signup-anonymous@ferme.test'));
    } else {
      t.equal(res.headers.location, other, 'a logged-in account is sent back to accept instead');
      t.equal(snapshot(ctx.db), before);
    }
  }
  t.equal(count(ctx.db, 'producer_accounts', 'producer_id = ?', ctx.farmA.id), 5, 'producer A, member, producer B, admin and the new person');
  t.ok(CAST_EMAILS.admin);
});

t.test('the invitation POSTs are rate-limited like sign-up', async (t) => {
  const { app } = await build(t, { rateLimits: { login: { max: 100, timeWindow: 60_000 }, signup: { max: 2, timeWindow: 60_000 }, reset: { max: 100, timeWindow: 60_000 } } });
  const c = new Client(app);
  await c.get('/');
  const statuses: number[] = [];
  for (const action of ['signup', 'signup', 'signup']) statuses.push((await c.post('/invitations/' + 'B'.repeat(43) + '/' + action, { name: 'X' })).statusCode);
  t.same(statuses, [404, 404, 429]);
});
