import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { Client, createAccount, loggedIn, PASSWORD } from '../helper.js';
import { outboxEmails, type OutboxEmail } from '../support/outbox.js';

/*
 * Extra helpers for the route tests: database snapshots (to prove that a refused request changed
 * nothing), row counts, the outbox, and a cast of logged-in people.
 */

/** Every application table, read in a stable order (migrations bookkeeping excluded). */
export function tables(db: Db): string[] {
  return (
    db.$client
      .prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '%drizzle%' order by name`)
      .all() as Array<{ name: string }>
  ).map((r) => r.name);
}

/** The whole content of the database as JSON, to compare before and after a request. */
export function snapshot(db: Db): string {
  const out: Record<string, unknown[]> = {};
  for (const name of tables(db)) out[name] = db.$client.prepare(`select * from "${name}" order by rowid`).all();
  return JSON.stringify(out);
}

/** Asserts that running fn changes no row of any table. */
export async function unchanged<T>(t: Test, db: Db, fn: () => Promise<T>, what = 'the database is unchanged'): Promise<T> {
  const before = snapshot(db);
  const result = await fn();
  t.equal(snapshot(db), before, what);
  return result;
}

/** Number of rows in a table, optionally with a where clause. */
export function count(db: Db, table: string, where = '1 = 1', ...params: unknown[]): number {
  return (db.$client.prepare(`select count(*) as n from "${table}" where ${where}`).get(...params) as { n: number }).n;
}

/** The outbox rows, oldest first, optionally only those sent to one address, rendered as sent. */
export function outboxFor(db: Db, to?: string): OutboxEmail[] {
  return outboxEmails(db, to);
}

/** The id of an account by email (throws when there is none). */
export function accountId(db: Db, email: string): number {
  const row = db.$client.prepare('select id from accounts where email = ?').get(email) as { id: number } | undefined;
  if (!row) throw new Error('no account ' + email);
  return row.id;
}

/** One account's row as stored. */
export function accountRow(db: Db, email: string): Record<string, unknown> | undefined {
  return db.$client.prepare('select * from accounts where email = ?').get(email) as Record<string, unknown> | undefined;
}

/** The roles an account holds, sorted. */
export function rolesOf(db: Db, id: number): string[] {
  return (db.$client.prepare('select role from account_roles where account_id = ? order by role').all(id) as Array<{ role: string }>).map((r) => r.role);
}

export const ACTORS = ['anonymous', 'pending', 'member', 'producer', 'admin'] as const;
export type Actor = (typeof ACTORS)[number];

export const EMAILS: Record<Exclude<Actor, 'anonymous'>, string> = {
  pending: 'pending@carnet.test',
  member: 'member@carnet.test',
  producer: 'producer@carnet.test',
  admin: 'admin@carnet.test',
};

/** Creates the pending member, member and producer accounts (the admin comes from seedCoop). */
export async function createCast(db: Db): Promise<Record<Exclude<Actor, 'anonymous'>, number>> {
  return {
    pending: await createAccount(db, { email: EMAILS.pending, name: 'Pat Pending', status: 'pending' }),
    member: await createAccount(db, { email: EMAILS.member, name: 'Mia Member' }),
    producer: await createAccount(db, { email: EMAILS.producer, name: 'Paul Producer', roles: ['producer', 'member'] }),
    admin: accountId(db, EMAILS.admin),
  };
}

/** A client for one actor: a visitor who has opened the home page, or a logged-in account. */
export async function clientFor(app: FastifyInstance, actor: Actor, headers: Record<string, string> = {}): Promise<Client> {
  if (actor === 'anonymous') {
    const c = new Client(app, headers);
    await c.get('/');
    return c;
  }
  const c = await loggedIn(app, EMAILS[actor], headers);
  // Logging in rotates the session, so the form token must come from a page seen after it.
  await c.get('/');
  return c;
}

/** The value of a Set-Cookie header for one cookie name, if the response sets it. */
export function setCookie(res: LightMyRequestResponse, name: string): string | undefined {
  const raw = res.headers['set-cookie'];
  const all = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return all.find((c) => c.startsWith(name + '='));
}

/** The session cookie value a response sets, if any. */
export function sessionCookieValue(res: LightMyRequestResponse): string | undefined {
  return (res.cookies as Array<{ name: string; value: string }>).find((c) => c.name === 'carnet_session')?.value;
}

/** A first reset link read from the newest password-reset email in the outbox. */
export function resetLinkFrom(email: OutboxEmail): string {
  const m = /https?:\/\/[^\s]+(\/password\/reset\/[A-Za-z0-9_-]+)/.exec(email.text_body);
  if (!m) throw new Error('no reset link in: ' + email.text_body);
  return m[1]!;
}

/** Things that must never be shown to a visitor: stack traces and server file paths. */
export const LEAKS = [/at \S+ \(/, /node_modules/, /\/work\//, /\.ts:\d+/, /\.js:\d+/, /Error:/, /SqliteError/];

export { PASSWORD };

/** What Eta's <%= %> makes of a value. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export const HOSTILE = {
  script: '<script>alert(1)</script>',
  attr: '"><img src=x onerror=alert(1)>',
  sql: "'; DROP TABLE accounts; --",
  unicode: 'Zoë Ñandú',
  control: 'Ana\u0007Bob',
  newline: 'Ana\nBob',
  nul: 'Ana\u0000Bob',
} as const;

/** A form value that must be refused, with the field it is about and the message expected. */
export interface BadInput {
  label: string;
  form: Record<string, string | string[]>;
  /** The translated message expected on the page (already in the client's language). */
  message: string;
  /** A submitted value that must come back escaped (and never raw). */
  echo?: string;
}

/**
 * Posts a bad form and checks the answer: 422, the message on the page, nothing stored, the value
 * echoed back escaped, no raw markup, and no password echoed.
 */
export async function expectRejected(t: Test, db: Db, c: Client, url: string, bad: BadInput, refreshFrom?: string): Promise<LightMyRequestResponse> {
  if (refreshFrom) await c.get(refreshFrom);
  const before = snapshot(db);
  const res = await c.post(url, bad.form);
  t.equal(res.statusCode, 422, `${bad.label}: 422`);
  t.equal(snapshot(db), before, `${bad.label}: nothing stored`);
  t.ok(decode(res.body).includes(bad.message), `${bad.label}: says "${bad.message}"`);
  t.match(res.headers['content-type'], /^text\/html/, `${bad.label}: an HTML page`);
  if (bad.echo !== undefined) {
    t.ok(res.body.includes(escapeHtml(bad.echo)), `${bad.label}: the value is echoed back, escaped`);
  }
  for (const raw of ['<script>alert(1)</script>', '<img src=x']) t.notOk(res.body.includes(raw), `${bad.label}: no raw ${raw}`);
  for (const [k, v] of Object.entries(bad.form)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (/password/i.test(k) && one.length >= 4) t.notOk(res.body.includes(escapeHtml(one)) || res.body.includes(one), `${bad.label}: ${k} is never echoed`);
    }
  }
  return res;
}

/** The text of a page with the entities Eta writes turned back into characters. */
export function decode(html: string): string {
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
