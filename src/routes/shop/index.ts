import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { chooseDistribution, readBasket, setBasketQuantity, type Basket, type BasketError, type BasketLine, type LineProblem } from '../../domain/basket.js';
import { formatVatRate } from '../../domain/catalog.js';
import { formatGrams, placeFormData } from '../../domain/orders.js';
import {
  cycleDistributions,
  findOpenCycle,
  findShopOffer,
  leftFor,
  memberQuantities,
  nextScheduledCycle,
  openCycles,
  shopListing,
  shopOffers,
  shopProducer,
  unitCents,
  type ShopCycle,
  type ShopDistribution,
  type ShopFilter,
  type ShopListing,
  type ShopOffer,
} from '../../domain/shop.js';
import { shopVersion } from '../../domain/shop-version.js';
import type { Formatters, Locale, MessageKey, Translate } from '../../i18n/index.js';
import { safeNext } from '../forms.js';
import { HttpError, requireRole } from '../guards.js';

/*
 * The shop and the basket. The shop page lists every offer of an open cycle in one query, inside
 * one plain form (one CSRF token for the page): a line's button sends offer=<id> with the fields
 * qty[<id>] to POST /shop/:cycleId/basket, which reads that offer's quantity only and comes back
 * with 303. With htmx the button posts its own line to POST /shop/:cycleId/basket/:offerId, which
 * swaps that line and the basket summary in place (the summary via hx-swap-oob). The basket page
 * posts there too, with one form per line swapping the whole basket section.
 */

const ID = z
  .string()
  .regex(/^[1-9]\d{0,14}$/)
  .transform(Number);
const cycleParams = z.object({ cycleId: ID });
const offerParams = z.object({ cycleId: ID, offerId: ID });

/** Search and filters; a bad value is ignored rather than refused (it comes from a URL). */
const shopQuery = z.object({
  q: z.string().trim().max(100).optional().catch(undefined),
  category: ID.optional().catch(undefined),
  producer: ID.optional().catch(undefined),
});

const quantityForm = z.object({
  quantity: z
    .string({ error: 'error.required' })
    .trim()
    .min(1, 'error.required')
    .max(7, 'shop.error.quantity')
    .regex(/^\d+$/, 'shop.error.quantity')
    .transform(Number),
  next: z.string().optional().catch(undefined),
});
const distributionForm = z.object({
  distributionId: z.string({ error: 'shop.error.choose_distribution' }).regex(/^[1-9]\d{0,14}$/, 'shop.error.choose_distribution').transform(Number),
  next: z.string().optional().catch(undefined),
});

function params<S extends z.ZodType>(schema: S, request: FastifyRequest): z.output<S> {
  const parsed = schema.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data;
}

/** The open cycle named by :cycleId; any other cycle (closed, draft, unknown) is a 404. */
function openCycleOf(request: FastifyRequest): ShopCycle {
  const { cycleId } = params(cycleParams, request);
  const cycle = findOpenCycle(request.server.db, cycleId);
  if (!cycle) throw new HttpError(404);
  return cycle;
}

/** What the visitor may do in the shop. */
type Shopper = 'visitor' | 'not_member' | 'pending' | 'member';

function shopperOf(request: FastifyRequest): Shopper {
  const a = request.account;
  if (!a) return 'visitor';
  if (!a.roles.includes('member')) return 'not_member';
  return a.status === 'active' ? 'member' : 'pending';
}

/** Shop pages: accounts may browse; visitors only when the coop allows it, else they log in first. */
async function mayBrowse(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.account || request.coop?.allowAnonymousBrowsing) return;
  reply.flash('info', 'errors.login_required');
  return reply.seeOther('/login?next=' + encodeURIComponent(request.url));
}

/** Basket changes: an active account holding the member role; a pending one waits for approval. */
async function mayFillBasket(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await requireRole('member')(request, reply);
  if (reply.sent) return;
  if (request.account!.status !== 'active') throw new HttpError(403);
}

/** An offer as one line of the shop shows it. */
export interface OfferView {
  offerId: number;
  name: string;
  producerName: string;
  /** "2,50 € la botte", or for a weighed product "≈ 18,40 € la pièce". */
  price: string;
  /** For a weighed product: "≈ 1,6 kg, 11,50 €/kg". */
  weighedDetail: string | null;
  /** "Reste 3", "Épuisé", or null when unlimited. */
  leftText: string | null;
  soldOut: boolean;
  maxText: string | null;
  /** The largest quantity the form offers; null = no limit. */
  max: number | null;
  inBasket: number;
}

/** "la botte", "le kg", or the producer's own label. */
function unitName(t: Translate, o: Pick<ShopOffer, 'unit' | 'unitLabel' | 'weighed'>): string {
  if (o.weighed) return t('shop.unit.piece');
  if (o.unit === 'custom') return o.unitLabel ?? '';
  return t(`shop.unit.${o.unit}` as MessageKey);
}

function priceText(t: Translate, fmt: Formatters, o: Pick<ShopOffer, 'unit' | 'unitLabel' | 'weighed' | 'priceCents' | 'estimatedWeightGrams'>): { price: string; weighedDetail: string | null } {
  const unit = unitName(t, o);
  if (o.weighed && o.estimatedWeightGrams) {
    return {
      price: t('shop.price_estimated', { price: fmt.money(unitCents(o)), unit }),
      weighedDetail: t('shop.weighed_detail', { weight: formatGrams(o.estimatedWeightGrams, fmt), price: fmt.money(o.priceCents) }),
    };
  }
  return { price: t('shop.price', { price: fmt.money(o.priceCents), unit }), weighedDetail: null };
}

/** Turns offers into views; strings repeat a lot (same price and unit, same count left), so they are built once each. */
function offerViews(t: Translate, fmt: Formatters) {
  const prices = new Map<string, { price: string; weighedDetail: string | null }>();
  const lefts = new Map<number, string>();
  const maxes = new Map<number, string>();
  const soldOut = t('shop.sold_out');
  return (o: ShopOffer, inBasket: number, held: number): OfferView => {
    const key = `${o.priceCents}|${o.unit}|${o.unitLabel}|${o.weighed ? o.estimatedWeightGrams : ''}`;
    let price = prices.get(key);
    if (!price) prices.set(key, (price = priceText(t, fmt, o)));
    const left = leftFor(o.left, held);
    let leftText: string | null = null;
    if (left === 0) leftText = soldOut;
    else if (left !== null) {
      leftText = lefts.get(left) ?? null;
      if (leftText === null) lefts.set(left, (leftText = t('shop.left', { count: fmt.number(left) })));
    }
    let maxText: string | null = null;
    if (o.maxPerOrder !== null) {
      maxText = maxes.get(o.maxPerOrder) ?? null;
      if (maxText === null) maxes.set(o.maxPerOrder, (maxText = t('shop.max_per_order', { max: fmt.number(o.maxPerOrder) })));
    }
    const cap = left === null ? o.maxPerOrder : o.maxPerOrder === null ? left : Math.min(left, o.maxPerOrder);
    return {
      offerId: o.offerId,
      name: o.name,
      producerName: o.producerName,
      price: price.price,
      weighedDetail: price.weighedDetail,
      leftText,
      soldOut: left === 0,
      maxText,
      max: cap === null ? null : Math.max(cap, inBasket),
      inBasket,
    };
  };
}

/** The view of one offer for this member: their quantity, and what is left for them. */
function offerView(t: Translate, fmt: Formatters, o: ShopOffer, inBasket: number, held: number): OfferView {
  return offerViews(t, fmt)(o, inBasket, held);
}

/** The message for a basket change the domain refused. */
function basketErrorMessage(t: Translate, fmt: Formatters, e: BasketError): string {
  switch (e.reason) {
    case 'cycle_not_open':
      return t('shop.error.cycle_closed');
    case 'not_offered':
      return t('shop.error.not_offered');
    case 'invalid_quantity':
      return t('shop.error.quantity');
    case 'over_max':
      return t('shop.error.over_max', { max: fmt.number(e.max) });
    case 'sold_out':
      return t('shop.error.sold_out');
    case 'not_enough':
      return t('shop.error.not_enough', { count: fmt.number(e.left) });
  }
}

/** The warning of a basket line that would not be placed as it is. */
function problemText(t: Translate, fmt: Formatters, p: LineProblem | null): string | null {
  if (!p) return null;
  switch (p.reason) {
    case 'not_offered':
      return t('shop.problem.not_offered');
    case 'sold_out':
      return t('shop.problem.sold_out');
    case 'not_enough':
      return t('shop.problem.not_enough', { count: fmt.number(p.left) });
    case 'over_max':
      return t('shop.problem.over_max', { max: fmt.number(p.max) });
  }
}

/** A basket line as the basket page shows it. */
interface LineView extends BasketLine {
  price: string;
  weighedDetail: string | null;
  problemText: string | null;
}

/** The distribution as the basket page shows it. */
interface DistributionView extends ShopDistribution {
  when: string;
}

const basePath = (cycleId: number) => `/shop/${cycleId}`;

/** Where the shop page's offer list goes in the rendered page (see renderShop). */
const LIST_MARKER = `<!--carnet-offer-list-${randomUUID()}-->`;

/** The shop: the open cycles, one cycle's offers, an offer's detail, the member's basket. */
const shop: FastifyPluginAsync = async (app) => {
  /** The basket summary (count and total) from the shop's offers and the member's quantities. */
  const summaryOf = (offers: ReadonlyMap<number, ShopOffer>, basket: Map<number, number>) => {
    let count = 0;
    let totalCents = 0;
    for (const [offerId, q] of basket) {
      const o = offers.get(offerId);
      if (o && q) {
        count += q;
        totalCents += unitCents(o) * q;
      }
    }
    return { count, totalCents };
  };

  /*
   * The lines of the shop, rendered by views/shop/_offers.eta and kept by what they show: a line
   * only changes when its offer, what is left or the member's quantity changes, so re-rendering a
   * list of 1,000 offers after a change is mostly lookups. Lines hold nothing per session (the CSRF
   * token is the form's).
   */
  const MAX_CACHED_LINES = 20_000;
  const lineCache = new Map<string, string>();
  type LineContext = { t: Translate; lang: Locale; locale: string; cycle: ShopCycle; shopper: Shopper; loginUrl: string };
  const renderLine = async (ctx: LineContext, o: ShopOffer, inBasket: number, held: number, view: ReturnType<typeof offerViews>, errors: Record<number, string>, values: Record<number, string>): Promise<string> => {
    const shared = { t: ctx.t, cycle: ctx.cycle, shopper: ctx.shopper, loginUrl: ctx.loginUrl, offerErrors: {}, offerValues: {} };
    if (errors[o.offerId] !== undefined || values[o.offerId] !== undefined) {
      return app.view('shop/_offers', { ...shared, offers: [view(o, inBasket, held)], offerErrors: errors, offerValues: values });
    }
    // Everything a line's text depends on, besides the offer: the view is only built on a miss.
    // Only a visitor's line shows the login link (with the page's address in it).
    const key = `${ctx.locale}|${ctx.shopper}|${ctx.cycle.id}|${ctx.shopper === 'visitor' ? ctx.loginUrl : ''}|${o.offerId}|${o.name}|${o.priceCents}|${o.unit}|${o.unitLabel}|${o.weighed}|${o.estimatedWeightGrams}|${o.maxPerOrder}|${o.left}|${held}|${inBasket}`;
    let line = lineCache.get(key);
    if (line === undefined) {
      if (lineCache.size >= MAX_CACHED_LINES) lineCache.clear();
      line = await app.view('shop/_offers', { ...shared, offers: [view(o, inBasket, held)] });
      lineCache.set(key, line);
    }
    return line;
  };

  /*
   * The offer list of a shop page as everyone sees it (no basket, no error), kept rendered in
   * memory by cycle, language, currency, kind of shopper and filters, for one version of the shop's
   * data (shopVersion: any write to offers, products, producers, categories, cycles or the coop
   * changes it, and then every kept list is dropped; at most MAX_KEPT_LISTS, least recently used
   * dropped first). It is kept as UTF-8 bytes with where each line sits, so a request only renders
   * the few lines of the member's own offers (in the basket or the placed order, or refused) and
   * sends slices of the kept bytes around them. 1,000 offers would otherwise cost one query reading
   * every row, grouping, 1,000 line lookups and encoding 300 kB per request.
   */
  interface KeptList {
    /** Every offer on sale in the cycle, by id: the basket summary and the member's lines use them. */
    offers: Map<number, ShopOffer>;
    listing: ShopListing;
    /** The list as it is sent (UTF-8), shared by every page that shows it. */
    bytes: Buffer;
    /** Where each shown offer's line sits in bytes: [start, end). */
    slots: Map<number, [number, number]>;
  }
  const MAX_KEPT_LISTS = 50;
  const keptLists = new Map<string, KeptList>();
  let keptVersion = '';

  const buildList = async (ctx: LineContext, fmt: Formatters, filter: ShopFilter): Promise<KeptList> => {
    const { t } = ctx;
    const all = shopOffers(app.db, ctx.cycle.id, ctx.lang, filter.q !== undefined);
    const listing = shopListing(all, filter, t('shop.other_category'));
    const view = offerViews(t, fmt);
    const pieces: string[] = [];
    const slots = new Map<number, [number, number]>();
    let offset = 0;
    const push = (piece: string) => {
      pieces.push(piece);
      offset += Buffer.byteLength(piece);
    };
    const part = (data: Record<string, unknown>) => app.view('shop/_list-part', data);
    const endProducer = await part({ part: 'end-producer' });
    const endCategory = await part({ part: 'end-category' });
    let gi = 0;
    for (const g of listing.groups) {
      push(await part({ part: 'category', name: g.categoryName ?? t('shop.other_category'), gi: gi++ }));
      for (const p of g.producers) {
        push(await part({ part: 'producer', name: p.producerName }));
        for (const o of p.offers) {
          const start = offset;
          push(await renderLine(ctx, o, 0, 0, view, {}, {}));
          slots.set(o.offerId, [start, offset]);
        }
        push(endProducer);
      }
      push(endCategory);
    }
    return { offers: new Map(all.map((o) => [o.offerId, o])), listing, bytes: Buffer.from(pieces.join('')), slots };
  };

  const keptList = async (ctx: LineContext, fmt: Formatters, filter: ShopFilter): Promise<KeptList> => {
    const version = shopVersion(app.db);
    if (version !== keptVersion) {
      keptLists.clear();
      keptVersion = version;
    }
    const key = `${ctx.cycle.id}|${ctx.locale}|${ctx.shopper}|${ctx.shopper === 'visitor' ? ctx.loginUrl : ''}|${filter.categoryId ?? ''}|${filter.producerId ?? ''}|${filter.q ?? ''}`;
    let kept = keptLists.get(key);
    if (kept) {
      // Least recently used goes first: a hit moves to the end.
      keptLists.delete(key);
    } else {
      kept = await buildList(ctx, fmt, filter);
      // Rendering awaits: a write may have happened meanwhile, and then this list may be stale.
      if (shopVersion(app.db) !== version) return kept;
      if (keptLists.size >= MAX_KEPT_LISTS) keptLists.delete(keptLists.keys().next().value!);
    }
    keptLists.set(key, kept);
    return kept;
  };

  /** Renders the shop page of a cycle, with errors by offer id (or for the whole form) after a refused change. */
  const renderShop = async (request: FastifyRequest, reply: FastifyReply, cycle: ShopCycle, filter: ShopFilter, errors: Record<number, string> = {}, values: Record<number, string> = {}, status = 200, formError: string | null = null) => {
    const { t, fmt, locale } = request;
    const shopper = shopperOf(request);
    const mine = request.account ? memberQuantities(app.db, request.account.id, cycle.id) : { basket: new Map<number, number>(), held: new Map<number, number>() };
    const filtered = filter.q !== undefined || filter.categoryId !== undefined || filter.producerId !== undefined;
    // Only a filtered page needs to say where to come back to: the default is the shop itself.
    const next = filtered ? request.url : null;
    const loginUrl = '/login?next=' + encodeURIComponent(request.url);
    // Prices are formatted in the coop's currency: it is part of what a kept line depends on.
    const ctx: LineContext = { t, lang: locale, locale: `${locale}|${request.coop?.currency ?? ''}`, cycle, shopper, loginUrl };
    const kept = await keptList(ctx, fmt, filter);
    // The member's own lines (their quantity, what is left for them, an error after a refused
    // change) replace the kept ones, in list order.
    const own: Array<[start: number, end: number, line: Buffer]> = [];
    const ids = new Set<number>([...mine.basket.keys(), ...mine.held.keys(), ...Object.keys(errors).map(Number), ...Object.keys(values).map(Number)]);
    if (ids.size) {
      const view = offerViews(t, fmt);
      for (const id of ids) {
        const slot = kept.slots.get(id);
        if (slot === undefined) continue;
        const line = await renderLine(ctx, kept.offers.get(id)!, mine.basket.get(id) ?? 0, mine.held.get(id) ?? 0, view, errors, values);
        own.push([slot[0], slot[1], Buffer.from(line)]);
      }
      own.sort((a, b) => a[0] - b[0]);
    }
    /*
     * The page is rendered around a marker where the list goes, then sent as a stream of buffers:
     * the page's own bytes, and slices of the kept list's bytes (shared, never copied) around the
     * member's lines. 750 pages a second would otherwise allocate, copy and collect 300 kB each.
     * Escaped text cannot hold "<!--", so the marker cannot come from data.
     */
    const finish = (html: string): Buffer | Readable => {
      const at = html.indexOf(LIST_MARKER);
      if (at < 0) return Buffer.from(html);
      const chunks: Buffer[] = [Buffer.from(html.slice(0, at))];
      let from = 0;
      for (const [start, end, line] of own) {
        chunks.push(kept.bytes.subarray(from, start), line);
        from = end;
      }
      chunks.push(kept.bytes.subarray(from), Buffer.from(html.slice(at + LIST_MARKER.length)));
      reply.header('content-length', chunks.reduce((n, c) => n + c.length, 0));
      return Readable.from(chunks, { objectMode: false });
    };
    const summary = summaryOf(kept.offers, mine.basket);
    const listing = kept.listing;
    reply.pageData = { ...reply.pageData, basketCount: summary.count };
    return reply.page(
      'shop/index',
      {
        title: cycle.name,
        cycle,
        shopper,
        listHtml: LIST_MARKER,
        listing: { shown: listing.shown, total: listing.total, categories: listing.categories, producers: listing.producers },
        filter: { q: filter.q ?? '', category: filter.categoryId ?? null, producer: filter.producerId ?? null },
        filtered,
        next,
        loginUrl,
        summary,
        errors: formError ? { _form: formError } : Object.keys(errors).length ? { _form: Object.values(errors)[0] } : {},
      },
      status,
      finish,
    );
  };

  /** Renders an offer's detail page. */
  const renderOffer = (request: FastifyRequest, reply: FastifyReply, cycle: ShopCycle, offerId: number, error: string | null = null, value: string | null = null, status = 200) => {
    const { t, fmt, locale } = request;
    const offer = findShopOffer(app.db, cycle.id, offerId, locale);
    if (!offer) throw new HttpError(404);
    const producer = shopProducer(app.db, offer.producerId);
    const mine = request.account ? memberQuantities(app.db, request.account.id, cycle.id) : null;
    const view = offerView(t, fmt, offer, mine?.basket.get(offerId) ?? 0, mine?.held.get(offerId) ?? 0);
    const basket = request.account ? readBasket(app.db, request.account.id, cycle.id) : null;
    if (basket) reply.pageData = { ...reply.pageData, basketCount: basket.itemCount };
    return reply.page(
      'shop/offer',
      {
        title: offer.name,
        cycle,
        shopper: shopperOf(request),
        offer: view,
        description: offer.description,
        photo: offer.photo,
        categoryName: offer.categoryName,
        vatRate: formatVatRate(offer.vatRateBp, locale),
        producer,
        summary: { count: basket?.itemCount ?? 0, totalCents: basket?.totalCents ?? 0 },
        next: request.url,
        loginUrl: '/login?next=' + encodeURIComponent(request.url),
        offerErrors: error ? { [offerId]: error } : {},
        offerValues: value !== null ? { [offerId]: value } : {},
        errors: error ? { _form: error } : {},
      },
      status,
    );
  };

  /** The basket page's model: lines, totals, distributions, and the place-order form's data. */
  const basketModel = (request: FastifyRequest, cycle: ShopCycle, basket: Basket, errors: Record<string, string> = {}, values: Record<string, string> = {}) => {
    const { t, fmt, locale } = request;
    const shopper = shopperOf(request);
    const lines: LineView[] = basket.lines.map((l) => ({ ...l, ...priceText(t, fmt, l), problemText: problemText(t, fmt, l.problem) }));
    const distributions: DistributionView[] = cycleDistributions(app.db, cycle.id).map((d) => ({
      ...d,
      when: t('shop.distribution_when', { date: fmt.date(d.startsAt), start: fmt.time(d.startsAt), end: fmt.time(d.endsAt) }),
    }));
    const place = shopper === 'member' ? placeFormData(app.db, request.account!.id, cycle.id) : null;
    const chosen = basket.distribution;
    return {
      title: t('shop.basket.title'),
      cycle,
      shopper,
      basket,
      lines,
      vatRows: basket.vat.map((v) => ({ label: t('shop.basket.vat_line', { rate: formatVatRate(v.rateBp, locale), base: fmt.money(v.grossCents) }), vatCents: v.vatCents })),
      distributions,
      next: `${basePath(cycle.id)}/basket`,
      // For views/orders/_place-form.eta: once a distribution is chosen above, the form sends it
      // as a hidden field rather than asking a second time.
      cycleId: cycle.id,
      totalCents: basket.totalCents,
      distributionId: basket.distributionId,
      placeDistributions: chosen ? distributions.filter((d) => d.id === chosen.id) : distributions,
      ...(place ?? {}),
      existingOrder: place?.existingOrder ?? null,
      lineErrors: errors,
      lineValues: values,
      errors: Object.keys(errors).length ? { _form: Object.values(errors)[0] } : {},
    };
  };

  const renderBasket = (request: FastifyRequest, reply: FastifyReply, cycle: ShopCycle, fragment: boolean, errors: Record<string, string> = {}, values: Record<string, string> = {}, status = 200) => {
    const basket = readBasket(app.db, request.account!.id, cycle.id);
    reply.pageData = { ...reply.pageData, basketCount: basket.itemCount };
    if (fragment) reply.header('HX-Push-Url', 'false');
    return reply.page(fragment ? 'shop/_basket-update' : 'shop/basket', basketModel(request, cycle, basket, errors, values), status);
  };

  /** After a refused change without JavaScript: the page the form came from, with the error. */
  const renderRefused = (request: FastifyRequest, reply: FastifyReply, cycle: ShopCycle, next: string, offerId: number | null, message: string, field: string, value: string) => {
    const base = basePath(cycle.id);
    const path = next.split(/[?#]/)[0]!;
    if (path === `${base}/basket`) return renderBasket(request, reply, cycle, false, { [field]: message }, { [field]: value }, 422);
    const detail = new RegExp(`^${base}/offers/([1-9]\\d{0,14})$`).exec(path);
    if (detail && offerId !== null && Number(detail[1]) === offerId) return renderOffer(request, reply, cycle, offerId, message, value, 422);
    const query = shopQuery.parse(Object.fromEntries(new URLSearchParams(next.includes('?') ? next.slice(next.indexOf('?') + 1).split('#')[0] : '')));
    const filter: ShopFilter = { q: query.q || undefined, categoryId: query.category, producerId: query.producer };
    if (offerId === null) return renderShop(request, reply, cycle, filter, {}, {}, 422, message);
    return renderShop(request, reply, cycle, filter, { [offerId]: message }, { [offerId]: value }, 422);
  };

  /** An htmx request from a line's button in the shop or on an offer's page (it swaps that line). */
  const aimsAtOffer = (request: FastifyRequest) => request.isHtmx && request.headers['hx-boosted'] !== 'true' && request.headers['hx-trigger-name'] === 'offer';
  const aimsAtBasket = (request: FastifyRequest) => request.isHtmx && request.headers['hx-target'] === 'basket';

  /** The updated offer line and basket summary, for htmx. */
  const renderOfferUpdate = (request: FastifyRequest, reply: FastifyReply, cycle: ShopCycle, offerId: number, error: string | null, value: string | null, status: number) => {
    const { t, fmt, locale } = request;
    const offer = findShopOffer(app.db, cycle.id, offerId, locale);
    const mine = memberQuantities(app.db, request.account!.id, cycle.id);
    const basket = readBasket(app.db, request.account!.id, cycle.id);
    // The fragment answers a POST: the address bar must keep showing the shop.
    reply.header('HX-Push-Url', 'false');
    return reply.page(
      'shop/_offer-update',
      {
        cycle,
        shopper: shopperOf(request),
        // A withdrawn offer has no line any more: the swap empties it.
        o: offer ? offerView(t, fmt, offer, mine.basket.get(offerId) ?? 0, mine.held.get(offerId) ?? 0) : null,
        next: null,
        summary: { count: basket.itemCount, totalCents: basket.totalCents },
        basketCount: basket.itemCount,
        offerErrors: error ? { [offerId]: error } : {},
        offerValues: value !== null ? { [offerId]: value } : {},
      },
      status,
    );
  };

  app.get('/shop', { preHandler: mayBrowse }, async function showShops(request, reply) {
    const open = openCycles(app.db);
    if (open.length === 1) return reply.seeOther(basePath(open[0]!.id));
    return reply.page('shop/cycles', {
      title: request.t('shop.title'),
      cycles: open,
      next: open.length === 0 ? (nextScheduledCycle(app.db) ?? null) : null,
    });
  });

  app.get('/shop/:cycleId', { preHandler: mayBrowse }, async function showShop(request, reply) {
    const cycle = openCycleOf(request);
    const query = shopQuery.parse(request.query ?? {});
    return renderShop(request, reply, cycle, { q: query.q || undefined, categoryId: query.category, producerId: query.producer });
  });

  app.get('/shop/:cycleId/offers/:offerId', { preHandler: mayBrowse }, async function showOffer(request, reply) {
    const cycle = openCycleOf(request);
    const { offerId } = params(offerParams, request);
    return renderOffer(request, reply, cycle, offerId);
  });

  app.get('/shop/:cycleId/basket', { preHandler: requireRole('member') }, async function showBasket(request, reply) {
    const cycle = openCycleOf(request);
    return renderBasket(request, reply, cycle, false);
  });

  /**
   * Sets one offer's quantity in the member's basket: `quantity` is what the form sent for that
   * offer (a string, or an array if sent twice, or undefined), whatever else the form held.
   */
  const changeQuantity = (request: FastifyRequest, reply: FastifyReply, cycle: ShopCycle, offerId: number, quantity: unknown) => {
    const { t, fmt } = request;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const typed = typeof quantity === 'string' ? quantity.slice(0, 100) : '';
    const next = safeNext(body.next, basePath(cycle.id));
    const field = `quantity-${offerId}`;
    const form = quantityForm.safeParse({ quantity, next: body.next });
    const result = form.success ? setBasketQuantity(app.db, request.account!.id, cycle.id, offerId, form.data.quantity) : null;
    if (result && !result.ok && result.reason === 'cycle_not_open') throw new HttpError(404);
    const missing = quantity === undefined || (typeof quantity === 'string' && typed.trim() === '');
    const error = !form.success ? t(missing ? 'error.required' : 'shop.error.quantity') : result && !result.ok ? basketErrorMessage(t, fmt, result) : null;
    const status = error ? 422 : 200;

    if (aimsAtOffer(request)) return renderOfferUpdate(request, reply, cycle, offerId, error, error ? typed : null, status);
    if (aimsAtBasket(request)) return renderBasket(request, reply, cycle, true, error ? { [field]: error } : {}, error ? { [field]: typed } : {}, status);
    if (error) return renderRefused(request, reply, cycle, next, offerId, error, field, typed);
    const offer = findShopOffer(app.db, cycle.id, offerId, request.locale);
    const name = offer?.name ?? '';
    if (form.success && form.data.quantity === 0) reply.flash('success', 'shop.flash.removed', { name });
    else reply.flash('success', 'shop.flash.updated', { name, quantity: fmt.number(form.success ? form.data.quantity : 0) });
    return reply.seeOther(next);
  };

  /** One offer's own URL: the basket page's forms (field quantity) and the shop's htmx lines (qty[<id>]). */
  app.post('/shop/:cycleId/basket/:offerId', { preHandler: mayFillBasket }, async function changeBasket(request, reply) {
    const cycle = openCycleOf(request);
    const { offerId } = params(offerParams, request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    return changeQuantity(request, reply, cycle, offerId, 'quantity' in body ? body.quantity : body[`qty[${offerId}]`]);
  });

  /** The shop's one form without JavaScript: the pressed button names the offer; only its field counts. */
  app.post('/shop/:cycleId/basket', { preHandler: mayFillBasket }, async function changeBasketFromShop(request, reply) {
    const cycle = openCycleOf(request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const offer = ID.safeParse(body.offer);
    if (!offer.success) {
      const error = request.t('shop.error.not_offered');
      return renderRefused(request, reply, cycle, safeNext(body.next, basePath(cycle.id)), null, error, 'offer', '');
    }
    return changeQuantity(request, reply, cycle, offer.data, body[`qty[${offer.data}]`]);
  });

  app.post('/shop/:cycleId/distribution', { preHandler: mayFillBasket }, async function chooseMyDistribution(request, reply) {
    const cycle = openCycleOf(request);
    const { t } = request;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next, `${basePath(cycle.id)}/basket`);
    const form = distributionForm.safeParse(body);
    const result = form.success ? chooseDistribution(app.db, request.account!.id, cycle.id, form.data.distributionId) : null;
    if (result && !result.ok && result.reason === 'cycle_not_open') throw new HttpError(404);
    const error = !form.success || (result && !result.ok) ? t('shop.error.choose_distribution') : null;
    const typed = typeof body.distributionId === 'string' ? body.distributionId.slice(0, 20) : '';
    if (aimsAtBasket(request)) return renderBasket(request, reply, cycle, true, error ? { distributionId: error } : {}, error ? { distributionId: typed } : {}, error ? 422 : 200);
    if (error) return renderRefused(request, reply, cycle, `${basePath(cycle.id)}/basket`, null, error, 'distributionId', typed);
    reply.flash('success', 'shop.flash.distribution');
    return reply.seeOther(next);
  });
};

export default shop;
