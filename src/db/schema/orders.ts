import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { accounts } from './accounts.js';
import { products } from './catalog.js';
import { cycles, distributions, offers } from './cycles.js';
import { producers } from './producers.js';

/**
 * A member's basket for one cycle: the distribution they chose. It reserves nothing; the shop
 * shows what is left after placed orders.
 */
export const baskets = sqliteTable(
  'baskets',
  {
    accountId: integer()
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    cycleId: integer()
      .notNull()
      .references(() => cycles.id, { onDelete: 'cascade' }),
    distributionId: integer().references(() => distributions.id, { onDelete: 'set null' }),
    updatedAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.cycleId] })],
);

/** What is in a basket: a quantity of sale units per offer. */
export const basketItems = sqliteTable(
  'basket_items',
  {
    accountId: integer()
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    cycleId: integer()
      .notNull()
      .references(() => cycles.id, { onDelete: 'cascade' }),
    offerId: integer()
      .notNull()
      .references(() => offers.id, { onDelete: 'cascade' }),
    quantity: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.offerId] }),
    index('basket_items_cycle_idx').on(t.accountId, t.cycleId),
    check('basket_items_quantity_check', sql`${t.quantity} > 0`),
  ],
);

export const ORDER_STATUSES = ['placed', 'cancelled'] as const;
/** placed: holds stock; cancelled: holds nothing (it may be placed again while the cycle is open). */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** One member's order for one cycle, collected at one distribution. */
export const orders = sqliteTable(
  'orders',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    cycleId: integer()
      .notNull()
      .references(() => cycles.id, { onDelete: 'restrict' }),
    // null once the member's account is erased: the order stays for the coop's accounts
    accountId: integer().references(() => accounts.id, { onDelete: 'set null' }),
    distributionId: integer()
      .notNull()
      .references(() => distributions.id, { onDelete: 'restrict' }),
    // what the member and the coop quote, also the transfer reference: e.g. "V12-0042"
    reference: text().notNull(),
    status: text({ enum: ORDER_STATUSES }).notNull().default('placed'),
    // the member's name as it was, kept when the account is erased
    memberName: text().notNull(),
    totalCents: integer().notNull(),
    placedAt: integer().notNull(),
    updatedAt: integer().notNull(),
    cancelledAt: integer(),
  },
  (t) => [
    uniqueIndex('orders_cycle_account_unique').on(t.cycleId, t.accountId),
    uniqueIndex('orders_reference_unique').on(t.reference),
    index('orders_distribution_idx').on(t.distributionId),
    check('orders_status_check', sql`${t.status} in ('placed', 'cancelled')`),
    check('orders_total_check', sql`${t.totalCents} >= 0`),
  ],
);

/**
 * One product in an order, with the price, VAT and names copied when it was placed, so later
 * catalog edits never change a placed order. For a weighed product, quantity is pieces, the unit
 * price is per kg and the line total is estimated from the estimated weight until it is weighed.
 */
export const orderLines = sqliteTable(
  'order_lines',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    orderId: integer()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    offerId: integer()
      .notNull()
      .references(() => offers.id, { onDelete: 'restrict' }),
    productId: integer()
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    producerId: integer()
      .notNull()
      .references(() => producers.id, { onDelete: 'restrict' }),
    productName: text().notNull(),
    producerName: text().notNull(),
    unitLabel: text().notNull(),
    quantity: integer().notNull(),
    unitPriceCents: integer().notNull(),
    vatRateBp: integer().notNull(),
    weighed: integer({ mode: 'boolean' }).notNull().default(false),
    estimatedWeightGrams: integer(),
    lineTotalCents: integer().notNull(),
  },
  (t) => [
    uniqueIndex('order_lines_order_offer_unique').on(t.orderId, t.offerId),
    index('order_lines_offer_idx').on(t.offerId),
    check('order_lines_quantity_check', sql`${t.quantity} > 0`),
    check('order_lines_price_check', sql`${t.unitPriceCents} > 0 and ${t.lineTotalCents} >= 0`),
  ],
);

/**
 * The form tokens of order submissions already handled: a repeated submission (double click,
 * reload, retry after a timeout) with the same token finds its order here instead of placing
 * another one.
 */
export const orderSubmissions = sqliteTable(
  'order_submissions',
  {
    token: text().primaryKey(),
    accountId: integer()
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    orderId: integer()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    createdAt: integer().notNull(),
  },
  (t) => [index('order_submissions_order_idx').on(t.orderId)],
);
