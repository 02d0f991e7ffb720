import t from 'tap';
import { AUDIT_ACTIONS, recordAudit } from '../../src/domain/audit.js';
import { dictionaries, LOCALES } from '../../src/i18n/index.js';
import { placeOrder } from '../../src/domain/orders.js';
import { translator } from '../../src/i18n/index.js';
import { AUDIT_PER_PAGE } from '../../src/routes/audit/index.js';
import { buildShop, setBasket } from '../domain/orders-fixture.js';
import { build, Client, createAccount, loggedIn, text } from '../helper.js';
import { accountRow, count, decode, snapshot } from './route-helper.js';
import type { Db } from '../../src/db/index.js';

/*
 * The audit log: admin actions are recorded (role changes, approvals, settings, producers, sales,
 * pickup points, emails, exports and erasures) with ids and setting names only, refused actions
 * record nothing, and the admin page shows them newest first, 50 a page, translated and linked.
 * Also the admin's export and erasure of a member's account on their request.
 */

const en = translator('en');
const fr = translator('fr');

interface Entry {
  actor_id: number | null;
  actor_name: string;
  action: string;
  subject_type: string | null;
  subject_id: number | null;
  details: string;
}
const entries = (db: Db): Entry[] => db.$client.prepare('select actor_id, actor_name, action, subject_type, subject_id, details from audit_log order by id').all() as Entry[];
const adminId = (db: Db) => (db.$client.prepare("select id from accounts where email = 'admin@carnet.test'").get() as { id: number }).id;

/** An admin client reading English. */
async function englishAdmin(app: Parameters<typeof loggedIn>[0]): Promise<Client> {
  const c = await loggedIn(app, 'admin@carnet.test');
  await c.post('/lang', { locale: 'en', next: '/' });
  await c.get('/');
  return c;
}

t.test('every recorded action has a label in every language', async (t) => {
  for (const locale of LOCALES) {
    const missing = AUDIT_ACTIONS.filter((a) => !(`audit.action.${a}` in dictionaries[locale]));
    t.same(missing, [], `${locale}: a label for each of the ${AUDIT_ACTIONS.length} actions`);
  }
});

t.test('the audit page: admins only, an empty state, a link in the admin menu', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'mia@carnet.test', name: 'Mia' });
  const member = await loggedIn(app, 'mia@carnet.test');
  t.equal((await member.get('/admin/audit')).statusCode, 403);
  const visitor = new Client(app);
  const res0 = await visitor.get('/admin/audit');
  t.equal(res0.statusCode, 303);
  t.equal(res0.headers.location, '/login?next=' + encodeURIComponent('/admin/audit'));

  const c = await englishAdmin(app);
  const res = await c.get('/admin/audit');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), en('audit.empty'));
  t.match(res.body, /<a href="\/admin\/audit" aria-current="page">Audit log<\/a>/);
  t.notMatch(res.body, /class="pager"/, 'no pages when there is nothing');
});

t.test('role changes, approvals, declines and settings are recorded; refused ones are not', async (t) => {
  const { app, db } = await build(t);
  const admin = adminId(db);
  const mia = await createAccount(db, { email: 'mia@carnet.test', name: 'Mia Martin' });
  const pat = await createAccount(db, { email: 'pat@carnet.test', name: 'Pat Pending', status: 'pending' });
  const sam = await createAccount(db, { email: 'sam@carnet.test', name: 'Sam Pending', status: 'pending' });
  const c = await englishAdmin(app);

  // Refused: the last admin cannot lose the role; an invalid settings form; an unknown account.
  await c.get(`/admin/accounts/${admin}`);
  let res = await c.post(`/admin/accounts/${admin}/roles`, { roles: ['member'] });
  t.equal(res.statusCode, 422);
  await c.get('/admin/settings');
  res = await c.post('/admin/settings', { name: '', contactEmail: 'x', defaultLocale: 'fr', timeZone: 'Europe/Paris' });
  t.equal(res.statusCode, 422);
  res = await c.post('/admin/approvals/99999/approve');
  t.equal(res.statusCode, 404);
  t.same(entries(db), [], 'a refused action records nothing');

  // A role change: one entry per direction, role names only.
  await c.get(`/admin/accounts/${mia}`);
  res = await c.post(`/admin/accounts/${mia}/roles`, { roles: ['producer', 'admin'] });
  t.equal(res.statusCode, 303);
  // Saving the same roles again changes nothing and records nothing.
  await c.get(`/admin/accounts/${mia}`);
  await c.post(`/admin/accounts/${mia}/roles`, { roles: ['producer', 'admin'] });
  await c.get('/admin/approvals');
  t.equal((await c.post(`/admin/approvals/${pat}/approve`)).statusCode, 303);
  t.equal((await c.post(`/admin/approvals/${sam}/reject`)).statusCode, 303);
  await c.get('/admin/settings');
  res = await c.post('/admin/settings', {
    name: 'Coop Renamed',
    contactEmail: 'hello@carnet.test',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    requireApproval: 'on',
  });
  t.equal(res.statusCode, 303);

  t.same(entries(db), [
    { actor_id: admin, actor_name: 'Ada Admin', action: 'account.role_granted', subject_type: 'account', subject_id: mia, details: '{"roles":["admin","producer"]}' },
    { actor_id: admin, actor_name: 'Ada Admin', action: 'account.role_revoked', subject_type: 'account', subject_id: mia, details: '{"roles":["member"]}' },
    { actor_id: admin, actor_name: 'Ada Admin', action: 'account.approved', subject_type: 'account', subject_id: pat, details: '{}' },
    { actor_id: admin, actor_name: 'Ada Admin', action: 'account.declined', subject_type: 'account', subject_id: sam, details: '{}' },
    { actor_id: admin, actor_name: 'Ada Admin', action: 'coop.settings_changed', subject_type: 'coop', subject_id: 1, details: '{"settings":["name","contactEmail","requireApproval"]}' },
  ]);
  const log = JSON.stringify(entries(db).map((e) => e.details));
  for (const personal of ['Mia', 'Pat', 'Sam', 'carnet.test', 'Coop Renamed']) t.notOk(log.includes(personal), `no "${personal}" in the details`);

  // The page: newest first, translated, linked while the subject exists, in the coop's time zone.
  res = await c.get('/admin/audit');
  const page = text(res.body);
  t.match(page, new RegExp(['Settings changed', 'Sign-up declined', 'Sign-up approved', 'Role taken away', 'Role given'].join('.*')), 'newest first');
  t.match(page, 'Settings: name, contact email, approval of new members');
  t.match(page, 'Roles: admin, producer');
  t.match(res.body, new RegExp(`<a href="/admin/accounts/${admin}">Ada Admin</a>`), 'who, linked to their account');
  t.match(res.body, new RegExp(`<a href="/admin/accounts/${mia}">Account #${mia}</a>`), 'what it was about, linked');
  t.match(page, `Account #${sam}`, 'a declined sign-up is still named by number');
  t.notMatch(res.body, new RegExp(`href="/admin/accounts/${sam}"`), 'but not linked: it is gone');
  t.match(res.body, /<a href="\/admin\/settings">Coop settings<\/a>/);
  t.match(res.body, /<time datetime="\d{4}-\d\d-\d\dT/);

  // In French.
  const frAdmin = await loggedIn(app, 'admin@carnet.test');
  await frAdmin.post('/lang', { locale: 'fr', next: '/' });
  res = await frAdmin.get('/admin/audit');
  t.match(decode(res.body), fr('audit.action.account.role_granted'));
  t.match(decode(res.body), `Compte n°${mia}`);
});

t.test('producers, sales, pickup points and emails are recorded with ids only', async (t) => {
  const { app, db } = await build(t);
  const admin = adminId(db);
  const c = await englishAdmin(app);

  await c.get('/admin/pickup-points/new');
  let res = await c.post('/admin/pickup-points', { name: 'Halle', address: '1 place du Marché', active: 'on' });
  t.equal(res.statusCode, 303);
  const point = (db.$client.prepare("select id from pickup_points where name = 'Halle'").get() as { id: number }).id;
  await c.get(`/admin/pickup-points/${point}`);
  t.equal((await c.post(`/admin/pickup-points/${point}`, { name: 'Halle couverte', address: '1 place du Marché', active: 'on' })).statusCode, 303);

  await c.get('/admin/producers/new');
  res = await c.post('/admin/producers', { name: 'Ferme des Saules', contactName: 'Paul Sorel', email: 'paul@saules.test', phone: '06 00 00 00 01', active: 'on' });
  t.equal(res.statusCode, 303);
  const producer = (db.$client.prepare("select id from producers where name = 'Ferme des Saules'").get() as { id: number }).id;
  await c.get(`/admin/producers/${producer}/edit`);
  t.equal((await c.post(`/admin/producers/${producer}`, { name: 'Ferme des Saules', contactName: 'Paul Sorel', active: 'on' })).statusCode, 303);
  await c.get(`/admin/producers/${producer}`);
  t.equal((await c.post(`/admin/producers/${producer}/invitations`, { email: 'paul@saules.test' })).statusCode, 303);
  const paul = await createAccount(db, { email: 'paul@saules.test', name: 'Paul Sorel', roles: ['producer'] });
  db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, 0)').run(producer, paul);
  await c.get(`/admin/producers/${producer}`);
  t.equal((await c.post(`/admin/producers/${producer}/accounts/${paul}/remove`)).statusCode, 303);

  await c.get('/admin/outbox');
  t.equal((await c.post('/admin/outbox/test', { to: 'someone@example.org' })).statusCode, 303);
  const email = (db.$client.prepare("select id from outbox where to_address = 'someone@example.org'").get() as { id: number }).id;
  db.$client.prepare("update outbox set status = 'failed' where id = ?").run(email);
  t.equal((await c.post(`/admin/outbox/${email}/retry`)).statusCode, 303);

  // A pickup point in no sale can be deleted; refusing to delete one in use records nothing.
  await c.get('/admin/pickup-points');
  t.equal((await c.post(`/admin/pickup-points/${point}/delete`)).statusCode, 303);

  t.same(
    entries(db).map((e) => [e.actor_id, e.action, e.subject_type, e.subject_id, e.details]),
    [
      [admin, 'pickup_point.created', 'pickup_point', point, '{}'],
      [admin, 'pickup_point.updated', 'pickup_point', point, '{}'],
      [admin, 'producer.created', 'producer', producer, '{}'],
      [admin, 'producer.updated', 'producer', producer, '{}'],
      [admin, 'producer.invited', 'producer', producer, '{}'],
      [admin, 'producer.manager_removed', 'producer', producer, `{"accountId":${paul},"roleRemoved":true}`],
      [admin, 'email.test_sent', 'email', email, '{}'],
      [admin, 'email.retried', 'email', email, '{}'],
      [admin, 'pickup_point.deleted', 'pickup_point', point, '{}'],
    ],
  );
  const log = JSON.stringify(entries(db).map((e) => e.details));
  for (const personal of ['Paul', 'paul@', '06 00', 'someone@']) t.notOk(log.includes(personal), `no "${personal}" in the details`);

  res = await c.get('/admin/audit');
  const page = text(res.body);
  t.match(page, `Pickup point #${point}`, 'a deleted pickup point is still named');
  t.notMatch(res.body, new RegExp(`href="/admin/pickup-points/${point}"`), 'but not linked');
  t.match(res.body, new RegExp(`<a href="/admin/producers/${producer}">Producer #${producer}</a>`));
  t.match(page, `Account: Account #${paul}`);
  t.match(page, 'Producer role removed: yes');
});

t.test('categories and VAT rates: added, changed, turned off and on are recorded; refused ones are not', async (t) => {
  const { app, db } = await build(t);
  const admin = adminId(db);
  const c = await englishAdmin(app);
  await c.get('/admin/categories');
  t.equal((await c.post('/admin/categories', { nameFr: 'Champignons', nameEn: 'Mushrooms' })).statusCode, 303);
  const category = (db.$client.prepare("select id from categories where name_fr = 'Champignons'").get() as { id: number }).id;
  t.equal((await c.post('/admin/categories', { nameFr: 'Champignons', nameEn: 'Mushrooms' })).statusCode, 422, 'a taken name is refused');
  await c.get(`/admin/categories/${category}`);
  t.equal((await c.post(`/admin/categories/${category}`, { nameFr: 'Champignons et truffes', nameEn: 'Mushrooms and truffles', position: '5' })).statusCode, 303);
  await c.get('/admin/vat-rates');
  t.equal((await c.post('/admin/vat-rates', { rate: '7' })).statusCode, 303);
  t.equal((await c.post('/admin/vat-rates', { rate: '7' })).statusCode, 422, 'a rate already there is refused');
  t.equal((await c.post('/admin/vat-rates/700', { active: 'false' })).statusCode, 303);
  t.equal((await c.post('/admin/vat-rates/700', { active: 'true' })).statusCode, 303);
  t.same(
    entries(db).map((e) => [e.actor_id, e.action, e.subject_type, e.subject_id, e.details]),
    [
      [admin, 'category.created', 'category', category, '{}'],
      [admin, 'category.updated', 'category', category, '{}'],
      [admin, 'vat_rate.added', null, null, '{"rate":700}'],
      [admin, 'vat_rate.deactivated', null, null, '{"rate":700}'],
      [admin, 'vat_rate.activated', null, null, '{"rate":700}'],
    ],
  );
  const res = await c.get('/admin/audit');
  t.match(res.body, new RegExp(`<a href="/admin/categories/${category}">Category #${category}</a>`));
  t.match(text(res.body), 'Rate: 7%');
  t.match(text(res.body), en('audit.action.vat_rate.deactivated'));
});

t.test('sales: created, changed, scheduled and copied are recorded', async (t) => {
  const { app, db } = await build(t);
  const point = Number(db.$client.prepare("insert into pickup_points (name, address, created_at, updated_at) values ('Halle', '1 rue', 0, 0)").run().lastInsertRowid);
  const c = await englishAdmin(app);
  const H = 3_600_000;
  const at = (days: number) => new Date(Math.floor((Date.now() + days * 24 * H) / H) * H);
  const local = (d: Date) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(d).replace(' ', 'T');
  const form = (name: string) => ({
    name,
    opensAt: local(at(3)),
    closesAt: local(at(5)),
    'dist-0-point': String(point),
    'dist-0-date': local(at(7)).slice(0, 10),
    'dist-0-start': '17:00',
    'dist-0-end': '19:00',
  });
  await c.get('/admin/cycles/new');
  let res = await c.post('/admin/cycles', form('Semaine 1'));
  t.equal(res.statusCode, 303);
  const cycle = Number(String(res.headers.location).split('/').pop());
  await c.get(`/admin/cycles/${cycle}/edit`);
  t.equal((await c.post(`/admin/cycles/${cycle}/edit`, { ...form('Semaine 1 bis'), 'dist-0-id': '' })).statusCode, 303);
  await c.get(`/admin/cycles/${cycle}`);
  t.equal((await c.post(`/admin/cycles/${cycle}/schedule`)).statusCode, 303);
  // A refused action (a scheduled sale cannot be finished) records nothing.
  const before = count(db, 'audit_log');
  await c.post(`/admin/cycles/${cycle}/finish`);
  t.equal(count(db, 'audit_log'), before, 'a refused status change records nothing');
  res = await c.post(`/admin/cycles/${cycle}/duplicate`);
  t.equal(res.statusCode, 303);
  const copy = Number(String(res.headers.location).split('/').pop());
  t.same(
    entries(db).map((e) => [e.action, e.subject_id, e.details]),
    [
      ['cycle.created', cycle, '{}'],
      ['cycle.updated', cycle, '{}'],
      ['cycle.status_changed', cycle, '{"from":"draft","to":"scheduled"}'],
      ['cycle.duplicated', copy, `{"source":${cycle}}`],
    ],
  );
  res = await c.get('/admin/audit');
  const page = text(res.body);
  t.match(page, 'From: draft');
  t.match(page, 'To: scheduled');
  t.match(page, `Copy of: Sale #${cycle}`);
  t.match(res.body, new RegExp(`<a href="/admin/cycles/${copy}">Sale #${copy}</a>`));
});

t.test('the audit page shows 50 entries a page, newest first', async (t) => {
  const { app, db } = await build(t);
  t.equal(AUDIT_PER_PAGE, 50);
  const admin = adminId(db);
  for (let i = 1; i <= 51; i++) recordAudit(db, { id: admin, name: 'Ada Admin' }, 'cycle.updated', { type: 'cycle', id: 1000 + i }, {}, 1_700_000_000_000 + i * 60_000);
  const c = await englishAdmin(app);
  let res = await c.get('/admin/audit');
  const ids = (html: string) => [...text(html).matchAll(/Sale #(\d+)/g)].map((m) => Number(m[1]));
  t.equal(ids(res.body).length, 50);
  t.equal(ids(res.body)[0], 1051, 'the newest first');
  t.match(res.body, /href="\/admin\/audit\?page=2" rel="next">Older entries/);
  t.notMatch(res.body, /rel="prev"/);
  res = await c.get('/admin/audit?page=2');
  t.same(ids(res.body), [1001]);
  t.match(res.body, /href="\/admin\/audit" rel="prev">Newer entries/);
  t.notMatch(res.body, /rel="next"/);
  for (const bad of ['0', '-1', 'abc', '99999999']) t.equal((await c.get('/admin/audit?page=' + bad)).statusCode, 200, `page=${bad} is not an error`);
});

t.test('an admin downloads a member’s data, recorded without the person’s name', async (t) => {
  const { app, db } = await build(t);
  const mia = await createAccount(db, { email: 'mia@carnet.test', name: 'Mia Martin', phone: '06 11 22 33 44' });
  const c = await englishAdmin(app);
  let res = await c.get(`/admin/accounts/${mia}`);
  t.match(res.body, new RegExp(`<a href="/admin/accounts/${mia}/data.json" download hx-boost="false">`));
  t.match(res.body, new RegExp(`<a href="/admin/accounts/${mia}/erase">`));
  res = await c.get(`/admin/accounts/${mia}/data.json`);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-disposition'], new RegExp(`^attachment; filename="carnet-account-${mia}-data-\\d{4}-\\d\\d-\\d\\d\\.json"$`));
  t.match(res.json(), { account: { id: mia, name: 'Mia Martin', phone: '06 11 22 33 44' } });
  t.same(entries(db), [{ actor_id: adminId(db), actor_name: 'Ada Admin', action: 'account.exported', subject_type: 'account', subject_id: mia, details: '{}' }]);
  t.equal((await c.get('/admin/accounts/99999/data.json')).statusCode, 404);
  t.equal(count(db, 'audit_log'), 1, 'nothing recorded for an unknown account');
});

t.test('an admin erases a member’s account on request: typed email, orders kept, sessions over, recorded', async (t) => {
  const { app, db } = await build(t);
  const shop = buildShop(db, Date.now(), { accounts: false });
  const mia = await createAccount(db, { email: 'mia@carnet.test', name: 'Mia Martin', phone: '06 11 22 33 44' });
  setBasket(db, mia, shop.cycle, { [shop.offers.eggs]: 2 }, shop.dists.halle);
  const placed = placeOrder(db, app.mailer, { accountId: mia, cycleId: shop.cycle, distributionId: shop.dists.halle, token: 'audit-route-token-0001' });
  if (!placed.ok) throw new Error('placing failed');
  const miaClient = await loggedIn(app, 'mia@carnet.test');
  const c = await englishAdmin(app);

  let res = await c.get(`/admin/accounts/${mia}/erase`);
  t.equal(res.statusCode, 200);
  const page = text(res.body);
  t.match(page, en('data.admin.title', { name: 'Mia Martin' }));
  t.match(page, en('data.admin.orders_kept_one', { name: `Membre supprimé n°${mia}` }));
  t.match(page, placed.reference, 'the order to be cancelled is listed');
  t.match(page, en('data.admin.confirm_email', { email: 'mia@carnet.test' }));

  for (const [label, typed, message] of [
    ['nothing typed', '', en('error.required')],
    ['another email', 'bob@carnet.test', en('data.error.email_mismatch')],
    ['not an email', 'Mia Martin', en('error.invalid_email')],
  ] as const) {
    await c.get(`/admin/accounts/${mia}/erase`);
    const before = snapshot(db);
    res = await c.post(`/admin/accounts/${mia}/erase`, { confirmEmail: typed });
    t.equal(res.statusCode, 422, label);
    t.match(text(res.body), message, label);
    t.equal(snapshot(db), before, `${label}: nothing changed`);
  }

  await c.get(`/admin/accounts/${mia}/erase`);
  res = await c.post(`/admin/accounts/${mia}/erase`, { confirmEmail: '  MIA@carnet.test ' });
  t.equal(res.statusCode, 303, 'the email is matched as typed in any case');
  t.equal(res.headers.location, '/admin/accounts');
  t.equal(accountRow(db, 'mia@carnet.test'), undefined);
  t.match(db.$client.prepare('select member_name, account_id, status from orders where id = ?').get(placed.orderId), { member_name: `Membre supprimé n°${mia}`, account_id: null, status: 'cancelled' });
  t.same(entries(db), [{ actor_id: adminId(db), actor_name: 'Ada Admin', action: 'account.erased', subject_type: 'account', subject_id: mia, details: '{}' }]);
  // The flash names the account by number only, and no session row keeps her name.
  t.equal(count(db, 'sessions', "flash like '%Mia%'"), 0);
  res = await c.get('/admin/accounts');
  t.match(text(res.body), en('data.flash.erased_by_admin', { id: mia }));
  t.notMatch(text(res.body), 'Mia Martin');
  // Her browser's session is over.
  res = await miaClient.get('/account');
  t.equal(res.statusCode, 303);
  t.match(String(res.headers.location), /^\/login/);
  // The erase page of an account that is gone is a 404.
  t.equal((await c.get(`/admin/accounts/${mia}/erase`)).statusCode, 404);
  await c.get('/admin/accounts');
  t.equal((await c.post(`/admin/accounts/${mia}/erase`, { confirmEmail: 'mia@carnet.test' })).statusCode, 404);
  res = await c.get('/admin/audit');
  t.match(text(res.body), `Account erased Account #${mia}`);
});

t.test('an admin cannot erase the last admin, and erasing oneself logs out', async (t) => {
  const { app, db } = await build(t);
  const admin = adminId(db);
  const c = await englishAdmin(app);
  let res = await c.get(`/admin/accounts/${admin}/erase`);
  t.match(text(res.body), en('data.admin.last_admin'));
  t.notMatch(res.body, /name="confirmEmail"/, 'no form');
  const before = snapshot(db);
  res = await c.post(`/admin/accounts/${admin}/erase`, { confirmEmail: 'admin@carnet.test' });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), en('data.admin.last_admin'));
  t.equal(snapshot(db), before);

  const second = await createAccount(db, { email: 'second@carnet.test', name: 'Second Admin', roles: ['admin', 'member'] });
  res = await c.get(`/admin/accounts/${admin}/erase`);
  t.match(text(res.body), en('data.admin.self'));
  t.match(res.body, /action="\/admin\/accounts\/\d+\/erase" novalidate hx-boost="false"/);
  res = await c.post(`/admin/accounts/${admin}/erase`, { confirmEmail: 'admin@carnet.test' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  t.match(entries(db), [{ actor_id: null, actor_name: `Membre supprimé n°${admin}`, action: 'account.erased', subject_id: admin }]);
  res = await c.get('/');
  t.match(text(res.body), en('data.flash.deleted'));
  t.notMatch(res.body, /action="\/logout"/);
  t.ok(second);
  const other = await loggedIn(app, 'second@carnet.test');
  t.equal((await other.get('/admin/audit')).statusCode, 200, 'the other admin carries on');
});
