import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { passwordResets } from '../db/schema/index.js';
import type { Mailer } from '../mail/mailer.js';
import { findAccountByEmail, setPassword } from './accounts.js';
import { hashToken } from './sessions.js';

export const RESET_TTL_HOURS = 2;
const RESET_TTL_MS = RESET_TTL_HOURS * 3600 * 1000;

/**
 * Emails a single-use reset link when the email has an account, and does nothing otherwise; the
 * caller answers the same either way, so the form never tells who has an account.
 * A new request replaces older unused links.
 */
export function requestPasswordReset(db: Db, mailer: Mailer, email: string, now = Date.now()): void {
  db.transaction(
    (tx) => {
      const account = findAccountByEmail(tx, email);
      if (!account) return;
      tx.delete(passwordResets).where(and(eq(passwordResets.accountId, account.id), isNull(passwordResets.usedAt))).run();
      const token = randomBytes(32).toString('base64url');
      tx.insert(passwordResets).values({ tokenHash: hashToken(token), accountId: account.id, createdAt: now, expiresAt: now + RESET_TTL_MS }).run();
      mailer.queue(
        tx,
        {
          to: account.email,
          toName: account.name,
          locale: account.locale,
          template: 'passwordReset',
          data: { resetUrl: mailer.url(`/password/reset/${token}`) },
          params: { hours: RESET_TTL_HOURS },
        },
        now,
      );
    },
    { behavior: 'immediate' },
  );
}

/** The account a reset token may still be used for, or null when it is unknown, used or expired. */
export function checkResetToken(db: Db, token: string, now = Date.now()): number | null {
  const row = db
    .select({ accountId: passwordResets.accountId })
    .from(passwordResets)
    .where(and(eq(passwordResets.tokenHash, hashToken(token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .get();
  return row?.accountId ?? null;
}

export type ResetResult = { ok: true; accountId: number } | { ok: false; reason: 'invalid_token' };

/**
 * Uses a reset token once: sets the new password and ends every session of the account, in one
 * transaction, so two tabs racing with the same link cannot both succeed.
 */
export function resetPassword(db: Db, mailer: Mailer, token: string, passwordHash: string, now = Date.now()): ResetResult {
  return db.transaction(
    (tx) => {
      const used = tx
        .update(passwordResets)
        .set({ usedAt: now })
        .where(and(eq(passwordResets.tokenHash, hashToken(token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
        .returning({ accountId: passwordResets.accountId })
        .get();
      if (!used) return { ok: false, reason: 'invalid_token' } as const;
      setPassword(tx, mailer, used.accountId, passwordHash, null, now);
      return { ok: true, accountId: used.accountId } as const;
    },
    { behavior: 'immediate' },
  );
}
