import t from 'tap';
import { translator } from '../../src/i18n/index.js';
import { ACCOUNTS_PER_PAGE } from '../../src/routes/admin/index.js';
import { build, Client, createAccount, loggedIn, PASSWORD, text } from '../helper.js';
import { accountId, accountRow, count, outboxFor, rolesOf, snapshot } from './route-helper.js';

/*
 * Administration: the account list (search and paging), roles and the last-admin rule, the
 * approval queue with its emails, coop settings and the outbox.
 */

const fr = translator('fr');
const en = translator('en');

/** The account ids linked from an account list page, in order. */
function listedIds(html: string): number[] {
  return [...html.matchAll(/href="\/admin\/accounts\/(\d+)"/g)].map((m) => Number(m[1]));
}

/** An admin reading English (the seeded admin reads French). */
async function englishAdmin(app: Parameters<typeof loggedIn>[0]): Promise<Client> {
  const c = await loggedIn(app, 'admin@carnet.test');
  await c.get('/');
  await c.post('/lang', { locale: 'en', next: '/' });
  await c.get('/');
  return c;
}

t.test('account search matches name, email and phone; % and _ are literal', async (t) => {
  const { app, db } = await build(t);
  const ids = {
    anne: await createAccount(db, { email: 'anne@example.org', name: 'Anne Bio 100%', phone: '06 12 34 56 78' }),
    mille: await createAccount(db, { email: 'mille@example.org', name: 'Mille Fermes 1000' }),
    jeanUnderscore: await createAccount(db, { email: 'jean_paul@example.org', name: 'Jean-Paul' }),
    jeanX: await createAccount(db, { email: 'jeanxpaul@example.org', name: 'Jean Xavier' }),
    backslash: await createAccount(db, { email: 'back@example.org', name: 'Back\\slash' }),
  };
  const c = await englishAdmin(app);
  const search = async (q: string) => {
    const res = await c.get('/admin/accounts?q=' + encodeURIComponent(q));
    t.equal(res.statusCode, 200, `search ${q}`);
    return listedIds(res.body).sort((a, b) => a - b);
  };
  t.same(await search('anne'), [ids.anne], 'by name, any case');
  t.same(await search('ANNE@EXAMPLE'), [ids.anne], 'by email, any case');
  t.same(await search('12 34'), [ids.anne], 'by phone');
  t.same(await search('%'), [ids.anne], '% is a literal percent sign');
  t.same(await search('100%'), [ids.anne]);
  t.same(await search('_'), [ids.jeanUnderscore], '_ is a literal underscore');
  t.same(await search('n_p'), [ids.jeanUnderscore], 'not a one-character wildcard');
  t.same(await search('\\'), [ids.backslash], 'a backslash is literal too');
  t.same(await search('jean'), [ids.jeanUnderscore, ids.jeanX].sort((a, b) => a - b));
  t.same(await search('  jean  '), [ids.jeanUnderscore, ids.jeanX].sort((a, b) => a - b), 'the search is trimmed');
  t.same(await search('nobody-here'), []);
  let res = await c.get('/admin/accounts?q=nobody-here');
  t.match(text(res.body), en('admin.no_accounts'));
  t.match(text(res.body), '0 account(s) found');
  res = await c.get('/admin/accounts?q=' + 'x'.repeat(101));
  t.equal(res.statusCode, 200, 'an over-long search is ignored, not an error');
  t.equal(listedIds(res.body).length, 6);

  // htmx search-as-you-type gets only the results, and caches keep page and fragment apart.
  res = await c.get('/admin/accounts?q=jean', { 'hx-request': 'true', 'hx-target': 'account-results' });
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /<html/, 'a fragment, not a page');
  t.match(res.body, /<section id="account-results"/);
  t.equal(listedIds(res.body).length, 2);
  t.match(String(res.headers.vary), /HX-Request/);
  res = await c.get('/admin/accounts?q=jean', { 'hx-request': 'true', 'hx-target': 'account-results', 'hx-history-restore-request': 'true' });
  t.match(res.body, /<html/, 'a history restore gets the whole page');
});

t.test('the account list pages by 25', async (t) => {
  const { app, db } = await build(t);
  t.equal(ACCOUNTS_PER_PAGE, 25);
  for (let i = 1; i <= 30; i++) await createAccount(db, { email: `m${String(i).padStart(2, '0')}@example.org`, name: `Member ${i}` });
  const c = await englishAdmin(app);
  let res = await c.get('/admin/accounts');
  t.match(text(res.body), '31 account(s) found');
  t.match(text(res.body), 'Page 1 of 2');
  const page1 = listedIds(res.body);
  t.equal(page1.length, 25);
  t.equal(page1[0], accountId(db, 'm30@example.org'), 'newest first');
  t.match(res.body, /href="\/admin\/accounts\?page=2" rel="next"/);
  t.notMatch(res.body, /rel="prev"/);
  res = await c.get('/admin/accounts?page=2');
  const page2 = listedIds(res.body);
  t.equal(page2.length, 6);
  t.same(new Set([...page1, ...page2]).size, 31, 'no account twice, none missing');
  t.match(res.body, /href="\/admin\/accounts\?page=1" rel="prev"/);
  t.notMatch(res.body, /rel="next"/);
  // Paging keeps the search.
  res = await c.get('/admin/accounts?q=member');
  t.match(text(res.body), '30 account(s) found');
  t.match(res.body, /href="\/admin\/accounts\?q=member&amp;page=2"/);
  res = await c.get('/admin/accounts?q=member&page=2');
  t.equal(listedIds(res.body).length, 5);
  // Nonsense page numbers fall back to the first page instead of failing.
  for (const p of ['0', '-3', 'abc', '1.5', '999999999']) {
    res = await c.get('/admin/accounts?page=' + p);
    t.equal(res.statusCode, 200, `page=${p}`);
  }
  t.equal(listedIds((await c.get('/admin/accounts?page=abc')).body).length, 25);
  t.equal(listedIds((await c.get('/admin/accounts?page=99')).body).length, 0, 'past the end: an empty page');
});

t.test('roles: grant, remove, and the last admin keeps the role', async (t) => {
  const { app, db } = await build(t);
  const adminId = accountId(db, 'admin@carnet.test');
  const mia = await createAccount(db, { email: 'mia@example.org', name: 'Mia' });
  const admin = await loggedIn(app, 'admin@carnet.test');

  let res = await admin.get(`/admin/accounts/${mia}`);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'mia@example.org');
  res = await admin.post(`/admin/accounts/${mia}/roles`, { roles: ['producer', 'member'] });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/admin/accounts/${mia}`);
  t.same(rolesOf(db, mia), ['member', 'producer']);
  res = await admin.get(`/admin/accounts/${mia}`);
  t.match(text(res.body), fr('flash.roles_saved', { name: 'Mia' }));
  t.match(res.body, /value="producer" checked/);

  // No box ticked: no role at all.
  res = await admin.post(`/admin/accounts/${mia}/roles`, {});
  t.equal(res.statusCode, 303);
  t.same(rolesOf(db, mia), []);

  // The last admin cannot take the admin role off themselves.
  await admin.get(`/admin/accounts/${adminId}`);
  const before = snapshot(db);
  res = await admin.post(`/admin/accounts/${adminId}/roles`, { roles: ['member'] });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), fr('error.last_admin'));
  t.equal(snapshot(db), before, 'nothing changed');
  t.same(rolesOf(db, adminId), ['admin', 'member']);

  // With a second admin, the first may step down, and then loses the admin pages.
  await admin.get(`/admin/accounts/${mia}`);
  res = await admin.post(`/admin/accounts/${mia}/roles`, { roles: ['admin'] });
  t.equal(res.statusCode, 303);
  await admin.get(`/admin/accounts/${adminId}`);
  res = await admin.post(`/admin/accounts/${adminId}/roles`, { roles: ['member'] });
  t.equal(res.statusCode, 303);
  t.same(rolesOf(db, adminId), ['member']);
  t.equal((await admin.get('/admin')).statusCode, 403, 'the change applies on the next request');
  // Now Mia is the last admin.
  const mc = await loggedIn(app, 'mia@example.org', { 'accept-language': 'en' });
  await mc.get(`/admin/accounts/${mia}`);
  res = await mc.post(`/admin/accounts/${mia}/roles`, { roles: [] });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), fr('error.last_admin'), 'Mia’s account reads French');
  t.same(rolesOf(db, mia), ['admin']);
});

t.test('sign-ups wait for approval when the coop asks for it', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'second-admin@carnet.test', name: 'Bea Admin', roles: ['admin'], locale: 'en' });
  const admin = await loggedIn(app, 'admin@carnet.test');

  // The admin turns approval on in the settings.
  await admin.get('/admin/settings');
  let res = await admin.post('/admin/settings', {
    name: 'Coop Test',
    contactEmail: 'contact@carnet.test',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    requireApproval: 'on',
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/settings');
  t.equal((db.$client.prepare('select require_approval from coop').get() as { require_approval: number }).require_approval, 1);
  res = await admin.get('/admin/settings');
  t.match(text(res.body), fr('flash.settings_saved'));
  t.match(res.body, /name="requireApproval"[^>]*checked/);

  // Two people sign up.
  const signUp = async (name: string, email: string) => {
    const c = new Client(app, { 'accept-language': 'en' });
    await c.get('/signup');
    const r = await c.post('/signup', { name, email, password: PASSWORD, passwordConfirm: PASSWORD });
    t.equal(r.statusCode, 303);
    return c;
  };
  const pat = await signUp('Pat Pending', 'pat@example.org');
  await signUp('Rex Rejected', 'rex@example.org');
  t.equal(accountRow(db, 'pat@example.org')!.status, 'pending');
  res = await pat.get('/');
  t.match(text(res.body), en('flash.pending_signup', { name: 'Pat Pending' }));
  t.match(text(res.body), en('home.pending'));
  t.equal((await pat.get('/admin/approvals')).statusCode, 403);

  t.equal(outboxFor(db, 'pat@example.org').length, 1, 'Pat is told the sign-up is received');
  t.match(outboxFor(db, 'pat@example.org')[0]!.subject, en('email.pending.subject', { coop: 'Coop Test' }));
  for (const [to, tr] of [['admin@carnet.test', fr], ['second-admin@carnet.test', en]] as const) {
    const mails = outboxFor(db, to);
    t.equal(mails.length, 2, `${to} is told of both sign-ups`);
    t.equal(mails[0]!.subject, tr('email.admin_pending.subject', { name: 'Pat Pending' }), 'in the admin’s language');
    t.match(mails[0]!.text_body, 'http://carnet.test/admin/approvals');
  }

  // The queue lists them, oldest first.
  res = await admin.get('/admin/approvals');
  t.equal(res.statusCode, 200);
  const page = text(res.body);
  t.ok(page.indexOf('Pat Pending') >= 0 && page.indexOf('Pat Pending') < page.indexOf('Rex Rejected'));
  res = await admin.get('/admin');
  t.match(text(res.body), fr('admin.dashboard_pending', { count: 2 }));

  // Approve Pat.
  const patId = accountId(db, 'pat@example.org');
  res = await admin.post(`/admin/approvals/${patId}/approve`);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/approvals');
  t.equal(accountRow(db, 'pat@example.org')!.status, 'active');
  const approved = outboxFor(db, 'pat@example.org');
  t.equal(approved.length, 2);
  t.equal(approved[1]!.subject, en('email.approved.subject', { coop: 'Coop Test' }));
  t.match(approved[1]!.text_body, 'http://carnet.test/login');
  res = await admin.get('/admin/approvals');
  t.match(text(res.body), fr('flash.approved', { name: 'Pat Pending' }));
  t.notMatch(text(res.body), 'Pat Pending —');
  res = await pat.get('/');
  t.notMatch(text(res.body), en('home.pending'), 'Pat’s next page no longer says pending');
  // Approving twice is a 404 and sends nothing more.
  let before = snapshot(db);
  res = await admin.post(`/admin/approvals/${patId}/approve`);
  t.equal(res.statusCode, 404);
  t.equal(snapshot(db), before);

  // Reject Rex: the account and its sessions are gone, Rex is told.
  const rexId = accountId(db, 'rex@example.org');
  t.equal(count(db, 'sessions', 'account_id = ?', rexId), 1);
  res = await admin.post(`/admin/approvals/${rexId}/reject`);
  t.equal(res.statusCode, 303);
  t.equal(accountRow(db, 'rex@example.org'), undefined);
  t.equal(count(db, 'sessions', 'account_id = ?', rexId), 0);
  t.equal(count(db, 'account_roles', 'account_id = ?', rexId), 0);
  const rejected = outboxFor(db, 'rex@example.org');
  t.equal(rejected.length, 2);
  t.equal(rejected[1]!.subject, en('email.rejected.subject', { coop: 'Coop Test' }));
  res = await admin.get('/admin/approvals');
  t.match(text(res.body), fr('flash.rejected', { name: 'Rex Rejected' }));
  t.match(text(res.body), fr('admin.approvals_empty'));
  before = snapshot(db);
  t.equal((await admin.post(`/admin/approvals/${rexId}/reject`)).statusCode, 404);
  t.equal(snapshot(db), before);

  // Turning approval off: sign-ups are active at once and welcomed.
  await admin.get('/admin/settings');
  res = await admin.post('/admin/settings', { name: 'Coop Test', contactEmail: 'contact@carnet.test', defaultLocale: 'fr', timeZone: 'Europe/Paris' });
  t.equal(res.statusCode, 303);
  await signUp('Val Welcome', 'val@example.org');
  t.equal(accountRow(db, 'val@example.org')!.status, 'active');
  t.equal(outboxFor(db, 'val@example.org')[0]!.subject, en('email.welcome.subject', { coop: 'Coop Test' }));
  t.equal(outboxFor(db, 'admin@carnet.test').length, 2, 'admins are not told of active sign-ups');
});

t.test('settings save and show everywhere', async (t) => {
  const { app, db } = await build(t);
  const admin = await loggedIn(app, 'admin@carnet.test');
  await admin.get('/admin/settings');
  const res = await admin.post('/admin/settings', {
    name: 'Les Paniers d’Ñandú',
    contactEmail: ' Bonjour@Paniers.example ',
    defaultLocale: 'en',
    timeZone: 'America/Toronto',
  });
  t.equal(res.statusCode, 303);
  t.match(db.$client.prepare('select * from coop').get(), {
    name: 'Les Paniers d’Ñandú',
    contact_email: 'bonjour@paniers.example',
    default_locale: 'en',
    time_zone: 'America/Toronto',
    require_approval: 0,
  });
  // The coop's default language now applies to visitors without a preference.
  const visitor = new Client(app);
  const home = await visitor.get('/');
  t.match(home.body, /<html lang="en">/);
  t.match(text(home.body), 'Les Paniers d’Ñandú');
});

t.test('outbox: list, filter, test email and retry', async (t) => {
  const { app, db } = await build(t);
  const failed = app.mailer.queue(db, { to: 'broken@example.org', locale: 'fr', template: 'test' });
  db.$client.prepare("update outbox set status = 'failed', attempts = 5, last_error = '550 <mailbox> unknown' where id = ?").run(failed);
  const sent = app.mailer.queue(db, { to: 'fine@example.org', locale: 'fr', template: 'test' });
  db.$client.prepare("update outbox set status = 'sent' where id = ?").run(sent);
  const admin = await loggedIn(app, 'admin@carnet.test');

  let res = await admin.get('/admin/outbox');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'broken@example.org');
  t.match(res.body, /550 &lt;mailbox&gt; unknown/, 'errors from the server are shown escaped');
  t.match(res.body, /value="admin@carnet.test"/, 'the test goes to the admin by default');
  res = await admin.get('/admin/outbox?status=failed');
  t.match(text(res.body), 'broken@example.org');
  t.notMatch(text(res.body), 'fine@example.org');
  res = await admin.get('/admin/outbox?status=bogus');
  t.equal(res.statusCode, 200, 'an unknown filter shows everything');
  t.match(text(res.body), 'fine@example.org');

  await admin.get('/admin/outbox');
  res = await admin.post('/admin/outbox/test', { to: ' Someone@Example.org ' });
  t.equal(res.statusCode, 303);
  const mails = outboxFor(db, 'someone@example.org');
  t.equal(mails.length, 1, 'queued, lower-cased');
  t.equal(mails[0]!.status, 'pending');
  res = await admin.get('/admin/outbox');
  t.match(text(res.body), fr('flash.test_email_queued', { email: 'someone@example.org' }));

  res = await admin.post(`/admin/outbox/${failed}/retry`);
  t.equal(res.statusCode, 303);
  t.match(db.$client.prepare('select status from outbox where id = ?').get(failed), { status: 'pending' });
  await admin.get('/admin/outbox');
  const before = snapshot(db);
  t.equal((await admin.post(`/admin/outbox/${sent}/retry`)).statusCode, 404, 'a sent email is not sent again');
  t.equal(snapshot(db), before);
});
