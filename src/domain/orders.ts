import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { perConnection } from '../db/prepared.js';
import {
  accountRoles,
  accounts,
  basketItems,
  baskets,
  cycles,
  distributions,
  offers,
  orderLines,
  orders,
  orderSubmissions,
  pickupPoints,
  producers,
  products,
  SALE_UNITS,
  type CycleStatus,
  type OrderStatus,
} from '../db/schema/index.js';
import { formatters, translator, type Formatters, type MessageKey, type Translate } from '../i18n/index.js';
import type { Mailer } from '../mail/mailer.js';
import type { EmailBlock, EmailTable } from '../mail/templates.js';
import { formatVatRate } from './catalog.js';
import { getCoop, type Coop } from './coop.js';
import { MAX_QUANTITY } from './money.js';
import { estimatedPieceCents, includedVatCents } from './shop.js';

/*
 * Orders: one per member and cycle. Placing (or replacing, or cancelling) is one immediate
 * transaction: stock is taken with an UPDATE guarded in SQL on what is left and its change count
 * checked, so two members racing for the last unit can never both get it; if any line does not
 * fit, the whole transaction rolls back and the member is told which lines changed.
 *
 * Order lines keep copies of the names, price and VAT at the moment of placing. unitLabel holds
 * the sale unit's code (piece, bunch, kg…) for the standard units, translated when shown, or the
 * producer's own label for a custom unit.
 */

/** How a member may pay at pickup; a coop accepts some of them (coop.paymentMethods). */
export const PAYMENT_METHODS = ['cash', 'cheque', 'transfer', 'card'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** A random form token for the place-order form: a repeated submission with it finds the same order. */
export function newOrderToken(): string {
  return randomBytes(18).toString('base64url');
}

/** What a token submitted by a form may look like (anything else is refused before the database). */
export const ORDER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** The payment methods a coop accepts, in the canonical order, from its comma-separated setting. */
export function acceptedPaymentMethods(coop: Pick<Coop, 'paymentMethods'> | undefined): PaymentMethod[] {
  const listed = new Set((coop?.paymentMethods ?? 'cash,cheque').split(',').map((m) => m.trim()));
  const methods = PAYMENT_METHODS.filter((m) => listed.has(m));
  return methods.length ? methods : ['cash'];
}

// ----- payment settings -----

/** The longest bank details text the settings accept. */
export const BANK_DETAILS_MAX = 500;

/** True when an IBAN (spaces allowed) has a known shape and its ISO 13616 check digits are right (mod 97 = 1). */
export function ibanIsValid(input: string): boolean {
  const iban = input.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const code = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of code) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

/**
 * Finds the IBANs in bank details typed as free text (holder, IBAN, BIC, one per line) and checks
 * them: a line labelled "IBAN" must hold a valid one, and any line that looks like an IBAN (two
 * letters, two digits, then letters and digits) must be valid. Returns false when one is wrong.
 */
export function bankDetailsIbansValid(text: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const labelled = /^\s*IBAN\s*[:：]?\s*(.*)$/i.exec(raw);
    const value = (labelled ? labelled[1]! : raw).replace(/\s+/g, '').toUpperCase();
    if (labelled) {
      if (!ibanIsValid(value)) return false;
    } else if (/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(value) && !ibanIsValid(value)) {
      return false;
    }
  }
  return true;
}

/** A line's total in cents: price × quantity, or for a weighed product, the estimated weight's price × pieces. */
export function lineTotalCents(line: { unitPriceCents: number; quantity: number; weighed: boolean; estimatedWeightGrams: number | null }): number {
  if (line.weighed) return estimatedPieceCents(line.unitPriceCents, line.estimatedWeightGrams ?? 0) * line.quantity;
  return line.unitPriceCents * line.quantity;
}

/** One VAT rate of an order: the total of its lines and the VAT they include. */
export interface VatShare {
  rateBp: number;
  totalCents: number;
  vatCents: number;
}

/** Groups lines by VAT rate, lowest rate first, with the VAT each group includes. */
export function vatByRate(lines: ReadonlyArray<{ vatRateBp: number; lineTotalCents: number }>): VatShare[] {
  const totals = new Map<number, number>();
  for (const l of lines) totals.set(l.vatRateBp, (totals.get(l.vatRateBp) ?? 0) + l.lineTotalCents);
  return [...totals.entries()].sort((a, b) => a[0] - b[0]).map(([rateBp, totalCents]) => ({ rateBp, totalCents, vatCents: includedVatCents(totalCents, rateBp) }));
}

/** The sale unit of an order line in a language: a standard unit is translated, a custom label is shown as typed. */
export function unitText(t: Translate, unitLabel: string): string {
  return unitLabel !== 'custom' && (SALE_UNITS as readonly string[]).includes(unitLabel) ? t(`catalog.unit.${unitLabel}` as MessageKey) : unitLabel;
}

/** A weight in grams as a person reads it: "750 g", "1,5 kg". */
export function formatGrams(grams: number, fmt: Formatters): string {
  return grams >= 1000 ? `${fmt.number(grams / 1000)} kg` : `${fmt.number(grams)} g`;
}

// ----- placing -----

/** Why one basket line cannot be placed as it is. */
export type LineProblem = 'unavailable' | 'sold_out' | 'not_enough' | 'max_per_order' | 'invalid_quantity';

/** A basket line that changed since it was added: what the member wanted and what is left. */
export interface ChangedLine {
  offerId: number;
  name: string;
  wanted: number;
  /** Units the member could still have (what is left, capped by the maximum per order). */
  left: number;
  problem: LineProblem;
}

export interface PlaceInput {
  accountId: number;
  cycleId: number;
  distributionId: number;
  token: string;
}

export type PlaceResult =
  | { ok: true; orderId: number; reference: string; cycleId: number; replaced: boolean; replayed: boolean }
  | { ok: false; reason: 'changed'; lines: ChangedLine[] }
  | { ok: false; reason: 'not_member' | 'not_found' | 'cycle_closed' | 'wrong_distribution' | 'empty_basket' | 'token_taken' };

/** Thrown inside the transaction to roll everything back when some line does not fit. */
class LinesChanged extends Error {
  constructor(readonly lines: ChangedLine[]) {
    super('order lines changed');
  }
}

const ph = sql.placeholder;

/**
 * The statements of placing an order, prepared once per connection (building and compiling them
 * on every placement cost far more than running them). Values go in through placeholders only.
 */
function placeStatements(db: Db | Tx) {
  return {
    submission: db.select().from(orderSubmissions).where(eq(orderSubmissions.token, ph('token'))).prepare(),
    memberStatus: db
      .select({ status: accounts.status })
      .from(accounts)
      .innerJoin(accountRoles, and(eq(accountRoles.accountId, accounts.id), eq(accountRoles.role, 'member')))
      .where(eq(accounts.id, ph('accountId')))
      .prepare(),
    account: db.select().from(accounts).where(eq(accounts.id, ph('accountId'))).prepare(),
    cycle: db.select().from(cycles).where(eq(cycles.id, ph('cycleId'))).prepare(),
    // The distribution with what the confirmation email shows of it.
    distribution: db
      .select({
        id: distributions.id,
        startsAt: distributions.startsAt,
        endsAt: distributions.endsAt,
        pickupPointName: pickupPoints.name,
        pickupPointAddress: pickupPoints.address,
        pickupPointInstructions: pickupPoints.instructions,
      })
      .from(distributions)
      .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
      .where(and(eq(distributions.id, ph('distributionId')), eq(distributions.cycleId, ph('cycleId'))))
      .prepare(),
    basket: db
      .select({
        offerId: basketItems.offerId,
        quantity: basketItems.quantity,
        offerCycleId: offers.cycleId,
        published: offers.published,
        quantityAvailable: offers.quantityAvailable,
        priceCents: offers.priceCents,
        productId: products.id,
        productName: products.name,
        productActive: products.active,
        unit: products.unit,
        customLabel: products.unitLabel,
        vatRateBp: products.vatRateBp,
        maxPerOrder: products.maxPerOrder,
        weighed: products.weighed,
        estimatedWeightGrams: products.estimatedWeightGrams,
        producerId: producers.id,
        producerName: producers.name,
        producerActive: producers.active,
      })
      .from(basketItems)
      .innerJoin(offers, eq(offers.id, basketItems.offerId))
      .innerJoin(products, eq(products.id, offers.productId))
      .innerJoin(producers, eq(producers.id, offers.producerId))
      .where(and(eq(basketItems.accountId, ph('accountId')), eq(basketItems.cycleId, ph('cycleId'))))
      .orderBy(asc(producers.name), asc(products.name), asc(offers.id))
      .prepare(),
    existingOrder: db
      .select()
      .from(orders)
      .where(and(eq(orders.cycleId, ph('cycleId')), eq(orders.accountId, ph('accountId'))))
      .prepare(),
    orderLinesHeld: db.select({ offerId: orderLines.offerId, quantity: orderLines.quantity }).from(orderLines).where(eq(orderLines.orderId, ph('orderId'))).prepare(),
    releaseOffer: db
      .update(offers)
      .set({ quantityTaken: sql`${offers.quantityTaken} - ${ph('quantity')}` })
      .where(and(eq(offers.id, ph('offerId')), sql`${offers.quantityTaken} >= ${ph('quantity')}`))
      .prepare(),
    stock: db.select({ available: offers.quantityAvailable, taken: offers.quantityTaken }).from(offers).where(eq(offers.id, ph('offerId'))).prepare(),
    // Takes stock only if enough is left: the change count says whether it did.
    takeOffer: db
      .update(offers)
      .set({ quantityTaken: sql`${offers.quantityTaken} + ${ph('quantity')}` })
      .where(and(eq(offers.id, ph('offerId')), sql`(${offers.quantityAvailable} is null or ${offers.quantityAvailable} - ${offers.quantityTaken} >= ${ph('quantity')})`))
      .prepare(),
    // Orders are never deleted (cycles restrict it), so the orders of a cycle number 1…count;
    // counting walks the (cycle_id, account_id) index instead of parsing every reference.
    orderCount: db.select({ n: sql<number>`count(*)` }).from(orders).where(eq(orders.cycleId, ph('cycleId'))).prepare(),
    referenceTaken: db.select({ id: orders.id }).from(orders).where(eq(orders.reference, ph('reference'))).prepare(),
    maxSequence: db
      .select({ n: sql<number | null>`max(cast(substr(${orders.reference}, length(${ph('prefix')}) + 1) as integer))` })
      .from(orders)
      .where(eq(orders.cycleId, ph('cycleId')))
      .prepare(),
    insertOrder: db
      .insert(orders)
      .values({
        cycleId: ph('cycleId'),
        accountId: ph('accountId'),
        distributionId: ph('distributionId'),
        reference: ph('reference'),
        status: 'placed',
        memberName: ph('memberName'),
        totalCents: ph('totalCents'),
        placedAt: ph('now'),
        updatedAt: ph('now'),
      })
      .returning({ id: orders.id })
      .prepare(),
    replaceOrder: db
      .update(orders)
      .set({
        distributionId: sql`${ph('distributionId')}`,
        status: 'placed',
        memberName: sql`${ph('memberName')}`,
        totalCents: sql`${ph('totalCents')}`,
        placedAt: sql`${ph('placedAt')}`,
        updatedAt: sql`${ph('now')}`,
        cancelledAt: null,
      })
      .where(eq(orders.id, ph('orderId')))
      .prepare(),
    deleteLines: db.delete(orderLines).where(eq(orderLines.orderId, ph('orderId'))).prepare(),
    insertLine: db
      .insert(orderLines)
      .values({
        orderId: ph('orderId'),
        offerId: ph('offerId'),
        productId: ph('productId'),
        producerId: ph('producerId'),
        productName: ph('productName'),
        producerName: ph('producerName'),
        unitLabel: ph('unitLabel'),
        quantity: ph('quantity'),
        unitPriceCents: ph('unitPriceCents'),
        vatRateBp: ph('vatRateBp'),
        weighed: ph('weighed'),
        estimatedWeightGrams: ph('estimatedWeightGrams'),
        lineTotalCents: ph('lineTotalCents'),
      })
      .returning({ id: orderLines.id })
      .prepare(),
    insertSubmission: db.insert(orderSubmissions).values({ token: ph('token'), accountId: ph('accountId'), orderId: ph('orderId'), createdAt: ph('now') }).prepare(),
    emptyBasket: db.delete(basketItems).where(and(eq(basketItems.accountId, ph('accountId')), eq(basketItems.cycleId, ph('cycleId')))).prepare(),
    keepDistribution: db
      .insert(baskets)
      .values({ accountId: ph('accountId'), cycleId: ph('cycleId'), distributionId: ph('distributionId'), updatedAt: ph('now') })
      .onConflictDoUpdate({ target: [baskets.accountId, baskets.cycleId], set: { distributionId: sql`${ph('distributionId')}`, updatedAt: sql`${ph('now')}` } })
      .prepare(),
  };
}

/** True when the account may order: active, holding the member role. */
export function mayOrder(db: Db | Tx, accountId: number): boolean {
  return perConnection(db, placeStatements).memberStatus.get({ accountId })?.status === 'active';
}

/** True while members may place, change and cancel orders in the cycle. */
function isOpen(cycle: { status: CycleStatus; closesAt: number }, now: number): boolean {
  return cycle.status === 'open' && now < cycle.closesAt;
}

/** Gives back the stock an order's lines hold (the order must be placed). */
function releaseStock(tx: Tx, orderId: number): void {
  const st = perConnection(tx, placeStatements);
  const lines = st.orderLinesHeld.all({ orderId });
  for (const l of lines) {
    const changed = st.releaseOffer.run({ offerId: l.offerId, quantity: l.quantity }).changes;
    // The counter disagrees with the placed lines: refuse rather than make it worse.
    if (changed !== 1) throw new Error(`stock counter of offer ${l.offerId} is below its placed lines`);
  }
}

/** The next reference in a cycle: V<cycleId>-<sequence of at least 4 digits>. */
function nextReference(tx: Tx, cycleId: number): string {
  const st = perConnection(tx, placeStatements);
  const prefix = `V${cycleId}-`;
  const reference = prefix + String(st.orderCount.get({ cycleId })!.n + 1).padStart(4, '0');
  if (!st.referenceTaken.get({ reference })) return reference;
  // Should the sequence have a gap, fall back to the highest sequence used in the cycle.
  const last = st.maxSequence.get({ cycleId, prefix })?.n;
  return prefix + String((last ?? 0) + 1).padStart(4, '0');
}

/**
 * Places the member's basket as their order for the cycle, in one immediate transaction. A token
 * already used by this account returns its order (a double click makes one order); the same
 * token from another account is refused. When the member already has an order in the cycle it is
 * replaced: its stock is freed, then the new quantities are taken. If any line no longer fits
 * (unpublished, sold out, not enough left, over the maximum per order), nothing changes and the
 * result lists each such line with what is left. On success the basket is emptied and the
 * confirmation email queued in the member's language.
 */
export function placeOrder(db: Db, mailer: Mailer, input: PlaceInput, now = Date.now()): PlaceResult {
  try {
    return db.transaction((tx) => placeInTx(tx, mailer, input, now), { behavior: 'immediate' });
  } catch (err) {
    if (err instanceof LinesChanged) return { ok: false, reason: 'changed', lines: err.lines };
    throw err;
  }
}

function placeInTx(tx: Tx, mailer: Mailer, input: PlaceInput, now: number): PlaceResult {
  const { accountId, cycleId, distributionId, token } = input;
  const st = perConnection(tx, placeStatements);
  const seen = st.submission.get({ token });
  if (seen) {
    if (seen.accountId !== accountId) return { ok: false, reason: 'token_taken' };
    const order = tx.select({ reference: orders.reference, cycleId: orders.cycleId }).from(orders).where(eq(orders.id, seen.orderId)).get()!;
    return { ok: true, orderId: seen.orderId, reference: order.reference, cycleId: order.cycleId, replaced: false, replayed: true };
  }
  if (!mayOrder(tx, accountId)) return { ok: false, reason: 'not_member' };
  const account = st.account.get({ accountId })!;
  const cycle = st.cycle.get({ cycleId });
  if (!cycle || cycle.status === 'draft') return { ok: false, reason: 'not_found' };
  if (!isOpen(cycle, now)) return { ok: false, reason: 'cycle_closed' };
  const distribution = st.distribution.get({ distributionId, cycleId });
  if (!distribution) return { ok: false, reason: 'wrong_distribution' };

  const items = st.basket.all({ accountId, cycleId });
  if (items.length === 0) return { ok: false, reason: 'empty_basket' };

  const existing = st.existingOrder.get({ cycleId, accountId });
  const replaced = existing?.status === 'placed';
  if (existing && replaced) releaseStock(tx, existing.id);

  const changed: ChangedLine[] = [];
  const leftOf = (offerId: number): number => {
    const o = st.stock.get({ offerId })!;
    return o.available === null ? MAX_QUANTITY : Math.max(0, o.available - o.taken);
  };
  for (const item of items) {
    const cap = (left: number) => Math.min(left, item.maxPerOrder ?? MAX_QUANTITY);
    const base = { offerId: item.offerId, name: item.productName, wanted: item.quantity };
    if (!Number.isInteger(item.quantity) || item.quantity <= 0 || item.quantity > MAX_QUANTITY) {
      changed.push({ ...base, left: cap(leftOf(item.offerId)), problem: 'invalid_quantity' });
      continue;
    }
    if (item.offerCycleId !== cycleId || !item.published || !item.productActive || !item.producerActive) {
      changed.push({ ...base, left: 0, problem: 'unavailable' });
      continue;
    }
    if (item.maxPerOrder !== null && item.quantity > item.maxPerOrder) {
      changed.push({ ...base, left: cap(leftOf(item.offerId)), problem: 'max_per_order' });
      continue;
    }
    const taken = st.takeOffer.run({ offerId: item.offerId, quantity: item.quantity }).changes;
    if (taken !== 1) {
      const left = cap(leftOf(item.offerId));
      changed.push({ ...base, left, problem: left === 0 ? 'sold_out' : 'not_enough' });
    }
  }
  if (changed.length) throw new LinesChanged(changed);

  const lines = items.map((item) => {
    const line = {
      offerId: item.offerId,
      productId: item.productId,
      producerId: item.producerId,
      productName: item.productName,
      producerName: item.producerName,
      unitLabel: item.unit === 'custom' ? (item.customLabel ?? 'custom') : item.unit,
      quantity: item.quantity,
      unitPriceCents: item.priceCents,
      vatRateBp: item.vatRateBp,
      weighed: item.weighed,
      estimatedWeightGrams: item.weighed ? item.estimatedWeightGrams : null,
    };
    return { ...line, lineTotalCents: lineTotalCents(line) };
  });
  const totalCents = lines.reduce((sum, l) => sum + l.lineTotalCents, 0);

  let orderId: number;
  let reference: string;
  let placedAt: number;
  if (existing) {
    orderId = existing.id;
    reference = existing.reference;
    placedAt = replaced ? existing.placedAt : now;
    st.deleteLines.run({ orderId });
    st.replaceOrder.run({ orderId, distributionId, memberName: account.name, totalCents, placedAt, now });
  } else {
    reference = nextReference(tx, cycleId);
    placedAt = now;
    orderId = st.insertOrder.get({ cycleId, accountId, distributionId, reference, memberName: account.name, totalCents, now })!.id;
  }
  // Inserted in the order the email and the order page list them (producer, product, offer).
  const stored: OrderLine[] = lines.map((l) => ({ ...l, orderId, id: st.insertLine.get({ ...l, orderId })!.id }));
  st.insertSubmission.run({ token, accountId, orderId, now });
  st.emptyBasket.run({ accountId, cycleId });
  st.keepDistribution.run({ accountId, cycleId, distributionId, now });

  // The confirmation email, from what this transaction just wrote (no need to read it back).
  const theCoop = getCoop(tx);
  const vat = vatByRate(stored);
  const order: EmailOrder = {
    id: orderId,
    reference,
    totalCents,
    cycleName: cycle.name,
    closesAt: cycle.closesAt,
    pickupPointName: distribution.pickupPointName,
    pickupPointAddress: distribution.pickupPointAddress,
    pickupPointInstructions: distribution.pickupPointInstructions,
    startsAt: distribution.startsAt,
    endsAt: distribution.endsAt,
    lines: stored,
    vat,
    paymentMethods: acceptedPaymentMethods(theCoop),
    bankDetails: theCoop?.bankDetails ?? '',
  };
  sendOrderEmail(tx, mailer, order, account, theCoop, replaced ? 'changed' : 'placed', now);
  return { ok: true, orderId, reference, cycleId, replaced, replayed: false };
}

// ----- cancelling and changing -----

/** The member's order if it can still change (its cycle is open); otherwise why not. */
function changeableOrder(
  tx: Tx,
  accountId: number,
  orderId: number,
  now: number,
): { ok: true; order: typeof orders.$inferSelect } | { ok: false; reason: 'not_found' | 'cycle_closed' } {
  const row = tx
    .select({ order: orders, cycleStatus: cycles.status, closesAt: cycles.closesAt })
    .from(orders)
    .innerJoin(cycles, eq(cycles.id, orders.cycleId))
    .where(and(eq(orders.id, orderId), eq(orders.accountId, accountId)))
    .get();
  if (!row) return { ok: false, reason: 'not_found' };
  if (!isOpen({ status: row.cycleStatus, closesAt: row.closesAt }, now)) return { ok: false, reason: 'cycle_closed' };
  return { ok: true, order: row.order };
}

export type CancelResult =
  | { ok: true; orderId: number; alreadyCancelled: boolean }
  | { ok: false; reason: 'not_found' | 'cycle_closed' };

/**
 * Cancels the member's order while its cycle is open: frees its stock, marks it cancelled and
 * emails a confirmation, in one transaction. Cancelling an order already cancelled changes nothing.
 */
export function cancelOrder(db: Db | Tx, mailer: Mailer, accountId: number, orderId: number, now = Date.now()): CancelResult {
  return db.transaction(
    (tx) => {
      const row = changeableOrder(tx, accountId, orderId, now);
      if (!row.ok) return row;
      if (row.order.status === 'cancelled') return { ok: true, orderId, alreadyCancelled: true } as const;
      releaseStock(tx, orderId);
      tx.update(orders).set({ status: 'cancelled', cancelledAt: now, updatedAt: now }).where(eq(orders.id, orderId)).run();
      queueOrderEmail(tx, mailer, orderId, 'cancelled', now);
      return { ok: true, orderId, alreadyCancelled: false } as const;
    },
    { behavior: 'immediate' },
  );
}

export type EditResult = { ok: true; cycleId: number } | { ok: false; reason: 'not_found' | 'cycle_closed' };

/**
 * Puts the lines of the member's order back into their basket for its cycle (replacing what the
 * basket held) with its distribution, so the member can change it and place it again, which
 * replaces the order. Lines whose offer has since been withdrawn are still loaded: placing
 * again says they changed.
 */
export function loadOrderIntoBasket(db: Db, accountId: number, orderId: number, now = Date.now()): EditResult {
  return db.transaction(
    (tx) => {
      const row = changeableOrder(tx, accountId, orderId, now);
      if (!row.ok) return row;
      const { cycleId, distributionId } = row.order;
      const lines = tx.select({ offerId: orderLines.offerId, quantity: orderLines.quantity }).from(orderLines).where(eq(orderLines.orderId, orderId)).all();
      tx.delete(basketItems).where(and(eq(basketItems.accountId, accountId), eq(basketItems.cycleId, cycleId))).run();
      if (lines.length) tx.insert(basketItems).values(lines.map((l) => ({ accountId, cycleId, offerId: l.offerId, quantity: l.quantity, updatedAt: now }))).run();
      tx.insert(baskets)
        .values({ accountId, cycleId, distributionId, updatedAt: now })
        .onConflictDoUpdate({ target: [baskets.accountId, baskets.cycleId], set: { distributionId, updatedAt: now } })
        .run();
      return { ok: true, cycleId } as const;
    },
    { behavior: 'immediate' },
  );
}

// ----- reading -----

/** One row of "my orders". */
export interface OrderSummary {
  id: number;
  reference: string;
  status: OrderStatus;
  totalCents: number;
  placedAt: number;
  updatedAt: number;
  cycleId: number;
  cycleName: string;
  cycleStatus: CycleStatus;
  closesAt: number;
  pickupPointName: string;
  startsAt: number;
  endsAt: number;
  lineCount: number;
  /** The member may still change or cancel it. */
  editable: boolean;
}

/** The member's orders: current ones (cycle open, soonest distribution first) and past ones (most recent first). */
export function listOrders(db: Db | Tx, accountId: number, now = Date.now()): { current: OrderSummary[]; past: OrderSummary[] } {
  const rows = db
    .select({
      id: orders.id,
      reference: orders.reference,
      status: orders.status,
      totalCents: orders.totalCents,
      placedAt: orders.placedAt,
      updatedAt: orders.updatedAt,
      cycleId: cycles.id,
      cycleName: cycles.name,
      cycleStatus: cycles.status,
      closesAt: cycles.closesAt,
      pickupPointName: pickupPoints.name,
      startsAt: distributions.startsAt,
      endsAt: distributions.endsAt,
      lineCount: sql<number>`(select count(*) from order_lines l where l.order_id = ${orders.id})`,
    })
    .from(orders)
    .innerJoin(cycles, eq(cycles.id, orders.cycleId))
    .innerJoin(distributions, eq(distributions.id, orders.distributionId))
    .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
    .where(eq(orders.accountId, accountId))
    .orderBy(desc(distributions.startsAt), desc(orders.id))
    .all();
  const all = rows.map((r) => ({ ...r, editable: isOpen({ status: r.cycleStatus, closesAt: r.closesAt }, now) }));
  return { current: all.filter((o) => o.editable).reverse(), past: all.filter((o) => !o.editable) };
}

/** One line of an order as shown. */
export type OrderLine = typeof orderLines.$inferSelect;

/** An order with everything its page and email show. */
export interface OrderDetail extends OrderSummary {
  accountId: number | null;
  memberName: string;
  cancelledAt: number | null;
  distributionId: number;
  pickupPointAddress: string;
  pickupPointInstructions: string;
  lines: OrderLine[];
  vat: VatShare[];
  vatCents: number;
  paymentMethods: PaymentMethod[];
  bankDetails: string;
}

/**
 * One of the member's orders with its lines, pickup and payment details; undefined when it does
 * not exist or belongs to someone else (the caller answers 404 either way).
 */
export function getOrder(db: Db | Tx, accountId: number, orderId: number, now = Date.now()): OrderDetail | undefined {
  return readOrder(db, orderId, now, accountId);
}

function readOrder(db: Db | Tx, orderId: number, now: number, accountId?: number): OrderDetail | undefined {
  const row = db
    .select({
      order: orders,
      cycleName: cycles.name,
      cycleStatus: cycles.status,
      closesAt: cycles.closesAt,
      pickupPointName: pickupPoints.name,
      pickupPointAddress: pickupPoints.address,
      pickupPointInstructions: pickupPoints.instructions,
      startsAt: distributions.startsAt,
      endsAt: distributions.endsAt,
    })
    .from(orders)
    .innerJoin(cycles, eq(cycles.id, orders.cycleId))
    .innerJoin(distributions, eq(distributions.id, orders.distributionId))
    .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
    .where(accountId === undefined ? eq(orders.id, orderId) : and(eq(orders.id, orderId), eq(orders.accountId, accountId)))
    .get();
  if (!row) return undefined;
  const lines = db.select().from(orderLines).where(eq(orderLines.orderId, orderId)).orderBy(asc(orderLines.producerName), asc(orderLines.productName), asc(orderLines.id)).all();
  const vat = vatByRate(lines);
  const theCoop = getCoop(db);
  const o = row.order;
  return {
    id: o.id,
    reference: o.reference,
    status: o.status,
    totalCents: o.totalCents,
    placedAt: o.placedAt,
    updatedAt: o.updatedAt,
    cycleId: o.cycleId,
    cycleName: row.cycleName,
    cycleStatus: row.cycleStatus,
    closesAt: row.closesAt,
    pickupPointName: row.pickupPointName,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    lineCount: lines.length,
    editable: isOpen({ status: row.cycleStatus, closesAt: row.closesAt }, now),
    accountId: o.accountId,
    memberName: o.memberName,
    cancelledAt: o.cancelledAt,
    distributionId: o.distributionId,
    pickupPointAddress: row.pickupPointAddress,
    pickupPointInstructions: row.pickupPointInstructions,
    lines,
    vat,
    vatCents: vat.reduce((s, v) => s + v.vatCents, 0),
    paymentMethods: acceptedPaymentMethods(theCoop),
    bankDetails: theCoop?.bankDetails ?? '',
  };
}

/** What the basket page's "place my order" form needs: a fresh token, payment methods, and the order it would replace. */
export interface PlaceFormData {
  orderToken: string;
  paymentMethods: PaymentMethod[];
  bankDetails: string;
  /** The member's order in this cycle, if any: placing again replaces it. */
  existingOrder: { id: number; reference: string; status: OrderStatus } | null;
}

/** The data for views/orders/_place-form.eta for one member and cycle. */
export function placeFormData(db: Db | Tx, accountId: number, cycleId: number): PlaceFormData {
  const theCoop = getCoop(db);
  const existing = db
    .select({ id: orders.id, reference: orders.reference, status: orders.status })
    .from(orders)
    .where(and(eq(orders.cycleId, cycleId), eq(orders.accountId, accountId)))
    .get();
  return { orderToken: newOrderToken(), paymentMethods: acceptedPaymentMethods(theCoop), bankDetails: theCoop?.bankDetails ?? '', existingOrder: existing ?? null };
}

// ----- the confirmation email -----

/** The rows of an order's lines table, in a language (also used by the order page). */
export function lineCells(t: Translate, fmt: Formatters, line: OrderLine): { product: string; quantity: string; unitPrice: string; total: string } {
  const unit = unitText(t, line.unitLabel);
  if (line.weighed) {
    return {
      product: `${line.productName} (${t('orders.weighed_each', { weight: formatGrams(line.estimatedWeightGrams ?? 0, fmt) })}) — ${line.producerName}`,
      quantity: String(line.quantity),
      unitPrice: t('orders.price_per_kg', { price: fmt.money(line.unitPriceCents) }),
      total: t('orders.estimated', { amount: fmt.money(line.lineTotalCents) }),
    };
  }
  return {
    product: `${line.productName} (${unit}) — ${line.producerName}`,
    quantity: String(line.quantity),
    unitPrice: fmt.money(line.unitPriceCents),
    total: fmt.money(line.lineTotalCents),
  };
}

/** The payment instructions of an order, as lines of text in a language. */
export function paymentLines(t: Translate, fmt: Formatters, order: Pick<OrderDetail, 'paymentMethods' | 'bankDetails' | 'reference' | 'totalCents'>): string[] {
  const out = [
    t('orders.amount_due', { amount: fmt.money(order.totalCents) }),
    t('orders.pay_at_pickup', { methods: order.paymentMethods.map((m) => t(`orders.method.${m}` as MessageKey)).join(', ') }),
  ];
  if (order.paymentMethods.includes('transfer')) {
    out.push(t('orders.transfer_reference', { reference: order.reference }));
    if (order.bankDetails.trim()) out.push(...order.bankDetails.trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
  }
  return out;
}

/** The distribution's date and time window in a language: "27 octobre 2026, 17:00–19:00". */
export function windowText(t: Translate, fmt: Formatters, startsAt: number, endsAt: number): string {
  return t('orders.window', { date: fmt.date(startsAt), start: fmt.time(startsAt), end: fmt.time(endsAt) });
}

/** What the confirmation email of an order shows. */
type EmailOrder = Pick<
  OrderDetail,
  | 'id'
  | 'reference'
  | 'totalCents'
  | 'cycleName'
  | 'closesAt'
  | 'pickupPointName'
  | 'pickupPointAddress'
  | 'pickupPointInstructions'
  | 'startsAt'
  | 'endsAt'
  | 'lines'
  | 'vat'
  | 'paymentMethods'
  | 'bankDetails'
>;

/** Queues the email that confirms a placed, changed or cancelled order, in the member's language, reading the order. */
function queueOrderEmail(tx: Tx, mailer: Mailer, orderId: number, kind: 'placed' | 'changed' | 'cancelled', now: number): void {
  const order = readOrder(tx, orderId, now)!;
  const account = order.accountId === null ? undefined : tx.select().from(accounts).where(eq(accounts.id, order.accountId)).get();
  if (!account) return;
  sendOrderEmail(tx, mailer, order, account, getCoop(tx), kind, now);
}

/** Queues the email that confirms a placed, changed or cancelled order, in the member's language. */
function sendOrderEmail(
  tx: Tx,
  mailer: Mailer,
  order: EmailOrder,
  account: typeof accounts.$inferSelect,
  theCoop: Coop | undefined,
  kind: 'placed' | 'changed' | 'cancelled',
  now: number,
): void {
  const locale = account.locale;
  const t = translator(locale);
  const fmt = formatters(locale, theCoop?.timeZone ?? 'Europe/Paris', theCoop?.currency ?? 'EUR');
  const table: EmailTable = {
    head: [t('orders.col_product'), t('orders.col_quantity'), t('orders.col_unit_price'), t('orders.col_total')],
    align: ['left', 'right', 'right', 'right'],
    rows: order.lines.map((l) => {
      const c = lineCells(t, fmt, l);
      return [c.product, c.quantity, c.unitPrice, c.total];
    }),
    foot: [
      [t('orders.total'), '', '', fmt.money(order.totalCents)],
      ...order.vat.map((v) => [t('orders.vat_line', { rate: formatVatRate(v.rateBp, locale), base: fmt.money(v.totalCents) }), '', '', fmt.money(v.vatCents)]),
    ],
  };
  const pickup: EmailBlock = {
    title: t('orders.pickup'),
    lines: [
      order.pickupPointName,
      ...order.pickupPointAddress.split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
      windowText(t, fmt, order.startsAt, order.endsAt),
      ...(order.pickupPointInstructions.trim() ? [order.pickupPointInstructions.trim()] : []),
    ],
  };
  const payment: EmailBlock = { title: t('orders.payment'), lines: paymentLines(t, fmt, order) };
  const params = { reference: order.reference, cycle: order.cycleName, closes: fmt.dateTime(order.closesAt), total: fmt.money(order.totalCents) };
  const to = { to: account.email, toName: account.name, locale };
  const orderUrl = mailer.url(`/orders/${order.id}`);
  if (kind === 'cancelled') {
    mailer.queue(tx, { ...to, template: 'orderCancelled', data: { orderUrl, blocks: [] }, params }, now);
  } else {
    mailer.queue(tx, { ...to, template: kind === 'placed' ? 'orderPlaced' : 'orderChanged', data: { orderUrl, table, blocks: [pickup, payment] }, params }, now);
  }
}
