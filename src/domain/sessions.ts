import { createHash, randomBytes } from 'node:crypto';
import { and, eq, lt, ne, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { perConnection } from '../db/prepared.js';
import { accountRoles, accounts, sessions, type Role } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';

export const ACCOUNT_SESSION_MS = 30 * 24 * 3600 * 1000;
export const VISITOR_SESSION_MS = 3600 * 1000;
// Refreshing last_seen_at on every request would make every page a write; once in a while is enough.
const TOUCH_EVERY_MS = 10 * 60 * 1000;

/** The logged-in person, as every route sees them. */
export interface SessionAccount {
  id: number;
  email: string;
  name: string;
  locale: Locale;
  status: 'pending' | 'active';
  roles: Role[];
}

/** A flash message: shown once, on the next page. */
export interface Flash {
  kind: 'success' | 'info' | 'error';
  key: string;
  params?: Record<string, string | number>;
}

/** What a session token resolves to. */
export interface SessionState {
  idHash: string;
  account: SessionAccount | null;
  flash: Flash | null;
}

/** A new random session token (what the cookie holds). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a token, as stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Creates a session row for a token; accountId null makes a short visitor session. */
export function createSession(db: Db | Tx, token: string, accountId: number | null, now = Date.now(), flash: Flash | null = null): string {
  const idHash = hashToken(token);
  db.insert(sessions)
    .values({
      idHash,
      accountId,
      flash: flash ? JSON.stringify(flash) : null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + (accountId === null ? VISITOR_SESSION_MS : ACCOUNT_SESSION_MS),
    })
    .onConflictDoUpdate({ target: sessions.idHash, set: { flash: flash ? JSON.stringify(flash) : null } })
    .run();
  return idHash;
}

/** The session queries, prepared once per connection. */
function sessionStatements(db: Db | Tx) {
  const byIdHash = eq(sessions.idHash, sql.placeholder('idHash'));
  return {
    find: db
      .select({
        idHash: sessions.idHash,
        flash: sessions.flash,
        lastSeenAt: sessions.lastSeenAt,
        expiresAt: sessions.expiresAt,
        accountId: accounts.id,
        email: accounts.email,
        name: accounts.name,
        locale: accounts.locale,
        status: accounts.status,
        roles: sql<string | null>`(select group_concat(${accountRoles.role}) from ${accountRoles} where ${accountRoles.accountId} = ${accounts.id})`,
      })
      .from(sessions)
      .leftJoin(accounts, eq(accounts.id, sessions.accountId))
      .where(byIdHash)
      .prepare(),
    touch: db
      .update(sessions)
      .set({ lastSeenAt: sql`${sql.placeholder('now')}`, expiresAt: sql`${sql.placeholder('expiresAt')}` })
      .where(byIdHash)
      .prepare(),
    setFlash: db
      .update(sessions)
      .set({ flash: sql`${sql.placeholder('flash')}` })
      .where(byIdHash)
      .prepare(),
  };
}

/** Looks a token up; expired sessions count as none. Keeps a busy session alive (sliding expiry). */
export function findSession(db: Db, token: string, now = Date.now()): SessionState | null {
  const idHash = hashToken(token);
  const statements = perConnection(db, sessionStatements);
  const row = statements.find.get({ idHash });
  if (!row || row.expiresAt <= now) return null;
  if (row.accountId !== null && now - row.lastSeenAt > TOUCH_EVERY_MS) {
    statements.touch.run({ idHash, now, expiresAt: now + ACCOUNT_SESSION_MS });
  }
  return {
    idHash,
    flash: row.flash ? (JSON.parse(row.flash) as Flash) : null,
    account:
      row.accountId === null
        ? null
        : {
            id: row.accountId,
            email: row.email!,
            name: row.name!,
            locale: row.locale!,
            status: row.status!,
            roles: (row.roles ? row.roles.split(',') : []).sort() as Role[],
          },
  };
}

/** Stores (or clears) the flash of a session. */
export function setFlash(db: Db, idHash: string, flash: Flash | null): void {
  perConnection(db, sessionStatements).setFlash.run({ idHash, flash: flash ? JSON.stringify(flash) : null });
}

/** Ends one session. */
export function deleteSession(db: Db | Tx, idHash: string): void {
  db.delete(sessions).where(eq(sessions.idHash, idHash)).run();
}

/** Ends every session of an account except one (log out of all other devices). */
export function deleteOtherSessions(db: Db | Tx, accountId: number, keepIdHash: string | null): number {
  const where = keepIdHash
    ? and(eq(sessions.accountId, accountId), ne(sessions.idHash, keepIdHash))
    : eq(sessions.accountId, accountId);
  return db.delete(sessions).where(where).run().changes;
}

/** How many live sessions an account has. */
export function countSessions(db: Db, accountId: number, now = Date.now()): number {
  return db
    .select({ n: sql<number>`count(*)` })
    .from(sessions)
    .where(and(eq(sessions.accountId, accountId), sql`${sessions.expiresAt} > ${now}`))
    .get()!.n;
}

/** Removes expired sessions; run now and then. */
export function purgeExpiredSessions(db: Db, now = Date.now()): number {
  return db.delete(sessions).where(lt(sessions.expiresAt, now)).run().changes;
}
