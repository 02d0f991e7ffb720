import { sql } from 'drizzle-orm';
import { check, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** The one cooperative this instance serves: a single row with id 1, written by first-run setup. */
export const coop = sqliteTable(
  'coop',
  {
    id: integer().primaryKey(),
    name: text().notNull(),
    contactEmail: text().notNull(),
    defaultLocale: text({ enum: ['fr', 'en'] }).notNull(),
    currency: text().notNull().default('EUR'),
    timeZone: text().notNull(),
    requireApproval: integer({ mode: 'boolean' }).notNull().default(false),
    // hours before a cycle opens when producers who published nothing are reminded
    producerReminderHours: integer().notNull().default(48),
    // hours before a cycle closes when members with an unplaced basket are reminded
    closingReminderHours: integer().notNull().default(24),
    // visitors may browse the shop without an account (they log in to order)
    allowAnonymousBrowsing: integer({ mode: 'boolean' }).notNull().default(false),
    // accepted at pickup, comma-separated among cash, cheque, transfer, card
    paymentMethods: text().notNull().default('cash,cheque'),
    // shown with orders when transfers are accepted: holder, IBAN, BIC
    bankDetails: text().notNull().default(''),
    // who runs this Carnet, for the privacy page: the legal name and postal address of the coop
    legalNotice: text().notNull().default(''),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [check('coop_single_row', sql`${t.id} = 1`)],
);
