import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { accounts } from './accounts.js';

/**
 * Server-side sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy of
 * the database cannot be used to take over a session. Deleting a row logs that device out.
 * A row without an account is a visitor's short-lived session, made only to carry a flash message.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    idHash: text().primaryKey(),
    accountId: integer().references(() => accounts.id, { onDelete: 'cascade' }),
    // the message to show once on the next page: JSON { kind, key, params }
    flash: text(),
    createdAt: integer().notNull(),
    lastSeenAt: integer().notNull(),
    expiresAt: integer().notNull(),
  },
  (t) => [index('sessions_account_idx').on(t.accountId), index('sessions_expires_idx').on(t.expiresAt)],
);

/** Single-use password reset links; only the token's SHA-256 is stored. */
export const passwordResets = sqliteTable(
  'password_resets',
  {
    tokenHash: text().primaryKey(),
    accountId: integer()
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    createdAt: integer().notNull(),
    expiresAt: integer().notNull(),
    usedAt: integer(),
  },
  (t) => [index('password_resets_account_idx').on(t.accountId)],
);
