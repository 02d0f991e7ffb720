import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { checkboxField } from '../../domain/fields.js';
import { centsForInput, priceField, quantityField } from '../../domain/money.js';
import {
  copyLastOffers,
  findProducerCycle,
  listProducerCycles,
  offerRows,
  offerSheet,
  saveOffer,
  saveOffers,
  type OfferChange,
  type OfferInput,
  type OfferRow,
  type OfferRowError,
  type OfferSheet,
  type ProducerCycle,
} from '../../domain/offers.js';
import type { Locale, MessageKey, Translate } from '../../i18n/index.js';
import { fieldErrors, type FieldErrors } from '../forms.js';
import { HttpError, requireManagedProducer } from '../guards.js';

/*
 * A producer's weekly stock. Without JavaScript the offers page is one form that saves every row
 * in one transaction; with htmx each row saves itself when it changes and is swapped in place.
 * Fields are named offered[<productId>], quantity[<productId>], unlimited[<productId>] and
 * price[<productId>].
 */

const ID = z
  .string()
  .regex(/^[1-9]\d{0,14}$/)
  .transform(Number);
const cycleParams = z.object({ cycleId: ID });
const rowParams = z.object({ cycleId: ID, productId: ID });

const FIELD = /^(offered|quantity|unlimited|price)\[([1-9]\d{0,14})\]$/;
/** More rows than any producer's catalog: a bigger form is hand-made. */
const MAX_ROWS = 2500;

type RawRow = Partial<Record<'offered' | 'quantity' | 'unlimited' | 'price', unknown>>;

/** Groups the submitted fields by product id; other fields are ignored. */
function rawRows(body: unknown): Map<number, RawRow> {
  const rows = new Map<number, RawRow>();
  if (!body || typeof body !== 'object') return rows;
  for (const [key, value] of Object.entries(body)) {
    const m = FIELD.exec(key);
    if (!m) continue;
    const id = Number(m[2]);
    const row = rows.get(id) ?? {};
    row[m[1] as keyof RawRow] = value;
    rows.set(id, row);
  }
  return rows;
}

/** The text of a field as typed, for echoing back; lists (a field sent twice) are not echoed. */
const typed = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 50) : '');

// A number or price field may come as a list when a hand-made form repeats it: that is invalid.
const optionalText = z.string().max(50).optional();

const rowSchema = z
  .object({ offered: checkboxField, unlimited: checkboxField, quantity: optionalText, price: optionalText })
  .transform((row, ctx): Omit<OfferInput, 'productId'> => {
    // An unticked row is not saved, so what is typed in it does not matter.
    if (!row.offered) return { offered: false, quantity: null, priceCents: null };
    let quantity: number | null = null;
    if (!row.unlimited) {
      const q = quantityField.safeParse(row.quantity ?? '');
      if (q.success) quantity = q.data;
      else ctx.addIssue({ code: 'custom', path: ['quantity'], message: q.error.issues[0]!.message });
    }
    let priceCents: number | null = null;
    // Left blank, the price is the catalog's.
    if ((row.price ?? '').trim() !== '') {
      const p = priceField.safeParse(row.price);
      if (p.success) priceCents = p.data;
      else ctx.addIssue({ code: 'custom', path: ['price'], message: p.error.issues[0]!.message });
    }
    return { offered: true, quantity, priceCents };
  });

type ParsedRow = { ok: true; input: OfferInput } | { ok: false; errors: FieldErrors };

/** Parses one row's fields into an offer input, or translated field errors. */
function parseRow(t: Translate, productId: number, raw: RawRow): ParsedRow {
  const parsed = rowSchema.safeParse(raw, { reportInput: true });
  return parsed.success ? { ok: true, input: { productId, ...parsed.data } } : { ok: false, errors: fieldErrors(t, parsed.error) };
}

/** The field and message for a rule the domain refused. */
function rowErrorMessage(t: Translate, error: OfferRowError): FieldErrors {
  switch (error.reason) {
    case 'not_found':
      return { offered: t('offers.error.not_found') };
    case 'archived':
      return { offered: t('offers.error.archived') };
    case 'already_ordered':
      return { offered: t('offers.error.already_ordered', { taken: error.taken }) };
    case 'below_taken':
      return { quantity: t('offers.error.below_taken', { taken: error.taken }) };
    case 'zero_quantity':
      return { quantity: t('offers.error.zero_quantity') };
    case 'quantity_range':
      return { quantity: t('error.quantity_range') };
    case 'price_range':
      return { price: t('error.price_range') };
  }
}

/** What a row of the page shows: the stored offer, or what was just typed, and its errors. */
export interface RowView {
  productId: number;
  name: string;
  priceUnit: string;
  archived: boolean;
  draft: boolean;
  published: boolean;
  taken: number;
  /** What is left to order; null when unlimited or not offered. */
  left: number | null;
  quantityAvailable: number | null;
  priceCents: number | null;
  values: { offered: boolean; unlimited: boolean; quantity: string; price: string };
  errors: FieldErrors;
  status: string | null;
}

/** "per kg", "per jar"…: what the row's price is for. */
function priceUnit(t: Translate, row: OfferRow): string {
  if (row.weighed) return t('offers.per_kg_weighed');
  if (row.unit === 'custom') return t('offers.per_unit.custom', { label: row.unitLabel ?? '' });
  return t(`offers.per_unit.${row.unit}` as MessageKey);
}

/** Builds a row's view from the database, or from the submitted values after an error. */
function rowView(t: Translate, locale: Locale, row: OfferRow, submitted?: RawRow, errors: FieldErrors = {}, status: string | null = null): RowView {
  const offer = row.offer;
  const values = submitted
    ? {
        offered: checkboxField.parse(submitted.offered),
        unlimited: checkboxField.parse(submitted.unlimited),
        quantity: typed(submitted.quantity),
        price: typed(submitted.price),
      }
    : {
        // A draft is shown filled in but unticked: it is not on sale until its producer says so.
        offered: offer?.published ?? false,
        unlimited: offer ? offer.quantityAvailable === null : false,
        quantity: offer?.quantityAvailable != null ? String(offer.quantityAvailable) : '',
        price: centsForInput(offer?.priceCents ?? row.catalogPriceCents, locale),
      };
  return {
    productId: row.productId,
    name: row.name,
    priceUnit: priceUnit(t, row),
    archived: row.archived,
    draft: offer !== null && !offer.published,
    published: offer?.published ?? false,
    taken: offer?.quantityTaken ?? 0,
    left: offer?.published && offer.quantityAvailable !== null ? offer.quantityAvailable - offer.quantityTaken : null,
    quantityAvailable: offer?.quantityAvailable ?? null,
    priceCents: offer?.priceCents ?? null,
    values,
    errors,
    status,
  };
}

/** Per-row overrides of the page after a refused save. */
interface PageState {
  submitted?: Map<number, RawRow>;
  rowErrors?: Map<number, FieldErrors>;
  formErrors?: FieldErrors;
}

/** The weekly stock pages of one producer. */
const offersRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireManagedProducer);

  const base = (request: FastifyRequest) => `/producer/${request.producer!.id}/cycles`;
  const pageUrl = (request: FastifyRequest, cycleId: number) => `${base(request)}/${cycleId}/offers`;

  /** Shared by the pages and the row fragment: the cycle as the template needs it. */
  const cycleView = (cycle: ProducerCycle) => ({ ...cycle, showOrdered: cycle.status !== 'scheduled' });

  const showSheet = (request: FastifyRequest, reply: FastifyReply, sheet: OfferSheet, state: PageState = {}, status = 200) => {
    const { t, locale } = request;
    const groups = sheet.groups.map((g) => ({
      name: g.categoryName ?? t('offers.no_category'),
      rows: g.rows.map((r) => rowView(t, locale, r, state.submitted?.get(r.productId), state.rowErrors?.get(r.productId))),
    }));
    return reply.page(
      'offers/sheet',
      {
        title: t('offers.sheet_title', { cycle: sheet.cycle.name }),
        producer: request.producer,
        cycle: cycleView(sheet.cycle),
        groups,
        productCount: groups.reduce((n, g) => n + g.rows.length, 0),
        publishedCount: sheet.publishedCount,
        draftCount: sheet.draftCount,
        errors: state.formErrors ?? {},
        pageUrl: pageUrl(request, sheet.cycle.id),
        catalogUrl: `/producer/${request.producer!.id}/products`,
      },
      status,
    );
  };

  const cycleOr404 = (cycleId: number) => {
    const cycle = findProducerCycle(app.db, cycleId);
    if (!cycle) throw new HttpError(404);
    return cycle;
  };

  const sheetOr404 = (request: FastifyRequest, cycleId: number) => {
    const sheet = offerSheet(app.db, request.producer!.id, cycleId, request.locale);
    if (!sheet) throw new HttpError(404);
    return sheet;
  };

  const paramsOf = <S extends z.ZodType>(schema: S, request: FastifyRequest): z.output<S> => {
    const parsed = schema.safeParse(request.params);
    if (!parsed.success) throw new HttpError(404);
    return parsed.data;
  };

  app.get('/producer/:producerId/cycles', async function showCycles(request, reply) {
    const { upcoming, past } = listProducerCycles(app.db, request.producer!.id);
    return reply.page('offers/cycles', {
      title: request.t('offers.cycles_title'),
      producer: request.producer,
      upcoming,
      past,
      base: base(request),
    });
  });

  app.get('/producer/:producerId/cycles/:cycleId/offers', async function showOffers(request, reply) {
    const { cycleId } = paramsOf(cycleParams, request);
    return showSheet(request, reply, sheetOr404(request, cycleId));
  });

  // Without JavaScript: the whole page in one transaction, all rows or none.
  app.post('/producer/:producerId/cycles/:cycleId/offers', async function publishOffers(request, reply) {
    const { cycleId } = paramsOf(cycleParams, request);
    const cycle = cycleOr404(cycleId);
    const t = request.t;
    if (!cycle.editable) {
      reply.flash('error', 'offers.flash.read_only');
      return reply.seeOther(pageUrl(request, cycleId));
    }
    const submitted = rawRows(request.body);
    if (submitted.size > MAX_ROWS) return showSheet(request, reply, sheetOr404(request, cycleId), { formErrors: { _form: t('offers.error.too_many_rows') } }, 422);
    const inputs: OfferInput[] = [];
    const rowErrors = new Map<number, FieldErrors>();
    for (const [productId, raw] of submitted) {
      const parsed = parseRow(t, productId, raw);
      if (parsed.ok) inputs.push(parsed.input);
      else rowErrors.set(productId, parsed.errors);
    }
    if (rowErrors.size === 0) {
      const result = saveOffers(app.db, request.producer!.id, cycleId, inputs);
      if (result.ok) {
        reply.flash('success', 'offers.flash.published', { count: result.publishedCount });
        return reply.seeOther(pageUrl(request, cycleId));
      }
      if (result.reason === 'cycle_not_found') throw new HttpError(404);
      if (result.reason === 'read_only') {
        reply.flash('error', 'offers.flash.read_only');
        return reply.seeOther(pageUrl(request, cycleId));
      }
      for (const { productId, error } of result.errors) rowErrors.set(productId, rowErrorMessage(t, error));
    }
    const sheet = sheetOr404(request, cycleId);
    const shown = new Set(sheet.groups.flatMap((g) => g.rows.map((r) => r.productId)));
    const formErrors: FieldErrors = { _form: t('offers.error.rows', { count: rowErrors.size }) };
    // A product that is not on the page (another producer's, or deleted since) has no row to show its error.
    if ([...rowErrors.keys()].some((id) => !shown.has(id))) formErrors._form += ' ' + t('offers.error.unknown_product');
    return showSheet(request, reply, sheet, { submitted, rowErrors, formErrors }, 422);
  });

  app.post('/producer/:producerId/cycles/:cycleId/offers/copy-last', async function copyLast(request, reply) {
    const { cycleId } = paramsOf(cycleParams, request);
    const result = copyLastOffers(app.db, request.producer!.id, cycleId);
    if (!result.ok) {
      if (result.reason === 'cycle_not_found') throw new HttpError(404);
      reply.flash('error', 'offers.flash.read_only');
    } else if (!result.from) reply.flash('info', 'offers.flash.nothing_to_copy');
    else if (result.copied === 0) reply.flash('info', 'offers.flash.all_copied', { cycle: result.from.name });
    else reply.flash('success', 'offers.flash.copied', { count: result.copied, cycle: result.from.name });
    return reply.seeOther(pageUrl(request, cycleId));
  });

  // With htmx: one row, answered with the row itself; without, a 303 back to the page.
  app.post('/producer/:producerId/cycles/:cycleId/offers/:productId', async function saveOfferRow(request, reply) {
    const { cycleId, productId } = paramsOf(rowParams, request);
    const producerId = request.producer!.id;
    const { t, locale } = request;
    // Only the row is read here: a producer with a thousand products saves one at a time.
    const cycle = cycleOr404(cycleId);
    const [row] = offerRows(app.db, producerId, cycleId, locale, productId);
    if (!row) throw new HttpError(404);
    const raw = rawRows(request.body).get(productId) ?? {};

    const refuse = (errors: FieldErrors) => {
      if (request.isHtmx) return showRow(request, reply, cycle, rowView(t, locale, row, raw, errors), 422);
      return showSheet(request, reply, sheetOr404(request, cycleId), { submitted: new Map([[productId, raw]]), rowErrors: new Map([[productId, errors]]) }, 422);
    };
    if (!cycle.editable) {
      if (request.isHtmx) return refuse({ offered: t('offers.flash.read_only') });
      reply.flash('error', 'offers.flash.read_only');
      return reply.seeOther(pageUrl(request, cycleId));
    }
    const parsed = parseRow(t, productId, raw);
    if (!parsed.ok) return refuse(parsed.errors);
    const result = saveOffer(app.db, producerId, cycleId, parsed.input);
    if (!result.ok) {
      if (result.reason === 'cycle_not_found') throw new HttpError(404);
      if (result.reason === 'read_only') return refuse({ offered: t('offers.flash.read_only') });
      if (result.error.reason === 'not_found') throw new HttpError(404);
      return refuse(rowErrorMessage(t, result.error));
    }
    const message = statusMessage(t, result.change, parsed.input.offered);
    if (!request.isHtmx) {
      reply.flash('success', 'offers.flash.row_saved', { name: row.name, status: message });
      return reply.seeOther(pageUrl(request, cycleId));
    }
    // An archived product just withdrawn is no longer listed: its row stays until the page reloads.
    const [saved] = offerRows(app.db, producerId, cycleId, locale, productId);
    // An unticked row keeps what was typed in it (nothing of it is stored): a producer who types the
    // quantity or ticks "unlimited" before ticking the product must not see it wiped.
    const typedIn = parsed.input.offered ? undefined : raw;
    return showRow(request, reply, cycle, rowView(t, locale, saved ?? { ...row, offer: null }, typedIn, {}, message));
  });

  const showRow = (request: FastifyRequest, reply: FastifyReply, cycle: ProducerCycle, row: RowView, status = 200) =>
    reply.page('offers/_row', { row, cycle: cycleView(cycle), pageUrl: pageUrl(request, cycle.id) }, status);
};

/** What a saved row says next to it. */
function statusMessage(t: Translate, change: OfferChange, offered: boolean): string {
  if (change === 'removed') return t('offers.status.removed');
  return offered ? t('offers.status.saved') : t('offers.status.not_offered');
}

export default offersRoutes;
