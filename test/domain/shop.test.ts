import t from 'tap';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import {
  estimatedPieceCents,
  findOpenCycle,
  findShopOffer,
  fold,
  includedVatCents,
  leftOf,
  lineCents,
  memberQuantities,
  nextScheduledCycle,
  openCycles,
  shopListing,
  shopOffers,
  type ShopOffer,
} from '../../src/domain/shop.js';
import { createAccount, testDb } from '../helper.js';

/*
 * Reading the shop: which offers are on sale, what is left, grouping, search and filters, and the
 * price arithmetic (weighed pieces, VAT included).
 */

const HOUR = 3_600_000;
const NOW = Date.UTC(2030, 0, 10, 12);

interface Fixture {
  db: Db;
  open: number;
  offers: Record<string, number>;
  cats: { veg: number; cheese: number };
  farms: { a: number; b: number };
}

function fixture(t: Test): Fixture {
  const { db } = testDb(t);
  const run = (sql: string, ...params: unknown[]) => Number(db.$client.prepare(sql).run(...params).lastInsertRowid);
  const veg = run("insert into categories (name_fr, name_en, position) values ('Légumes', 'Vegetables', 10)");
  const cheese = run("insert into categories (name_fr, name_en, position) values ('Fromages', 'Cheese', 5)");
  const hidden = run("insert into categories (name_fr, name_en, position, active) values ('Cachée', 'Hidden', 1, 0)");
  const a = run("insert into producers (name, description, created_at, updated_at) values ('Ferme des Épis', 'Bio depuis 1990', 0, 0)");
  const b = run("insert into producers (name, created_at, updated_at) values ('Chèvrerie', 0, 0)");
  const gone = run("insert into producers (name, active, created_at, updated_at) values ('Partie', 0, 0, 0)");
  const open = run("insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values ('Ouverte', 'open', ?, ?, 0, 0)", NOW - HOUR, NOW + 48 * HOUR);
  const product = (producer: number, name: string, category: number | null, description = '', active = 1) =>
    run(
      "insert into products (producer_id, name, description, category_id, unit, price_cents, vat_rate_bp, active, created_at, updated_at) values (?, ?, ?, ?, 'bunch', 200, 550, ?, 0, 0)",
      producer,
      name,
      description,
      category,
      active,
    );
  const offer = (producer: number, productId: number, available: number | null, taken = 0, published = 1) =>
    run(
      'insert into offers (cycle_id, product_id, producer_id, published, quantity_available, quantity_taken, price_cents, created_at, updated_at) values (?, ?, ?, ?, ?, ?, 250, 0, 0)',
      open,
      productId,
      producer,
      published,
      available,
      taken,
    );
  const offers = {
    epinards: offer(a, product(a, 'Épinards', veg, 'Jeunes pousses'), 10, 3),
    carottes: offer(a, product(a, 'carottes', veg), 5, 5),
    radis: offer(b, product(b, 'Radis', veg, 'Croquants et piquants'), null),
    crottin: offer(b, product(b, 'Crottin', cheese), 8),
    vrac: offer(b, product(b, 'Vrac', null), 4),
    cachee: offer(a, product(a, 'Catégorie cachée', hidden), 4),
    draft: offer(a, product(a, 'Brouillon', veg), 4, 0, 0),
    archived: offer(a, product(a, 'Archivé', veg, '', 0), 4),
    goneFarm: offer(gone, product(gone, 'Ferme partie', veg), 4),
  };
  return { db, open, offers, cats: { veg, cheese }, farms: { a, b } };
}

t.test('shopOffers: what is on sale, in display order, with what is left', async (t) => {
  const f = fixture(t);
  const offers = shopOffers(f.db, f.open, 'fr');
  // Cheese (position 5) before vegetables (10), no (or an inactive) category last; then producer, then product, case-insensitively.
  t.same(
    offers.map((o) => [o.categoryName, o.producerName, o.name, o.left]),
    [
      ['Fromages', 'Chèvrerie', 'Crottin', 8],
      ['Légumes', 'Chèvrerie', 'Radis', null],
      ['Légumes', 'Ferme des Épis', 'carottes', 0],
      ['Légumes', 'Ferme des Épis', 'Épinards', 7],
      [null, 'Chèvrerie', 'Vrac', 4],
      [null, 'Ferme des Épis', 'Catégorie cachée', 4],
    ],
  );
  t.equal(shopOffers(f.db, f.open, 'en')[0]!.categoryName, 'Cheese', 'categories in the reader’s language');
  t.same(shopOffers(f.db, 999, 'fr'), [], 'an unknown cycle has no offers');
  for (const hidden of ['draft', 'archived', 'goneFarm'] as const) {
    t.equal(findShopOffer(f.db, f.open, f.offers[hidden]!, 'fr'), undefined, `${hidden} is not on sale`);
  }
  t.match(findShopOffer(f.db, f.open, f.offers.radis!, 'fr'), { name: 'Radis', description: 'Croquants et piquants', vatRateBp: 550, photo: null, categoryName: 'Légumes', left: null });
  t.equal(shopOffers(f.db, f.open, 'fr')[0]!.description, undefined, 'the list reads descriptions only for a search');
  t.equal(shopOffers(f.db, f.open, 'fr', true)[0]!.description, '');
  t.equal(findShopOffer(f.db, f.open + 1, f.offers.radis!, 'fr'), undefined, 'an offer is found only in its own cycle');
});

t.test('shopListing: search, filters and groups', async (t) => {
  const f = fixture(t);
  const all = shopOffers(f.db, f.open, 'fr', true);
  const names = (l: ReturnType<typeof shopListing>) => l.groups.flatMap((g) => g.producers.flatMap((p) => p.offers.map((o) => o.name)));
  const cases: Array<{ label: string; filter: Parameters<typeof shopListing>[1]; want: string[] }> = [
    { label: 'everything', filter: {}, want: ['Crottin', 'Radis', 'carottes', 'Épinards', 'Vrac', 'Catégorie cachée'] },
    { label: 'by name, without accents', filter: { q: 'epinard' }, want: ['Épinards'] },
    { label: 'by name, any case', filter: { q: 'CAROTTES' }, want: ['carottes'] },
    { label: 'by producer name', filter: { q: 'chevrerie' }, want: ['Crottin', 'Radis', 'Vrac'] },
    { label: 'by description', filter: { q: 'piquants' }, want: ['Radis'] },
    { label: 'every word must match', filter: { q: 'radis croquants' }, want: ['Radis'] },
    { label: 'words that match nothing together', filter: { q: 'radis crottin' }, want: [] },
    { label: 'nothing matches', filter: { q: 'zzz' }, want: [] },
    { label: 'a category', filter: { categoryId: f.cats.veg }, want: ['Radis', 'carottes', 'Épinards'] },
    { label: 'a producer', filter: { producerId: f.farms.a }, want: ['carottes', 'Épinards', 'Catégorie cachée'] },
    { label: 'category and producer', filter: { categoryId: f.cats.veg, producerId: f.farms.b }, want: ['Radis'] },
    { label: 'search within a category', filter: { q: 'c', categoryId: f.cats.cheese }, want: ['Crottin'] },
    { label: 'an unknown category', filter: { categoryId: 999 }, want: [] },
  ];
  for (const c of cases) {
    const listing = shopListing(all, c.filter, 'Autres');
    t.same(names(listing), c.want, c.label);
    t.equal(listing.shown, c.want.length, `${c.label}: count`);
    t.equal(listing.total, 6, `${c.label}: total`);
  }
  const listing = shopListing(all, {}, 'Autres');
  t.same(
    listing.groups.map((g) => [g.categoryName, g.producers.map((p) => p.producerName)]),
    [
      ['Fromages', ['Chèvrerie']],
      ['Légumes', ['Chèvrerie', 'Ferme des Épis']],
      [null, ['Chèvrerie', 'Ferme des Épis']],
    ],
    'grouped by category then producer',
  );
  t.same(
    listing.categories.map((c) => [c.name, c.count]),
    [
      ['Fromages', 1],
      ['Légumes', 3],
    ],
    'the category choices, in category order, with counts',
  );
  t.same(
    listing.producers.map((p) => [p.name, p.count]),
    [
      ['Chèvrerie', 3],
      ['Ferme des Épis', 3],
    ],
    'the producer choices, by name',
  );
  t.same(shopListing(all, { categoryId: f.cats.cheese }, 'Autres').categories.length, 2, 'filtering keeps every choice');
});

t.test('open and next cycles', async (t) => {
  const f = fixture(t);
  const run = (sql: string, ...params: unknown[]) => Number(f.db.$client.prepare(sql).run(...params).lastInsertRowid);
  const cycle = (status: string, opensAt: number) => run('insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values (?, ?, ?, ?, 0, 0)', status, status, opensAt, opensAt + 48 * HOUR);
  t.same(openCycles(f.db).map((c) => c.id), [f.open]);
  t.equal(nextScheduledCycle(f.db), undefined, 'none planned');
  const later = cycle('scheduled', NOW + 200 * HOUR);
  const sooner = cycle('scheduled', NOW + 100 * HOUR);
  cycle('draft', NOW + 50 * HOUR);
  const closed = cycle('closed', NOW - 100 * HOUR);
  t.equal(nextScheduledCycle(f.db)?.id, sooner, 'the soonest scheduled cycle, never a draft');
  t.not(sooner, later);
  t.equal(findOpenCycle(f.db, f.open)?.id, f.open);
  for (const id of [sooner, closed, 999]) t.equal(findOpenCycle(f.db, id), undefined, `cycle ${id} is not open`);
});

t.test('memberQuantities: basket and placed order, one account only', async (t) => {
  const f = fixture(t);
  const ana = await createAccount(f.db, { email: 'ana@carnet.test' });
  const bob = await createAccount(f.db, { email: 'bob@carnet.test' });
  const run = (sql: string, ...p: unknown[]) => Number(f.db.$client.prepare(sql).run(...p).lastInsertRowid);
  run('insert into basket_items (account_id, cycle_id, offer_id, quantity, updated_at) values (?, ?, ?, 2, 0)', ana, f.open, f.offers.radis);
  run('insert into basket_items (account_id, cycle_id, offer_id, quantity, updated_at) values (?, ?, ?, 9, 0)', bob, f.open, f.offers.radis);
  const point = run("insert into pickup_points (name, address, created_at, updated_at) values ('Halle', '1 rue', 0, 0)");
  const dist = run('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', f.open, point, NOW + 72 * HOUR, NOW + 73 * HOUR);
  const order = run("insert into orders (cycle_id, account_id, distribution_id, reference, member_name, total_cents, placed_at, updated_at) values (?, ?, ?, 'V1-0001', 'Ana', 500, 0, 0)", f.open, ana, dist);
  run(
    "insert into order_lines (order_id, offer_id, product_id, producer_id, product_name, producer_name, unit_label, quantity, unit_price_cents, vat_rate_bp, line_total_cents) select ?, id, product_id, producer_id, 'x', 'y', 'bunch', 3, 250, 550, 750 from offers where id = ?",
    order,
    f.offers.crottin,
  );
  const mine = memberQuantities(f.db, ana, f.open);
  t.same([...mine.basket], [[f.offers.radis, 2]]);
  t.same([...mine.held], [[f.offers.crottin, 3]]);
  f.db.$client.prepare("update orders set status = 'cancelled' where id = ?").run(order);
  t.same([...memberQuantities(f.db, ana, f.open).held], [], 'a cancelled order holds nothing');
  t.same([...memberQuantities(f.db, bob, f.open).basket], [[f.offers.radis, 9]]);
});

t.test('price arithmetic', async (t) => {
  const pieces: Array<[perKg: number, grams: number, want: number]> = [
    [1150, 1600, 1840],
    [2800, 400, 1120],
    [999, 333, 333], // 332.667 rounds up
    [1, 1, 0],
    [10_000_000, 100_000, 1_000_000_000],
  ];
  for (const [perKg, grams, want] of pieces) t.equal(estimatedPieceCents(perKg, grams), want, `${grams} g at ${perKg}/kg`);
  const weighed = { priceCents: 1150, weighed: true, estimatedWeightGrams: 1600 } as Pick<ShopOffer, 'priceCents' | 'weighed' | 'estimatedWeightGrams'>;
  t.equal(lineCents(weighed, 3), 3 * 1840, 'a weighed line: pieces × estimated piece price');
  t.equal(lineCents({ priceCents: 250, weighed: false, estimatedWeightGrams: null }, 4), 1000);
  const vat: Array<[gross: number, bp: number, want: number]> = [
    [1055, 550, 55],
    [1200, 2000, 200],
    [1000, 0, 0],
    [110, 1000, 10],
    [1, 2000, 0],
  ];
  for (const [gross, bp, want] of vat) t.equal(includedVatCents(gross, bp), want, `VAT in ${gross} at ${bp} bp`);
  const lefts: Array<[available: number | null, taken: number, want: number | null]> = [
    [null, 5, null],
    [10, 3, 7],
    [5, 5, 0],
    [3, 5, 0],
  ];
  for (const [available, taken, want] of lefts) t.equal(leftOf(available, taken), want, `left of ${available} − ${taken}`);
  t.equal(fold('Épinards Œufs ÇA'), 'epinards œufs ca');
});
