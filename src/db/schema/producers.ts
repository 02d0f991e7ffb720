import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { accounts } from './accounts.js';

/** A farm or maker selling through the coop; managed by one or more accounts. */
export const producers = sqliteTable(
  'producers',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    name: text().notNull(),
    description: text().notNull().default(''),
    contactName: text(),
    email: text(),
    phone: text(),
    address: text().notNull().default(''),
    // SIRET (14 digits) or an intra-EU VAT number; both optional
    siret: text(),
    vatNumber: text(),
    active: integer({ mode: 'boolean' }).notNull().default(true),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [index('producers_name_idx').on(t.name)],
);

/** Which accounts may act for which producers. */
export const producerAccounts = sqliteTable(
  'producer_accounts',
  {
    producerId: integer()
      .notNull()
      .references(() => producers.id, { onDelete: 'cascade' }),
    accountId: integer()
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    createdAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.producerId, t.accountId] }), index('producer_accounts_account_idx').on(t.accountId)],
);

/** Emailed invitations to manage a producer; only the token's SHA-256 is stored. */
export const producerInvitations = sqliteTable(
  'producer_invitations',
  {
    tokenHash: text().primaryKey(),
    producerId: integer()
      .notNull()
      .references(() => producers.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    invitedBy: integer().references(() => accounts.id, { onDelete: 'set null' }),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    acceptedAt: integer(),
    acceptedBy: integer().references(() => accounts.id, { onDelete: 'set null' }),
  },
  (t) => [index('producer_invitations_producer_idx').on(t.producerId)],
);

