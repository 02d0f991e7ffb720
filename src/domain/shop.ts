import type BetterSqlite3 from 'better-sqlite3';
import { asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { connectionOf, perConnection } from '../db/prepared.js';
import { cycles, distributions, pickupPoints, type SaleUnit } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';

/*
 * What members see of an open cycle: its offers with what is left, and its distributions. The
 * shop page of a 1,000-offer cycle must answer in a few milliseconds, so the offers come from ONE
 * prepared statement (offers joined with products, producers and categories), and the member's
 * own quantities from one more; search and filters run over that list in memory.
 */

/** An open cycle as the shop shows it. */
export interface ShopCycle {
  id: number;
  name: string;
  opensAt: number;
  closesAt: number;
}

/** A cycle that is not open yet, for "the next sale opens on…". */
export interface UpcomingCycle extends ShopCycle {
  status: 'scheduled';
}

/** One offer on sale as the shop lists it, with its product, producer and category. */
export interface ShopOffer {
  offerId: number;
  name: string;
  /** Read only for a search (shopOffers with withDescription), and for an offer's detail. */
  description?: string;
  unit: SaleUnit;
  unitLabel: string | null;
  weighed: boolean;
  estimatedWeightGrams: number | null;
  /** This cycle's price including VAT; per kg for a weighed product. */
  priceCents: number;
  maxPerOrder: number | null;
  /** null = unlimited. */
  quantityAvailable: number | null;
  quantityTaken: number;
  /** What placed orders leave; null = unlimited. */
  left: number | null;
  producerId: number;
  producerName: string;
  categoryId: number | null;
  /** In the reader's language; null when the product has no (active) category. */
  categoryName: string | null;
}

/** One offer with everything its detail page shows. */
export interface ShopOfferDetail extends ShopOffer {
  productId: number;
  description: string;
  vatRateBp: number;
  photo: string | null;
}

/** The producer of an offer, as its detail page presents it. */
export interface ShopProducer {
  id: number;
  name: string;
  description: string;
  address: string;
}

/** A distribution of a cycle with its pickup point, for the member's choice. */
export interface ShopDistribution {
  id: number;
  startsAt: number;
  endsAt: number;
  pickupPointId: number;
  pickupPointName: string;
  address: string;
  instructions: string;
}

/** Search and filters of the shop page; everything optional. */
export interface ShopFilter {
  q?: string;
  categoryId?: number;
  producerId?: number;
}

/** A choice of a filter select: an id and its name, with how many offers it has. */
export interface FacetChoice {
  id: number;
  name: string;
  count: number;
}

/** Offers of one producer within a category. */
export interface ProducerGroup {
  producerId: number;
  producerName: string;
  offers: ShopOffer[];
}

/** Offers of one category, by producer. */
export interface CategoryGroup {
  categoryId: number | null;
  /** null for products without a category (shown last, under "Other"). */
  categoryName: string | null;
  producers: ProducerGroup[];
}

/** What the shop page lists. */
export interface ShopListing {
  groups: CategoryGroup[];
  /** Offers shown after search and filters. */
  shown: number;
  /** Offers on sale in the cycle. */
  total: number;
  categories: FacetChoice[];
  producers: FacetChoice[];
}

/** The open cycles, soonest closing first. */
export function openCycles(db: Db | Tx): ShopCycle[] {
  return db
    .select({ id: cycles.id, name: cycles.name, opensAt: cycles.opensAt, closesAt: cycles.closesAt })
    .from(cycles)
    .where(eq(cycles.status, 'open'))
    .orderBy(asc(cycles.closesAt), asc(cycles.id))
    .all();
}

/** The open cycle with this id, or undefined (not found, or not open). */
export function findOpenCycle(db: Db | Tx, cycleId: number): ShopCycle | undefined {
  // Every shop request asks: a prepared statement, not a query built anew each time.
  return prepared(db, `select id, name, opens_at as opensAt, closes_at as closesAt from cycles where id = ? and status = 'open'`).get(cycleId) as ShopCycle | undefined;
}

/** The next scheduled cycle (the soonest to open), if one is planned. */
export function nextScheduledCycle(db: Db | Tx): ShopCycle | undefined {
  return db
    .select({ id: cycles.id, name: cycles.name, opensAt: cycles.opensAt, closesAt: cycles.closesAt })
    .from(cycles)
    .where(eq(cycles.status, 'scheduled'))
    .orderBy(asc(cycles.opensAt), asc(cycles.id))
    .limit(1)
    .get();
}

/** The distributions of a cycle with their pickup point, earliest first. */
export function cycleDistributions(db: Db | Tx, cycleId: number): ShopDistribution[] {
  return db
    .select({
      id: distributions.id,
      startsAt: distributions.startsAt,
      endsAt: distributions.endsAt,
      pickupPointId: pickupPoints.id,
      pickupPointName: pickupPoints.name,
      address: pickupPoints.address,
      instructions: pickupPoints.instructions,
    })
    .from(distributions)
    .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
    .where(eq(distributions.cycleId, cycleId))
    .orderBy(asc(distributions.startsAt), asc(distributions.id))
    .all();
}

// What is on sale: a published offer of an active product of an active producer. Written as SQL
// and prepared once per connection, rows read as arrays, and only the columns a line shows (the
// description only for a search): at 1,000 offers, reading values is most of the query's time.
const LIST_COLUMNS = `
  o.id, p.name, p.unit, p.unit_label, p.weighed, p.estimated_weight_grams, o.price_cents, p.max_per_order,
  o.quantity_available, o.quantity_taken, pr.id, pr.name, c.id, case when ? then c.name_fr else c.name_en end`;
const OFFER_FROM = `
  from offers o
  join products p on p.id = o.product_id
  join producers pr on pr.id = o.producer_id
  left join categories c on c.id = p.category_id and c.active = 1
  where o.cycle_id = ? and o.published = 1 and p.active = 1 and pr.active = 1`;
const ORDER = 'order by c.id is null, c.position, c.id, pr.name collate nocase, pr.id, p.name collate nocase, p.id';
const OFFERS_SQL = `select ${LIST_COLUMNS} ${OFFER_FROM} ${ORDER}`;
const SEARCH_SQL = `select ${LIST_COLUMNS}, p.description ${OFFER_FROM} ${ORDER}`;
const DETAIL_SQL = `select ${LIST_COLUMNS}, p.description, p.id, p.vat_rate_bp, p.photo ${OFFER_FROM} and o.id = ?`;

type ListRow = [
  offerId: number,
  name: string,
  unit: SaleUnit,
  unitLabel: string | null,
  weighed: number,
  estimatedWeightGrams: number | null,
  priceCents: number,
  maxPerOrder: number | null,
  quantityAvailable: number | null,
  quantityTaken: number,
  producerId: number,
  producerName: string,
  categoryId: number | null,
  categoryName: string | null,
];
type SearchRow = [...ListRow, description: string];
type DetailRow = [...ListRow, description: string, productId: number, vatRateBp: number, photo: string | null];

type Statement = BetterSqlite3.Statement<unknown[], unknown>;
const statementCache = (): Map<string, Statement> => new Map();

/** A prepared statement, cached per SQLite connection (a transaction uses its connection's). */
export function prepared(db: Db | Tx, sql: string): Statement {
  const byConnection = perConnection(db, statementCache);
  let statement = byConnection.get(sql);
  if (!statement) byConnection.set(sql, (statement = connectionOf(db).prepare<unknown[], unknown>(sql)));
  return statement;
}

function toOffer(r: ListRow | SearchRow): ShopOffer {
  const offer: ShopOffer = {
    offerId: r[0],
    name: r[1],
    unit: r[2],
    unitLabel: r[3],
    weighed: r[4] === 1,
    estimatedWeightGrams: r[5],
    priceCents: r[6],
    maxPerOrder: r[7],
    quantityAvailable: r[8],
    quantityTaken: r[9],
    left: leftOf(r[8], r[9]),
    producerId: r[10],
    producerName: r[11],
    categoryId: r[12],
    categoryName: r[12] === null ? null : r[13],
  };
  if (r.length > 14) offer.description = (r as SearchRow)[14];
  return offer;
}

/** What placed orders leave of an offer: null when unlimited, never below 0. */
export function leftOf(quantityAvailable: number | null, quantityTaken: number): number | null {
  return quantityAvailable === null ? null : Math.max(0, quantityAvailable - quantityTaken);
}

/**
 * Every offer on sale in a cycle, in display order (category position, producer, product); with
 * withDescription, each carries its description for a search.
 */
export function shopOffers(db: Db | Tx, cycleId: number, locale: Locale, withDescription = false): ShopOffer[] {
  const rows = prepared(db, withDescription ? SEARCH_SQL : OFFERS_SQL)
    .raw(true)
    .all(locale === 'fr' ? 1 : 0, cycleId) as Array<ListRow | SearchRow>;
  return rows.map(toOffer);
}

/** One offer on sale in a cycle (published, active product and producer) with its detail, or undefined. */
export function findShopOffer(db: Db | Tx, cycleId: number, offerId: number, locale: Locale): ShopOfferDetail | undefined {
  const r = prepared(db, DETAIL_SQL).raw(true).get(locale === 'fr' ? 1 : 0, cycleId, offerId) as DetailRow | undefined;
  if (!r) return undefined;
  return { ...toOffer(r.slice(0, 14) as unknown as ListRow), description: r[14], productId: r[15], vatRateBp: r[16], photo: r[17] };
}

/** The producer's presentation for an offer's detail page. */
export function shopProducer(db: Db | Tx, producerId: number): ShopProducer | undefined {
  return prepared(db, 'select id, name, description, address from producers where id = ? and active = 1').get(producerId) as ShopProducer | undefined;
}

/** Folds text for search: lower case, without accents ("Épinard" finds "epinard"). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Applies search and filters to a cycle's offers and groups them by category then producer. The
 * filter choices count every offer of the cycle, so a select never offers an empty choice.
 */
export function shopListing(all: readonly ShopOffer[], filter: ShopFilter, otherLabel: string): ShopListing {
  const categories = new Map<number, FacetChoice>();
  const producers = new Map<number, FacetChoice>();
  for (const o of all) {
    if (o.categoryId !== null) {
      const c = categories.get(o.categoryId);
      if (c) c.count++;
      else categories.set(o.categoryId, { id: o.categoryId, name: o.categoryName ?? otherLabel, count: 1 });
    }
    const p = producers.get(o.producerId);
    if (p) p.count++;
    else producers.set(o.producerId, { id: o.producerId, name: o.producerName, count: 1 });
  }
  const terms = filter.q ? fold(filter.q).split(/\s+/).filter(Boolean) : [];
  const shown = all.filter((o) => {
    if (filter.categoryId !== undefined && o.categoryId !== filter.categoryId) return false;
    if (filter.producerId !== undefined && o.producerId !== filter.producerId) return false;
    if (terms.length === 0) return true;
    const haystack = fold(`${o.name} ${o.producerName} ${o.description ?? ''}`);
    return terms.every((term) => haystack.includes(term));
  });
  // The list is already in display order: a group starts whenever the category or producer changes.
  const groups: CategoryGroup[] = [];
  for (const o of shown) {
    let g = groups.at(-1);
    if (!g || g.categoryId !== o.categoryId) groups.push((g = { categoryId: o.categoryId, categoryName: o.categoryName, producers: [] }));
    let pg = g.producers.at(-1);
    if (!pg || pg.producerId !== o.producerId) g.producers.push((pg = { producerId: o.producerId, producerName: o.producerName, offers: [] }));
    pg.offers.push(o);
  }
  const byName = (a: FacetChoice, b: FacetChoice) => a.name.localeCompare(b.name);
  return { groups, shown: shown.length, total: all.length, categories: [...categories.values()], producers: [...producers.values()].sort(byName) };
}

/** The estimated price of one piece of a weighed product: weight × price per kg, to the cent. */
export function estimatedPieceCents(pricePerKgCents: number, estimatedWeightGrams: number): number {
  return Math.round((pricePerKgCents * estimatedWeightGrams) / 1000);
}

/**
 * The price of one sale unit as the member pays it: the price, or for a weighed product the
 * estimated price of a piece (the actual weight sets the final price at distribution).
 */
export function unitCents(o: Pick<ShopOffer, 'priceCents' | 'weighed' | 'estimatedWeightGrams'>): number {
  return o.weighed && o.estimatedWeightGrams ? estimatedPieceCents(o.priceCents, o.estimatedWeightGrams) : o.priceCents;
}

/** A line's total: quantity × unit price (estimated for a weighed product). */
export function lineCents(o: Pick<ShopOffer, 'priceCents' | 'weighed' | 'estimatedWeightGrams'>, quantity: number): number {
  return unitCents(o) * quantity;
}

/**
 * The VAT included in a price, in cents, at a rate in basis points: gross × rate / (1 + rate),
 * rounded to the cent.
 */
export function includedVatCents(grossCents: number, vatRateBp: number): number {
  return Math.round((grossCents * vatRateBp) / (10_000 + vatRateBp));
}

/**
 * What a member may still put in a basket: the offer's left plus what the member's own placed
 * order already holds (placing again replaces that order, so its units are theirs to keep).
 */
export function leftFor(left: number | null, heldByMember: number): number | null {
  return left === null ? null : left + heldByMember;
}

/** The member's quantities in a cycle: in the basket, and held by their placed order, by offer. */
export interface MemberQuantities {
  basket: Map<number, number>;
  held: Map<number, number>;
}

const MEMBER_SQL = `
  select offer_id as offerId, sum(b) as basket, sum(h) as held from (
    select offer_id, quantity as b, 0 as h from basket_items where account_id = ? and cycle_id = ?
    union all
    select ol.offer_id, 0, ol.quantity from order_lines ol join orders o on o.id = ol.order_id
      where o.account_id = ? and o.cycle_id = ? and o.status = 'placed'
  ) group by offer_id`;

/** One query for what a member has in a cycle: basket quantities and placed-order quantities. */
export function memberQuantities(db: Db | Tx, accountId: number, cycleId: number): MemberQuantities {
  const rows = prepared(db, MEMBER_SQL).all(accountId, cycleId, accountId, cycleId) as Array<{ offerId: number; basket: number; held: number }>;
  const basket = new Map<number, number>();
  const held = new Map<number, number>();
  for (const r of rows) {
    if (r.basket > 0) basket.set(r.offerId, r.basket);
    if (r.held > 0) held.set(r.offerId, r.held);
  }
  return { basket, held };
}
