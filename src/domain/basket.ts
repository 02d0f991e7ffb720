import { and, eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { basketItems, baskets, distributions, type SaleUnit } from '../db/schema/index.js';
import { MAX_QUANTITY } from './money.js';
import { findOpenCycle, findShopOffer, includedVatCents, leftFor, leftOf, memberQuantities, prepared, unitCents, cycleDistributions, type ShopDistribution } from './shop.js';

/*
 * A member's basket for one cycle, kept in the database so that it survives a closed tab and
 * follows the member to another device. It reserves nothing: the stock is only taken when the
 * order is placed, so reading the basket also says which lines no longer fit.
 */

/** Why a basket change was refused. */
export type BasketError =
  | { ok: false; reason: 'cycle_not_open' }
  | { ok: false; reason: 'not_offered' }
  | { ok: false; reason: 'invalid_quantity' }
  | { ok: false; reason: 'over_max'; max: number }
  | { ok: false; reason: 'sold_out' }
  | { ok: false; reason: 'not_enough'; left: number };

export type SetQuantityResult = { ok: true; quantity: number } | BasketError;

export type ChooseDistributionResult = { ok: true } | { ok: false; reason: 'cycle_not_open' } | { ok: false; reason: 'not_in_cycle' };

/** Creates the member's basket row for a cycle if it is missing, and marks it changed. */
function touchBasket(tx: Db | Tx, accountId: number, cycleId: number, now: number): void {
  tx.insert(baskets)
    .values({ accountId, cycleId, distributionId: null, updatedAt: now })
    .onConflictDoUpdate({ target: [baskets.accountId, baskets.cycleId], set: { updatedAt: now } })
    .run();
}

/**
 * Sets how many units of an offer are in the member's basket for a cycle; 0 removes the line.
 * The cycle must be open and the offer on sale in it; the quantity a whole number within the
 * product's maximum per order and what is left (counting what the member's own placed order
 * holds, since placing again replaces it). Lowering or removing a line is always allowed while
 * the cycle is open, even for an offer that was withdrawn or sold out since.
 */
export function setBasketQuantity(db: Db, accountId: number, cycleId: number, offerId: number, quantity: number, now = Date.now()): SetQuantityResult {
  if (!Number.isSafeInteger(quantity) || quantity < 0 || quantity > MAX_QUANTITY) return { ok: false, reason: 'invalid_quantity' };
  return db.transaction(
    (tx): SetQuantityResult => {
      if (!findOpenCycle(tx, cycleId)) return { ok: false, reason: 'cycle_not_open' };
      const current = tx
        .select({ quantity: basketItems.quantity })
        .from(basketItems)
        .where(and(eq(basketItems.accountId, accountId), eq(basketItems.offerId, offerId), eq(basketItems.cycleId, cycleId)))
        .get();
      const offer = findShopOffer(tx, cycleId, offerId, 'fr');
      if (!offer && !current) return { ok: false, reason: 'not_offered' };
      if (quantity === 0) {
        if (current) {
          tx.delete(basketItems).where(and(eq(basketItems.accountId, accountId), eq(basketItems.offerId, offerId))).run();
          touchBasket(tx, accountId, cycleId, now);
        }
        return { ok: true, quantity: 0 };
      }
      if (!offer) return { ok: false, reason: 'not_offered' };
      // Lowering a quantity that no longer fits is allowed: it makes the basket closer to fitting.
      const lowering = current !== undefined && quantity < current.quantity;
      if (offer.maxPerOrder !== null && quantity > offer.maxPerOrder && !lowering) return { ok: false, reason: 'over_max', max: offer.maxPerOrder };
      const held = memberQuantities(tx, accountId, cycleId).held.get(offerId) ?? 0;
      const left = leftFor(offer.left, held);
      if (left !== null && quantity > left && !lowering) return left === 0 ? { ok: false, reason: 'sold_out' } : { ok: false, reason: 'not_enough', left };
      tx.insert(basketItems)
        .values({ accountId, cycleId, offerId, quantity, updatedAt: now })
        .onConflictDoUpdate({ target: [basketItems.accountId, basketItems.offerId], set: { quantity, updatedAt: now } })
        .run();
      touchBasket(tx, accountId, cycleId, now);
      return { ok: true, quantity };
    },
    { behavior: 'immediate' },
  );
}

/** Chooses the distribution (pickup point, date and time window) of the member's basket; it must belong to the open cycle. */
export function chooseDistribution(db: Db, accountId: number, cycleId: number, distributionId: number, now = Date.now()): ChooseDistributionResult {
  return db.transaction(
    (tx): ChooseDistributionResult => {
      if (!findOpenCycle(tx, cycleId)) return { ok: false, reason: 'cycle_not_open' };
      const d = tx
        .select({ id: distributions.id })
        .from(distributions)
        .where(and(eq(distributions.id, distributionId), eq(distributions.cycleId, cycleId)))
        .get();
      if (!d) return { ok: false, reason: 'not_in_cycle' };
      tx.insert(baskets)
        .values({ accountId, cycleId, distributionId, updatedAt: now })
        .onConflictDoUpdate({ target: [baskets.accountId, baskets.cycleId], set: { distributionId, updatedAt: now } })
        .run();
      return { ok: true };
    },
    { behavior: 'immediate' },
  );
}

/** Why a basket line would not be placed as it is. */
export type LineProblem = { reason: 'not_offered' } | { reason: 'sold_out' } | { reason: 'not_enough'; left: number } | { reason: 'over_max'; max: number };

/** One line of a basket, at today's price. */
export interface BasketLine {
  offerId: number;
  productId: number;
  name: string;
  producerName: string;
  unit: SaleUnit;
  unitLabel: string | null;
  weighed: boolean;
  estimatedWeightGrams: number | null;
  quantity: number;
  /** The offer's price: per sale unit, or per kg for a weighed product. */
  priceCents: number;
  /** The price of one unit as ordered: for a weighed product, the estimated price of a piece. */
  unitCents: number;
  vatRateBp: number;
  lineTotalCents: number;
  maxPerOrder: number | null;
  /** What the member may still have of this offer (left plus what their placed order holds); null = unlimited. */
  left: number | null;
  problem: LineProblem | null;
}

/** VAT included in the total, at one rate. */
export interface VatLine {
  rateBp: number;
  /** Total including VAT of the lines at this rate. */
  grossCents: number;
  vatCents: number;
}

/** A member's basket for a cycle, priced now. */
export interface Basket {
  cycleId: number;
  lines: BasketLine[];
  /** Units in the basket, all lines together. */
  itemCount: number;
  totalCents: number;
  vat: VatLine[];
  /** Some line is weighed: its total is estimated until it is weighed at distribution. */
  estimated: boolean;
  distributionId: number | null;
  /** The chosen distribution, if it still belongs to the cycle. */
  distribution: ShopDistribution | null;
  /** Some line would not be placed as it is. */
  hasProblems: boolean;
}

// The basket's lines with their offer, product and producer, as they are now. Withdrawn offers
// (unpublished, archived product, inactive producer) still come back: the member must see them.
const LINES_SQL = `
  select b.offer_id as offerId, b.quantity as quantity, p.id as productId, p.name as name, pr.name as producerName,
    p.unit as unit, p.unit_label as unitLabel, p.weighed as weighed, p.estimated_weight_grams as estimatedWeightGrams,
    o.price_cents as priceCents, p.vat_rate_bp as vatRateBp, p.max_per_order as maxPerOrder,
    o.quantity_available as quantityAvailable, o.quantity_taken as quantityTaken,
    (o.published = 1 and p.active = 1 and pr.active = 1 and o.cycle_id = b.cycle_id) as onSale
  from basket_items b
  join offers o on o.id = b.offer_id
  join products p on p.id = o.product_id
  join producers pr on pr.id = o.producer_id
  where b.account_id = ? and b.cycle_id = ?
  order by pr.name collate nocase, p.name collate nocase, b.offer_id`;

interface LineRow {
  offerId: number;
  quantity: number;
  productId: number;
  name: string;
  producerName: string;
  unit: SaleUnit;
  unitLabel: string | null;
  weighed: number;
  estimatedWeightGrams: number | null;
  priceCents: number;
  vatRateBp: number;
  maxPerOrder: number | null;
  quantityAvailable: number | null;
  quantityTaken: number;
  onSale: number;
}

/** The problem of a line, if it would not be placed as it is. */
export function lineProblem(onSale: boolean, quantity: number, left: number | null, maxPerOrder: number | null): LineProblem | null {
  if (!onSale) return { reason: 'not_offered' };
  if (left === 0) return { reason: 'sold_out' };
  if (left !== null && quantity > left) return { reason: 'not_enough', left };
  if (maxPerOrder !== null && quantity > maxPerOrder) return { reason: 'over_max', max: maxPerOrder };
  return null;
}

/**
 * The member's basket for a cycle: lines at today's prices (weighed lines estimated), the total
 * with the VAT it includes by rate, the chosen distribution, and for each line whether it would
 * still fit (now sold out, fewer left than in the basket, no longer offered, above the maximum).
 */
export function readBasket(db: Db | Tx, accountId: number, cycleId: number): Basket {
  const rows = prepared(db, LINES_SQL).all(accountId, cycleId) as LineRow[];
  const held = rows.length ? memberQuantities(db, accountId, cycleId).held : new Map<number, number>();
  const lines: BasketLine[] = rows.map((r) => {
    const weighed = r.weighed === 1;
    const left = leftFor(leftOf(r.quantityAvailable, r.quantityTaken), held.get(r.offerId) ?? 0);
    const unit = unitCents({ priceCents: r.priceCents, weighed, estimatedWeightGrams: r.estimatedWeightGrams });
    return {
      offerId: r.offerId,
      productId: r.productId,
      name: r.name,
      producerName: r.producerName,
      unit: r.unit,
      unitLabel: r.unitLabel,
      weighed,
      estimatedWeightGrams: r.estimatedWeightGrams,
      quantity: r.quantity,
      priceCents: r.priceCents,
      unitCents: unit,
      vatRateBp: r.vatRateBp,
      lineTotalCents: unit * r.quantity,
      maxPerOrder: r.maxPerOrder,
      left,
      problem: lineProblem(r.onSale === 1, r.quantity, left, r.maxPerOrder),
    };
  });
  // A line no longer offered is shown but counts in no total.
  const counted = lines.filter((l) => !l.problem || l.problem.reason !== 'not_offered');
  const byRate = new Map<number, number>();
  for (const l of counted) byRate.set(l.vatRateBp, (byRate.get(l.vatRateBp) ?? 0) + l.lineTotalCents);
  const vat = [...byRate.entries()].sort((a, b) => a[0] - b[0]).map(([rateBp, grossCents]) => ({ rateBp, grossCents, vatCents: includedVatCents(grossCents, rateBp) }));
  const basket = db
    .select({ distributionId: baskets.distributionId })
    .from(baskets)
    .where(and(eq(baskets.accountId, accountId), eq(baskets.cycleId, cycleId)))
    .get();
  const distributionId = basket?.distributionId ?? null;
  const distribution = distributionId === null ? null : (cycleDistributions(db, cycleId).find((d) => d.id === distributionId) ?? null);
  return {
    cycleId,
    lines,
    itemCount: counted.reduce((n, l) => n + l.quantity, 0),
    totalCents: counted.reduce((n, l) => n + l.lineTotalCents, 0),
    vat,
    estimated: counted.some((l) => l.weighed),
    distributionId: distribution ? distributionId : null,
    distribution,
    hasProblems: lines.some((l) => l.problem !== null),
  };
}
