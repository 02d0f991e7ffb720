import { eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { accountRoles, accounts, coop } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';

export type Coop = typeof coop.$inferSelect;

/** The coop row, or undefined before first-run setup. */
export function getCoop(db: Db | Tx): Coop | undefined {
  return db.select().from(coop).where(eq(coop.id, 1)).get();
}

/** True once some account holds the admin role; until then Carnet shows the setup page. */
export function hasAdmin(db: Db | Tx): boolean {
  return db.select({ one: sql<number>`1` }).from(accountRoles).where(eq(accountRoles.role, 'admin')).limit(1).get() !== undefined;
}

/** What first-run setup asks for. */
export interface SetupInput {
  coopName: string;
  contactEmail: string;
  defaultLocale: Locale;
  timeZone: string;
  adminName: string;
  adminEmail: string;
  passwordHash: string;
  adminLocale: Locale;
}

export type SetupResult = { ok: true; accountId: number } | { ok: false; reason: 'already_set_up' | 'email_taken' };

/**
 * Creates the coop and its first admin (who is also a member) in one transaction. Refused once an
 * admin exists, so the setup page cannot be replayed to take over an instance.
 */
export function setupCoop(db: Db, input: SetupInput, now = Date.now()): SetupResult {
  return db.transaction(
    (tx) => {
      if (hasAdmin(tx)) return { ok: false, reason: 'already_set_up' } as const;
      // Checked before any write: a refused setup must leave no coop row behind.
      if (tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, input.adminEmail)).get()) {
        return { ok: false, reason: 'email_taken' } as const;
      }
      const values = {
        name: input.coopName,
        contactEmail: input.contactEmail,
        defaultLocale: input.defaultLocale,
        currency: 'EUR',
        timeZone: input.timeZone,
        updatedAt: now,
      };
      tx.insert(coop).values({ id: 1, createdAt: now, ...values }).onConflictDoUpdate({ target: coop.id, set: values }).run();
      const accountId = tx
        .insert(accounts)
        .values({
          email: input.adminEmail,
          name: input.adminName,
          passwordHash: input.passwordHash,
          locale: input.adminLocale,
          status: 'active',
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: accounts.id })
        .get().id;
      tx.insert(accountRoles)
        .values([
          { accountId, role: 'admin', grantedAt: now },
          { accountId, role: 'member', grantedAt: now },
        ])
        .run();
      return { ok: true, accountId } as const;
    },
    { behavior: 'immediate' },
  );
}

/** The settings an admin can change after setup. */
export interface CoopSettings {
  name: string;
  contactEmail: string;
  defaultLocale: Locale;
  timeZone: string;
  requireApproval: boolean;
}

/** Saves the coop settings. */
export function updateCoopSettings(db: Db, settings: CoopSettings, now = Date.now()): void {
  db.update(coop).set({ ...settings, updatedAt: now }).where(eq(coop.id, 1)).run();
}
