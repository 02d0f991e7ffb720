import { desc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { accounts, auditLog } from '../db/schema/index.js';

/**
 * The admin actions that are recorded. Each name is also an i18n key under `audit.action.`, so
 * the audit page reads in the admin's language.
 */
export const AUDIT_ACTIONS = [
  'account.role_granted',
  'account.role_revoked',
  'account.approved',
  'account.declined',
  'account.erased',
  'account.exported',
  'coop.settings_changed',
  'producer.created',
  'producer.updated',
  'producer.invited',
  'producer.manager_removed',
  'cycle.created',
  'cycle.updated',
  'cycle.status_changed',
  'cycle.duplicated',
  'pickup_point.created',
  'pickup_point.updated',
  'pickup_point.deleted',
  'category.created',
  'category.updated',
  'vat_rate.added',
  'vat_rate.activated',
  'vat_rate.deactivated',
  'email.retried',
  'email.test_sent',
  'backup.created',
  'backup.downloaded',
  'backup.restored',
  'export.created',
  'admin.created_by_cli',
  'password.reset_by_cli',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did it: an account (id and current name), or the command line. */
export interface AuditActor {
  id: number | null;
  name: string;
}

/** Non-personal details: ids, role names, setting names, file names. Never a name, email or phone. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/**
 * Records an admin action. Call it with the action's own transaction, so that the record exists
 * exactly when the change does.
 */
export function recordAudit(
  db: Db | Tx,
  actor: AuditActor,
  action: AuditAction,
  subject?: { type: string; id: number | null },
  details: AuditDetails = {},
  now = Date.now(),
): void {
  db.insert(auditLog)
    .values({
      at: now,
      actorId: actor.id,
      actorName: actor.name,
      action,
      subjectType: subject?.type ?? null,
      subjectId: subject?.id ?? null,
      details: JSON.stringify(details),
    })
    .run();
}

/** One line of the audit page. */
export interface AuditEntry {
  id: number;
  at: number;
  actorId: number | null;
  actorName: string;
  action: string;
  subjectType: string | null;
  subjectId: number | null;
  details: AuditDetails;
}

/** A page of the audit log, newest first, and whether an older page exists. */
export function listAudit(db: Db, page: number, perPage = 50): { entries: AuditEntry[]; hasMore: boolean } {
  const rows = db
    .select()
    .from(auditLog)
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(perPage + 1)
    .offset((page - 1) * perPage)
    .all();
  return {
    entries: rows.slice(0, perPage).map((r) => ({ ...r, details: JSON.parse(r.details) as AuditDetails })),
    hasMore: rows.length > perPage,
  };
}

/** Replaces an erased person's name wherever the log names them as the one who acted. */
export function forgetActor(tx: Tx, accountId: number, replacement: string): void {
  tx.update(auditLog).set({ actorName: replacement }).where(eq(auditLog.actorId, accountId)).run();
}

/** The current name of each account the log refers to (accounts since erased are absent). */
export function accountNames(db: Db, ids: number[]): Map<number, string> {
  if (ids.length === 0) return new Map();
  const rows = db
    .select({ id: accounts.id, name: accounts.name })
    .from(accounts)
    .where(sql`${accounts.id} in (${sql.join(ids.map((i) => sql`${i}`), sql`, `)})`)
    .all();
  return new Map(rows.map((r) => [r.id, r.name]));
}
