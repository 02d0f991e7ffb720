import { and, asc, desc, eq, inArray, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { accountRoles, accounts, ROLES, type Role } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';
import type { Mailer } from '../mail/mailer.js';
import { recordAudit, type AuditActor } from './audit.js';
import { getCoop } from './coop.js';
import { deleteOtherSessions } from './sessions.js';

export type Account = typeof accounts.$inferSelect;

/** The account with this (normalised) email, if any. */
export function findAccountByEmail(db: Db | Tx, email: string): Account | undefined {
  return db.select().from(accounts).where(eq(accounts.email, email)).get();
}

/** The account with this id, if any. */
export function findAccount(db: Db | Tx, id: number): Account | undefined {
  return db.select().from(accounts).where(eq(accounts.id, id)).get();
}

/** The roles an account holds, in a stable order. */
export function rolesOf(db: Db | Tx, accountId: number): Role[] {
  const held = new Set(
    db.select({ role: accountRoles.role }).from(accountRoles).where(eq(accountRoles.accountId, accountId)).all().map((r) => r.role),
  );
  return ROLES.filter((r) => held.has(r));
}

/** What sign-up asks for, already validated. */
export interface SignUpInput {
  name: string;
  email: string;
  phone?: string | undefined;
  passwordHash: string;
  locale: Locale;
  /** Email me when a sale opens (unticked unless asked). */
  notifyCycleOpen?: boolean | undefined;
}

export type SignUpResult = { ok: true; account: Account } | { ok: false; reason: 'email_taken' };

/**
 * Creates a member account. When the coop requires approval the account waits (status pending)
 * and the admins are told by email; otherwise the member is welcomed by email.
 */
export function signUp(db: Db, mailer: Mailer, input: SignUpInput, now = Date.now()): SignUpResult {
  return db.transaction(
    (tx) => {
      if (findAccountByEmail(tx, input.email)) return { ok: false, reason: 'email_taken' } as const;
      const pending = getCoop(tx)?.requireApproval ?? false;
      const account = tx
        .insert(accounts)
        .values({
          email: input.email,
          name: input.name,
          phone: input.phone ?? null,
          passwordHash: input.passwordHash,
          locale: input.locale,
          status: pending ? 'pending' : 'active',
          notifyCycleOpen: input.notifyCycleOpen ?? false,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      tx.insert(accountRoles).values({ accountId: account.id, role: 'member', grantedAt: now }).run();
      const to = { to: account.email, toName: account.name, locale: account.locale };
      if (pending) {
        mailer.queue(tx, { ...to, template: 'pending' }, now);
        for (const admin of listAdmins(tx)) {
          mailer.queue(
            tx,
            {
              to: admin.email,
              toName: admin.name,
              locale: admin.locale,
              template: 'adminPending',
              data: { approvalsUrl: mailer.url('/admin/approvals') },
              params: { name: account.name, email: account.email },
            },
            now,
          );
        }
      } else {
        mailer.queue(tx, { ...to, template: 'welcome', data: { loginUrl: mailer.url('/login') } }, now);
      }
      return { ok: true, account } as const;
    },
    { behavior: 'immediate' },
  );
}

/** Every admin account, to notify them. */
export function listAdmins(db: Db | Tx): Account[] {
  return db
    .select({ account: accounts })
    .from(accounts)
    .innerJoin(accountRoles, and(eq(accountRoles.accountId, accounts.id), eq(accountRoles.role, 'admin')))
    .orderBy(asc(accounts.id))
    .all()
    .map((r) => r.account);
}

/** The details a person edits on their account page. */
export interface ProfileInput {
  name: string;
  email: string;
  phone?: string | undefined;
  locale: Locale;
  /** Email me when a sale opens; left as it is when undefined. */
  notifyCycleOpen?: boolean | undefined;
}

/** Saves a person's own details; the email must stay unique. */
export function updateProfile(db: Db, accountId: number, input: ProfileInput, now = Date.now()): { ok: true } | { ok: false; reason: 'email_taken' } {
  return db.transaction(
    (tx) => {
      const other = findAccountByEmail(tx, input.email);
      if (other && other.id !== accountId) return { ok: false, reason: 'email_taken' } as const;
      tx.update(accounts)
        .set({ name: input.name, email: input.email, phone: input.phone ?? null, locale: input.locale, notifyCycleOpen: input.notifyCycleOpen, updatedAt: now })
        .where(eq(accounts.id, accountId))
        .run();
      return { ok: true } as const;
    },
    { behavior: 'immediate' },
  );
}

/** Changes the language an account reads Carnet and its emails in. */
export function setLocale(db: Db, accountId: number, locale: Locale, now = Date.now()): void {
  db.update(accounts).set({ locale, updatedAt: now }).where(eq(accounts.id, accountId)).run();
}

/**
 * Sets a new password, logs out every other session of the account (a stolen session must not
 * survive a password change) and tells the owner by email.
 */
export function setPassword(db: Db | Tx, mailer: Mailer, accountId: number, passwordHash: string, keepSessionHash: string | null, now = Date.now()): void {
  // Inside a caller's transaction this nests as a savepoint; alone it is its own transaction.
  db.transaction((tx) => {
    const account = tx
      .update(accounts)
      .set({ passwordHash, updatedAt: now })
      .where(eq(accounts.id, accountId))
      .returning()
      .get();
    if (!account) return;
    deleteOtherSessions(tx, accountId, keepSessionHash);
    mailer.queue(tx, { to: account.email, toName: account.name, locale: account.locale, template: 'passwordChanged', data: { forgotUrl: mailer.url('/password/forgot') } }, now);
  });
}

/** One row of the admin's account list. */
export interface AccountRow {
  id: number;
  name: string;
  email: string;
  phone: string | null;
  status: 'pending' | 'active';
  createdAt: number;
  roles: Role[];
}

/** A page of accounts matching a search on name, email or phone, newest first. */
export function listAccounts(db: Db, opts: { q?: string; page: number; perPage: number }): { rows: AccountRow[]; total: number } {
  const q = opts.q?.trim();
  const pattern = q ? `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%` : undefined;
  const where = pattern
    ? or(
        sql`${accounts.name} like ${pattern} escape '\\'`,
        sql`${accounts.email} like ${pattern.toLowerCase()} escape '\\'`,
        sql`${accounts.phone} like ${pattern} escape '\\'`,
      )
    : undefined;
  const total = db.select({ n: sql<number>`count(*)` }).from(accounts).where(where).get()!.n;
  const rows = db
    .select({
      id: accounts.id,
      name: accounts.name,
      email: accounts.email,
      phone: accounts.phone,
      status: accounts.status,
      createdAt: accounts.createdAt,
      roles: sql<string | null>`(select group_concat(${accountRoles.role}) from ${accountRoles} where ${accountRoles.accountId} = ${accounts.id})`,
    })
    .from(accounts)
    .where(where)
    .orderBy(desc(accounts.createdAt), desc(accounts.id))
    .limit(opts.perPage)
    .offset((opts.page - 1) * opts.perPage)
    .all();
  return { total, rows: rows.map((r) => ({ ...r, roles: ROLES.filter((role) => r.roles?.split(',').includes(role)) })) };
}

export type SetRolesResult = { ok: true } | { ok: false; reason: 'not_found' | 'last_admin' };

/**
 * Replaces the roles of an account. The last admin cannot lose the admin role. With an actor (an
 * admin), the roles granted and revoked are recorded in the audit log in the same transaction.
 */
export function setRoles(db: Db, accountId: number, wanted: Role[], now = Date.now(), actor?: AuditActor): SetRolesResult {
  const roles = [...new Set(wanted)];
  return db.transaction(
    (tx) => {
      if (!findAccount(tx, accountId)) return { ok: false, reason: 'not_found' } as const;
      const current = rolesOf(tx, accountId);
      if (current.includes('admin') && !roles.includes('admin')) {
        const admins = tx.select({ n: sql<number>`count(*)` }).from(accountRoles).where(eq(accountRoles.role, 'admin')).get()!.n;
        if (admins <= 1) return { ok: false, reason: 'last_admin' } as const;
      }
      const removed = current.filter((r) => !roles.includes(r));
      if (removed.length) {
        tx.delete(accountRoles).where(and(eq(accountRoles.accountId, accountId), inArray(accountRoles.role, removed))).run();
      }
      const added = roles.filter((r) => !current.includes(r));
      if (added.length) tx.insert(accountRoles).values(added.map((role) => ({ accountId, role, grantedAt: now }))).run();
      // In the canonical order, whatever the order the form sent them in.
      if (actor && added.length) recordAudit(tx, actor, 'account.role_granted', { type: 'account', id: accountId }, { roles: ROLES.filter((r) => added.includes(r)) }, now);
      if (actor && removed.length) recordAudit(tx, actor, 'account.role_revoked', { type: 'account', id: accountId }, { roles: ROLES.filter((r) => removed.includes(r)) }, now);
      return { ok: true } as const;
    },
    { behavior: 'immediate' },
  );
}

/** How many sign-ups wait for an admin. */
export function countPending(db: Db): number {
  return db.select({ n: sql<number>`count(*)` }).from(accounts).where(eq(accounts.status, 'pending')).get()!.n;
}

/** Sign-ups waiting for an admin, oldest first. */
export function listPending(db: Db): Account[] {
  return db.select().from(accounts).where(eq(accounts.status, 'pending')).orderBy(asc(accounts.createdAt), asc(accounts.id)).all();
}

export type ApprovalResult = { ok: true; account: Account } | { ok: false; reason: 'not_found' };

/** Approves a pending sign-up and tells the person by email; with an actor, records it in the audit log. */
export function approveAccount(db: Db, mailer: Mailer, accountId: number, now = Date.now(), actor?: AuditActor): ApprovalResult {
  return db.transaction(
    (tx) => {
      const account = tx
        .update(accounts)
        .set({ status: 'active', updatedAt: now })
        .where(and(eq(accounts.id, accountId), eq(accounts.status, 'pending')))
        .returning()
        .get();
      if (!account) return { ok: false, reason: 'not_found' } as const;
      mailer.queue(tx, { to: account.email, toName: account.name, locale: account.locale, template: 'approved', data: { loginUrl: mailer.url('/login') } }, now);
      if (actor) recordAudit(tx, actor, 'account.approved', { type: 'account', id: accountId }, {}, now);
      return { ok: true, account } as const;
    },
    { behavior: 'immediate' },
  );
}

/**
 * Declines a pending sign-up: the account and its sessions are deleted, the person is told. With an
 * actor, records it in the audit log (by id only: the account is gone).
 */
export function rejectAccount(db: Db, mailer: Mailer, accountId: number, now = Date.now(), actor?: AuditActor): ApprovalResult {
  return db.transaction(
    (tx) => {
      const account = tx.delete(accounts).where(and(eq(accounts.id, accountId), eq(accounts.status, 'pending'))).returning().get();
      if (!account) return { ok: false, reason: 'not_found' } as const;
      mailer.queue(tx, { to: account.email, toName: account.name, locale: account.locale, template: 'rejected' }, now);
      if (actor) recordAudit(tx, actor, 'account.declined', { type: 'account', id: accountId }, {}, now);
      return { ok: true, account } as const;
    },
    { behavior: 'immediate' },
  );
}
