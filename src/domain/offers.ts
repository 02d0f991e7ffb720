import { and, asc, desc, eq, inArray, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { categories, cycles, distributions, offers, pickupPoints, products, type CycleStatus, type SaleUnit } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';
import { MAX_PRICE_CENTS, MAX_QUANTITY } from './money.js';

/*
 * A producer's weekly stock: which of its products it offers in a cycle, how many, at what price.
 * Members order concurrently while a cycle is open, so every write here is one immediate
 * transaction, and a quantity is only lowered by an UPDATE guarded in SQL on what is already taken.
 */

/** Cycles a producer may edit its offers in. */
export const EDITABLE_STATUSES: readonly CycleStatus[] = ['scheduled', 'open'];
/** Cycles a producer may see; a draft is the admins' business until it is scheduled. */
export const VISIBLE_STATUSES: readonly CycleStatus[] = ['scheduled', 'open', 'closed', 'done'];
/** How many finished cycles the producer's cycle list shows, read-only. */
export const PAST_CYCLES_SHOWN = 3;

/** A cycle as the producer sees it. */
export interface ProducerCycle {
  id: number;
  name: string;
  opensAt: number;
  closesAt: number;
  status: CycleStatus;
  /** Offers can be changed (scheduled or open). */
  editable: boolean;
}

/** One distribution of a cycle, with its pickup point's name. */
export interface CycleDistribution {
  pickupPointName: string;
  startsAt: number;
  endsAt: number;
}

/** A line of the producer's cycle list. */
export interface CycleSummary extends ProducerCycle {
  /** Published offers of this producer in the cycle. */
  offerCount: number;
  /** Offers copied by "duplicate to next week" and not yet published. */
  draftCount: number;
  distributions: CycleDistribution[];
}

const cycleColumns = { id: cycles.id, name: cycles.name, opensAt: cycles.opensAt, closesAt: cycles.closesAt, status: cycles.status };

const withEditable = (c: Omit<ProducerCycle, 'editable'>): ProducerCycle => ({ ...c, editable: EDITABLE_STATUSES.includes(c.status) });

/** The cycle with this id if producers may see it (any state but draft); undefined otherwise. */
export function findProducerCycle(db: Db | Tx, cycleId: number): ProducerCycle | undefined {
  const row = db
    .select(cycleColumns)
    .from(cycles)
    .where(and(eq(cycles.id, cycleId), inArray(cycles.status, [...VISIBLE_STATUSES])))
    .get();
  return row ? withEditable(row) : undefined;
}

/**
 * The cycles a producer can publish for (scheduled and open, soonest first) and the last few
 * finished ones (most recent first), each with how many offers this producer has in it.
 */
export function listProducerCycles(db: Db, producerId: number, pastLimit = PAST_CYCLES_SHOWN): { upcoming: CycleSummary[]; past: CycleSummary[] } {
  const counts = {
    ...cycleColumns,
    // Written out: drizzle leaves columns unqualified in a one-table select, which a correlated
    // subquery would read as its own table's columns.
    offerCount: sql<number>`(select count(*) from offers o where o.cycle_id = cycles.id and o.producer_id = ${producerId} and o.published = 1)`,
    draftCount: sql<number>`(select count(*) from offers o where o.cycle_id = cycles.id and o.producer_id = ${producerId} and o.published = 0)`,
  };
  const upcoming = db
    .select(counts)
    .from(cycles)
    .where(inArray(cycles.status, [...EDITABLE_STATUSES]))
    .orderBy(asc(cycles.opensAt), asc(cycles.id))
    .all();
  const past = db
    .select(counts)
    .from(cycles)
    .where(inArray(cycles.status, ['closed', 'done']))
    .orderBy(desc(cycles.opensAt), desc(cycles.id))
    .limit(pastLimit)
    .all();
  const ids = [...upcoming, ...past].map((c) => c.id);
  const byCycle = new Map<number, CycleDistribution[]>();
  if (ids.length) {
    const rows = db
      .select({ cycleId: distributions.cycleId, pickupPointName: pickupPoints.name, startsAt: distributions.startsAt, endsAt: distributions.endsAt })
      .from(distributions)
      .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
      .where(inArray(distributions.cycleId, ids))
      .orderBy(asc(distributions.startsAt), asc(distributions.id))
      .all();
    for (const { cycleId, ...d } of rows) byCycle.set(cycleId, [...(byCycle.get(cycleId) ?? []), d]);
  }
  const summary = (c: (typeof upcoming)[number]): CycleSummary => ({ ...c, editable: EDITABLE_STATUSES.includes(c.status), distributions: byCycle.get(c.id) ?? [] });
  return { upcoming: upcoming.map(summary), past: past.map(summary) };
}

/** A producer's offer in a cycle, as stored. */
export interface OfferState {
  published: boolean;
  /** null means unlimited. */
  quantityAvailable: number | null;
  quantityTaken: number;
  priceCents: number;
}

/** One product of the offers page, with its offer in the cycle if it has one. */
export interface OfferRow {
  productId: number;
  name: string;
  unit: SaleUnit;
  unitLabel: string | null;
  weighed: boolean;
  /** The catalog price (per kg for a weighed product), the default for a new offer. */
  catalogPriceCents: number;
  /** Archived since it was offered: it can be withdrawn, not offered again. */
  archived: boolean;
  categoryId: number | null;
  categoryName: string | null;
  offer: OfferState | null;
}

/** Products of one category on the offers page. */
export interface OfferGroup {
  categoryId: number | null;
  /** null for products without a category. */
  categoryName: string | null;
  rows: OfferRow[];
}

/** Everything the offers page shows for one producer and one cycle. */
export interface OfferSheet {
  cycle: ProducerCycle;
  groups: OfferGroup[];
  /** Number of published offers. */
  publishedCount: number;
  /** Number of draft offers waiting to be published. */
  draftCount: number;
}

/**
 * The producer's active products and, for any product already offered in the cycle (even one
 * archived since), its offer. Scoped to the producer: another producer's product is never read.
 */
export function offerRows(db: Db | Tx, producerId: number, cycleId: number, locale: Locale, productId?: number): OfferRow[] {
  const rows = db
    .select({
      productId: products.id,
      name: products.name,
      unit: products.unit,
      unitLabel: products.unitLabel,
      weighed: products.weighed,
      catalogPriceCents: products.priceCents,
      active: products.active,
      categoryId: categories.id,
      categoryName: locale === 'fr' ? categories.nameFr : categories.nameEn,
      categoryPosition: categories.position,
      offerId: offers.id,
      published: offers.published,
      quantityAvailable: offers.quantityAvailable,
      quantityTaken: offers.quantityTaken,
      priceCents: offers.priceCents,
    })
    .from(products)
    .leftJoin(categories, eq(categories.id, products.categoryId))
    .leftJoin(offers, and(eq(offers.productId, products.id), eq(offers.cycleId, cycleId)))
    .where(
      and(
        eq(products.producerId, producerId),
        or(eq(products.active, true), sql`${offers.id} is not null`),
        productId === undefined ? undefined : eq(products.id, productId),
      ),
    )
    .all();
  const collator = new Intl.Collator(locale, { sensitivity: 'base', numeric: true });
  rows.sort(
    (a, b) =>
      // products without a category come last
      (a.categoryId === null ? 1 : 0) - (b.categoryId === null ? 1 : 0) ||
      (a.categoryPosition ?? 0) - (b.categoryPosition ?? 0) ||
      collator.compare(a.categoryName ?? '', b.categoryName ?? '') ||
      collator.compare(a.name, b.name) ||
      a.productId - b.productId,
  );
  return rows.map((r) => ({
    productId: r.productId,
    name: r.name,
    unit: r.unit,
    unitLabel: r.unitLabel,
    weighed: r.weighed,
    catalogPriceCents: r.catalogPriceCents,
    archived: !r.active,
    categoryId: r.categoryId,
    categoryName: r.categoryName,
    offer:
      r.offerId === null
        ? null
        : { published: r.published!, quantityAvailable: r.quantityAvailable, quantityTaken: r.quantityTaken!, priceCents: r.priceCents! },
  }));
}

/** The offers page of a producer for a cycle, grouped by category; undefined when the cycle is not visible. */
export function offerSheet(db: Db, producerId: number, cycleId: number, locale: Locale): OfferSheet | undefined {
  const cycle = findProducerCycle(db, cycleId);
  if (!cycle) return undefined;
  const groups: OfferGroup[] = [];
  let publishedCount = 0;
  let draftCount = 0;
  for (const row of offerRows(db, producerId, cycleId, locale)) {
    if (row.offer?.published) publishedCount++;
    else if (row.offer) draftCount++;
    const last = groups.at(-1);
    if (last && last.categoryId === row.categoryId) last.rows.push(row);
    else groups.push({ categoryId: row.categoryId, categoryName: row.categoryName, rows: [row] });
  }
  return { cycle, groups, publishedCount, draftCount };
}

/** What the producer asks for one product, already parsed from the form. */
export interface OfferInput {
  productId: number;
  offered: boolean;
  /** Units available; null means unlimited. Ignored when not offered. */
  quantity: number | null;
  /** This cycle's price in cents; null means the catalog price. Ignored when not offered. */
  priceCents: number | null;
}

/** Why one product's offer was refused. */
export type OfferRowError =
  | { reason: 'not_found' }
  | { reason: 'archived' }
  | { reason: 'already_ordered'; taken: number }
  | { reason: 'below_taken'; taken: number }
  | { reason: 'zero_quantity' }
  | { reason: 'quantity_range' }
  | { reason: 'price_range' };

/** What saving one product's offer did. */
export type OfferChange = 'published' | 'updated' | 'removed' | 'unchanged';

export type SaveOfferResult =
  | { ok: true; change: OfferChange }
  | { ok: false; reason: 'cycle_not_found' }
  | { ok: false; reason: 'read_only' }
  | { ok: false; reason: 'row'; error: OfferRowError };

export type SaveOffersResult =
  | { ok: true; publishedCount: number; changed: number }
  | { ok: false; reason: 'cycle_not_found' }
  | { ok: false; reason: 'read_only' }
  | { ok: false; reason: 'rows'; errors: Array<{ productId: number; error: OfferRowError }> };

type ApplyResult = { ok: true; change: OfferChange } | { ok: false; error: OfferRowError };

/** True for the CHECK constraint that keeps quantity_taken within quantity_available. */
function isStockCheck(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_CHECK' && err.message.includes('offers_stock_check');
}

/** What placed orders hold of an offer right now. */
function takenOf(tx: Tx, offerId: number): number {
  return tx.select({ taken: offers.quantityTaken }).from(offers).where(eq(offers.id, offerId)).get()?.taken ?? 0;
}

/** Applies one product's offer inside the caller's transaction; the cycle is already checked. */
function applyOffer(tx: Tx, producerId: number, cycleId: number, input: OfferInput, now: number): ApplyResult {
  const product = tx
    .select({ id: products.id, active: products.active, priceCents: products.priceCents })
    .from(products)
    .where(and(eq(products.id, input.productId), eq(products.producerId, producerId)))
    .get();
  if (!product) return { ok: false, error: { reason: 'not_found' } };
  const existing = tx
    .select()
    .from(offers)
    .where(and(eq(offers.cycleId, cycleId), eq(offers.productId, product.id)))
    .get();

  if (!input.offered) {
    // A draft is not on sale: leaving it unticked keeps it as a suggestion for later.
    if (!existing || !existing.published) return { ok: true, change: 'unchanged' };
    // Members may have ordered since the page was read: the guard is in the DELETE itself.
    const deleted = tx
      .delete(offers)
      .where(and(eq(offers.id, existing.id), eq(offers.quantityTaken, 0)))
      .run();
    if (deleted.changes === 0) return { ok: false, error: { reason: 'already_ordered', taken: takenOf(tx, existing.id) } };
    return { ok: true, change: 'removed' };
  }

  if (!product.active) return { ok: false, error: { reason: 'archived' } };
  const quantity = input.quantity;
  if (quantity !== null && (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_QUANTITY)) return { ok: false, error: { reason: 'quantity_range' } };
  const priceCents = input.priceCents ?? product.priceCents;
  if (!Number.isInteger(priceCents) || priceCents <= 0 || priceCents > MAX_PRICE_CENTS) return { ok: false, error: { reason: 'price_range' } };
  const taken = existing?.quantityTaken ?? 0;
  if (quantity !== null && quantity < taken) return { ok: false, error: { reason: 'below_taken', taken } };
  // Offered with nothing to sell and nothing sold is no offer: untick the product instead.
  if (quantity === 0 && taken === 0) return { ok: false, error: { reason: 'zero_quantity' } };

  if (!existing) {
    tx.insert(offers)
      .values({ cycleId, productId: product.id, producerId, published: true, quantityAvailable: quantity, priceCents, createdAt: now, updatedAt: now })
      .run();
    return { ok: true, change: 'published' };
  }
  if (existing.published && existing.quantityAvailable === quantity && existing.priceCents === priceCents) return { ok: true, change: 'unchanged' };
  let changes: number;
  try {
    changes = tx
      .update(offers)
      .set({ published: true, quantityAvailable: quantity, priceCents, updatedAt: now })
      .where(and(eq(offers.id, existing.id), quantity === null ? undefined : lte(offers.quantityTaken, quantity)))
      .run().changes;
  } catch (err) {
    // The CHECK constraint says the same as the guard: never a 500 for a refused quantity.
    if (!isStockCheck(err)) throw err;
    changes = 0;
  }
  if (changes === 0) return { ok: false, error: { reason: 'below_taken', taken: takenOf(tx, existing.id) } };
  return { ok: true, change: existing.published ? 'updated' : 'published' };
}

/** Why a cycle refuses changes, if it does. */
function cycleRefusal(tx: Tx, cycleId: number): 'cycle_not_found' | 'read_only' | null {
  const cycle = findProducerCycle(tx, cycleId);
  if (!cycle) return 'cycle_not_found';
  return cycle.editable ? null : 'read_only';
}

/**
 * Saves one product's offer (the page's inline save): publishes, changes or withdraws it. A
 * withdrawal of something already ordered, or a quantity below what is ordered, is refused.
 */
export function saveOffer(db: Db, producerId: number, cycleId: number, input: OfferInput, now = Date.now()): SaveOfferResult {
  return db.transaction(
    (tx): SaveOfferResult => {
      const refusal = cycleRefusal(tx, cycleId);
      if (refusal) return { ok: false, reason: refusal };
      const applied = applyOffer(tx, producerId, cycleId, input, now);
      return applied.ok ? applied : { ok: false, reason: 'row', error: applied.error };
    },
    { behavior: 'immediate' },
  );
}

/** Carries the row errors out of a transaction so that it rolls back. */
class RowsRefused extends Error {
  constructor(readonly errors: Array<{ productId: number; error: OfferRowError }>) {
    super('offers refused');
  }
}

/**
 * Saves the whole offers page in one transaction: every row is applied, or none is when any row
 * is refused (the errors come back by product).
 */
export function saveOffers(db: Db, producerId: number, cycleId: number, inputs: OfferInput[], now = Date.now()): SaveOffersResult {
  try {
    return db.transaction(
      (tx): SaveOffersResult => {
        const refusal = cycleRefusal(tx, cycleId);
        if (refusal) return { ok: false, reason: refusal };
        const errors: Array<{ productId: number; error: OfferRowError }> = [];
        let changed = 0;
        for (const input of inputs) {
          const applied = applyOffer(tx, producerId, cycleId, input, now);
          if (!applied.ok) errors.push({ productId: input.productId, error: applied.error });
          else if (applied.change !== 'unchanged') changed++;
        }
        if (errors.length) throw new RowsRefused(errors);
        return { ok: true, publishedCount: countPublished(tx, producerId, cycleId), changed };
      },
      { behavior: 'immediate' },
    );
  } catch (err) {
    if (err instanceof RowsRefused) return { ok: false, reason: 'rows', errors: err.errors };
    throw err;
  }
}

/** How many offers a producer has on sale in a cycle. */
export function countPublished(db: Db | Tx, producerId: number, cycleId: number): number {
  return db
    .select({ n: sql<number>`count(*)` })
    .from(offers)
    .where(and(eq(offers.cycleId, cycleId), eq(offers.producerId, producerId), eq(offers.published, true)))
    .get()!.n;
}

export type CopyLastResult =
  | { ok: true; copied: number; from: { id: number; name: string } | null }
  | { ok: false; reason: 'cycle_not_found' | 'read_only' };

/**
 * "Copy my offers from the last cycle": takes the producer's published offers of the most recent
 * earlier cycle in which it published any, and offers the products still active at the same
 * quantity and price. Products already on sale in this cycle are left as they are; drafts are
 * published with the copied values.
 */
export function copyLastOffers(db: Db, producerId: number, cycleId: number, now = Date.now()): CopyLastResult {
  return db.transaction(
    (tx): CopyLastResult => {
      const cycle = findProducerCycle(tx, cycleId);
      if (!cycle) return { ok: false, reason: 'cycle_not_found' };
      if (!cycle.editable) return { ok: false, reason: 'read_only' };
      const from = tx
        .select({ id: cycles.id, name: cycles.name })
        .from(cycles)
        .where(
          and(
            ne(cycles.id, cycle.id),
            lt(cycles.opensAt, cycle.opensAt),
            ne(cycles.status, 'draft'),
            sql`exists (select 1 from offers o where o.cycle_id = cycles.id and o.producer_id = ${producerId} and o.published = 1)`,
          ),
        )
        .orderBy(desc(cycles.opensAt), desc(cycles.id))
        .limit(1)
        .get();
      if (!from) return { ok: true, copied: 0, from: null };
      const source = tx
        .select({ productId: offers.productId, quantityAvailable: offers.quantityAvailable, priceCents: offers.priceCents })
        .from(offers)
        .innerJoin(products, and(eq(products.id, offers.productId), eq(products.producerId, producerId), eq(products.active, true)))
        .where(and(eq(offers.cycleId, from.id), eq(offers.producerId, producerId), eq(offers.published, true)))
        .all();
      let copied = 0;
      for (const s of source) {
        const existing = tx
          .select({ id: offers.id, published: offers.published })
          .from(offers)
          .where(and(eq(offers.cycleId, cycle.id), eq(offers.productId, s.productId)))
          .get();
        if (existing?.published) continue;
        if (existing) {
          // A draft was never on sale, so nothing is ordered; the guard keeps it that way regardless.
          const quantity = s.quantityAvailable;
          const updated = tx
            .update(offers)
            .set({ published: true, quantityAvailable: quantity, priceCents: s.priceCents, updatedAt: now })
            .where(and(eq(offers.id, existing.id), quantity === null ? undefined : lte(offers.quantityTaken, quantity)))
            .run();
          if (updated.changes === 0) continue;
        } else {
          tx.insert(offers)
            .values({
              cycleId: cycle.id,
              productId: s.productId,
              producerId,
              published: true,
              quantityAvailable: s.quantityAvailable,
              priceCents: s.priceCents,
              createdAt: now,
              updatedAt: now,
            })
            .run();
        }
        copied++;
      }
      return { ok: true, copied, from };
    },
    { behavior: 'immediate' },
  );
}
