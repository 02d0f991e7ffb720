import type { Db } from '../../src/db/index.js';
import { createAccount, PASSWORD, seedCoop } from '../helper.js';

/*
 * Set-up for the orders browser test, written straight into the server's database before the
 * browser starts: the coop (paying by cash, cheque or transfer, with bank details), an open sale
 * with two distributions at two pickup points, three producers with six offers (one with a single
 * unit left, one weighed, two unlimited), and two members who log in with PASSWORD.
 */

const HOUR = 3_600_000;

export const MEMBER_A = { name: 'Alice Adhérente', email: 'alice@carnet.test', password: PASSWORD };
export const MEMBER_B = { name: 'Bruno Adhérent', email: 'bruno@carnet.test', password: PASSWORD };
export const BANK_DETAILS = 'Coop Test\nFR76 3000 6000 0112 3456 7890 189';
export const POINTS = [
  { name: 'Mairie de Coulon', address: '1 place de la Mairie\n79510 Coulon', instructions: 'Salle du rez-de-chaussée, entrée à gauche.' },
  { name: 'Marché des Lices', address: 'Place des Lices\n35000 Rennes', instructions: 'Sous la halle, stand de la coop.' },
];

/** The offers by a short name; the weighed tomme costs 24 €/kg for about 800 g, so ≈ 19,20 € a piece. */
export const OFFERS = {
  carrots: { name: 'Carottes', producer: 'farm', category: 'Légumes', unit: 'bunch', priceCents: 250, available: 20 as number | null },
  leeks: { name: 'Poireaux', producer: 'farm', category: 'Légumes', unit: 'bunch', priceCents: 290, available: null },
  salad: { name: 'Salade batavia', producer: 'farm', category: 'Légumes', unit: 'piece', priceCents: 120, available: 15 },
  tomme: { name: 'Tomme de chèvre', producer: 'dairy', category: 'Produits laitiers', unit: 'piece', priceCents: 2400, available: 6, weighedGrams: 800 },
  crottin: { name: 'Crottin affiné', producer: 'dairy', category: 'Produits laitiers', unit: 'piece', priceCents: 350, available: 1 },
  honey: { name: 'Miel de printemps', producer: 'bees', category: 'Miel et confitures', unit: 'jar', priceCents: 850, available: null },
} as const;
export type OfferKey = keyof typeof OFFERS;

export const PRODUCERS = { farm: 'Ferme des Épis', dairy: 'Chèvrerie du Marais', bees: 'Rucher de Béa' } as const;

export interface OrderWorld {
  cycleId: number;
  cycleName: string;
  /** Distribution ids, in the order of POINTS. */
  dists: number[];
  /** Start and end of each distribution, in the order of POINTS. */
  windows: Array<{ startsAt: number; endsAt: number }>;
  offers: Record<OfferKey, number>;
  categories: Record<string, number>;
  memberA: number;
  memberB: number;
}

/** Seeds the coop, the open sale and the two members; "now" is the real clock the server reads too. */
export async function seedOrderWorld(db: Db, now = Date.now()): Promise<OrderWorld> {
  await seedCoop(db);
  const sqlite = db.$client;
  const run = (sql: string, ...params: unknown[]) => Number(sqlite.prepare(sql).run(...params).lastInsertRowid);
  sqlite.prepare("update coop set payment_methods = 'cash,cheque,transfer', bank_details = ?").run(BANK_DETAILS);
  const categories = Object.fromEntries((sqlite.prepare('select id, name_fr from categories').all() as Array<{ id: number; name_fr: string }>).map((c) => [c.name_fr, c.id]));

  const cycleName = 'Vente du jeudi';
  const closesAt = now + 72 * HOUR;
  // Every notice is marked as sent, so the scheduler emails nobody but the orders' confirmations.
  const cycleId = run(
    `insert into cycles (name, opens_at, closes_at, status, scheduled_notice_at, producer_reminder_at, open_notice_at, closing_reminder_at, created_at, updated_at)
     values (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)`,
    cycleName,
    now - HOUR,
    closesAt,
    now,
    now,
    now,
    now,
    now,
    now,
  );
  const dists: number[] = [];
  const windows: OrderWorld['windows'] = [];
  for (const [i, p] of POINTS.entries()) {
    const point = run('insert into pickup_points (name, address, instructions, active, created_at, updated_at) values (?, ?, ?, 1, ?, ?)', p.name, p.address, p.instructions, now, now);
    const startsAt = closesAt + (24 + i) * HOUR;
    const endsAt = startsAt + 2 * HOUR;
    dists.push(run('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycleId, point, startsAt, endsAt));
    windows.push({ startsAt, endsAt });
  }

  const producers = Object.fromEntries(
    Object.entries(PRODUCERS).map(([key, name]) => [key, run('insert into producers (name, description, active, created_at, updated_at) values (?, ?, 1, ?, ?)', name, `${name}, à 10 km.`, now, now)]),
  ) as Record<keyof typeof PRODUCERS, number>;
  const offers = {} as Record<OfferKey, number>;
  for (const [key, o] of Object.entries(OFFERS) as Array<[OfferKey, (typeof OFFERS)[OfferKey]]>) {
    const grams = 'weighedGrams' in o ? o.weighedGrams : null;
    const productId = run(
      `insert into products (producer_id, name, description, category_id, unit, unit_label, price_cents, vat_rate_bp, max_per_order, weighed, estimated_weight_grams, active, created_at, updated_at)
       values (?, ?, '', ?, ?, null, ?, 550, null, ?, ?, 1, ?, ?)`,
      producers[o.producer],
      o.name,
      categories[o.category] ?? null,
      o.unit,
      o.priceCents,
      grams ? 1 : 0,
      grams,
      now,
      now,
    );
    offers[key] = run(
      `insert into offers (cycle_id, product_id, producer_id, published, quantity_available, quantity_taken, price_cents, created_at, updated_at)
       values (?, ?, ?, 1, ?, 0, ?, ?, ?)`,
      cycleId,
      productId,
      producers[o.producer],
      o.available,
      o.priceCents,
      now,
      now,
    );
  }
  const memberA = await createAccount(db, { email: MEMBER_A.email, name: MEMBER_A.name, roles: ['member'] });
  const memberB = await createAccount(db, { email: MEMBER_B.email, name: MEMBER_B.name, roles: ['member'] });
  return { cycleId, cycleName, dists, windows, offers, categories, memberA, memberB };
}

export interface StoredOrder {
  id: number;
  reference: string;
  status: string;
  distributionId: number;
  totalCents: number;
  /** Quantities by offer id. */
  lines: Record<number, number>;
}

/** A member's orders as stored (with their lines). */
export function storedOrders(db: Db, accountId: number): StoredOrder[] {
  const orders = db.$client
    .prepare('select id, reference, status, distribution_id as distributionId, total_cents as totalCents from orders where account_id = ? order by id')
    .all(accountId) as Array<Omit<StoredOrder, 'lines'>>;
  const lines = db.$client.prepare('select offer_id as offerId, quantity from order_lines where order_id = ?');
  return orders.map((o) => ({
    ...o,
    lines: Object.fromEntries((lines.all(o.id) as Array<{ offerId: number; quantity: number }>).map((l) => [l.offerId, l.quantity])),
  }));
}

/** quantity_taken of an offer. */
export function taken(db: Db, offerId: number): number {
  return (db.$client.prepare('select quantity_taken as n from offers where id = ?').get(offerId) as { n: number }).n;
}
