import t from 'tap';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { closingReminderHoursField, sendMemberNotices } from '../../src/domain/member-notices.js';
import { cancelOrder, placeOrder } from '../../src/domain/orders.js';
import { Mailer } from '../../src/mail/mailer.js';
import { buildShop, D, fixture as ordersFixture, H, NOW, one, run, setBasket, type Shop } from './orders-fixture.js';
import { outboxEmails } from '../support/outbox.js';

/*
 * Members' notices: "orders are open" once per sale to members who asked, and the closing
 * reminder once, closingReminderHours before closing, to members with a basket not placed.
 */

const mailer = new Mailer('http://carnet.test');

function fixture(t: Test): { db: Db; shop: Shop } {
  const { db, shop } = ordersFixture(t);
  // Only the main sale is open for these tests.
  run(db, "update cycles set status = 'draft' where id = ?", shop.other);
  return { db, shop };
}

const outbox = (db: Db) => outboxEmails(db);
const notify = (db: Db, email: string) => run(db, 'update accounts set notify_cycle_open = 1 where email = ?', email);

t.test('the coop setting for the closing reminder', async (t) => {
  const cases: Array<[unknown, number | null]> = [
    ['24', 24],
    [' 1 ', 1],
    ['168', 168],
    ['0', null],
    ['169', null],
    ['-3', null],
    ['2,5', null],
    ['abc', null],
    ['', null],
    [undefined, null],
    ['1000', null],
  ];
  for (const [input, want] of cases) {
    const parsed = closingReminderHoursField.safeParse(input);
    t.equal(parsed.success ? parsed.data : null, want, JSON.stringify(input));
  }
});

t.test('"orders are open" goes once to active members who asked for it', async (t) => {
  const { db, shop: s } = fixture(t);
  for (const email of ['ana@carnet.test', 'bob@carnet.test', 'pending-member@carnet.test', 'farmer@carnet.test']) notify(db, email);
  const report = sendMemberNotices(db, mailer, NOW);
  t.same(report.filter((r) => r.kind === 'open'), [{ cycleId: s.cycle, kind: 'open', emails: 2 }]);
  const emails = outbox(db);
  t.same(
    emails.map((e) => [e.to_address, e.subject]),
    [
      ['ana@carnet.test', 'Les commandes sont ouvertes : Semaine 43'],
      ['bob@carnet.test', 'Orders are open: Semaine 43'],
    ],
    'in each member’s language; not the pending member, not an account without the member role, not Eve who did not ask',
  );
  t.match(emails[1]!.text_body, `http://carnet.test/shop/${s.cycle}`);
  t.match(emails[1]!.text_body, /until 22 Oct 2026, 12:00/);
  t.equal(one<{ at: number }>(db, 'select open_notice_at as at from cycles where id = ?', s.cycle).at, NOW);
  t.same(sendMemberNotices(db, mailer, NOW + H), [], 'once per sale');
  t.equal(outbox(db).length, 2);
});

t.test('no opening notice for a sale that is not open, or already closed', async (t) => {
  const { db, shop: s } = fixture(t);
  notify(db, 'ana@carnet.test');
  // The clock has not closed it yet, but closes_at has passed: too late to announce it.
  t.same(sendMemberNotices(db, mailer, NOW + 3 * D), []);
  run(db, "update cycles set status = 'scheduled' where id = ?", s.cycle);
  t.same(sendMemberNotices(db, mailer, NOW), []);
  t.equal(outbox(db).length, 0);
});

t.test('the closing reminder goes once to members with a basket not placed', async (t) => {
  const { db, shop: s } = fixture(t);
  run(db, 'update cycles set open_notice_at = 1 where id = ?', s.cycle);
  // Ana: basket, no order. Bob: placed order. Eve: order cancelled, basket again. Pia: pending. Ana also has a basket in the closed sale.
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.jam]: 1 });
  setBasket(db, s.accounts.bob, s.cycle, { [s.offers.jam]: 1 });
  placeOrder(db, mailer, { accountId: s.accounts.bob, cycleId: s.cycle, distributionId: s.dists.halle, token: 'bob-token-0000000001' }, NOW);
  setBasket(db, s.accounts.bob, s.cycle, { [s.offers.carrots]: 1 });
  setBasket(db, s.accounts.eve, s.cycle, { [s.offers.jam]: 2 });
  const eve = placeOrder(db, mailer, { accountId: s.accounts.eve, cycleId: s.cycle, distributionId: s.dists.halle, token: 'eve-token-0000000001' }, NOW);
  if (eve.ok) cancelOrder(db, mailer, s.accounts.eve, eve.orderId, NOW);
  setBasket(db, s.accounts.eve, s.cycle, { [s.offers.jam]: 1 });
  setBasket(db, s.accounts.pending, s.cycle, { [s.offers.jam]: 1 });
  run(db, 'delete from outbox');

  const closesAt = NOW + 2 * D;
  t.same(sendMemberNotices(db, mailer, closesAt - 25 * H), [], 'not before the 24 hours');
  const report = sendMemberNotices(db, mailer, closesAt - 24 * H);
  t.same(report, [{ cycleId: s.cycle, kind: 'closing', emails: 2 }]);
  const emails = outbox(db);
  t.same(
    emails.map((e) => [e.to_address, e.subject]),
    [
      ['ana@carnet.test', 'Votre panier n’est pas encore commandé : Semaine 43 se clôt le 22 oct. 2026, 12:00'],
      ['eve@carnet.test', 'Your basket is not ordered yet: Semaine 43 closes on 22 Oct 2026, 12:00'],
    ],
  );
  t.match(emails[0]!.text_body, `http://carnet.test/shop/${s.cycle}/basket`);
  t.same(sendMemberNotices(db, mailer, closesAt - H), [], 'once per sale');
});

t.test('the closing reminder follows the coop setting', async (t) => {
  const { db, shop: s } = fixture(t);
  run(db, 'update cycles set open_notice_at = 1 where id = ?', s.cycle);
  run(db, 'update coop set closing_reminder_hours = 2');
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.jam]: 1 });
  const closesAt = NOW + 2 * D;
  t.same(sendMemberNotices(db, mailer, closesAt - 3 * H), []);
  t.same(sendMemberNotices(db, mailer, closesAt - 2 * H), [{ cycleId: s.cycle, kind: 'closing', emails: 1 }]);
});

t.test('the scheduler sends the notices on its tick', async (t) => {
  const { build } = await import('../helper.js');
  const { app, db } = await build(t);
  const s = buildShop(db, Date.now(), { accounts: false });
  run(db, "update cycles set status = 'draft' where id = ?", s.other);
  run(db, "update accounts set notify_cycle_open = 1 where email = 'admin@carnet.test'");
  app.runScheduler();
  t.same(
    outbox(db).map((e) => e.to_address),
    ['admin@carnet.test'],
    'the admin (also a member) who asked is told the sale is open',
  );
  app.runScheduler();
  t.equal(outbox(db).length, 1, 'once');
});
