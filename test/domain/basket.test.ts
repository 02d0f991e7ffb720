import t from 'tap';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { chooseDistribution, readBasket, setBasketQuantity, type SetQuantityResult } from '../../src/domain/basket.js';
import { MAX_QUANTITY } from '../../src/domain/money.js';
import { createAccount, testDb } from '../helper.js';

/*
 * The basket: quantity rules (maximum per order, what is left, sold out, not on sale, wrong or
 * closed cycle, zero and negative), the distribution choice, and what readBasket says about lines
 * that no longer fit.
 */

const HOUR = 3_600_000;
const NOW = Date.UTC(2030, 0, 10, 12);

interface Fixture {
  db: Db;
  ana: number;
  bob: number;
  open: number;
  other: number;
  closed: number;
  scheduled: number;
  offers: Record<string, number>;
  dists: { open: number; other: number };
}

async function fixture(t: Test): Promise<Fixture> {
  const { db } = testDb(t);
  const run = (sql: string, ...params: unknown[]) => Number(db.$client.prepare(sql).run(...params).lastInsertRowid);
  const ana = await createAccount(db, { email: 'ana@carnet.test' });
  const bob = await createAccount(db, { email: 'bob@carnet.test' });
  const farm = run("insert into producers (name, created_at, updated_at) values ('Ferme', 0, 0)");
  const gone = run("insert into producers (name, active, created_at, updated_at) values ('Partie', 0, 0, 0)");
  const cycle = (name: string, status: string) => run('insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values (?, ?, ?, ?, 0, 0)', name, status, NOW - HOUR, NOW + 48 * HOUR);
  const open = cycle('Ouverte', 'open');
  const other = cycle('Autre ouverte', 'open');
  const closed = cycle('Close', 'closed');
  const scheduled = cycle('Programmée', 'scheduled');
  const product = (name: string, extra: { producer?: number; max?: number | null; weighed?: number; active?: number; vat?: number } = {}) =>
    run(
      'insert into products (producer_id, name, unit, price_cents, vat_rate_bp, max_per_order, weighed, estimated_weight_grams, active, created_at, updated_at) values (?, ?, ?, 300, ?, ?, ?, ?, ?, 0, 0)',
      extra.producer ?? farm,
      name,
      extra.weighed ? 'kg' : 'bunch',
      extra.vat ?? 550,
      extra.max ?? null,
      extra.weighed ?? 0,
      extra.weighed ? 1600 : null,
      extra.active ?? 1,
    );
  const offer = (cycleId: number, productId: number, available: number | null, taken = 0, published = 1, producer = farm, price = 250) =>
    run(
      'insert into offers (cycle_id, product_id, producer_id, published, quantity_available, quantity_taken, price_cents, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, 0, 0)',
      cycleId,
      productId,
      producer,
      published,
      available,
      taken,
      price,
    );
  const offers = {
    carrots: offer(open, product('Carottes'), 10, 4),
    capped: offer(open, product('Oeufs', { max: 3 }), 50),
    soldOut: offer(open, product('Asperges'), 5, 5),
    unlimited: offer(open, product('Pain'), null),
    draft: offer(open, product('Brouillon'), 10, 0, 0),
    archived: offer(open, product('Archivé', { active: 0 }), 10),
    goneFarm: offer(open, product('Ferme partie', { producer: gone }), 10, 0, 1, gone),
    weighed: offer(open, product('Tomme', { weighed: 1, vat: 2000 }), 10, 0, 1, farm, 1150),
    otherCycle: offer(other, product('Autre vente'), 10),
    closedCycle: offer(closed, product('Vente close'), 10),
    scheduledCycle: offer(scheduled, product('Vente programmée'), 10),
  };
  const point = run("insert into pickup_points (name, address, created_at, updated_at) values ('Halle', '1 rue', 0, 0)");
  const dist = (cycleId: number) => run('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycleId, point, NOW + 72 * HOUR, NOW + 74 * HOUR);
  return { db, ana, bob, open, other, closed, scheduled, offers, dists: { open: dist(open), other: dist(other) } };
}

const qty = (f: Fixture, account: number, offerId: number) =>
  (f.db.$client.prepare('select quantity from basket_items where account_id = ? and offer_id = ?').get(account, offerId) as { quantity: number } | undefined)?.quantity;

t.test('setBasketQuantity: the quantity rules', async (t) => {
  const cases: Array<{ label: string; offer: string; cycle?: 'open' | 'other' | 'closed' | 'scheduled'; quantity: number; want: SetQuantityResult; stored?: number }> = [
    { label: 'within what is left', offer: 'carrots', quantity: 6, want: { ok: true, quantity: 6 }, stored: 6 },
    { label: 'one more than is left', offer: 'carrots', quantity: 7, want: { ok: false, reason: 'not_enough', left: 6 } },
    { label: 'up to the maximum per order', offer: 'capped', quantity: 3, want: { ok: true, quantity: 3 }, stored: 3 },
    { label: 'above the maximum per order', offer: 'capped', quantity: 4, want: { ok: false, reason: 'over_max', max: 3 } },
    { label: 'sold out', offer: 'soldOut', quantity: 1, want: { ok: false, reason: 'sold_out' } },
    { label: 'unlimited', offer: 'unlimited', quantity: 500, want: { ok: true, quantity: 500 }, stored: 500 },
    { label: 'unlimited, but not absurd', offer: 'unlimited', quantity: MAX_QUANTITY + 1, want: { ok: false, reason: 'invalid_quantity' } },
    { label: 'a weighed product, by the piece', offer: 'weighed', quantity: 2, want: { ok: true, quantity: 2 }, stored: 2 },
    { label: 'zero when absent', offer: 'carrots', quantity: 0, want: { ok: true, quantity: 0 } },
    { label: 'negative', offer: 'carrots', quantity: -1, want: { ok: false, reason: 'invalid_quantity' } },
    { label: 'not a whole number', offer: 'carrots', quantity: 1.5, want: { ok: false, reason: 'invalid_quantity' } },
    { label: 'not a number', offer: 'carrots', quantity: Number.NaN, want: { ok: false, reason: 'invalid_quantity' } },
    { label: 'not published', offer: 'draft', quantity: 1, want: { ok: false, reason: 'not_offered' } },
    { label: 'archived product', offer: 'archived', quantity: 1, want: { ok: false, reason: 'not_offered' } },
    { label: 'inactive producer', offer: 'goneFarm', quantity: 1, want: { ok: false, reason: 'not_offered' } },
    { label: 'an offer of another cycle', offer: 'otherCycle', quantity: 1, want: { ok: false, reason: 'not_offered' } },
    { label: 'a closed cycle', offer: 'closedCycle', cycle: 'closed', quantity: 1, want: { ok: false, reason: 'cycle_not_open' } },
    { label: 'a scheduled cycle', offer: 'scheduledCycle', cycle: 'scheduled', quantity: 1, want: { ok: false, reason: 'cycle_not_open' } },
  ];
  for (const c of cases) {
    const f = await fixture(t);
    const offerId = f.offers[c.offer]!;
    const result = setBasketQuantity(f.db, f.ana, f[c.cycle ?? 'open'], offerId, c.quantity, NOW);
    t.same(result, c.want, c.label);
    t.equal(qty(f, f.ana, offerId), c.stored, `${c.label}: stored`);
    t.equal(qty(f, f.bob, offerId), undefined, `${c.label}: nothing in another basket`);
  }
  const f = await fixture(t);
  t.same(setBasketQuantity(f.db, f.ana, f.open, 999_999, 1, NOW), { ok: false, reason: 'not_offered' }, 'an unknown offer');
});

t.test('setBasketQuantity: changing and removing a line', async (t) => {
  const f = await fixture(t);
  const { carrots, capped } = f.offers;
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 2, NOW), { ok: true, quantity: 2 });
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 5, NOW + 1), { ok: true, quantity: 5 }, 'a second call sets, it does not add');
  t.equal(qty(f, f.ana, carrots!), 5);
  t.same(f.db.$client.prepare('select count(*) as n from baskets where account_id = ? and cycle_id = ?').get(f.ana, f.open), { n: 1 }, 'one basket row');
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 0, NOW + 2), { ok: true, quantity: 0 }, '0 removes');
  t.equal(qty(f, f.ana, carrots!), undefined);

  // A line that no longer fits may be lowered (closer to fitting) or removed, never raised.
  setBasketQuantity(f.db, f.ana, f.open, carrots!, 6, NOW);
  f.db.$client.prepare('update offers set quantity_taken = 8 where id = ?').run(carrots);
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 6, NOW), { ok: false, reason: 'not_enough', left: 2 }, 'the same quantity no longer fits');
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 4, NOW), { ok: true, quantity: 4 }, 'lowering is allowed');
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 5, NOW), { ok: false, reason: 'not_enough', left: 2 }, 'raising is not');
  setBasketQuantity(f.db, f.ana, f.open, capped!, 3, NOW);
  f.db.$client.prepare('update products set max_per_order = 1 where id = (select product_id from offers where id = ?)').run(capped);
  t.same(setBasketQuantity(f.db, f.ana, f.open, capped!, 2, NOW), { ok: true, quantity: 2 }, 'lowering towards a new maximum');

  // Withdrawn since: it can be removed, not changed.
  f.db.$client.prepare('update offers set published = 0 where id = ?').run(carrots);
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 1, NOW), { ok: false, reason: 'not_offered' });
  t.same(setBasketQuantity(f.db, f.ana, f.open, carrots!, 0, NOW), { ok: true, quantity: 0 });
  t.equal(qty(f, f.ana, carrots!), undefined);

  // Once the cycle closes, nothing changes any more.
  setBasketQuantity(f.db, f.ana, f.open, capped!, 1, NOW);
  f.db.$client.prepare("update cycles set status = 'closed' where id = ?").run(f.open);
  t.same(setBasketQuantity(f.db, f.ana, f.open, capped!, 0, NOW), { ok: false, reason: 'cycle_not_open' });
  t.equal(qty(f, f.ana, capped!), 1);
});

t.test('setBasketQuantity: what the member’s own placed order holds is theirs to keep', async (t) => {
  const f = await fixture(t);
  const soldOut = f.offers.soldOut!;
  // Ana's placed order holds 2 of the 5 taken asparagus.
  const order = Number(
    f.db.$client
      .prepare("insert into orders (cycle_id, account_id, distribution_id, reference, member_name, total_cents, placed_at, updated_at) values (?, ?, ?, 'V1-0001', 'Ana', 500, 0, 0)")
      .run(f.open, f.ana, f.dists.open).lastInsertRowid,
  );
  f.db.$client
    .prepare("insert into order_lines (order_id, offer_id, product_id, producer_id, product_name, producer_name, unit_label, quantity, unit_price_cents, vat_rate_bp, line_total_cents) select ?, o.id, o.product_id, o.producer_id, 'Asperges', 'Ferme', 'bunch', 2, 250, 550, 500 from offers o where o.id = ?")
    .run(order, soldOut);
  t.same(setBasketQuantity(f.db, f.ana, f.open, soldOut, 2, NOW), { ok: true, quantity: 2 }, 'Ana may keep her 2');
  t.same(setBasketQuantity(f.db, f.ana, f.open, soldOut, 3, NOW), { ok: false, reason: 'not_enough', left: 2 }, 'but not take a third');
  t.same(setBasketQuantity(f.db, f.bob, f.open, soldOut, 1, NOW), { ok: false, reason: 'sold_out' }, 'Bob finds it sold out');
  f.db.$client.prepare("update orders set status = 'cancelled' where id = ?").run(order);
  f.db.$client.prepare('update offers set quantity_taken = 3 where id = ?').run(soldOut);
  t.same(setBasketQuantity(f.db, f.bob, f.open, soldOut, 2, NOW), { ok: true, quantity: 2 }, 'a cancelled order holds nothing');
});

t.test('chooseDistribution', async (t) => {
  const cases: Array<{ label: string; cycle: 'open' | 'other' | 'closed'; dist: 'open' | 'other' | 'unknown'; want: ReturnType<typeof chooseDistribution> }> = [
    { label: 'a distribution of the cycle', cycle: 'open', dist: 'open', want: { ok: true } },
    { label: 'a distribution of another cycle', cycle: 'open', dist: 'other', want: { ok: false, reason: 'not_in_cycle' } },
    { label: 'an unknown distribution', cycle: 'open', dist: 'unknown', want: { ok: false, reason: 'not_in_cycle' } },
    { label: 'a closed cycle', cycle: 'closed', dist: 'open', want: { ok: false, reason: 'cycle_not_open' } },
  ];
  for (const c of cases) {
    const f = await fixture(t);
    const distId = c.dist === 'unknown' ? 999_999 : f.dists[c.dist];
    t.same(chooseDistribution(f.db, f.ana, f[c.cycle], distId, NOW), c.want, c.label);
    const stored = f.db.$client.prepare('select distribution_id as d from baskets where account_id = ? and cycle_id = ?').get(f.ana, f[c.cycle]) as { d: number } | undefined;
    t.equal(stored?.d, c.want.ok ? distId : undefined, `${c.label}: stored`);
  }
  const f = await fixture(t);
  setBasketQuantity(f.db, f.ana, f.open, f.offers.carrots!, 1, NOW);
  t.same(chooseDistribution(f.db, f.ana, f.open, f.dists.open, NOW), { ok: true }, 'on an existing basket');
  t.equal(readBasket(f.db, f.ana, f.open).distribution?.pickupPointName, 'Halle');
  t.equal(readBasket(f.db, f.bob, f.open).distributionId, null, 'Bob has not chosen');
});

t.test('readBasket: lines, totals, VAT and problems', async (t) => {
  const f = await fixture(t);
  const o = f.offers;
  setBasketQuantity(f.db, f.ana, f.open, o.carrots!, 3, NOW);
  setBasketQuantity(f.db, f.ana, f.open, o.capped!, 3, NOW);
  setBasketQuantity(f.db, f.ana, f.open, o.weighed!, 2, NOW);
  setBasketQuantity(f.db, f.ana, f.open, o.unlimited!, 1, NOW);
  setBasketQuantity(f.db, f.bob, f.open, o.carrots!, 1, NOW);

  let basket = readBasket(f.db, f.ana, f.open);
  t.same(
    basket.lines.map((l) => [l.name, l.quantity, l.lineTotalCents, l.problem]),
    [
      ['Carottes', 3, 750, null],
      ['Oeufs', 3, 750, null],
      ['Pain', 1, 250, null],
      // 1.6 kg at 11.50 €/kg is 18.40 € a piece, estimated
      ['Tomme', 2, 3680, null],
    ],
  );
  t.equal(basket.totalCents, 750 + 750 + 250 + 3680);
  t.equal(basket.itemCount, 9);
  t.ok(basket.estimated, 'a weighed line makes the total estimated');
  t.same(basket.vat, [
    { rateBp: 550, grossCents: 1750, vatCents: 91 },
    { rateBp: 2000, grossCents: 3680, vatCents: 613 },
  ]);
  t.notOk(basket.hasProblems);
  t.equal(readBasket(f.db, f.bob, f.open).lines.length, 1, 'Bob sees only his line');

  // Things change after the lines were added: stock taken by others, a withdrawn offer, a lower maximum, a new price.
  const run = (sql: string, ...p: unknown[]) => f.db.$client.prepare(sql).run(...p);
  run('update offers set quantity_taken = 8 where id = ?', o.carrots);
  run('update products set max_per_order = 2 where id = (select product_id from offers where id = ?)', o.capped);
  run('update offers set published = 0 where id = ?', o.unlimited);
  run('update offers set price_cents = 1200 where id = ?', o.weighed);
  basket = readBasket(f.db, f.ana, f.open);
  const byName = Object.fromEntries(basket.lines.map((l) => [l.name, l]));
  t.same(byName.Carottes!.problem, { reason: 'not_enough', left: 2 });
  t.same(byName.Oeufs!.problem, { reason: 'over_max', max: 2 });
  t.same(byName.Pain!.problem, { reason: 'not_offered' });
  t.equal(byName.Tomme!.lineTotalCents, 2 * 1920, 'today’s price');
  t.ok(basket.hasProblems);
  t.equal(basket.totalCents, 750 + 750 + 3840, 'a withdrawn line is not counted');
  run('update offers set quantity_taken = 10 where id = ?', o.carrots);
  t.same(readBasket(f.db, f.ana, f.open).lines.find((l) => l.name === 'Carottes')!.problem, { reason: 'sold_out' });

  const empty = readBasket(f.db, f.ana, f.other);
  t.same([empty.lines, empty.totalCents, empty.vat, empty.distribution], [[], 0, [], null], 'an empty basket');
});
