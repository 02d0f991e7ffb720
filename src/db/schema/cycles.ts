import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { products } from './catalog.js';
import { producers } from './producers.js';

/** Where members collect their baskets. */
export const pickupPoints = sqliteTable('pickup_points', {
  id: integer().primaryKey({ autoIncrement: true }),
  name: text().notNull(),
  address: text().notNull(),
  instructions: text().notNull().default(''),
  active: integer({ mode: 'boolean' }).notNull().default(true),
  createdAt: integer().notNull(),
  updatedAt: integer().notNull(),
});

export const CYCLE_STATUSES = ['draft', 'scheduled', 'open', 'closed', 'done'] as const;
/** draft → scheduled → open → closed → done. */
export type CycleStatus = (typeof CYCLE_STATUSES)[number];

/** A sale: members order between opensAt and closesAt, then collect at its distributions. */
export const cycles = sqliteTable(
  'cycles',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    name: text().notNull(),
    opensAt: integer().notNull(),
    closesAt: integer().notNull(),
    status: text({ enum: CYCLE_STATUSES }).notNull().default('draft'),
    // when producers were told the cycle is scheduled, and reminded to publish
    scheduledNoticeAt: integer(),
    producerReminderAt: integer(),
    // when opted-in members were told the sale is open, and members with a basket reminded to place it
    openNoticeAt: integer(),
    closingReminderAt: integer(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    index('cycles_status_idx').on(t.status, t.opensAt),
    check('cycles_order_check', sql`${t.closesAt} > ${t.opensAt}`),
    check('cycles_status_check', sql`${t.status} in ('draft', 'scheduled', 'open', 'closed', 'done')`),
  ],
);

/** A pickup point, date and time window within a cycle. */
export const distributions = sqliteTable(
  'distributions',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    cycleId: integer()
      .notNull()
      .references(() => cycles.id, { onDelete: 'cascade' }),
    pickupPointId: integer()
      .notNull()
      .references(() => pickupPoints.id, { onDelete: 'restrict' }),
    startsAt: integer().notNull(),
    endsAt: integer().notNull(),
  },
  (t) => [index('distributions_cycle_idx').on(t.cycleId, t.startsAt), check('distributions_window_check', sql`${t.endsAt} > ${t.startsAt}`)],
);

/**
 * A product offered in a cycle, with this cycle's quantity (null = unlimited) and price. A draft
 * offer was copied by "duplicate to next week" and is not on sale until its producer publishes it.
 * quantityTaken is what placed orders hold; it never exceeds quantityAvailable.
 */
export const offers = sqliteTable(
  'offers',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    cycleId: integer()
      .notNull()
      .references(() => cycles.id, { onDelete: 'cascade' }),
    productId: integer()
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    producerId: integer()
      .notNull()
      .references(() => producers.id, { onDelete: 'cascade' }),
    published: integer({ mode: 'boolean' }).notNull().default(true),
    quantityAvailable: integer(),
    quantityTaken: integer().notNull().default(0),
    priceCents: integer().notNull(),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex('offers_cycle_product_unique').on(t.cycleId, t.productId),
    index('offers_cycle_producer_idx').on(t.cycleId, t.producerId),
    check('offers_price_check', sql`${t.priceCents} > 0`),
    check('offers_stock_check', sql`${t.quantityTaken} >= 0 and (${t.quantityAvailable} is null or ${t.quantityTaken} <= ${t.quantityAvailable})`),
  ],
);
