import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { setupCoop } from '../../src/domain/coop.js';
import { testDb } from '../helper.js';

/*
 * A small shop for the order tests: one open sale with two distributions, a second open sale, a
 * closed one, a draft, six offers with scarce stock, and members of every kind.
 */

export const H = 3_600_000;
export const D = 24 * H;
/** "Now" in the domain tests: Tuesday 20 October 2026, 12:00 in Paris. */
export const NOW = Date.parse('2026-10-20T10:00:00Z');

export function run(db: Db, sql: string, ...params: unknown[]): number {
  return Number(db.$client.prepare(sql).run(...params).lastInsertRowid);
}
export function rows<T = Record<string, unknown>>(db: Db, sql: string, ...params: unknown[]): T[] {
  return db.$client.prepare(sql).all(...params) as T[];
}
export function one<T = Record<string, unknown>>(db: Db, sql: string, ...params: unknown[]): T {
  return db.$client.prepare(sql).get(...params) as T;
}

export interface Shop {
  cycle: number;
  other: number;
  closed: number;
  draft: number;
  dists: { halle: number; ecole: number; other: number; closed: number };
  offers: { carrots: number; eggs: number; jam: number; chicken: number; leeks: number; honey: number; otherCarrots: number };
  products: { carrots: number; eggs: number; jam: number; chicken: number };
  accounts: { ana: number; bob: number; eve: number; pending: number; producerOnly: number };
  producer: number;
}

/**
 * Builds the shop in a migrated database that already has its coop (setupCoop). Times are
 * relative to `now`: the main sale opened yesterday and closes in two days.
 */
export function buildShop(db: Db, now = NOW, opts: { accounts?: boolean } = {}): Shop {
  const account = (email: string, name: string, locale: string, status = 'active', roles: string[] = ['member']) => {
    const id = run(db, "insert into accounts (email, name, password_hash, locale, status, created_at, updated_at) values (?, ?, 'x', ?, ?, 0, 0)", email, name, locale, status);
    for (const r of roles) run(db, 'insert into account_roles (account_id, role, granted_at) values (?, ?, 0)', id, r);
    return id;
  };
  const accounts =
    opts.accounts === false
      ? { ana: 0, bob: 0, eve: 0, pending: 0, producerOnly: 0 }
      : {
          ana: account('ana@carnet.test', 'Ana', 'fr'),
          bob: account('bob@carnet.test', 'Bob', 'en'),
          eve: account('eve@carnet.test', 'Eve', 'en'),
          pending: account('pending-member@carnet.test', 'Pia', 'fr', 'pending'),
          producerOnly: account('farmer@carnet.test', 'Fred', 'fr', 'active', ['producer']),
        };
  const point = (name: string, address: string, instructions: string) =>
    run(db, 'insert into pickup_points (name, address, instructions, created_at, updated_at) values (?, ?, ?, 0, 0)', name, address, instructions);
  const halle = point('Halle du marché', '3 place du Marché\n44000 Nantes', 'Entrée par la porte verte.');
  const ecole = point('École Jules-Verne', '12 rue des Écoles', '');
  const producer = run(db, "insert into producers (name, created_at, updated_at) values ('Ferme des Saules', 0, 0)");
  const product = (name: string, unit: string, price: number, vat: number, extra: { max?: number; weighed?: number; label?: string } = {}) =>
    run(
      db,
      'insert into products (producer_id, name, unit, unit_label, price_cents, vat_rate_bp, max_per_order, weighed, estimated_weight_grams, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)',
      producer,
      name,
      unit,
      extra.label ?? null,
      price,
      vat,
      extra.max ?? null,
      extra.weighed ? 1 : 0,
      extra.weighed ?? null,
    );
  const products = {
    carrots: product('Carottes', 'bunch', 250, 550, { max: 5 }),
    eggs: product('Œufs', 'custom', 320, 550, { label: 'boîte de 6' }),
    jam: product('Confiture', 'jar', 450, 2000),
    chicken: product('Poulet', 'piece', 1200, 550, { weighed: 1500 }),
  };
  const leeksProduct = product('Poireaux', 'bunch', 200, 550);
  const honeyProduct = product('Miel', 'jar', 800, 550);
  const cycle = (name: string, status: string, opensAt: number, closesAt: number) =>
    run(db, 'insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values (?, ?, ?, ?, 0, 0)', name, status, opensAt, closesAt);
  const main = cycle('Semaine 43', 'open', now - D, now + 2 * D);
  const other = cycle('Semaine 43 bis', 'open', now - D, now + 2 * D);
  const closed = cycle('Semaine 42', 'closed', now - 8 * D, now - 5 * D);
  const draft = cycle('Semaine 45', 'draft', now + 10 * D, now + 12 * D);
  const dist = (cycleId: number, pointId: number, startsAt: number) =>
    run(db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycleId, pointId, startsAt, startsAt + 2 * H);
  // Friday 23 October 2026, 17:00–19:00 in Paris
  const friday = Date.parse('2026-10-23T15:00:00Z');
  const dists = { halle: dist(main, halle, friday), ecole: dist(main, ecole, friday + H), other: dist(other, halle, friday), closed: dist(closed, halle, now - 4 * D) };
  dist(draft, halle, now + 13 * D);
  const offer = (cycleId: number, productId: number, available: number | null, price: number, published = 1) =>
    run(
      db,
      'insert into offers (cycle_id, product_id, producer_id, published, quantity_available, price_cents, created_at, updated_at) values (?, ?, ?, ?, ?, ?, 0, 0)',
      cycleId,
      productId,
      producer,
      published,
      available,
      price,
    );
  const offers = {
    carrots: offer(main, products.carrots, 10, 250),
    eggs: offer(main, products.eggs, 2, 320),
    jam: offer(main, products.jam, null, 450),
    chicken: offer(main, products.chicken, 4, 1200),
    leeks: offer(main, leeksProduct, 10, 200, 0),
    honey: offer(closed, honeyProduct, 10, 800),
    otherCarrots: offer(other, products.carrots, 10, 240),
  };
  return { cycle: main, other, closed, draft, dists, offers, products, accounts, producer };
}

/** Replaces an account's basket for a cycle with these quantities (offer id → quantity). */
export function setBasket(db: Db, accountId: number, cycleId: number, items: Record<number, number>, distributionId: number | null = null): void {
  run(db, 'delete from basket_items where account_id = ? and cycle_id = ?', accountId, cycleId);
  run(db, 'insert into baskets (account_id, cycle_id, distribution_id, updated_at) values (?, ?, ?, 0) on conflict do update set distribution_id = excluded.distribution_id', accountId, cycleId, distributionId);
  // A zero or negative quantity cannot be stored normally (CHECK); tests that need one switch the check off.
  const bad = Object.values(items).some((q) => q <= 0);
  if (bad) db.$client.pragma('ignore_check_constraints = ON');
  try {
    for (const [offerId, quantity] of Object.entries(items)) {
      run(db, 'insert into basket_items (account_id, cycle_id, offer_id, quantity, updated_at) values (?, ?, ?, ?, 0)', accountId, cycleId, Number(offerId), quantity);
    }
  } finally {
    if (bad) db.$client.pragma('ignore_check_constraints = OFF');
  }
}

/** The tables an order touches, as JSON, to prove a refused request changed nothing. */
export function orderState(db: Db): string {
  return JSON.stringify(
    ['orders', 'order_lines', 'order_submissions', 'offers', 'basket_items', 'outbox'].map((table) => rows(db, `select * from ${table} order by rowid`)),
  );
}

/**
 * The stock invariant: for every offer, what it says is taken equals the sum of the quantities of
 * placed order lines, and never exceeds what is available.
 */
export function checkStock(t: Test, db: Db): void {
  const bad = rows<{ id: number; taken: number; placed: number; available: number | null }>(
    db,
    `select o.id, o.quantity_taken as taken, o.quantity_available as available,
            coalesce((select sum(l.quantity) from order_lines l join orders r on r.id = l.order_id where l.offer_id = o.id and r.status = 'placed'), 0) as placed
       from offers o`,
  ).filter((o) => o.taken !== o.placed || (o.available !== null && o.taken > o.available));
  t.same(bad, [], 'stock invariant: taken = placed lines and ≤ available, for every offer');
}

/** A fresh database with the coop set up and the shop above built in it. */
export function fixture(t: Test): { db: Db; shop: Shop } {
  const { db } = testDb(t);
  const setup = setupCoop(db, {
    coopName: 'Coop des Saules',
    contactEmail: 'c@coop.test',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    adminName: 'Ada',
    adminEmail: 'admin@coop.test',
    passwordHash: 'x',
    adminLocale: 'fr',
  });
  if (!setup.ok) throw new Error('setup');
  return { db, shop: buildShop(db) };
}
