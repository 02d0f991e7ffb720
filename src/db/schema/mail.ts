import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Every email Carnet sends, written in the same transaction as the action that causes it and
 * sent afterwards by the outbox loop. Rows are rendered in the recipient's language when queued.
 */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    toAddress: text().notNull(),
    toName: text(),
    subject: text().notNull(),
    textBody: text().notNull(),
    htmlBody: text().notNull(),
    // pending: waiting to be (re)tried; sent: accepted by the server; failed: refused for good
    status: text({ enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: integer().notNull(),
    lastError: text(),
    createdAt: integer().notNull(),
    sentAt: integer(),
  },
  (t) => [
    index('outbox_due_idx').on(t.status, t.nextAttemptAt),
    check('outbox_status_check', sql`${t.status} in ('pending', 'sent', 'failed')`),
  ],
);
