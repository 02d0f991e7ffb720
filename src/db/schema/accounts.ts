import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** A person who can log in. Email is stored lower-cased and trimmed, so it is unique as typed. */
export const accounts = sqliteTable(
  'accounts',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    email: text().notNull(),
    name: text().notNull(),
    phone: text(),
    passwordHash: text().notNull(),
    locale: text({ enum: ['fr', 'en'] }).notNull(),
    // pending: signed up while the coop requires approval; active: may use what its roles allow
    status: text({ enum: ['pending', 'active'] }).notNull().default('active'),
    // the member asked to be emailed when a sale opens
    notifyCycleOpen: integer({ mode: 'boolean' }).notNull().default(false),
    createdAt: integer().notNull(),
    updatedAt: integer().notNull(),
  },
  (t) => [
    uniqueIndex('accounts_email_unique').on(t.email),
    index('accounts_status_idx').on(t.status, t.createdAt),
    check('accounts_status_check', sql`${t.status} in ('pending', 'active')`),
  ],
);

export const ROLES = ['admin', 'producer', 'member'] as const;
/** What an account may do; an account can hold several roles. */
export type Role = (typeof ROLES)[number];

/** The roles each account holds, one row per role. */
export const accountRoles = sqliteTable(
  'account_roles',
  {
    accountId: integer()
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    role: text({ enum: ROLES }).notNull(),
    grantedAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.role] }),
    index('account_roles_role_idx').on(t.role),
    check('account_roles_role_check', sql`${t.role} in ('admin', 'producer', 'member')`),
  ],
);
