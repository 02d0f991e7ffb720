import { createHmac, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { applyMigrations, openDatabase, type Db } from '../../src/db/index.js';
import type { SaleUnit } from '../../src/db/schema/index.js';
import { createSession, newToken } from '../../src/domain/sessions.js';
import { seedCoop } from '../helper.js';

/*
 * Seeds a database for tests and benchmarks that drive the REAL server over HTTP: an open cycle
 * with one distribution, producers with published offers, and many members who are already
 * logged in (sessions created directly, so no scrypt login is needed) with baskets filled in the
 * database. Everything is written before the server starts, in a few transactions.
 */

/** A session secret the server is started with (SESSION_SECRET), so the test can compute CSRF tokens. */
export const SESSION_SECRET = 'carnet-test-session-secret-' + 'x'.repeat(32);

/** The CSRF token the server expects for a session token (see src/plugins/csrf.ts). */
export function csrfFor(sessionToken: string, secret = SESSION_SECRET): string {
  return createHmac('sha256', secret).update('csrf:' + sessionToken).digest('base64url');
}

/** A fresh random order form token, shaped like the ones the basket page renders. */
export function formToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface OfferSpec {
  name: string;
  /** Index into the category list (0 = first default category). */
  category: number;
  unit: SaleUnit;
  priceCents: number;
  vatRateBp: number;
  /** null = unlimited. */
  available: number | null;
  weighed?: boolean;
  estimatedWeightGrams?: number;
  maxPerOrder?: number | null;
  description?: string;
}

export interface ProducerSpec {
  name: string;
  description?: string;
  offers: OfferSpec[];
}

export interface SeededOffer {
  id: number;
  productId: number;
  producerId: number;
  name: string;
  available: number | null;
}

export interface SeededShop {
  db: Db;
  file: string;
  cycleId: number;
  distributionId: number;
  offers: SeededOffer[];
}

export interface SeededMember {
  accountId: number;
  /** The session cookie's value. */
  session: string;
  csrf: string;
  /** The Cookie header to send. */
  cookie: string;
}

/** Creates (migrates) the database in dataDir and seeds the coop, an open cycle and the offers. */
export async function seedShop(dataDir: string, producers: ProducerSpec[], now = Date.now()): Promise<SeededShop> {
  const file = join(dataDir, 'carnet.db');
  const db = openDatabase(file);
  applyMigrations(db);
  await seedCoop(db);
  const sqlite = db.$client;
  const result = sqlite.transaction(() => {
    const categoryIds = (sqlite.prepare('select id from categories order by position').all() as Array<{ id: number }>).map((r) => r.id);
    const pickup = sqlite
      .prepare(`insert into pickup_points (name, address, instructions, active, created_at, updated_at) values (?, ?, ?, 1, ?, ?)`)
      .run('La Halle du Marché', '12 rue des Lilas, 69001 Lyon', 'Entrée par la cour, sonnez au portail vert.', now, now);
    const opensAt = now - 3600_000;
    const closesAt = now + 6 * 24 * 3600_000;
    // The open notice and the closing reminder are marked as done, so the scheduler sends nothing.
    const cycle = sqlite
      .prepare(
        `insert into cycles (name, opens_at, closes_at, status, scheduled_notice_at, producer_reminder_at, open_notice_at, closing_reminder_at, created_at, updated_at)
         values (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)`,
      )
      .run('Vente de la semaine', opensAt, closesAt, now, now, now, now, now, now);
    const cycleId = Number(cycle.lastInsertRowid);
    const distribution = sqlite
      .prepare('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)')
      .run(cycleId, Number(pickup.lastInsertRowid), closesAt + 24 * 3600_000, closesAt + 27 * 3600_000);
    const insProducer = sqlite.prepare(
      `insert into producers (name, description, contact_name, address, active, created_at, updated_at) values (?, ?, ?, ?, 1, ?, ?)`,
    );
    const insProduct = sqlite.prepare(
      `insert into products (producer_id, name, description, category_id, unit, unit_label, price_cents, vat_rate_bp, max_per_order, weighed, estimated_weight_grams, active, created_at, updated_at)
       values (?, ?, ?, ?, ?, null, ?, ?, ?, ?, ?, 1, ?, ?)`,
    );
    const insOffer = sqlite.prepare(
      `insert into offers (cycle_id, product_id, producer_id, published, quantity_available, quantity_taken, price_cents, created_at, updated_at)
       values (?, ?, ?, 1, ?, 0, ?, ?, ?)`,
    );
    const seeded: SeededOffer[] = [];
    for (const p of producers) {
      const producerId = Number(insProducer.run(p.name, p.description ?? '', null, 'Rhône', now, now).lastInsertRowid);
      for (const o of p.offers) {
        const categoryId = categoryIds[o.category % categoryIds.length] ?? null;
        const weighed = o.weighed ?? false;
        const productId = Number(
          insProduct.run(
            producerId,
            o.name,
            o.description ?? '',
            categoryId,
            weighed ? 'piece' : o.unit,
            o.priceCents,
            o.vatRateBp,
            o.maxPerOrder ?? null,
            weighed ? 1 : 0,
            weighed ? (o.estimatedWeightGrams ?? 1000) : null,
            now,
            now,
          ).lastInsertRowid,
        );
        const offerId = Number(insOffer.run(cycleId, productId, producerId, o.available, o.priceCents, now, now).lastInsertRowid);
        seeded.push({ id: offerId, productId, producerId, name: o.name, available: o.available });
      }
    }
    return { cycleId, distributionId: Number(distribution.lastInsertRowid), offers: seeded };
  })();
  return { db, file, ...result };
}

export interface BasketLine {
  offerId: number;
  quantity: number;
}

/**
 * Adds `count` active members with the member role, each with a live session and (when
 * basketFor returns lines) a basket for the cycle with the distribution chosen. Returns them in
 * order; index i is the i-th member created by this call.
 */
export function addMembers(
  shop: Pick<SeededShop, 'db' | 'cycleId' | 'distributionId'>,
  count: number,
  basketFor: (i: number) => BasketLine[] = () => [],
  opts: { prefix?: string; now?: number } = {},
): SeededMember[] {
  const { db, cycleId, distributionId } = shop;
  const now = opts.now ?? Date.now();
  const prefix = opts.prefix ?? 'member';
  const sqlite = db.$client;
  // Nobody logs in with a password here; the hash only has to be a non-empty string.
  const insAccount = sqlite.prepare(
    `insert into accounts (email, name, password_hash, locale, status, created_at, updated_at) values (?, ?, 'scrypt$unused', ?, 'active', ?, ?)`,
  );
  const insRole = sqlite.prepare(`insert into account_roles (account_id, role, granted_at) values (?, 'member', ?)`);
  const insBasket = sqlite.prepare('insert into baskets (account_id, cycle_id, distribution_id, updated_at) values (?, ?, ?, ?)');
  const insItem = sqlite.prepare('insert into basket_items (account_id, cycle_id, offer_id, quantity, updated_at) values (?, ?, ?, ?, ?)');
  const members: SeededMember[] = [];
  db.transaction((tx) => {
    for (let i = 0; i < count; i++) {
      const accountId = Number(
        insAccount.run(`${prefix}-${i}@carnet.test`, `Adhérent·e ${prefix} ${i}`, i % 5 === 0 ? 'en' : 'fr', now, now).lastInsertRowid,
      );
      insRole.run(accountId, now);
      const session = newToken();
      createSession(tx, session, accountId, now);
      const lines = basketFor(i);
      if (lines.length) {
        insBasket.run(accountId, cycleId, distributionId, now);
        for (const l of lines) insItem.run(accountId, cycleId, l.offerId, l.quantity, now);
      }
      members.push({ accountId, session, csrf: csrfFor(session), cookie: `carnet_session=${session}` });
    }
  });
  return members;
}

/** The order placement form body for a member (urlencoded). */
export function orderForm(member: SeededMember, token: string, distributionId: number): string {
  return new URLSearchParams({ _csrf: member.csrf, token, distributionId: String(distributionId) }).toString();
}

export interface StockRow {
  offerId: number;
  available: number | null;
  taken: number;
  /** Sum of the lines of placed orders. */
  sold: number;
}

/** For every offer of the cycle: what it had, what quantity_taken says, and what placed orders hold. */
export function stockRows(sqlite: Database.Database, cycleId: number): StockRow[] {
  return sqlite
    .prepare(
      `select o.id as offerId, o.quantity_available as available, o.quantity_taken as taken,
              coalesce((select sum(l.quantity) from order_lines l join orders r on r.id = l.order_id
                        where l.offer_id = o.id and r.status = 'placed'), 0) as sold
       from offers o where o.cycle_id = ? order by o.id`,
    )
    .all(cycleId) as StockRow[];
}
