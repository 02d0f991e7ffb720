import t from 'tap';
import type { Db } from '../../src/db/index.js';
import { recordAudit } from '../../src/domain/audit.js';
import { placeOrder } from '../../src/domain/orders.js';
import {
  eraseAccount,
  eraseAccountByAdmin,
  eraseOwnAccount,
  erasurePreview,
  exportFileName,
  exportPersonalData,
  isLastAdmin,
  replacementName,
} from '../../src/domain/personal-data.js';
import { inviteToProducer } from '../../src/domain/producers.js';
import { requestPasswordReset } from '../../src/domain/password-reset.js';
import { createSession, findSession, hashToken, newToken } from '../../src/domain/sessions.js';
import { Mailer } from '../../src/mail/mailer.js';
import { purgeSentEmails, SENT_EMAIL_RETENTION_DAYS } from '../../src/mail/outbox.js';
import { checkStock, D, fixture, NOW, one, rows, run, setBasket, type Shop } from './orders-fixture.js';

/*
 * Members' data rights in the domain: the export holds everything about the person and nothing
 * secret or about others; erasure leaves no trace of them in any text column of any table, keeps
 * the orders (totals intact, name replaced), frees the stock of orders in open sales, and ends
 * their sessions; the last admin cannot be erased; old sent emails are purged.
 */

const mailer = new Mailer('http://carnet.test');

const PERSON = { name: 'Anaïs Quintard-Lebrun', email: 'anais.quintard@exemple.test', phone: '06 98 76 54 32' };

let tokens = 0;
const token = () => `pd-token-${String(++tokens).padStart(10, '0')}`;

interface World {
  db: Db;
  shop: Shop;
  /** The person to erase: a member who is also an admin and manages a producer. */
  id: number;
  adminId: number;
  sessionToken: string;
  adminToken: string;
  openOrder: number;
  closedOrder: number;
  bobOrder: number;
  secondProducer: number;
}

/**
 * Gives the fixture's Ana a name, email and phone found nowhere else, and leaves traces of her in
 * every place Carnet can keep them: orders in an open and a closed sale, a basket, sessions, a
 * password reset, producer links and invitations (received and sent), emails to her and about her
 * (new and pre-0003 rows, a failed one quoting her address), audit entries as an admin, and an
 * admin's unread flash message naming her.
 */
function world(t: Parameters<typeof fixture>[0]): World {
  const { db, shop } = fixture(t);
  const id = shop.accounts.ana;
  run(db, 'update accounts set name = ?, email = ?, phone = ?, notify_cycle_open = 1 where id = ?', PERSON.name, PERSON.email, PERSON.phone, id);
  run(db, "insert into account_roles (account_id, role, granted_at) values (?, 'admin', 0), (?, 'producer', 0)", id, id);
  const adminId = one<{ id: number }>(db, "select id from accounts where email = 'admin@coop.test'").id;

  // An order in the open sale, and one in a sale that has closed since.
  setBasket(db, id, shop.cycle, { [shop.offers.carrots]: 3, [shop.offers.eggs]: 1 }, shop.dists.halle);
  const open = placeOrder(db, mailer, { accountId: id, cycleId: shop.cycle, distributionId: shop.dists.halle, token: token() }, NOW);
  setBasket(db, id, shop.other, { [shop.offers.otherCarrots]: 2 }, shop.dists.other);
  const closed = placeOrder(db, mailer, { accountId: id, cycleId: shop.other, distributionId: shop.dists.other, token: token() }, NOW);
  if (!open.ok || !closed.ok) throw new Error('placing failed');
  run(db, "update cycles set status = 'closed' where id = ?", shop.other);
  // Bob orders too: his order and stock must not move.
  setBasket(db, shop.accounts.bob, shop.cycle, { [shop.offers.carrots]: 2 }, shop.dists.halle);
  const bob = placeOrder(db, mailer, { accountId: shop.accounts.bob, cycleId: shop.cycle, distributionId: shop.dists.halle, token: token() }, NOW);
  if (!bob.ok) throw new Error('placing failed');
  // A basket still being filled.
  setBasket(db, id, shop.cycle, { [shop.offers.jam]: 2 }, shop.dists.ecole);

  const sessionToken = newToken();
  createSession(db, sessionToken, id, NOW);
  createSession(db, newToken(), id, NOW - D);
  const adminToken = newToken();
  createSession(db, adminToken, adminId, NOW, { kind: 'success', key: 'flash.roles_saved', params: { name: PERSON.name } });
  requestPasswordReset(db, mailer, PERSON.email, NOW);

  // She manages the fixture's producer (through an invitation she accepted) and is invited to another.
  run(db, 'insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)', shop.producer, id, NOW);
  run(db, "insert into producer_invitations (token_hash, producer_id, email, invited_by, created_at, expires_at, accepted_at, accepted_by) values ('h-accepted', ?, ?, ?, ?, ?, ?, ?)", shop.producer, PERSON.email, adminId, NOW - D, NOW + D, NOW - D, id);
  const secondProducer = run(db, "insert into producers (name, created_at, updated_at) values ('Verger du Coteau', 0, 0)");
  const invited = inviteToProducer(db, mailer, { producerId: secondProducer, email: PERSON.email, invitedBy: { id: adminId, name: 'Ada' }, locale: 'fr' }, NOW);
  // As an admin she invited someone else: that email carries her name as the inviter.
  const sent = inviteToProducer(db, mailer, { producerId: secondProducer, email: 'someone@exemple.test', invitedBy: { id, name: PERSON.name }, locale: 'fr' }, NOW, { id, name: PERSON.name });
  if (!invited.ok || !sent.ok) throw new Error('invitation failed');
  recordAudit(db, { id, name: PERSON.name }, 'cycle.created', { type: 'cycle', id: shop.draft }, {}, NOW);
  recordAudit(db, { id: adminId, name: 'Ada' }, 'account.role_granted', { type: 'account', id }, { roles: ['admin'] }, NOW);

  // Emails: the admins told of her sign-up, an old rendered one about her, a failed one quoting her address.
  mailer.queue(db, { to: 'admin@coop.test', toName: 'Ada', locale: 'fr', template: 'adminPending', data: { approvalsUrl: 'http://carnet.test/admin/approvals' }, params: { name: PERSON.name, email: PERSON.email } }, NOW);
  run(
    db,
    "insert into outbox (to_address, to_name, subject, text_body, html_body, status, next_attempt_at, created_at, sent_at) values ('admin@coop.test', 'Ada', ?, ?, ?, 'sent', 0, 0, 0)",
    `Nouvelle inscription : ${PERSON.name}`,
    `${PERSON.name} (${PERSON.email}) attend.`,
    `<p>${PERSON.name.replace(/'/g, '&#39;')} attend.</p>`,
  );
  run(db, "insert into outbox (to_address, subject, text_body, html_body, status, last_error, next_attempt_at, created_at) values ('ops@exemple.test', 'Rapport', 'x', 'x', 'failed', ?, 0, 0)", `550 <${PERSON.email}> unknown`);
  mailer.queue(db, { to: 'bob@carnet.test', toName: 'Bob', locale: 'en', template: 'test' }, NOW);
  return { db, shop, id, adminId, sessionToken, adminToken, openOrder: open.orderId, closedOrder: closed.orderId, bobOrder: bob.orderId, secondProducer };
}

/** Every text value of every column of every table, as [table.column, value]. */
function everyText(db: Db): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const tables = rows<{ name: string }>(db, "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'");
  for (const { name } of tables) {
    const columns = rows<{ name: string; type: string }>(db, `pragma table_info("${name}")`);
    for (const c of columns) {
      for (const r of rows<{ v: unknown }>(db, `select "${c.name}" as v from "${name}"`)) {
        if (typeof r.v === 'string') found.push([`${name}.${c.name}`, r.v]);
      }
    }
  }
  return found;
}

/** Where a piece of text appears in the database (any case). */
function whereIs(db: Db, needle: string): string[] {
  const lower = needle.toLowerCase();
  return everyText(db)
    .filter(([, v]) => v.toLowerCase().includes(lower))
    .map(([where]) => where);
}

t.test('the world leaves traces of the person where Carnet keeps them (so the erasure test means something)', async (t) => {
  const w = world(t);
  const places = new Set([...whereIs(w.db, PERSON.name), ...whereIs(w.db, PERSON.email), ...whereIs(w.db, PERSON.phone)]);
  for (const where of ['accounts.name', 'accounts.email', 'accounts.phone', 'orders.member_name', 'outbox.to_address', 'outbox.payload', 'outbox.subject', 'outbox.text_body', 'outbox.html_body', 'outbox.last_error', 'producer_invitations.email', 'audit_log.actor_name', 'sessions.flash']) {
    t.ok(places.has(where), `found in ${where}`);
  }
  t.equal(one<{ n: number }>(w.db, 'select quantity_taken as n from offers where id = ?', w.shop.offers.carrots).n, 5, 'her 3 carrots and Bob’s 2 are taken');
});

t.test('erasure leaves no trace of the person in any text column of any table', async (t) => {
  const w = world(t);
  const { db } = w;
  const ordersBefore = rows<{ id: number; total_cents: number; reference: string }>(db, 'select id, total_cents, reference from orders order by id');
  const linesBefore = rows(db, 'select * from order_lines order by id');
  const bobEmails = rows(db, "select * from outbox where to_address = 'bob@carnet.test'");

  const replacement = replacementName(db, w.id);
  t.equal(replacement, `Membre supprimé n°${w.id}`, 'in the coop’s default language (French)');
  const result = db.transaction((tx) => eraseAccount(tx, w.id, replacement, NOW), { behavior: 'immediate' });
  t.same(result, { ok: true, cancelledOrders: 1, keptOrders: 1 });

  for (const needle of [PERSON.name, PERSON.email, PERSON.phone, 'Quintard', 'anais.quintard']) {
    t.same(whereIs(db, needle), [], `"${needle}" is nowhere`);
  }

  // Orders stay for the accounts: same totals and lines, replaced name, no account.
  const ordersAfter = rows<{ id: number; total_cents: number; reference: string; account_id: number | null; member_name: string; status: string }>(db, 'select * from orders order by id');
  t.same(
    ordersAfter.map((o) => ({ id: o.id, total_cents: o.total_cents, reference: o.reference })),
    ordersBefore,
    'every order is still there with its total',
  );
  t.same(rows(db, 'select * from order_lines order by id'), linesBefore, 'order lines unchanged');
  const hers = ordersAfter.filter((o) => o.id === w.openOrder || o.id === w.closedOrder);
  t.same(
    hers.map((o) => [o.account_id, o.member_name]),
    [
      [null, replacement],
      [null, replacement],
    ],
  );
  t.equal(hers.find((o) => o.id === w.openOrder)!.status, 'cancelled', 'the order in the open sale is cancelled');
  t.equal(hers.find((o) => o.id === w.closedOrder)!.status, 'placed', 'the order in the closed sale stays as it was');
  t.equal(ordersAfter.find((o) => o.id === w.bobOrder)!.status, 'placed', 'Bob’s order is untouched');

  // Stock of the open sale is freed exactly; the closed sale's stock is not touched.
  const taken = (offerId: number) => one<{ n: number }>(db, 'select quantity_taken as n from offers where id = ?', offerId).n;
  t.equal(taken(w.shop.offers.carrots), 2, 'only Bob’s carrots are still taken');
  t.equal(taken(w.shop.offers.eggs), 0);
  t.equal(taken(w.shop.offers.otherCarrots), 2, 'the closed sale keeps what was collected');
  checkStock(t, db);

  // Sessions, roles, baskets, resets, producer links: gone; her session token no longer works.
  for (const table of ['sessions', 'account_roles', 'baskets', 'basket_items', 'password_resets', 'producer_accounts', 'order_submissions']) {
    t.equal(one<{ n: number }>(db, `select count(*) as n from ${table} where account_id = ?`, w.id).n, 0, `no ${table} left`);
  }
  t.equal(findSession(db, w.sessionToken, NOW), null, 'her session is over');
  t.ok(findSession(db, w.adminToken, NOW), 'the admin is still logged in');
  t.equal(one<{ flash: string | null }>(db, 'select flash from sessions where id_hash = ?', hashToken(w.adminToken)).flash, null, 'the admin’s unread message naming her is gone');

  // The producers' business data stays.
  t.same(rows(db, 'select name from producers order by id'), [{ name: 'Ferme des Saules' }, { name: 'Verger du Coteau' }]);
  t.equal(one<{ n: number }>(db, 'select count(*) as n from products').n, 6, 'products stay');

  // Audit log: her actions keep their place under the replaced name; records about her keep her id only.
  t.same(rows(db, 'select actor_id, actor_name, action from audit_log order by id'), [
    { actor_id: null, actor_name: replacement, action: 'producer.invited' },
    { actor_id: null, actor_name: replacement, action: 'cycle.created' },
    { actor_id: w.adminId, actor_name: 'Ada', action: 'account.role_granted' },
  ]);
  t.same(rows(db, "select * from outbox where to_address = 'bob@carnet.test'"), bobEmails, 'other people’s emails stay');
  t.equal(one<{ n: number }>(db, "select count(*) as n from outbox where to_address = 'ops@exemple.test'").n, 0, 'an email whose error quoted her address is gone');
});

t.test('emails about other people stay, even with a look-alike address or a longer name', async (t) => {
  const { db, shop } = fixture(t);
  run(db, "update accounts set email = 'ana.b@carnet.test', name = 'Ana B' where id = ?", shop.accounts.ana);
  const about = (name: string, email: string) =>
    mailer.queue(db, { to: 'admin@coop.test', toName: 'Ada', locale: 'fr', template: 'adminPending', data: { approvalsUrl: 'http://carnet.test/admin/approvals' }, params: { name, email } }, NOW);
  const hers = about('Ana B', 'ana.b@carnet.test');
  const hana = about('Hana B', 'hana.b@carnet.test');
  const longer = about('Ana Bérénice', 'ana.berenice@carnet.test');
  const result = db.transaction((tx) => eraseAccount(tx, shop.accounts.ana, 'Membre supprimé', NOW), { behavior: 'immediate' });
  t.ok(result.ok);
  const left = rows<{ id: number }>(db, 'select id from outbox order by id').map((r) => r.id);
  t.notOk(left.includes(hers), 'the email about her is gone');
  t.ok(left.includes(hana), 'hana.b@… is not ana.b@…');
  t.ok(left.includes(longer), '"Ana Bérénice" is not "Ana B"');
});

t.test('erasure also removes what was kept under an address the person no longer uses', async (t) => {
  const { db, shop } = fixture(t);
  const OLD = 'anais.ancienne@exemple.test';
  run(db, 'update accounts set name = ?, email = ?, phone = ? where id = ?', PERSON.name, OLD, PERSON.phone, shop.accounts.ana);
  // Under her old address: an invitation she accepted, and an email sent to her.
  run(db, "insert into producer_invitations (token_hash, producer_id, email, created_at, expires_at, accepted_at, accepted_by) values ('h-old', ?, ?, ?, ?, ?, ?)", shop.producer, OLD, NOW - D, NOW + D, NOW - D, shop.accounts.ana);
  const sentToOld = mailer.queue(db, { to: OLD, toName: PERSON.name, locale: 'fr', template: 'test' }, NOW - D);
  run(db, "update outbox set status = 'sent', sent_at = ? where id = ?", NOW - D, sentToOld);
  // A namesake's email still waiting to go out is not hers to delete.
  const namesake = mailer.queue(db, { to: 'homonyme@exemple.test', toName: PERSON.name, locale: 'fr', template: 'test' }, NOW);
  // Then she changes her address.
  run(db, 'update accounts set email = ? where id = ?', PERSON.email, shop.accounts.ana);

  const result = db.transaction((tx) => eraseAccount(tx, shop.accounts.ana, 'Membre supprimé', NOW), { behavior: 'immediate' });
  t.ok(result.ok);
  t.same(whereIs(db, OLD), [], 'her old address is nowhere');
  t.equal(one<{ n: number }>(db, 'select count(*) as n from producer_invitations where accepted_by is null and accepted_at is not null').n, 0, 'no accepted invitation is left without its account');
  t.same(
    rows<{ id: number }>(db, 'select id from outbox where to_name = ?', PERSON.name).map((r) => r.id),
    [namesake],
    'only the namesake’s waiting email keeps the name',
  );
});

t.test('the last admin cannot be erased; nothing changes', async (t) => {
  const { db } = fixture(t);
  const admin = one<{ id: number }>(db, "select id from accounts where email = 'admin@coop.test'").id;
  t.ok(isLastAdmin(db, admin));
  const before = JSON.stringify(rows(db, 'select * from accounts order by id')) + JSON.stringify(rows(db, 'select * from audit_log'));
  t.same(eraseOwnAccount(db, admin, NOW), { ok: false, reason: 'last_admin' });
  t.same(eraseAccountByAdmin(db, { id: admin, name: 'Ada' }, admin, NOW), { ok: false, reason: 'last_admin' });
  t.equal(JSON.stringify(rows(db, 'select * from accounts order by id')) + JSON.stringify(rows(db, 'select * from audit_log')), before);
  t.ok(erasurePreview(db, admin, NOW).lastAdmin);
  t.same(eraseOwnAccount(db, 999_999, NOW), { ok: false, reason: 'not_found' });

  // With a second admin, the first may go.
  const other = run(db, "insert into accounts (email, name, password_hash, locale, created_at, updated_at) values ('second@coop.test', 'Second', 'x', 'en', 0, 0)");
  run(db, "insert into account_roles (account_id, role, granted_at) values (?, 'admin', 0)", other);
  t.notOk(isLastAdmin(db, admin));
  t.same(eraseAccountByAdmin(db, { id: other, name: 'Second' }, admin, NOW), { ok: true, cancelledOrders: 0, keptOrders: 0 });
  t.match(rows(db, 'select * from audit_log'), [{ actor_id: other, actor_name: 'Second', action: 'account.erased', subject_type: 'account', subject_id: admin, details: '{}' }]);
  t.ok(isLastAdmin(db, other), 'the second admin is now the last one');
});

t.test('a member erasing their own account leaves a nameless record for the admins', async (t) => {
  const { db, shop } = fixture(t);
  const result = eraseOwnAccount(db, shop.accounts.bob, NOW);
  t.ok(result.ok);
  t.match(rows(db, 'select * from audit_log'), [{ actor_id: null, actor_name: `Membre supprimé n°${shop.accounts.bob}`, action: 'account.erased', subject_id: shop.accounts.bob, details: '{"self":true}' }]);
  run(db, "update coop set default_locale = 'en'");
  t.equal(replacementName(db, 42), 'Deleted member #42', 'the replacement follows the coop’s default language');
});

t.test('the erasure preview says what will be cancelled, kept and left', async (t) => {
  const w = world(t);
  const preview = erasurePreview(w.db, w.id, NOW);
  const ref = one<{ reference: string }>(w.db, 'select reference from orders where id = ?', w.openOrder).reference;
  t.same(preview, {
    toCancel: [{ id: w.openOrder, reference: ref, cycleName: 'Semaine 43' }],
    kept: 2,
    producers: ['Ferme des Saules'],
    lastAdmin: false,
    replacement: `Membre supprimé n°${w.id}`,
  });
});

t.test('the export holds everything about the person, nothing secret and nothing about others', async (t) => {
  const w = world(t);
  const data = exportPersonalData(w.db, w.id, NOW, hashToken(w.sessionToken))!;
  t.ok(data);
  t.match(data, {
    format: 'carnet-personal-data',
    version: 1,
    exportedAt: new Date(NOW).toISOString(),
    coop: { name: 'Coop des Saules', contactEmail: 'c@coop.test', currency: 'EUR' },
    account: { id: w.id, name: PERSON.name, email: PERSON.email, phone: PERSON.phone, status: 'active' },
    preferences: { language: 'fr', emailWhenASaleOpens: true },
  });
  t.same(data.roles.map((r) => r.role), ['admin', 'member', 'producer']);
  t.equal(data.sessions.length, 2);
  t.same(data.sessions.map((s) => s.current), [true, false], 'the session used to download is marked');
  t.equal(data.passwordResets.length, 1);
  t.same(
    data.orders.map((o) => [o.id, o.cycle, o.status, o.lines.length]),
    [
      [w.openOrder, 'Semaine 43', 'placed', 2],
      [w.closedOrder, 'Semaine 43 bis', 'placed', 1],
    ],
  );
  t.match(data.orders[0]!.lines, [
    { product: 'Carottes', producer: 'Ferme des Saules', quantity: 3, unitPriceCents: 250, lineTotalCents: 750 },
    { product: 'Œufs', quantity: 1, unitPriceCents: 320 },
  ]);
  t.equal(data.orders[0]!.totalCents, 1070);
  t.equal(data.orders[0]!.pickupPoint, 'Halle du marché');
  t.same(
    data.baskets.map((b) => [b.cycle, b.pickupPoint, b.items.map((i) => [i.product, i.quantity])]),
    [
      ['Semaine 43', 'École Jules-Verne', [['Confiture', 2]]],
      // Placing an order empties the basket's lines; the chosen pickup stays with it.
      ['Semaine 43 bis', 'Halle du marché', []],
    ],
  );
  t.same(data.producersManaged.map((p) => p.name), ['Ferme des Saules']);
  t.same(data.invitations.received.map((i) => [i.producer, i.acceptedAt !== null]), [
    ['Ferme des Saules', true],
    ['Verger du Coteau', false],
  ]);
  t.same(data.invitations.sent, [{ producer: 'Verger du Coteau', sentAt: new Date(NOW).toISOString(), expiresAt: data.invitations.sent[0]!.expiresAt, accepted: false }]);
  t.same(
    data.emails.map((e) => e.kind),
    ['orderPlaced', 'orderPlaced', 'passwordReset', 'producerInvitation'],
    'the emails addressed to her, oldest first',
  );
  t.same(data.adminActions.map((a) => a.action), ['producer.invited', 'cycle.created']);
  t.same(data.actionsOnThisAccount.map((a) => a.action), ['account.role_granted']);

  const json = JSON.stringify(data);
  const hash = one<{ password_hash: string }>(w.db, 'select password_hash from accounts where id = ?', w.id).password_hash;
  t.notMatch(json, /passwordHash|password_hash|tokenHash|idHash/, 'no secret field');
  t.notOk(json.includes(hashToken(w.sessionToken)), 'no session token hash');
  t.notOk(json.includes(`"${hash}"`), 'no password hash');
  t.notOk(json.includes('someone@exemple.test'), 'not the address of someone she invited');
  t.notOk(json.includes('bob@carnet.test') || json.includes('"Bob"'), 'nothing about Bob');

  t.equal(exportPersonalData(w.db, 999_999, NOW), undefined);
  const bob = exportPersonalData(w.db, w.shop.accounts.bob, NOW)!;
  t.same(bob.orders.map((o) => o.id), [w.bobOrder], 'Bob gets his order only');
  t.notOk(JSON.stringify(bob).includes(PERSON.email), 'and nothing about her');
});

t.test('export file names are dated in the coop’s time zone', async (t) => {
  // 23:30 UTC on 31 March is already 1 April in Paris.
  const at = Date.UTC(2026, 2, 31, 23, 30);
  t.equal(exportFileName('carnet-my-data', at, 'Europe/Paris'), 'carnet-my-data-2026-04-01.json');
  t.equal(exportFileName('carnet-my-data', at, 'America/Martinique'), 'carnet-my-data-2026-03-31.json');
});

t.test('sent and failed emails are purged after 90 days; waiting ones stay', async (t) => {
  const { db } = fixture(t);
  t.equal(SENT_EMAIL_RETENTION_DAYS, 90);
  const email = (status: string, createdDaysAgo: number, sentDaysAgo: number | null) =>
    run(
      db,
      "insert into outbox (to_address, subject, text_body, html_body, status, next_attempt_at, created_at, sent_at) values ('x@exemple.test', 's', 't', 'h', ?, 0, ?, ?)",
      status,
      NOW - createdDaysAgo * D,
      sentDaysAgo === null ? null : NOW - sentDaysAgo * D,
    );
  const cases: Array<[string, string, number, number | null, boolean]> = [
    ['sent 91 days ago', 'sent', 95, 91, true],
    ['sent 89 days ago, queued long before', 'sent', 200, 89, false],
    ['sent just now', 'sent', 0, 0, false],
    ['failed, queued 100 days ago', 'failed', 100, null, true],
    ['failed, queued 10 days ago', 'failed', 10, null, false],
    ['waiting for 200 days', 'pending', 200, null, false],
  ];
  const ids = cases.map(([, status, created, sent]) => email(status, created, sent));
  t.equal(purgeSentEmails(db, NOW), 2);
  const left = new Set(rows<{ id: number }>(db, 'select id from outbox').map((r) => r.id));
  cases.forEach(([label, , , , purged], i) => t.equal(!left.has(ids[i]!), purged, label));
  t.equal(purgeSentEmails(db, NOW), 0, 'a second pass has nothing to do');
});
