import t from 'tap';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { categories, cycles, distributions, offers, pickupPoints, producers, products, type CycleStatus } from '../../src/db/schema/index.js';
import { centsForInput, MAX_PRICE_CENTS, MAX_QUANTITY, priceField } from '../../src/domain/money.js';
import {
  copyLastOffers,
  countPublished,
  findProducerCycle,
  listProducerCycles,
  offerSheet,
  saveOffer,
  saveOffers,
  type OfferInput,
  type SaveOfferResult,
} from '../../src/domain/offers.js';
import { testDb } from '../helper.js';

/*
 * Offer rules: publishing, changing and withdrawing an offer, what members already ordered, the
 * all-or-nothing page save, "copy my offers from the last cycle", and what a producer may see.
 * Fixtures are inserted directly: the catalog and cycle features are built alongside this one.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2030, 0, 10, 12);

interface Fixture {
  db: Db;
  a: number;
  b: number;
  veg: number;
  cheese: number;
  carrots: number;
  leeks: number;
  tomme: number;
  chicken: number;
  archived: number;
  bProduct: number;
}

function producer(db: Db, name: string): number {
  return db.insert(producers).values({ name, createdAt: NOW, updatedAt: NOW }).returning({ id: producers.id }).get().id;
}

function product(db: Db, producerId: number, name: string, fields: Partial<typeof products.$inferInsert> = {}): number {
  return db
    .insert(products)
    .values({ producerId, name, unit: 'piece', priceCents: 200, vatRateBp: 550, createdAt: NOW, updatedAt: NOW, ...fields })
    .returning({ id: products.id })
    .get().id;
}

/** A cycle whose dates agree with its state, so that no clock would move it. */
function cycle(db: Db, name: string, status: CycleStatus, opensInDays: number): number {
  const opensAt = NOW + opensInDays * DAY;
  return db
    .insert(cycles)
    .values({ name, status, opensAt, closesAt: opensAt + 3 * DAY, createdAt: NOW, updatedAt: NOW })
    .returning({ id: cycles.id })
    .get().id;
}

function offer(db: Db, cycleId: number, productId: number, producerId: number, fields: Partial<typeof offers.$inferInsert> = {}): number {
  return db
    .insert(offers)
    .values({ cycleId, productId, producerId, quantityAvailable: 10, priceCents: 250, createdAt: NOW, updatedAt: NOW, ...fields })
    .returning({ id: offers.id })
    .get().id;
}

function fixture(t: Test): Fixture {
  const { db } = testDb(t);
  const cheese = db.insert(categories).values({ nameFr: 'Fromages', nameEn: 'Cheese', position: 5 }).returning({ id: categories.id }).get().id;
  const veg = db.insert(categories).values({ nameFr: 'Légumes', nameEn: 'Vegetables', position: 10 }).returning({ id: categories.id }).get().id;
  const a = producer(db, 'Ferme A');
  const b = producer(db, 'Ferme B');
  return {
    db,
    a,
    b,
    veg,
    cheese,
    carrots: product(db, a, 'Carottes', { categoryId: veg, unit: 'bunch', priceCents: 180 }),
    leeks: product(db, a, 'Poireaux', { categoryId: veg }),
    tomme: product(db, a, 'Tomme', { categoryId: cheese, unit: 'kg', priceCents: 2200 }),
    chicken: product(db, a, 'Poulet', { weighed: true, estimatedWeightGrams: 1600, priceCents: 1290 }),
    archived: product(db, a, 'Vieux produit', { categoryId: veg, active: false }),
    bProduct: product(db, b, 'Miel de B', { unit: 'jar', priceCents: 800 }),
  };
}

type OfferRowDb = { published: number; quantity_available: number | null; quantity_taken: number; price_cents: number; producer_id: number };
const offerOf = (db: Db, cycleId: number, productId: number) =>
  db.$client.prepare('select published, quantity_available, quantity_taken, price_cents, producer_id from offers where cycle_id = ? and product_id = ?').get(cycleId, productId) as
    | OfferRowDb
    | undefined;
const allOffers = (db: Db) => JSON.stringify(db.$client.prepare('select * from offers order by id').all());

interface SaveCase {
  label: string;
  status?: CycleStatus;
  /** Prepares the cycle (existing offers, what is taken); returns nothing. */
  before?: (f: Fixture, cycleId: number) => void;
  input: (f: Fixture) => Omit<OfferInput, 'productId'> & { productId?: number };
  product?: (f: Fixture) => number;
  expect: SaveOfferResult;
  /** The offer of the product afterwards (undefined: none). */
  after?: Partial<OfferRowDb> | undefined;
  /** The offers table must not change. */
  unchanged?: boolean;
}

const offered = (quantity: number | null, priceCents: number | null = 250) => () => ({ offered: true, quantity, priceCents });
const unoffered = () => ({ offered: false, quantity: null, priceCents: null });
const existing = (fields: Partial<typeof offers.$inferInsert> = {}) => (f: Fixture, c: number) => void offer(f.db, c, f.carrots, f.a, fields);

const SAVE_CASES: SaveCase[] = [
  { label: 'offer a product', input: offered(12, 250), expect: { ok: true, change: 'published' }, after: { published: 1, quantity_available: 12, price_cents: 250 } },
  { label: 'the offer copies the producer id', input: offered(12), expect: { ok: true, change: 'published' }, after: { producer_id: 1 } },
  { label: 'unlimited is a null quantity', input: offered(null, 300), expect: { ok: true, change: 'published' }, after: { quantity_available: null, price_cents: 300 } },
  { label: 'no price means the catalog price', input: offered(5, null), expect: { ok: true, change: 'published' }, after: { price_cents: 180 } },
  { label: 'offer in a scheduled cycle', status: 'scheduled', input: offered(3), expect: { ok: true, change: 'published' }, after: { quantity_available: 3 } },
  { label: 'change quantity and price', before: existing(), input: offered(20, 199), expect: { ok: true, change: 'updated' }, after: { quantity_available: 20, price_cents: 199 } },
  { label: 'the same values change nothing', before: existing(), input: offered(10, 250), expect: { ok: true, change: 'unchanged' }, unchanged: true },
  { label: 'withdraw an offer nobody ordered', before: existing(), input: unoffered, expect: { ok: true, change: 'removed' }, after: undefined },
  { label: 'withdrawing what is not offered does nothing', input: unoffered, expect: { ok: true, change: 'unchanged' }, unchanged: true },
  {
    label: 'withdraw an offer already ordered: refused',
    before: existing({ quantityTaken: 3 }),
    input: unoffered,
    expect: { ok: false, reason: 'row', error: { reason: 'already_ordered', taken: 3 } },
    unchanged: true,
  },
  {
    label: 'lower below what is ordered: refused',
    before: existing({ quantityTaken: 3 }),
    input: offered(2),
    expect: { ok: false, reason: 'row', error: { reason: 'below_taken', taken: 3 } },
    unchanged: true,
  },
  { label: 'lower down to what is ordered', before: existing({ quantityTaken: 3 }), input: offered(3), expect: { ok: true, change: 'updated' }, after: { quantity_available: 3, quantity_taken: 3 } },
  { label: 'unlimited with orders', before: existing({ quantityTaken: 3 }), input: offered(null), expect: { ok: true, change: 'updated' }, after: { quantity_available: null, quantity_taken: 3 } },
  {
    label: 'zero with orders is below what is ordered',
    before: existing({ quantityTaken: 1 }),
    input: offered(0),
    expect: { ok: false, reason: 'row', error: { reason: 'below_taken', taken: 1 } },
    unchanged: true,
  },
  { label: 'zero and nothing ordered: untick instead', input: offered(0), expect: { ok: false, reason: 'row', error: { reason: 'zero_quantity' } }, unchanged: true },
  { label: 'a quantity above the maximum', input: offered(MAX_QUANTITY + 1), expect: { ok: false, reason: 'row', error: { reason: 'quantity_range' } }, unchanged: true },
  { label: 'a negative quantity', input: offered(-1), expect: { ok: false, reason: 'row', error: { reason: 'quantity_range' } }, unchanged: true },
  { label: 'a fractional quantity', input: offered(1.5), expect: { ok: false, reason: 'row', error: { reason: 'quantity_range' } }, unchanged: true },
  { label: 'a zero price', input: offered(5, 0), expect: { ok: false, reason: 'row', error: { reason: 'price_range' } }, unchanged: true },
  { label: 'a price above the maximum', input: offered(5, MAX_PRICE_CENTS + 1), expect: { ok: false, reason: 'row', error: { reason: 'price_range' } }, unchanged: true },
  { label: 'the maximum price', input: offered(MAX_QUANTITY, MAX_PRICE_CENTS), expect: { ok: true, change: 'published' }, after: { price_cents: MAX_PRICE_CENTS } },
  { label: 'an archived product cannot be offered', product: (f) => f.archived, input: offered(5), expect: { ok: false, reason: 'row', error: { reason: 'archived' } }, unchanged: true },
  {
    label: 'an archived product can be withdrawn',
    product: (f) => f.archived,
    before: (f, c) => void offer(f.db, c, f.archived, f.a),
    input: unoffered,
    expect: { ok: true, change: 'removed' },
    after: undefined,
  },
  { label: 'another producer’s product', product: (f) => f.bProduct, input: offered(5), expect: { ok: false, reason: 'row', error: { reason: 'not_found' } }, unchanged: true },
  {
    label: 'another producer’s product cannot be withdrawn either',
    product: (f) => f.bProduct,
    before: (f, c) => void offer(f.db, c, f.bProduct, f.b),
    input: unoffered,
    expect: { ok: false, reason: 'row', error: { reason: 'not_found' } },
    unchanged: true,
  },
  { label: 'a product that does not exist', product: () => 9999, input: offered(5), expect: { ok: false, reason: 'row', error: { reason: 'not_found' } }, unchanged: true },
  { label: 'a closed cycle is read-only', status: 'closed', input: offered(5), expect: { ok: false, reason: 'read_only' }, unchanged: true },
  { label: 'a done cycle is read-only', status: 'done', before: existing(), input: unoffered, expect: { ok: false, reason: 'read_only' }, unchanged: true },
  { label: 'a draft cycle is invisible', status: 'draft', input: offered(5), expect: { ok: false, reason: 'cycle_not_found' }, unchanged: true },
  {
    label: 'ticking a draft offer publishes it',
    before: existing({ published: false }),
    input: offered(7, 260),
    expect: { ok: true, change: 'published' },
    after: { published: 1, quantity_available: 7, price_cents: 260 },
  },
  { label: 'leaving a draft unticked keeps it as a draft', before: existing({ published: false }), input: unoffered, expect: { ok: true, change: 'unchanged' }, unchanged: true },
];

for (const c of SAVE_CASES) {
  t.test(`saveOffer: ${c.label}`, async (t) => {
    const f = fixture(t);
    const cycleId = cycle(f.db, 'Semaine', c.status ?? 'open', (c.status ?? 'open') === 'scheduled' || c.status === 'draft' ? 2 : -1);
    c.before?.(f, cycleId);
    const productId = c.product?.(f) ?? f.carrots;
    const before = allOffers(f.db);
    const input = { productId, ...c.input(f) };
    t.same(saveOffer(f.db, f.a, cycleId, input, NOW + HOUR), c.expect);
    if (c.unchanged) t.equal(allOffers(f.db), before, 'no offer changed');
    if ('after' in c) {
      const row = offerOf(f.db, cycleId, productId);
      if (c.after === undefined) t.equal(row, undefined, 'no offer');
      else t.match(row, c.after);
    }
  });
}

t.test('saveOffers: the whole page is saved, or nothing is', async (t) => {
  const f = fixture(t);
  const open = cycle(f.db, 'Ouverte', 'open', -1);
  offer(f.db, open, f.leeks, f.a, { quantityAvailable: 10, quantityTaken: 4 });
  const before = allOffers(f.db);

  const bad = saveOffers(
    f.db,
    f.a,
    open,
    [
      { productId: f.carrots, offered: true, quantity: 5, priceCents: 250 },
      { productId: f.leeks, offered: true, quantity: 3, priceCents: null },
      { productId: f.tomme, offered: true, quantity: 2, priceCents: 0 },
    ],
    NOW,
  );
  t.same(bad, {
    ok: false,
    reason: 'rows',
    errors: [
      { productId: f.leeks, error: { reason: 'below_taken', taken: 4 } },
      { productId: f.tomme, error: { reason: 'price_range' } },
    ],
  });
  t.equal(allOffers(f.db), before, 'the valid row was rolled back too');

  const foreign = saveOffers(f.db, f.a, open, [{ productId: f.carrots, offered: true, quantity: 5, priceCents: 250 }, { productId: f.bProduct, offered: true, quantity: 1, priceCents: 100 }], NOW);
  t.same(foreign, { ok: false, reason: 'rows', errors: [{ productId: f.bProduct, error: { reason: 'not_found' } }] });
  t.equal(allOffers(f.db), before, 'another producer’s product in the form saves nothing');

  const good = saveOffers(
    f.db,
    f.a,
    open,
    [
      { productId: f.carrots, offered: true, quantity: 5, priceCents: 250 },
      { productId: f.leeks, offered: true, quantity: 4, priceCents: null },
      { productId: f.tomme, offered: true, quantity: null, priceCents: 2100 },
      { productId: f.chicken, offered: false, quantity: null, priceCents: null },
    ],
    NOW,
  );
  t.same(good, { ok: true, publishedCount: 3, changed: 3 });
  t.match(offerOf(f.db, open, f.leeks), { quantity_available: 4, quantity_taken: 4, price_cents: 200 });
  t.match(offerOf(f.db, open, f.tomme), { quantity_available: null, price_cents: 2100 });
  t.equal(offerOf(f.db, open, f.chicken), undefined);

  const closed = cycle(f.db, 'Fermée', 'closed', -10);
  t.same(saveOffers(f.db, f.a, closed, [{ productId: f.carrots, offered: true, quantity: 5, priceCents: 250 }], NOW), { ok: false, reason: 'read_only' });
  t.same(saveOffers(f.db, f.a, 424242, [], NOW), { ok: false, reason: 'cycle_not_found' });
});

t.test('the database refuses a quantity below what is ordered, whatever the code does', async (t) => {
  const f = fixture(t);
  const open = cycle(f.db, 'Ouverte', 'open', -1);
  const id = offer(f.db, open, f.carrots, f.a, { quantityAvailable: 5, quantityTaken: 5 });
  t.throws(() => f.db.$client.prepare('update offers set quantity_available = 4 where id = ?').run(id), /CHECK constraint failed: offers_stock_check/);
  // The guarded UPDATE alone (as saveOffer writes it) changes no row when the guard fails.
  const changes = f.db.$client.prepare('update offers set quantity_available = 4 where id = ? and quantity_taken <= 4').run(id).changes;
  t.equal(changes, 0);
});

interface CopyCase {
  label: string;
  build: (f: Fixture) => { target: number };
  expect: (f: Fixture) => ReturnType<typeof copyLastOffers>;
  check?: (t: Test, f: Fixture, target: number) => void;
}

const COPY_CASES: CopyCase[] = [
  {
    label: 'copies the last cycle’s published offers of active products, same quantity and price',
    build: (f) => {
      const older = cycle(f.db, 'Il y a deux semaines', 'done', -14);
      offer(f.db, older, f.chicken, f.a, { quantityAvailable: 99 });
      const last = cycle(f.db, 'Semaine dernière', 'closed', -7);
      offer(f.db, last, f.carrots, f.a, { quantityAvailable: 8, priceCents: 190, quantityTaken: 8 });
      offer(f.db, last, f.tomme, f.a, { quantityAvailable: null, priceCents: 2300 });
      offer(f.db, last, f.leeks, f.a, { published: false, quantityAvailable: 4 });
      offer(f.db, last, f.archived, f.a, { quantityAvailable: 2 });
      offer(f.db, last, f.bProduct, f.b, { quantityAvailable: 6 });
      const target = cycle(f.db, 'Cette semaine', 'scheduled', 1);
      return { target };
    },
    expect: () => ({ ok: true, copied: 2, from: { id: 2, name: 'Semaine dernière' } }),
    check: (t, f, target) => {
      t.match(offerOf(f.db, target, f.carrots), { published: 1, quantity_available: 8, quantity_taken: 0, price_cents: 190, producer_id: f.a });
      t.match(offerOf(f.db, target, f.tomme), { published: 1, quantity_available: null, price_cents: 2300 });
      t.equal(offerOf(f.db, target, f.leeks), undefined, 'a draft of the last cycle is not copied');
      t.equal(offerOf(f.db, target, f.archived), undefined, 'an archived product is not copied');
      t.equal(offerOf(f.db, target, f.chicken), undefined, 'only the most recent cycle is copied');
      t.equal(offerOf(f.db, target, f.bProduct), undefined, 'another producer’s offers are not copied');
    },
  },
  {
    label: 'leaves what is already offered, publishes drafts with the copied values',
    build: (f) => {
      const last = cycle(f.db, 'Semaine dernière', 'closed', -7);
      offer(f.db, last, f.carrots, f.a, { quantityAvailable: 8, priceCents: 190 });
      offer(f.db, last, f.leeks, f.a, { quantityAvailable: 6, priceCents: 210 });
      const target = cycle(f.db, 'Cette semaine', 'open', -1);
      offer(f.db, target, f.carrots, f.a, { quantityAvailable: 30, priceCents: 175, quantityTaken: 2 });
      offer(f.db, target, f.leeks, f.a, { published: false, quantityAvailable: 1, priceCents: 100 });
      return { target };
    },
    expect: () => ({ ok: true, copied: 1, from: { id: 1, name: 'Semaine dernière' } }),
    check: (t, f, target) => {
      t.match(offerOf(f.db, target, f.carrots), { quantity_available: 30, price_cents: 175, quantity_taken: 2 }, 'unchanged');
      t.match(offerOf(f.db, target, f.leeks), { published: 1, quantity_available: 6, price_cents: 210 });
    },
  },
  {
    label: 'skips cycles where the producer published nothing, and later cycles',
    build: (f) => {
      const withOffers = cycle(f.db, 'Avec offres', 'done', -14);
      offer(f.db, withOffers, f.tomme, f.a, { quantityAvailable: 3 });
      const skipped = cycle(f.db, 'Sans offres de A', 'closed', -7);
      offer(f.db, skipped, f.bProduct, f.b);
      const target = cycle(f.db, 'Cette semaine', 'scheduled', 1);
      const later = cycle(f.db, 'Plus tard', 'scheduled', 8);
      offer(f.db, later, f.carrots, f.a);
      return { target };
    },
    expect: () => ({ ok: true, copied: 1, from: { id: 1, name: 'Avec offres' } }),
    check: (t, f, target) => {
      t.match(offerOf(f.db, target, f.tomme), { quantity_available: 3 });
      t.equal(offerOf(f.db, target, f.carrots), undefined);
    },
  },
  {
    label: 'nothing to copy',
    build: (f) => ({ target: cycle(f.db, 'Première', 'scheduled', 1) }),
    expect: () => ({ ok: true, copied: 0, from: null }),
  },
  {
    label: 'a draft cycle is not a source',
    build: (f) => {
      const draft = cycle(f.db, 'Brouillon', 'draft', -7);
      offer(f.db, draft, f.carrots, f.a);
      return { target: cycle(f.db, 'Cette semaine', 'scheduled', 1) };
    },
    expect: () => ({ ok: true, copied: 0, from: null }),
  },
  {
    label: 'a closed cycle is read-only',
    build: (f) => {
      const last = cycle(f.db, 'Avant', 'done', -14);
      offer(f.db, last, f.carrots, f.a);
      return { target: cycle(f.db, 'Fermée', 'closed', -7) };
    },
    expect: () => ({ ok: false, reason: 'read_only' }),
  },
  {
    label: 'a draft cycle is not found',
    build: (f) => ({ target: cycle(f.db, 'Brouillon', 'draft', 7) }),
    expect: () => ({ ok: false, reason: 'cycle_not_found' }),
  },
];

for (const c of COPY_CASES) {
  t.test(`copyLastOffers: ${c.label}`, async (t) => {
    const f = fixture(t);
    const { target } = c.build(f);
    const expected = c.expect(f);
    const before = allOffers(f.db);
    t.same(copyLastOffers(f.db, f.a, target, NOW), expected);
    if (!expected.ok || expected.copied === 0) t.equal(allOffers(f.db), before, 'nothing changed');
    c.check?.(t, f, target);
  });
}

t.test('copying twice copies nothing the second time', async (t) => {
  const f = fixture(t);
  const last = cycle(f.db, 'Semaine dernière', 'closed', -7);
  offer(f.db, last, f.carrots, f.a);
  const target = cycle(f.db, 'Cette semaine', 'scheduled', 1);
  t.match(copyLastOffers(f.db, f.a, target, NOW), { ok: true, copied: 1 });
  t.match(copyLastOffers(f.db, f.a, target, NOW), { ok: true, copied: 0, from: { name: 'Semaine dernière' } });
  t.equal(countPublished(f.db, f.a, target), 1);
});

t.test('the cycles a producer sees', async (t) => {
  const f = fixture(t);
  t.same(listProducerCycles(f.db, f.a), { upcoming: [], past: [] }, 'nothing scheduled yet');
  cycle(f.db, 'Brouillon', 'draft', 9);
  const later = cycle(f.db, 'Dans deux semaines', 'scheduled', 9);
  const next = cycle(f.db, 'Semaine prochaine', 'scheduled', 2);
  const open = cycle(f.db, 'En cours', 'open', -1);
  const past = [-28, -21, -14, -7].map((d, i) => cycle(f.db, `Passée ${i}`, i === 3 ? 'closed' : 'done', d));
  offer(f.db, open, f.carrots, f.a);
  offer(f.db, open, f.leeks, f.a);
  offer(f.db, open, f.bProduct, f.b);
  offer(f.db, next, f.carrots, f.a, { published: false });
  const point = f.db.insert(pickupPoints).values({ name: 'Halle', address: '1 rue', createdAt: NOW, updatedAt: NOW }).returning({ id: pickupPoints.id }).get().id;
  f.db.insert(distributions).values({ cycleId: open, pickupPointId: point, startsAt: NOW + 3 * DAY, endsAt: NOW + 3 * DAY + 2 * HOUR }).run();

  const list = listProducerCycles(f.db, f.a);
  t.same(
    list.upcoming.map((c) => [c.id, c.status, c.editable, c.offerCount, c.draftCount]),
    [
      [open, 'open', true, 2, 0],
      [next, 'scheduled', true, 0, 1],
      [later, 'scheduled', true, 0, 0],
    ],
    'scheduled and open, soonest first, with this producer’s counts; drafts hidden',
  );
  t.same(list.upcoming[0]!.distributions, [{ pickupPointName: 'Halle', startsAt: NOW + 3 * DAY, endsAt: NOW + 3 * DAY + 2 * HOUR }]);
  t.same(
    list.past.map((c) => [c.id, c.editable]),
    [
      [past[3], false],
      [past[2], false],
      [past[1], false],
    ],
    'the last three finished cycles, most recent first, read-only',
  );
  t.equal(listProducerCycles(f.db, f.b).upcoming[0]!.offerCount, 1, 'B counts only its own offers');

  t.equal(findProducerCycle(f.db, open)?.editable, true);
  t.equal(findProducerCycle(f.db, past[0]!)?.editable, false);
  t.equal(findProducerCycle(f.db, 1), undefined, 'a draft is invisible');
});

t.test('the offers page: every active product, grouped by category in the reader’s language', async (t) => {
  const f = fixture(t);
  const open = cycle(f.db, 'Ouverte', 'open', -1);
  offer(f.db, open, f.archived, f.a, { quantityTaken: 2 });
  offer(f.db, open, f.leeks, f.a, { published: false, quantityAvailable: 4, priceCents: 220 });
  offer(f.db, open, f.carrots, f.a, { quantityAvailable: null, priceCents: 175, quantityTaken: 5 });
  offer(f.db, open, f.bProduct, f.b);

  const fr = offerSheet(f.db, f.a, open, 'fr')!;
  t.same(
    fr.groups.map((g) => [g.categoryName, g.rows.map((r) => r.name)]),
    [
      ['Fromages', ['Tomme']],
      ['Légumes', ['Carottes', 'Poireaux', 'Vieux produit']],
      [null, ['Poulet']],
    ],
  );
  t.equal(fr.publishedCount, 2);
  t.equal(fr.draftCount, 1);
  const rows = fr.groups.flatMap((g) => g.rows);
  t.match(rows.find((r) => r.name === 'Carottes'), { catalogPriceCents: 180, archived: false, offer: { published: true, quantityAvailable: null, quantityTaken: 5, priceCents: 175 } });
  t.match(rows.find((r) => r.name === 'Poireaux'), { offer: { published: false, quantityAvailable: 4, priceCents: 220 } });
  t.match(rows.find((r) => r.name === 'Vieux produit'), { archived: true, offer: { quantityTaken: 2 } }, 'an archived product still offered is shown');
  t.match(rows.find((r) => r.name === 'Poulet'), { weighed: true, offer: null });
  t.notOk(rows.some((r) => r.name === 'Miel de B'), 'never another producer’s products');

  const en = offerSheet(f.db, f.a, open, 'en')!;
  t.same(en.groups.map((g) => g.categoryName), ['Cheese', 'Vegetables', null]);

  const other = cycle(f.db, 'Suivante', 'scheduled', 2);
  t.notOk(
    offerSheet(f.db, f.a, other, 'fr')!.groups.flatMap((g) => g.rows).some((r) => r.archived),
    'an archived product without an offer is not listed',
  );
  t.equal(offerSheet(f.db, f.a, cycle(f.db, 'Brouillon', 'draft', 9), 'fr'), undefined, 'a draft cycle has no page');
  t.equal(offerSheet(f.db, f.a, 9999, 'fr'), undefined);
});

// The page's price field: comma or dot, as the producer types it, into integer cents.
const PRICES: Array<[string, number | 'error.invalid_price' | 'error.price_range' | 'error.required']> = [
  ['2,50', 250],
  ['2.50', 250],
  ['2,5', 250],
  [' 3 ', 300],
  ['12,90 €', 1290],
  ['1 234,56', 123456],
  ['100000', MAX_PRICE_CENTS],
  ['100000,01', 'error.price_range'],
  ['1000000', 'error.price_range'],
  ['0', 'error.price_range'],
  ['0,00', 'error.price_range'],
  ['-2', 'error.invalid_price'],
  ['abc', 'error.invalid_price'],
  ['2,505', 'error.invalid_price'],
  ['', 'error.required'],
];

for (const [typed, expected] of PRICES) {
  t.test(`price "${typed}"`, async (t) => {
    const parsed = priceField.safeParse(typed);
    if (typeof expected === 'number') t.same(parsed, { success: true, data: expected });
    else t.equal(parsed.error?.issues[0]?.message, expected);
  });
}

t.test('prices go back into the form the way each language writes them', async (t) => {
  t.equal(centsForInput(250, 'fr'), '2,50');
  t.equal(centsForInput(250, 'en'), '2.50');
  t.equal(priceField.parse(centsForInput(123456, 'fr')), 123456, 'a French price reads back');
});
