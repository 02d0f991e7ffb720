import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { producers } from './producers.js';

/** The coop-wide list of product categories, named in both languages. */
export const categories = sqliteTable('categories', {
  id: integer().primaryKey({ autoIncrement: true }),
  nameFr: text().notNull(),
  nameEn: text().notNull(),
  position: integer().notNull().default(0),
  active: integer({ mode: 'boolean' }).notNull().default(true),
});

/** The VAT rates producers may choose from, in basis points (550 = 5.5 %). */
export const vatRates = sqliteTable(
  'vat_rates',
  {
    rateBp: integer().primaryKey(),
    active: integer({ mode: 'boolean' }).notNull().default(true),
  },
  (t) => [check('vat_rates_range', sql`${t.rateBp} between 0 and 10000`)],
);

export const SALE_UNITS = ['piece', 'bunch', 'jar', 'bottle', 'box', 'kg', 'g500', 'litre', 'custom'] as const;
/** How a product is sold; 'custom' uses the product's own label. */
export type SaleUnit = (typeof SALE_UNITS)[number];

/**
 * A producer's catalog entry. Prices include VAT, in cents per sale unit. A weighed product is
 * priced per kg (priceCents is per kg), ordered by the piece with an estimated weight, and its
 * final price is set from the actual weight at distribution.
 */
export const products = sqliteTable(
  'products',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    producerId: integer()
      .notNull()
      .references(() => producers.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    description: text().notNull().default(''),
    categoryId: integer().references(() => categories.id, { onDelete: 'set null' }),
    unit: text({ enum: SALE_UNITS }).notNull(),
    unitLabel: text(),
    priceCents: integer().notNull(),
    vatRateBp: integer().notNull(),
    maxPerOrder: integer(),
    weighed: integer({ mode: 'boolean' }).notNull().default(false),
    estimatedWeightGrams: integer(),
    active: integer({ mode: 'boolean' }).notNull().default(true),
    photo: text(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    index('products_producer_idx').on(t.producerId, t.active, t.name),
    check('products_price_check', sql`${t.priceCents} > 0`),
    check('products_max_check', sql`${t.maxPerOrder} is null or ${t.maxPerOrder} > 0`),
    check('products_weight_check', sql`${t.weighed} = 0 or ${t.estimatedWeightGrams} > 0`),
  ],
);

