import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Every email Carnet sends, written in the same transaction as the action that causes it and
 * sent afterwards by the outbox loop. The subject is written when the email is queued; the body is
 * rendered when it is sent, from its template, language and data (a JSON payload), so that the
 * action's transaction writes a small row. Rows queued before that change hold rendered bodies.
 */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    toAddress: text().notNull(),
    toName: text(),
    subject: text().notNull(),
    // Set when the email is rendered at send time: the template, the recipient's language and the data.
    template: text(),
    locale: text({ enum: ['fr', 'en'] }),
    payload: text(),
    // Set instead on rows rendered when queued (before migration 0003).
    textBody: text(),
    htmlBody: text(),
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
    check(
      'outbox_body_check',
      sql`(${t.template} is not null and ${t.locale} in ('fr', 'en') and ${t.payload} is not null) or (${t.textBody} is not null and ${t.htmlBody} is not null)`,
    ),
  ],
);
