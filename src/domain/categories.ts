import { and, asc, eq, ne, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { categories, vatRates } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';
import { recordAudit, type AuditActor } from './audit.js';
import { blankToUndefined, checkboxField, nameField } from './fields.js';

export type Category = typeof categories.$inferSelect;
export type VatRate = typeof vatRates.$inferSelect;

/** A category's name in one language: like a name, at most 60 characters. */
const categoryNameField = nameField.pipe(z.string().max(60));

/** A position in the list: a whole number from 0 to 100,000. */
const positionField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .regex(/^\d+$/, 'error.invalid_quantity')
  .refine((v) => v.length <= 6 && Number(v) <= 100_000, 'error.quantity_range')
  .transform(Number);

/** A new category: both names; without a position it goes to the end of the list. */
export const newCategorySchema = z.object({
  nameFr: categoryNameField,
  nameEn: categoryNameField,
  position: z.preprocess(blankToUndefined, positionField.optional()),
});

/** An edited category: names, position and whether producers may still choose it. */
export const categorySchema = z.object({
  nameFr: categoryNameField,
  nameEn: categoryNameField,
  position: positionField,
  active: checkboxField,
});

export type NewCategoryInput = z.output<typeof newCategorySchema>;
export type CategoryInput = z.output<typeof categorySchema>;

/** Every category in the coop's order (position, then creation). */
export function listCategories(db: Db | Tx): Category[] {
  return db.select().from(categories).orderBy(asc(categories.position), asc(categories.id)).all();
}

/** The categories producers may choose for a product, in the coop's order. */
export function activeCategories(db: Db | Tx): Category[] {
  return db.select().from(categories).where(eq(categories.active, true)).orderBy(asc(categories.position), asc(categories.id)).all();
}

/** The category with this id, if any. */
export function findCategory(db: Db | Tx, id: number): Category | undefined {
  return db.select().from(categories).where(eq(categories.id, id)).get();
}

/** A category's name in a language. */
export function categoryName(category: Pick<Category, 'nameFr' | 'nameEn'>, locale: Locale): string {
  return locale === 'fr' ? category.nameFr : category.nameEn;
}

/** True when another category already has one of these names (in either language, any case). */
function nameTaken(db: Db | Tx, input: { nameFr: string; nameEn: string }, exceptId?: number): boolean {
  const same = or(
    sql`lower(${categories.nameFr}) = lower(${input.nameFr})`,
    sql`lower(${categories.nameEn}) = lower(${input.nameEn})`,
  );
  return db
    .select({ id: categories.id })
    .from(categories)
    .where(exceptId === undefined ? same : and(same, ne(categories.id, exceptId)))
    .limit(1)
    .get() !== undefined;
}

export type CategoryResult = { ok: true; category: Category } | { ok: false; reason: 'name_taken' | 'not_found' };

/** Adds a category; without a position it goes after the last one. With an actor (an admin), it is audited. */
export function createCategory(db: Db, input: NewCategoryInput, actor?: AuditActor): CategoryResult {
  return db.transaction(
    (tx) => {
      if (nameTaken(tx, input)) return { ok: false, reason: 'name_taken' } as const;
      const last = tx.select({ max: sql<number | null>`max(${categories.position})` }).from(categories).get()?.max ?? 0;
      const category = tx
        .insert(categories)
        .values({ nameFr: input.nameFr, nameEn: input.nameEn, position: input.position ?? last + 10, active: true })
        .returning()
        .get();
      if (actor) recordAudit(tx, actor, 'category.created', { type: 'category', id: category.id });
      return { ok: true, category } as const;
    },
    { behavior: 'immediate' },
  );
}

/**
 * Renames, moves or (de)activates a category. A deactivated category stays on the products that
 * have it; producers just cannot choose it any more. With an actor (an admin), it is audited.
 */
export function updateCategory(db: Db, id: number, input: CategoryInput, actor?: AuditActor): CategoryResult {
  return db.transaction(
    (tx) => {
      if (!findCategory(tx, id)) return { ok: false, reason: 'not_found' } as const;
      if (nameTaken(tx, input, id)) return { ok: false, reason: 'name_taken' } as const;
      const category = tx.update(categories).set(input).where(eq(categories.id, id)).returning().get();
      if (actor) recordAudit(tx, actor, 'category.updated', { type: 'category', id });
      return { ok: true, category } as const;
    },
    { behavior: 'immediate' },
  );
}

// ----- VAT rates -----

/**
 * Reads a VAT rate typed as a percentage ("5,5", "5.5", "5,5 %", "20") into basis points (550).
 * Returns null when it is not a number with at most two decimals, and 'range' above 100 %.
 */
export function parseVatRateToBp(input: string): number | 'range' | null {
  const s = input.replace(/[\s\u00a0\u202f%]/g, '');
  const m = /^(\d{1,4})(?:[.,](\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const bp = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return bp > 10_000 ? 'range' : bp;
}

/** A VAT rate typed in a form, in basis points: 0 to 100 % with at most two decimals. */
export const vatRateField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .transform((v, ctx) => {
    const bp = v.length <= 20 ? parseVatRateToBp(v) : null;
    if (bp === null || bp === 'range') {
      ctx.addIssue({ code: 'custom', message: bp === null ? 'error.invalid_vat_rate' : 'error.vat_rate_range' });
      return z.NEVER;
    }
    return bp;
  });

/** A rate in basis points as people write it: 550 → "5,5 %" in French, "5.5%" in English. */
export function formatVatRate(bp: number, locale: Locale): string {
  const whole = Math.floor(bp / 100);
  const frac = String(bp % 100).padStart(2, '0').replace(/0+$/, '');
  const number = frac ? `${whole}${locale === 'fr' ? ',' : '.'}${frac}` : String(whole);
  return locale === 'fr' ? `${number}\u00a0%` : `${number}%`;
}

/** Every VAT rate, lowest first. */
export function listVatRates(db: Db | Tx): VatRate[] {
  return db.select().from(vatRates).orderBy(asc(vatRates.rateBp)).all();
}

/** The VAT rates producers may choose, lowest first. */
export function activeVatRates(db: Db | Tx): number[] {
  return db
    .select({ rateBp: vatRates.rateBp })
    .from(vatRates)
    .where(eq(vatRates.active, true))
    .orderBy(asc(vatRates.rateBp))
    .all()
    .map((r) => r.rateBp);
}

export type AddVatRateResult = { ok: true } | { ok: false; reason: 'exists' };

/** Adds a VAT rate to the list producers choose from. With an actor (an admin), it is audited. */
export function addVatRate(db: Db, rateBp: number, actor?: AuditActor): AddVatRateResult {
  return db.transaction(
    (tx) => {
      const added = tx.insert(vatRates).values({ rateBp, active: true }).onConflictDoNothing().run().changes;
      if (!added) return { ok: false, reason: 'exists' } as const;
      if (actor) recordAudit(tx, actor, 'vat_rate.added', undefined, { rate: rateBp });
      return { ok: true } as const;
    },
    { behavior: 'immediate' },
  );
}

export type SetVatRateResult = { ok: true } | { ok: false; reason: 'not_found' | 'last_active' };

/**
 * Deactivates or reactivates a rate. Products that use a deactivated rate keep it; the last
 * active rate cannot go, or no new product could be created. With an actor (an admin), it is audited.
 */
export function setVatRateActive(db: Db, rateBp: number, active: boolean, actor?: AuditActor): SetVatRateResult {
  return db.transaction(
    (tx) => {
      const rate = tx.select().from(vatRates).where(eq(vatRates.rateBp, rateBp)).get();
      if (!rate) return { ok: false, reason: 'not_found' } as const;
      if (!active && rate.active && activeVatRates(tx).length <= 1) return { ok: false, reason: 'last_active' } as const;
      tx.update(vatRates).set({ active }).where(eq(vatRates.rateBp, rateBp)).run();
      if (actor) recordAudit(tx, actor, active ? 'vat_rate.activated' : 'vat_rate.deactivated', undefined, { rate: rateBp });
      return { ok: true } as const;
    },
    { behavior: 'immediate' },
  );
}
