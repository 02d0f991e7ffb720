import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { outbox } from '../db/schema/index.js';

export type OutboxStatus = 'pending' | 'sent' | 'failed';
export type OutboxRow = Omit<typeof outbox.$inferSelect, 'htmlBody' | 'textBody' | 'template' | 'locale' | 'payload'>;

/** The latest emails, newest first, optionally of one status (for the admin's outbox page). */
export function listOutbox(db: Db, status: OutboxStatus | undefined, limit = 100): OutboxRow[] {
  return db
    .select({
      id: outbox.id,
      toAddress: outbox.toAddress,
      toName: outbox.toName,
      subject: outbox.subject,
      status: outbox.status,
      attempts: outbox.attempts,
      nextAttemptAt: outbox.nextAttemptAt,
      lastError: outbox.lastError,
      createdAt: outbox.createdAt,
      sentAt: outbox.sentAt,
    })
    .from(outbox)
    .where(status ? eq(outbox.status, status) : undefined)
    .orderBy(desc(outbox.id))
    .limit(limit)
    .all();
}

/** How many emails are in each state. */
export function outboxCounts(db: Db): Record<OutboxStatus, number> {
  const counts: Record<OutboxStatus, number> = { pending: 0, sent: 0, failed: 0 };
  for (const row of db.select({ status: outbox.status, n: sql<number>`count(*)` }).from(outbox).groupBy(outbox.status).all()) {
    counts[row.status] = row.n;
  }
  return counts;
}

/** Puts a failed (or waiting) email back at the front of the queue; false when there is no such email. */
export function retryEmail(db: Db | Tx, id: number, now = Date.now()): boolean {
  return (
    db
      .update(outbox)
      .set({ status: 'pending', nextAttemptAt: now })
      .where(and(eq(outbox.id, id), sql`${outbox.status} in ('pending', 'failed')`))
      .run().changes === 1
  );
}

/** How long sent and failed emails stay in the outbox (the privacy page says so). */
export const SENT_EMAIL_RETENTION_DAYS = 90;

/**
 * Deletes sent and failed emails older than SENT_EMAIL_RETENTION_DAYS (from when they were sent,
 * or queued for those never sent): the outbox is a delivery log, not an archive of what people
 * were told. Emails still waiting are kept whatever their age. Returns how many went.
 */
export function purgeSentEmails(db: Db | Tx, now = Date.now()): number {
  const before = now - SENT_EMAIL_RETENTION_DAYS * 24 * 3600 * 1000;
  return db
    .delete(outbox)
    .where(and(sql`${outbox.status} in ('sent', 'failed')`, sql`coalesce(${outbox.sentAt}, ${outbox.createdAt}) < ${before}`))
    .run().changes;
}
