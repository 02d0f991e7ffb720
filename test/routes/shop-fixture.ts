import type { Db } from '../../src/db/index.js';

/*
 * An open sale for the shop and basket route tests: two producers, a few offers (one scarce, one
 * sold out, one weighed, one capped per order, one draft), two distributions, and a closed and a
 * scheduled sale beside it.
 */

const HOUR = 3_600_000;

export interface ShopFixture {
  open: number;
  closed: number;
  scheduled: number;
  producers: { farm: number; dairy: number };
  categories: { veg: number; cheese: number };
  offers: { carrots: number; leeks: number; asparagus: number; tomme: number; eggs: number; draft: number; closedOffer: number };
  dists: { halle: number; market: number; closedDist: number };
}

/** Inserts the sale; "now" is the real clock, since the app reads cycles as they are stored. */
export function buildShopFixture(db: Db, now = Date.now()): ShopFixture {
  const run = (sql: string, ...params: unknown[]) => Number(db.$client.prepare(sql).run(...params).lastInsertRowid);
  const veg = run("insert into categories (name_fr, name_en, position) values ('Légumes frais', 'Fresh vegetables', 1)");
  const cheese = run("insert into categories (name_fr, name_en, position) values ('Fromages', 'Cheese', 2)");
  const farm = run("insert into producers (name, description, address, created_at, updated_at) values ('Ferme des Épis', 'Maraîchage bio depuis 1990.', 'Route de Coulon', 0, 0)");
  const dairy = run("insert into producers (name, created_at, updated_at) values ('Chèvrerie du Marais', 0, 0)");
  const cycle = (name: string, status: string, opensAt: number) =>
    run('insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values (?, ?, ?, ?, 0, 0)', name, status, opensAt, opensAt + 72 * HOUR);
  const open = cycle('Vente de la semaine', 'open', now - HOUR);
  const closed = cycle('Vente passée', 'closed', now - 200 * HOUR);
  const scheduled = cycle('Vente suivante', 'scheduled', now + 100 * HOUR);
  const product = (producer: number, name: string, category: number, extra: { unit?: string; label?: string; max?: number; weighed?: boolean; description?: string } = {}) =>
    run(
      'insert into products (producer_id, name, description, category_id, unit, unit_label, price_cents, vat_rate_bp, max_per_order, weighed, estimated_weight_grams, created_at, updated_at) values (?, ?, ?, ?, ?, ?, 100, 550, ?, ?, ?, 0, 0)',
      producer,
      name,
      extra.description ?? '',
      category,
      extra.unit ?? 'bunch',
      extra.label ?? null,
      extra.max ?? null,
      extra.weighed ? 1 : 0,
      extra.weighed ? 1600 : null,
    );
  const offer = (cycleId: number, producer: number, productId: number, price: number, available: number | null, taken = 0, published = 1) =>
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
    carrots: offer(open, farm, product(farm, 'Carottes', veg, { unit: 'kg', description: 'Des carottes croquantes' }), 240, 10, 7),
    leeks: offer(open, farm, product(farm, 'Poireaux', veg), 290, null),
    asparagus: offer(open, farm, product(farm, 'Asperges', veg), 650, 4, 4),
    tomme: offer(open, dairy, product(dairy, 'Tomme', cheese, { weighed: true }), 1150, 6),
    eggs: offer(open, dairy, product(dairy, 'Œufs', cheese, { unit: 'custom', label: 'la demi-douzaine', max: 2 }), 210, 30),
    draft: offer(open, farm, product(farm, 'Brouillon', veg), 100, 5, 0, 0),
    closedOffer: offer(closed, farm, product(farm, 'Ancien', veg), 100, 5),
  };
  const halle = run("insert into pickup_points (name, address, instructions, created_at, updated_at) values ('Halle Nord', '3 place du Marché', 'Sonnez deux fois', 0, 0)");
  const marche = run("insert into pickup_points (name, address, created_at, updated_at) values ('Marché du port', 'Quai Est', 0, 0)");
  const dist = (cycleId: number, point: number, at: number) => run('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycleId, point, at, at + 2 * HOUR);
  return {
    open,
    closed,
    scheduled,
    producers: { farm, dairy },
    categories: { veg, cheese },
    offers,
    dists: { halle: dist(open, halle, now + 96 * HOUR), market: dist(open, marche, now + 97 * HOUR), closedDist: dist(closed, halle, now - 100 * HOUR) },
  };
}

/** The quantity of an offer in an account's basket, if any. */
export function basketQuantity(db: Db, accountId: number, offerId: number): number | undefined {
  return (db.$client.prepare('select quantity from basket_items where account_id = ? and offer_id = ?').get(accountId, offerId) as { quantity: number } | undefined)?.quantity;
}
