import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { buildApp, type AppOptions } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { applyMigrations, openDatabase, type Db } from '../src/db/index.js';
import { setupCoop } from '../src/domain/coop.js';
import { hashPassword, type ScryptParams } from '../src/domain/passwords.js';
import { accountRoles, accounts, type Role } from '../src/db/schema/index.js';

/** Cheap scrypt settings so that tests which create many accounts stay fast. */
export const TEST_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1 };
export const PASSWORD = 'correct horse battery';

/** A fresh, migrated database in its own temporary folder, removed when the test ends. */
export function testDb(t: Test): { db: Db; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-test-'));
  const db = openDatabase(join(dir, 'carnet.db'));
  applyMigrations(db);
  t.teardown(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, dir };
}

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  config: Config;
  dir: string;
}

/** Builds the app on a fresh database (no mail loop unless asked); closed when the test ends. */
export async function build(t: Test, opts: Partial<AppOptions> & { env?: NodeJS.ProcessEnv; setup?: boolean } = {}): Promise<TestApp> {
  const { db, dir } = testDb(t);
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', BASE_URL: 'http://carnet.test', ...opts.env });
  const app = await buildApp({
    config,
    db,
    scrypt: TEST_SCRYPT,
    sendMail: false,
    scheduler: false,
    logger: false,
    rateLimits: { login: { max: 1000, timeWindow: 60_000 }, signup: { max: 1000, timeWindow: 60_000 }, reset: { max: 1000, timeWindow: 60_000 } },
    ...opts,
  });
  t.teardown(() => app.close());
  if (opts.setup !== false) await seedCoop(db);
  await app.ready();
  return { app, db, config, dir };
}

/** Runs first-run setup directly: a coop and an admin (admin@carnet.test). */
export async function seedCoop(db: Db, overrides: { requireApproval?: boolean } = {}): Promise<void> {
  const result = setupCoop(db, {
    coopName: 'Coop Test',
    contactEmail: 'contact@carnet.test',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    adminName: 'Ada Admin',
    adminEmail: 'admin@carnet.test',
    adminLocale: 'fr',
    passwordHash: await hashPassword(PASSWORD, TEST_SCRYPT),
  });
  if (!result.ok) throw new Error('seedCoop: ' + result.reason);
  if (overrides.requireApproval) db.$client.prepare('update coop set require_approval = 1').run();
}

/** Creates an account directly in the database with the given roles; returns its id. */
export async function createAccount(
  db: Db,
  fields: { email: string; name?: string; roles?: Role[]; locale?: 'fr' | 'en'; status?: 'pending' | 'active'; phone?: string },
): Promise<number> {
  const now = Date.now();
  const { id } = db
    .insert(accounts)
    .values({
      email: fields.email,
      name: fields.name ?? fields.email.split('@')[0]!,
      phone: fields.phone ?? null,
      passwordHash: await hashPassword(PASSWORD, TEST_SCRYPT),
      locale: fields.locale ?? 'fr',
      status: fields.status ?? 'active',
      createdAt: now,
      updatedAt: now,
    })
    .returning({ id: accounts.id })
    .get();
  const roles = fields.roles ?? ['member'];
  if (roles.length) db.insert(accountRoles).values(roles.map((role) => ({ accountId: id, role, grantedAt: now }))).run();
  return id;
}

/**
 * A cookie-keeping client over app.inject, like a browser without JavaScript: it keeps the
 * session cookie, reads the CSRF token from the last page, and can submit forms.
 */
export class Client {
  cookies = new Map<string, string>();
  csrf = '';
  lastBody = '';

  constructor(
    readonly app: FastifyInstance,
    readonly headers: Record<string, string> = {},
  ) {}

  private remember(res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const expired = c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now()) || c.value === '';
      if (expired) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    if (String(res.headers['content-type'] ?? '').startsWith('text/html')) {
      this.lastBody = res.body;
      const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
      if (m) this.csrf = m[1]!;
    }
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  /** GET a URL. */
  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({ method: 'GET', url, headers: { ...this.headers, ...this.cookieHeader(), ...headers } });
    this.remember(res);
    return res;
  }

  /** POST a form, adding the CSRF token from the last page unless the form sets _csrf itself. */
  async post(url: string, form: Record<string, string | string[]> = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const params = new URLSearchParams();
    if (!('_csrf' in form)) params.append('_csrf', this.csrf);
    for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    const res = await this.app.inject({
      method: 'POST',
      url,
      payload: params.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.headers, ...this.cookieHeader(), ...headers },
    });
    this.remember(res);
    return res;
  }

  /** Logs in through the login form; throws unless it succeeds. */
  async login(email: string, password = PASSWORD): Promise<this> {
    await this.get('/login');
    const res = await this.post('/login', { email, password });
    if (res.statusCode !== 303) throw new Error(`login of ${email} failed with ${res.statusCode}`);
    // Logging in rotates the session, so the next form needs the new page's CSRF token.
    await this.get(String(res.headers.location));
    return this;
  }
}

/** A client that is logged in as the given account. */
export async function loggedIn(app: FastifyInstance, email: string, headers: Record<string, string> = {}): Promise<Client> {
  return new Client(app, headers).login(email);
}

/** Collapses whitespace in an HTML page's text, for simple "page says" assertions. */
export function text(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}
