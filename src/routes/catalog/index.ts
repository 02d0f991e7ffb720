import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { SALE_UNITS } from '../../db/schema/index.js';
import {
  catalogChoices,
  countProducts,
  createProduct,
  findProduct,
  formatVatRate,
  formatWeight,
  listProducts,
  bpToPercent,
  productFormValues,
  productSchema,
  setProductActive,
  updateProduct,
  type Product,
  type ProductFilter,
  type ProductInput,
} from '../../domain/catalog.js';
import { activeCategories, activeVatRates, categoryName, findCategory, listCategories, type Category } from '../../domain/categories.js';
import {
  CSV_COLUMNS,
  CSV_MAX_BYTES,
  decodeCsv,
  exportCatalogCsv,
  FIELD_COLUMN,
  importCatalog,
  planCatalogImport,
  REQUIRED_COLUMNS,
  type ChangedField,
  type CsvFileError,
  type ImportPlan,
} from '../../domain/catalog-csv.js';
import { checkboxField } from '../../domain/fields.js';
import { photoPath, PHOTO_MAX_BYTES, processPhoto, setProductPhoto } from '../../domain/photos.js';
import { managedProducers } from '../../domain/producers.js';
import type { Locale, MessageKey, Translate } from '../../i18n/index.js';
import { echo, fieldErrors, parseForm, type FieldErrors } from '../forms.js';
import { HttpError, requireManagedProducer, requireRole } from '../guards.js';

/** An uploaded file as the multipart hook leaves it in request.body. */
interface Upload {
  upload: true;
  filename: string;
  data: Buffer;
  /** More than the size limit was sent; data holds only the start. */
  tooLarge: boolean;
}

const isUpload = (v: unknown): v is Upload => typeof v === 'object' && v !== null && (v as Upload).upload === true;

/**
 * Buffers the one file a form may carry (up to the size limit) and leaves it in request.body next
 * to the plain fields, so the CSRF check and the zod schemas read a multipart form like any other.
 */
async function bufferFile(this: FastifyRequest, part: MultipartFile): Promise<void> {
  const data = await part.toBuffer();
  const value: Upload = { upload: true, filename: part.filename, data, tooLarge: part.file.truncated };
  (part as unknown as { value: Upload }).value = value;
}

const productParams = z.object({ productId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const listQuery = z.object({ show: z.enum(['all', 'active', 'archived']).optional().catch(undefined) });
// The previewed file comes back base64-encoded in a hidden field: browsers keep such a value byte
// for byte, where a textarea would have its line breaks rewritten.
const confirmSchema = z.object({
  csv: z
    .string({ error: 'error.catalog.csv_no_file' })
    .min(1, 'error.catalog.csv_no_file')
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'error.catalog.csv_not_utf8'),
});
/** The longest base64 field a 2 MB file gives; a longer value (or one cut at the limit) is too large. */
const CSV_BASE64_MAX = Math.ceil(CSV_MAX_BYTES / 3) * 4;
const removePhotoSchema = z.object({ removePhoto: checkboxField });

/** The body of a form, whatever its encoding; an empty object when there is none. */
function bodyOf(request: FastifyRequest): Record<string, unknown> {
  return request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
}

/** The file sent in a field, unless the field was left empty (a browser still sends an empty part). */
function uploadIn(body: Record<string, unknown>, field: string): Upload | undefined {
  const v = body[field];
  return isUpload(v) && (v.data.length > 0 || v.filename !== '') ? v : undefined;
}

/** The product of the producer in the URL; another producer's product (or none) is a 404. */
function productOf(request: FastifyRequest): Product {
  const parsed = productParams.safeParse(request.params);
  const product = parsed.success ? findProduct(request.server.db, request.producer!.id, parsed.data.productId) : undefined;
  if (!product) throw new HttpError(404);
  return product;
}

/** A sale unit as people read it: "500 g", "bouteille", or the producer's own label. */
function unitText(t: Translate, p: Pick<Product, 'unit' | 'unitLabel'>): string {
  return p.unit === 'custom' && p.unitLabel ? p.unitLabel : t(`catalog.unit.${p.unit}` as MessageKey);
}

/** A product's values as the import preview compares them. */
type Shown = Omit<ProductInput, 'categoryId'> & { categoryId: number | null; active: boolean };

/** How the preview shows one value of a product. */
function valueText(request: FastifyRequest, categories: Map<number, Category>, field: ChangedField, v: Shown): string {
  const t = request.t;
  switch (field) {
    case 'categoryId': {
      const c = v.categoryId === null ? undefined : categories.get(v.categoryId);
      return c ? categoryName(c, request.locale) : t('catalog.none');
    }
    case 'unit':
      return t(`catalog.unit.${v.unit}` as MessageKey);
    case 'priceCents':
      return request.fmt.money(v.priceCents);
    case 'vatRateBp':
      return formatVatRate(v.vatRateBp, request.locale);
    case 'estimatedWeightGrams':
      return v.estimatedWeightGrams === null ? t('catalog.none') : formatWeight(v.estimatedWeightGrams, request.locale);
    case 'weighed':
      return t(v.weighed ? 'catalog.yes' : 'catalog.no');
    case 'active':
      return t(v.active ? 'catalog.active' : 'catalog.archived');
    default: {
      const raw = v[field];
      return raw === null || raw === '' ? t('catalog.none') : String(raw);
    }
  }
}

/** The producer side of the catalog: products, photos, CSV export and import. */
const catalog: FastifyPluginAsync = async (app) => {
  // Multipart is parsed in this plugin only. Files are at most 10 MB (one per form); the CSV that
  // the import preview carries back in a hidden field may be up to 2 MB.
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    onFile: bufferFile,
    throwFileSizeLimit: false,
    limits: { fileSize: PHOTO_MAX_BYTES, files: 1, fields: 50, fieldSize: CSV_BASE64_MAX + 1024, parts: 60 },
  });

  // Producer pages check the account and the producer before a (possibly large) body is read.
  const producerGuard = { onRequest: requireManagedProducer };

  app.get('/producer', { onRequest: requireRole('producer') }, async function showProducerHome(request, reply) {
    const producers = managedProducers(app.db, request.account!.id);
    if (producers.length === 1) return reply.seeOther(`/producer/${producers[0]!.id}/products`);
    return reply.page('catalog/home', {
      title: request.t('catalog.area_title'),
      producers: producers.map((p) => ({ id: p.id, name: p.name, ...countProducts(app.db, p.id) })),
    });
  });

  // ----- products -----
  app.get('/producer/:producerId/products', producerGuard, async function showProducts(request, reply) {
    const producer = request.producer!;
    const show: ProductFilter = listQuery.parse(request.query ?? {}).show ?? 'all';
    const t = request.t;
    const products = listProducts(app.db, producer.id, show).map((p) => ({
      id: p.id,
      name: p.name,
      active: p.active,
      photo: p.photo,
      category: p.categoryFr === null ? t('catalog.no_category') : categoryName({ nameFr: p.categoryFr, nameEn: p.categoryEn ?? p.categoryFr }, request.locale),
      unit: p.weighed ? t('catalog.unit.piece') : unitText(t, p),
      weight: p.weighed && p.estimatedWeightGrams ? formatWeight(p.estimatedWeightGrams, request.locale) : null,
      price: p.weighed ? t('catalog.per_kg', { price: request.fmt.money(p.priceCents) }) : request.fmt.money(p.priceCents),
      vat: formatVatRate(p.vatRateBp, request.locale),
    }));
    return reply.page('catalog/products', {
      title: request.t('catalog.title_of', { producer: producer.name }),
      producer,
      products,
      show,
      counts: countProducts(app.db, producer.id),
    });
  });

  const showForm = (request: FastifyRequest, reply: FastifyReply, product: Product | null, values: Record<string, string>, errors: FieldErrors = {}, status = 200) => {
    const locale: Locale = request.locale;
    const categories = activeCategories(app.db);
    // An old product keeps its retired category or VAT rate on offer, so that saving it changes nothing.
    if (product?.categoryId != null && !categories.some((c) => c.id === product.categoryId)) {
      const current = findCategory(app.db, product.categoryId);
      if (current) categories.push(current);
    }
    const rates = activeVatRates(app.db);
    if (product && !rates.includes(product.vatRateBp)) rates.push(product.vatRateBp);
    rates.sort((a, b) => a - b);
    const producer = request.producer!;
    return reply.page(
      'catalog/product-form',
      {
        title: product ? request.t('catalog.edit_title', { name: product.name }) : request.t('catalog.new_title'),
        producer,
        product: product ? { id: product.id, name: product.name, photo: product.photo } : null,
        action: product ? `/producer/${producer.id}/products/${product.id}` : `/producer/${producer.id}/products`,
        categories: categories.map((c) => ({ id: String(c.id), name: categoryName(c, locale) })),
        vatRates: rates.map((bp) => ({ value: bpToPercent(bp), label: formatVatRate(bp, locale) })),
        units: SALE_UNITS.map((u) => ({ value: u, label: request.t(`catalog.unit.${u}` as MessageKey) })),
        values,
        errors,
      },
      status,
    );
  };

  /** Reads the photo field: the stored form of a new photo, null for none, or an error message. */
  const readPhoto = async (request: FastifyRequest, body: Record<string, unknown>): Promise<{ webp: Buffer | null } | { error: string }> => {
    const upload = uploadIn(body, 'photo');
    if (!upload) return { webp: null };
    if (upload.tooLarge) return { error: request.t('error.catalog.photo_too_large') };
    const photo = await processPhoto(upload.data);
    return photo.ok ? { webp: photo.webp } : { error: request.t('error.catalog.not_image') };
  };

  app.get('/producer/:producerId/products/new', producerGuard, async function showNewProduct(request, reply) {
    const defaultVat = activeVatRates(app.db).includes(550) ? '5.5' : '';
    return showForm(request, reply, null, { unit: 'piece', vatRate: defaultVat });
  });

  app.post('/producer/:producerId/products', producerGuard, async function addProduct(request, reply) {
    const producer = request.producer!;
    const body = bodyOf(request);
    const form = parseForm(request.t, productSchema(catalogChoices(app.db)), body);
    const photo = await readPhoto(request, body);
    const errors: FieldErrors = form.ok ? {} : { ...form.errors };
    if ('error' in photo) errors.photo = photo.error;
    if (!form.ok || 'error' in photo) return showForm(request, reply, null, echo(body), errors, 422);
    const product = createProduct(app.db, producer.id, form.data);
    if (photo.webp) setProductPhoto(app.db, app.config.dataDir, producer.id, product.id, photo.webp);
    reply.flash('success', 'catalog.flash_created', { name: product.name });
    return reply.seeOther(`/producer/${producer.id}/products`);
  });

  app.get('/producer/:producerId/products/:productId/edit', producerGuard, async function showEditProduct(request, reply) {
    const product = productOf(request);
    return showForm(request, reply, product, productFormValues(product, request.locale));
  });

  app.post('/producer/:producerId/products/:productId', producerGuard, async function saveProduct(request, reply) {
    const producer = request.producer!;
    const product = productOf(request);
    const body = bodyOf(request);
    const form = parseForm(request.t, productSchema(catalogChoices(app.db, product)), body);
    const photo = await readPhoto(request, body);
    const errors: FieldErrors = form.ok ? {} : { ...form.errors };
    if ('error' in photo) errors.photo = photo.error;
    if (!form.ok || 'error' in photo) return showForm(request, reply, product, echo(body), errors, 422);
    const result = updateProduct(app.db, producer.id, product.id, form.data);
    if (!result.ok) throw new HttpError(404);
    const { removePhoto } = removePhotoSchema.parse(body);
    if (photo.webp) setProductPhoto(app.db, app.config.dataDir, producer.id, product.id, photo.webp);
    else if (removePhoto && product.photo) setProductPhoto(app.db, app.config.dataDir, producer.id, product.id, null);
    reply.flash('success', 'catalog.flash_saved', { name: result.product.name });
    return reply.seeOther(`/producer/${producer.id}/products`);
  });

  app.post('/producer/:producerId/products/:productId/archive', producerGuard, async function archiveProduct(request, reply) {
    const product = productOf(request);
    if (!setProductActive(app.db, request.producer!.id, product.id, false)) throw new HttpError(404);
    reply.flash('success', 'catalog.flash_archived', { name: product.name });
    return reply.seeOther(`/producer/${request.producer!.id}/products`);
  });

  app.post('/producer/:producerId/products/:productId/unarchive', producerGuard, async function unarchiveProduct(request, reply) {
    const product = productOf(request);
    if (!setProductActive(app.db, request.producer!.id, product.id, true)) throw new HttpError(404);
    reply.flash('success', 'catalog.flash_unarchived', { name: product.name });
    return reply.seeOther(`/producer/${request.producer!.id}/products`);
  });

  // ----- photos -----
  app.get('/photos/:file', async function servePhoto(request, reply) {
    const { file } = request.params as { file: string };
    const path = photoPath(app.config.dataDir, file);
    if (!path) throw new HttpError(404);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch {
      throw new HttpError(404);
    }
    // A photo's name changes whenever it is replaced, so browsers may keep it for a year.
    return reply.type('image/webp').header('Cache-Control', 'public, max-age=31536000, immutable').send(data);
  });

  // ----- CSV export and import -----
  app.get('/producer/:producerId/products.csv', producerGuard, async function exportProducts(request, reply) {
    const producer = request.producer!;
    const csv = exportCatalogCsv(app.db, producer.id, request.locale);
    const day = new Date().toISOString().slice(0, 10);
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="catalogue-${producer.id}-${day}.csv"`)
      .header('Cache-Control', 'no-store')
      .send(csv);
  });

  interface ImportState {
    fileError?: string;
    plan?: ImportPlan;
    csv?: string;
  }

  const showImport = (request: FastifyRequest, reply: FastifyReply, state: ImportState = {}, status = 200) => {
    const producer = request.producer!;
    const t = request.t;
    const categories = new Map(listCategories(app.db).map((c) => [c.id, c]));
    const plan = state.plan;
    const errorRows = (plan?.errors ?? []).flatMap((e) => {
      if (e.issues) {
        return Object.entries(fieldErrors(t, e.issues)).map(([field, text]) => ({ line: e.line, column: FIELD_COLUMN[field] ?? field, text }));
      }
      return [{ line: e.line, column: e.column ?? '', text: t(e.message!, e.params) }];
    });
    const creates = (plan?.creates ?? []).map((c) => ({
      line: c.line,
      name: c.input.name,
      summary: [
        categories.get(c.input.categoryId) ? categoryName(categories.get(c.input.categoryId)!, request.locale) : '',
        c.input.weighed ? t('catalog.per_kg', { price: request.fmt.money(c.input.priceCents) }) : `${request.fmt.money(c.input.priceCents)} / ${unitText(t, c.input)}`,
        formatVatRate(c.input.vatRateBp, request.locale),
        c.active ? '' : t('catalog.archived'),
      ]
        .filter(Boolean)
        .join(' · '),
    }));
    const updates = (plan?.updates ?? []).map((u) => ({
      line: u.line,
      name: u.before.name,
      changes: u.changed.map((field) => ({
        label: t(`catalog.field.${field}` as MessageKey),
        from: valueText(request, categories, field, u.before),
        to: valueText(request, categories, field, { ...u.input, active: u.active }),
      })),
    }));
    return reply.page(
      'catalog/import',
      {
        title: t('catalog.import_title'),
        producer,
        columns: CSV_COLUMNS.join(', '),
        required: REQUIRED_COLUMNS.join(', '),
        fileError: state.fileError ?? null,
        preview: plan ? { creates, updates, unchanged: plan.unchanged, errors: errorRows } : null,
        csv: plan && plan.errors.length === 0 && (creates.length || updates.length) && state.csv ? Buffer.from(state.csv, 'utf8').toString('base64') : null,
        errors: state.fileError ? { file: state.fileError } : {},
      },
      status,
    );
  };

  const fileErrorText = (t: Translate, e: CsvFileError) => t(e.message, e.params);

  app.get('/producer/:producerId/products/import', producerGuard, async function showImportPage(request, reply) {
    return showImport(request, reply);
  });

  app.post('/producer/:producerId/products/import', producerGuard, async function previewImport(request, reply) {
    const t = request.t;
    const upload = uploadIn(bodyOf(request), 'file');
    if (!upload) return showImport(request, reply, { fileError: t('error.catalog.csv_no_file') }, 422);
    if (upload.tooLarge || upload.data.length > CSV_MAX_BYTES) return showImport(request, reply, { fileError: t('error.catalog.csv_too_large') }, 422);
    const csv = decodeCsv(upload.data);
    if (csv === undefined) return showImport(request, reply, { fileError: t('error.catalog.csv_not_utf8') }, 422);
    const planned = planCatalogImport(app.db, request.producer!.id, csv);
    if (!planned.ok) return showImport(request, reply, { fileError: fileErrorText(t, planned.error) }, 422);
    return showImport(request, reply, { plan: planned.plan, csv: csv.replace(/^\ufeff/, '') }, planned.plan.errors.length ? 422 : 200);
  });

  app.post('/producer/:producerId/products/import/confirm', producerGuard, async function confirmImport(request, reply) {
    const producer = request.producer!;
    const form = parseForm(request.t, confirmSchema, bodyOf(request));
    if (!form.ok) return showImport(request, reply, { fileError: form.errors.csv ?? request.t('error.catalog.csv_no_file') }, 422);
    if (form.data.csv.length > CSV_BASE64_MAX) return showImport(request, reply, { fileError: request.t('error.catalog.csv_too_large') }, 422);
    const csv = decodeCsv(Buffer.from(form.data.csv, 'base64'));
    if (csv === undefined) return showImport(request, reply, { fileError: request.t('error.catalog.csv_not_utf8') }, 422);
    // The previewed file is checked again: the catalog may have changed, or the field been edited.
    const result = importCatalog(app.db, producer.id, csv);
    if (!result.ok) {
      if (result.error) return showImport(request, reply, { fileError: fileErrorText(request.t, result.error) }, 422);
      return showImport(request, reply, { plan: result.plan!, csv }, 422);
    }
    reply.flash('success', 'catalog.flash_imported', { created: result.created, updated: result.updated });
    return reply.seeOther(`/producer/${producer.id}/products`);
  });
};

export default catalog;
