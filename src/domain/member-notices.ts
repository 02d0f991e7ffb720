import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { accountRoles, accounts, basketItems, cycles, orders } from '../db/schema/index.js';
import { formatters, type Locale } from '../i18n/index.js';
import type { Mailer } from '../mail/mailer.js';
import { getCoop } from './coop.js';

/*
 * What members are told about a sale: "orders are open" when it opens (to those who asked), and a
 * reminder some hours before it closes to those who filled a basket and have not placed it. Each
 * is sent once per cycle: a guarded UPDATE of cycles.open_notice_at / closing_reminder_at claims
 * the notice in the same transaction that queues its emails.
 */

const HOUR_MS = 3_600_000;
/** The bounds of the coop setting "remind members N hours before closing". */
export const CLOSING_REMINDER_HOURS_MIN = 1;
export const CLOSING_REMINDER_HOURS_MAX = 168;

/** Emails queued for one cycle by one kind of notice. */
export interface NoticeReport {
  cycleId: number;
  kind: 'open' | 'closing';
  emails: number;
}

interface Recipient {
  email: string;
  name: string;
  locale: Locale;
}

const activeMember = and(eq(accounts.status, 'active'), sql`exists (select 1 from ${accountRoles} where ${accountRoles.accountId} = ${accounts.id} and ${accountRoles.role} = 'member')`);

/** Active members who asked to be told when a sale opens. */
export function openNoticeRecipients(db: Db | Tx): Recipient[] {
  return db
    .select({ email: accounts.email, name: accounts.name, locale: accounts.locale })
    .from(accounts)
    .where(and(activeMember, eq(accounts.notifyCycleOpen, true)))
    .orderBy(asc(accounts.id))
    .all();
}

/** Active members with something in their basket for the cycle and no placed order in it. */
export function closingReminderRecipients(db: Db | Tx, cycleId: number): Recipient[] {
  return db
    .select({ email: accounts.email, name: accounts.name, locale: accounts.locale })
    .from(accounts)
    .where(
      and(
        activeMember,
        sql`exists (select 1 from ${basketItems} where ${basketItems.accountId} = ${accounts.id} and ${basketItems.cycleId} = ${cycleId})`,
        sql`not exists (select 1 from ${orders} where ${orders.accountId} = ${accounts.id} and ${orders.cycleId} = ${cycleId} and ${orders.status} = 'placed')`,
      ),
    )
    .orderBy(asc(accounts.id))
    .all();
}

/**
 * Sends what is due now: the opening notice of every open cycle that has not had it (a cycle
 * that opened and closed while the server was down gets none), and the closing reminder of every
 * open cycle within closingReminderHours of its close.
 */
export function sendMemberNotices(db: Db, mailer: Mailer, now = Date.now()): NoticeReport[] {
  const report: NoticeReport[] = [];
  const theCoop = getCoop(db);
  const windowMs = (theCoop?.closingReminderHours ?? 24) * HOUR_MS;
  const due = db
    .select({ id: cycles.id, openNoticeAt: cycles.openNoticeAt, closingReminderAt: cycles.closingReminderAt, closesAt: cycles.closesAt })
    .from(cycles)
    .where(and(eq(cycles.status, 'open'), sql`${cycles.closesAt} > ${now}`, sql`(${cycles.openNoticeAt} is null or ${cycles.closingReminderAt} is null)`))
    .orderBy(asc(cycles.id))
    .all();
  for (const c of due) {
    if (c.openNoticeAt === null) {
      const emails = claimAndSend(db, mailer, c.id, 'open', now);
      if (emails !== null) report.push({ cycleId: c.id, kind: 'open', emails });
    }
    if (c.closingReminderAt === null && c.closesAt - windowMs <= now) {
      const emails = claimAndSend(db, mailer, c.id, 'closing', now);
      if (emails !== null) report.push({ cycleId: c.id, kind: 'closing', emails });
    }
  }
  return report;
}

/** Claims one notice of a cycle with a guarded UPDATE and queues its emails; null when another tick got it first. */
function claimAndSend(db: Db, mailer: Mailer, cycleId: number, kind: 'open' | 'closing', now: number): number | null {
  return db.transaction(
    (tx) => {
      const column = kind === 'open' ? cycles.openNoticeAt : cycles.closingReminderAt;
      const changed = tx
        .update(cycles)
        .set(kind === 'open' ? { openNoticeAt: now } : { closingReminderAt: now })
        .where(and(eq(cycles.id, cycleId), eq(cycles.status, 'open'), isNull(column), sql`${cycles.closesAt} > ${now}`))
        .run().changes;
      if (changed !== 1) return null;
      const cycle = tx.select().from(cycles).where(eq(cycles.id, cycleId)).get()!;
      const theCoop = getCoop(tx);
      const recipients = kind === 'open' ? openNoticeRecipients(tx) : closingReminderRecipients(tx, cycleId);
      for (const r of recipients) {
        const fmt = formatters(r.locale, theCoop?.timeZone ?? 'Europe/Paris', theCoop?.currency ?? 'EUR');
        const params = { cycle: cycle.name, closes: fmt.dateTime(cycle.closesAt) };
        const to = { to: r.email, toName: r.name, locale: r.locale };
        if (kind === 'open') mailer.queue(tx, { ...to, template: 'cycleOpen', data: { shopUrl: mailer.url(`/shop/${cycleId}`) }, params }, now);
        else mailer.queue(tx, { ...to, template: 'closingReminder', data: { basketUrl: mailer.url(`/shop/${cycleId}/basket`) }, params }, now);
      }
      return recipients.length;
    },
    { behavior: 'immediate' },
  );
}

/** The coop setting "remind members N hours before closing": a whole number from 1 to 168 (one week). */
export const closingReminderHoursField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .refine((v) => /^\d{1,3}$/.test(v), 'error.orders.closing_hours')
  .transform(Number)
  .refine((n) => n >= CLOSING_REMINDER_HOURS_MIN && n <= CLOSING_REMINDER_HOURS_MAX, 'error.orders.closing_hours');
