import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { activeCategories, activeVatRates } from './categories.js';
import { categories, products, SALE_UNITS, type SaleUnit } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';
import { priceField } from './money.js';
import { checkboxField } from './fields.js';

export type Product = typeof products.$inferSelect;

/** The longest product name, description and custom unit label. */
export const NAME_MAX = 100;
export const DESCRIPTION_MAX = 2000;
export const UNIT_LABEL_MAX = 30;
/** A "maximum per order" above this is absurd. */
export const MAX_PER_ORDER = 100_000;
/** No single piece of a weighed product weighs more than 100 kg. */
export const MAX_WEIGHT_GRAMS = 100_000;

/** A product as validated, ready to store. Prices include VAT; a weighed product's price is per kg. */
export interface ProductInput {
  name: string;
  description: string;
  categoryId: number;
  unit: SaleUnit;
  unitLabel: string | null;
  priceCents: number;
  vatRateBp: number;
  maxPerOrder: number | null;
  weighed: boolean;
  estimatedWeightGrams: number | null;
}

/** The category ids and VAT rates a product may use (the coop's active lists). */
export interface CatalogChoices {
  categoryIds: ReadonlySet<number>;
  vatRatesBp: ReadonlySet<number>;
}

// Control characters never belong in a one-line field; a description may keep its line breaks.
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;

/**
 * Reads a weight typed by a person into grams: "1600", "1600 g", "1,6 kg", "1.6kg", "800g".
 * A bare number is grams. Returns null when it is not a weight (at most three decimals in kg).
 */
export function parseWeightToGrams(input: string): number | null {
  const m = /^(\d{1,6})(?:[.,](\d{1,3}))?\s*(kg|g)?$/i.exec(input.replace(/[\u00a0\u202f]/g, ' ').trim());
  if (!m) return null;
  const unit = (m[3] ?? 'g').toLowerCase();
  const whole = Number(m[1]);
  const frac = m[2] ?? '';
  if (unit === 'g') return frac === '' ? whole : null;
  return whole * 1000 + Number(frac.padEnd(3, '0') || '0');
}

/** Reads a VAT rate written as a percentage ("5,5", "5.5", "5.5 %", "20") into basis points. */
export function parsePercentToBp(input: string): number | null {
  const m = /^(\d{1,3})(?:[.,](\d{1,2}))?\s*%?$/.exec(input.replace(/[\u00a0\u202f]/g, ' ').trim());
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0') || '0');
}

/** A VAT rate in basis points as a plain percentage: 550 → "5.5", 2000 → "20" (dot decimal). */
export function bpToPercent(bp: number): string {
  return String(bp / 100);
}

/** A VAT rate as the language writes it: 550 → "5,5 %" in French, "5.5%" in English. */
export function formatVatRate(bp: number, locale: Locale): string {
  const n = bpToPercent(bp);
  return locale === 'fr' ? `${n.replace('.', ',')} %` : `${n}%`;
}

/** A weight in grams for a form field: 1600 → "1600". */
export function gramsForInput(grams: number | null): string {
  return grams === null ? '' : String(grams);
}

/** A weight as shown to people: 1600 → "1,6 kg" (fr), 800 → "800 g". */
export function formatWeight(grams: number, locale: Locale): string {
  if (grams < 1000) return `${grams} g`;
  const kg = String(grams / 1000);
  return `${locale === 'fr' ? kg.replace('.', ',') : kg} kg`;
}

const text = (max: number) =>
  z
    .string({ error: 'error.required' })
    .trim()
    .min(1, 'error.required')
    .max(max)
    .refine((v) => !CONTROL.test(v), 'error.catalog.invalid_text');

const optionalBlank = (v: unknown) => (v === undefined || v === null ? '' : v);

/** A price including VAT; "-2" says "out of range" rather than "not a price". */
const productPriceField = z
  .string({ error: 'error.required' })
  .refine((v) => !/^\s*-\s*\d/.test(v), 'error.price_range')
  .pipe(priceField);

/** Every rule of a product, for the form and for each CSV line alike. Fields arrive as strings. */
export function productSchema(choices: CatalogChoices) {
  return z
    .object({
      name: text(NAME_MAX),
      description: z.preprocess(
        optionalBlank,
        z
          .string({ error: 'error.invalid_value' })
          .trim()
          .max(DESCRIPTION_MAX)
          .refine((v) => !CONTROL_BUT_LINES.test(v), 'error.catalog.invalid_text'),
      ),
      categoryId: z
        .string({ error: 'error.required' })
        .trim()
        .min(1, 'error.required')
        .regex(/^\d{1,9}$/, 'error.invalid_choice')
        .transform(Number)
        .refine((id) => choices.categoryIds.has(id), 'error.invalid_choice'),
      unit: z.preprocess(optionalBlank, z.string({ error: 'error.invalid_choice' })),
      unitLabel: z.preprocess(
        optionalBlank,
        z
          .string({ error: 'error.invalid_value' })
          .trim()
          .max(UNIT_LABEL_MAX)
          .refine((v) => !CONTROL.test(v), 'error.catalog.invalid_text'),
      ),
      price: productPriceField,
      vatRate: z
        .string({ error: 'error.required' })
        .trim()
        .min(1, 'error.required')
        .transform((v, ctx) => {
          const bp = parsePercentToBp(v);
          if (bp === null || !choices.vatRatesBp.has(bp)) {
            ctx.addIssue({ code: 'custom', message: 'error.catalog.invalid_vat' });
            return z.NEVER;
          }
          return bp;
        }),
      maxPerOrder: z.preprocess(
        optionalBlank,
        z
          .string({ error: 'error.invalid_value' })
          .trim()
          .max(12, 'error.catalog.max_range')
          .transform((v, ctx) => {
            if (v === '') return null;
            if (/^-\s*\d+$/.test(v)) {
              ctx.addIssue({ code: 'custom', message: 'error.catalog.max_range' });
              return z.NEVER;
            }
            if (!/^\d+$/.test(v)) {
              ctx.addIssue({ code: 'custom', message: 'error.invalid_quantity' });
              return z.NEVER;
            }
            const n = Number(v);
            if (n < 1 || n > MAX_PER_ORDER) {
              ctx.addIssue({ code: 'custom', message: 'error.catalog.max_range' });
              return z.NEVER;
            }
            return n;
          }),
      ),
      weighed: checkboxField,
      estimatedWeight: z.preprocess(optionalBlank, z.string({ error: 'error.invalid_value' }).trim().max(20, 'error.catalog.invalid_weight')),
    })
    .superRefine((v, ctx) => {
      if (v.weighed) {
        if (typeof v.estimatedWeight !== 'string') return;
        if (v.estimatedWeight === '') {
          ctx.addIssue({ code: 'custom', path: ['estimatedWeight'], message: 'error.catalog.weight_required' });
          return;
        }
        const grams = /^\s*-/.test(v.estimatedWeight) ? 0 : parseWeightToGrams(v.estimatedWeight);
        if (grams === null) ctx.addIssue({ code: 'custom', path: ['estimatedWeight'], message: 'error.catalog.invalid_weight' });
        else if (grams < 1 || grams > MAX_WEIGHT_GRAMS) ctx.addIssue({ code: 'custom', path: ['estimatedWeight'], message: 'error.catalog.weight_range' });
        return;
      }
      if (typeof v.unit !== 'string') return;
      if (!(SALE_UNITS as readonly string[]).includes(v.unit)) {
        ctx.addIssue({ code: 'custom', path: ['unit'], message: v.unit === '' ? 'error.required' : 'error.invalid_choice' });
      } else if (v.unit === 'custom' && v.unitLabel === '') {
        ctx.addIssue({ code: 'custom', path: ['unitLabel'], message: 'error.catalog.unit_label_required' });
      }
    })
    .transform(
      (v): ProductInput => ({
        name: v.name,
        description: v.description,
        categoryId: v.categoryId,
        // A weighed product is ordered by the piece and priced per kg.
        unit: v.weighed ? 'piece' : (v.unit as SaleUnit),
        unitLabel: !v.weighed && v.unit === 'custom' ? v.unitLabel : null,
        priceCents: v.price,
        vatRateBp: v.vatRate,
        maxPerOrder: v.maxPerOrder,
        weighed: v.weighed,
        estimatedWeightGrams: v.weighed ? parseWeightToGrams(v.estimatedWeight)! : null,
      }),
    );
}

/** A product's stored values as the form (and the CSV import) write them, in a language. */
export function productFormValues(p: Product, locale: Locale): Record<string, string> {
  return {
    name: p.name,
    description: p.description,
    categoryId: p.categoryId === null ? '' : String(p.categoryId),
    unit: p.unit,
    unitLabel: p.unitLabel ?? '',
    price: (p.priceCents / 100).toFixed(2).replace('.', locale === 'fr' ? ',' : '.'),
    vatRate: bpToPercent(p.vatRateBp),
    maxPerOrder: p.maxPerOrder === null ? '' : String(p.maxPerOrder),
    weighed: p.weighed ? 'on' : '',
    estimatedWeight: gramsForInput(p.estimatedWeightGrams),
  };
}

/**
 * What a product may choose from: the active categories and VAT rates, plus the ones the product
 * already uses, so that editing an old product never forces a change of a retired category or rate.
 */
export function catalogChoices(db: Db | Tx, current?: Pick<Product, 'categoryId' | 'vatRateBp'>): CatalogChoices {
  const categoryIds = new Set(activeCategories(db).map((c) => c.id));
  const vatRatesBp = new Set(activeVatRates(db));
  if (current?.categoryId != null) categoryIds.add(current.categoryId);
  if (current) vatRatesBp.add(current.vatRateBp);
  return { categoryIds, vatRatesBp };
}

export type ProductFilter = 'all' | 'active' | 'archived';

/** A product with its category's names, for lists. */
export interface ProductRow extends Product {
  categoryFr: string | null;
  categoryEn: string | null;
}

/** A producer's products: active first, then archived, each by name. */
export function listProducts(db: Db | Tx, producerId: number, filter: ProductFilter = 'all'): ProductRow[] {
  const where =
    filter === 'all'
      ? eq(products.producerId, producerId)
      : and(eq(products.producerId, producerId), eq(products.active, filter === 'active'));
  return db
    .select({ product: products, categoryFr: categories.nameFr, categoryEn: categories.nameEn })
    .from(products)
    .leftJoin(categories, eq(categories.id, products.categoryId))
    .where(where)
    .orderBy(desc(products.active), sql`${products.name} collate nocase`, asc(products.id))
    .all()
    .map((r) => ({ ...r.product, categoryFr: r.categoryFr, categoryEn: r.categoryEn }));
}

/** How many products a producer has, active and archived. */
export function countProducts(db: Db | Tx, producerId: number): { active: number; archived: number } {
  const rows = db
    .select({ active: products.active, n: sql<number>`count(*)` })
    .from(products)
    .where(eq(products.producerId, producerId))
    .groupBy(products.active)
    .all();
  return { active: rows.find((r) => r.active)?.n ?? 0, archived: rows.find((r) => !r.active)?.n ?? 0 };
}

/** One of this producer's products; another producer's product id finds nothing. */
export function findProduct(db: Db | Tx, producerId: number, productId: number): Product | undefined {
  return db
    .select()
    .from(products)
    .where(and(eq(products.id, productId), eq(products.producerId, producerId)))
    .get();
}

/** Adds a product to a producer's catalog. */
export function createProduct(db: Db | Tx, producerId: number, input: ProductInput, now = Date.now()): Product {
  return db
    .insert(products)
    .values({ ...input, producerId, active: true, createdAt: now, updatedAt: now })
    .returning()
    .get();
}

export type UpdateResult = { ok: true; product: Product } | { ok: false; reason: 'not_found' };

/** Saves a product's details; only a product of this producer can be changed. */
export function updateProduct(db: Db | Tx, producerId: number, productId: number, input: ProductInput, now = Date.now()): UpdateResult {
  const product = db
    .update(products)
    .set({ ...input, updatedAt: now })
    .where(and(eq(products.id, productId), eq(products.producerId, producerId)))
    .returning()
    .get();
  return product ? { ok: true, product } : { ok: false, reason: 'not_found' };
}

/** Archives (active = false) or brings back a product of this producer; false when it is not theirs. */
export function setProductActive(db: Db | Tx, producerId: number, productId: number, active: boolean, now = Date.now()): boolean {
  const r = db
    .update(products)
    .set({ active, updatedAt: now })
    .where(and(eq(products.id, productId), eq(products.producerId, producerId)))
    .run();
  return r.changes === 1;
}
