import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { simpleParser, type ParsedMail } from 'mailparser';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { applyMigrations, openDatabase, type Db } from '../../src/db/index.js';
import type { ScryptParams } from '../../src/domain/passwords.js';

// Same cheap settings as test/helper.ts (kept here so this folder does not depend on its changes).
const TEST_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1 };
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Phone-size viewport for every page; NARROW is the smallest width that must not scroll sideways. */
export const PHONE = { width: 360, height: 740 };
export const NARROW = 320;

/** Launches Debian's Chromium headless; closed when the test ends. */
export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  return browser;
}

// ---------------------------------------------------------------------------------------------
// SMTP

export interface Smtp {
  port: number;
  mails: ParsedMail[];
  /** Waits (bounded) for a received email that matches; fails the wait with what did arrive. */
  waitForMail(match: (mail: ParsedMail) => boolean, timeoutMs?: number): Promise<ParsedMail>;
}

/** A real SMTP server on 127.0.0.1 (no auth, no STARTTLS) that parses every email it receives. */
export async function startSmtp(t: Test): Promise<Smtp> {
  const mails: ParsedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          mails.push(mail);
          for (const wake of waiters) wake();
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.server.address() as AddressInfo).port;

  const waitForMail = (match: (mail: ParsedMail) => boolean, timeoutMs = 10_000) =>
    new Promise<ParsedMail>((resolve, reject) => {
      const check = () => {
        const found = mails.find(match);
        if (!found) return false;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        const got = mails.map((m) => `${addresses(m)}: ${m.subject}`).join('; ') || 'none';
        reject(new Error(`no matching email within ${timeoutMs} ms (received: ${got})`));
      }, timeoutMs);
      waiters.add(wake);
      check();
    });
  return { port, mails, waitForMail };
}

/** The recipients of a parsed email, as one string. */
export function addresses(mail: ParsedMail): string {
  const to = mail.to;
  if (!to) return '';
  return (Array.isArray(to) ? to : [to]).map((a) => a.text).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Server

export interface Server {
  app: FastifyInstance;
  db: Db;
  baseUrl: string;
  origin: string;
}

/** A port that was free a moment ago (BASE_URL must be known before the app is built). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Carnet itself, listening on 127.0.0.1, on a fresh database with no coop (so the first visit
 * shows /setup), sending its mail through the given SMTP port with the real outbox loop.
 */
export async function startServer(t: Test, smtpPort: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-browser-'));
  const db = openDatabase(join(dir, 'carnet.db'));
  applyMigrations(db);
  let app: FastifyInstance | undefined;
  t.teardown(async () => {
    // The app first: its close waits for the outbox pass in progress, which uses the database.
    await app?.close();
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The app's BASE_URL (used in emailed links) is fixed when it is built, so a port is chosen
  // first; if something takes it in between, build again on another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', BASE_URL: baseUrl, SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
    const built = await buildApp({
      config,
      db,
      scrypt: TEST_SCRYPT,
      logger: false,
      sendMail: true,
      rateLimits: { login: { max: 1000, timeWindow: 60_000 }, signup: { max: 1000, timeWindow: 60_000 }, reset: { max: 1000, timeWindow: 60_000 } },
    });
    try {
      await built.listen({ port, host: '127.0.0.1' });
      app = built;
      return { app, db, baseUrl, origin: new URL(baseUrl).origin };
    } catch (err) {
      await built.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Browser sessions with accessibility and layout checks

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/** A browser context on one server: one page, every request recorded, every page audited. */
export interface Session {
  context: BrowserContext;
  page: Page;
  js: boolean;
  /** Every URL the pages of this context asked for. */
  requests: string[];
  /** Paths of every page (full document or htmx-boosted swap) the context received. */
  pagesSeen: Set<string>;
  /** Paths that were audited with check(). */
  pagesChecked: Set<string>;
  /** Responses that no flow expects: 403 (e.g. a stale CSRF token) and 5xx. */
  failures: string[];
  /**
   * Audits the page as it is now: axe-core finds no serious or critical violation, and at 320 px
   * wide nothing scrolls sideways.
   */
  check(t: Test, label: string): Promise<void>;
}

/** Runs axe-core on a page that can run scripts, and returns its violations. */
async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate<AxeViolation[]>(
    `window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    })))`,
  );
}

/** Formats violations for a failure message: id, impact, help text and target selectors. */
function describe(violations: AxeViolation[]): string {
  return violations
    .map((v) => {
      const targets = v.nodes.map((n) => '    - ' + JSON.stringify(n.target) + (n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, ' ')})` : '')).join('\n');
      return `  ${v.id} [${v.impact}]: ${v.help} (${v.helpUrl})\n${targets}`;
    })
    .join('\n');
}

/**
 * Opens a phone-size context on the server, with JavaScript on or off. Scripts cannot run in a
 * no-JS page, not even axe (its timers never fire), so a no-JS page is audited by loading the
 * very same DOM, scripts removed, in a separate script-enabled auditor context.
 */
export async function openSession(t: Test, browser: Browser, server: Server, opts: { js: boolean; locale?: string }): Promise<Session> {
  const contextOptions = {
    viewport: PHONE,
    deviceScaleFactor: 2,
    locale: opts.locale ?? 'fr-FR',
    bypassCSP: true, // only so that axe-core can be injected; the app's CSP is checked elsewhere
  };
  const context = await browser.newContext({ ...contextOptions, javaScriptEnabled: opts.js });
  t.teardown(() => context.close());
  // Fail fast with Playwright's message rather than at tap's timeout when something never shows.
  context.setDefaultTimeout(10_000);
  const requests: string[] = [];
  const pagesSeen = new Set<string>();
  const pagesChecked = new Set<string>();
  const failures: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  context.on('response', (response) => {
    const request = response.request();
    const isPage = request.isNavigationRequest() || request.headers()['hx-boosted'] === 'true';
    const html = (response.headers()['content-type'] ?? '').startsWith('text/html');
    const redirect = response.status() >= 300 && response.status() < 400;
    if (isPage && html && !redirect) pagesSeen.add(new URL(response.url()).pathname);
    if (response.status() === 403 || response.status() >= 500) failures.push(`${response.status()} ${request.method()} ${response.url()}`);
  });
  const page = await context.newPage();

  let auditor: Page | undefined;
  const audit = async (): Promise<AxeViolation[]> => {
    if (opts.js) return runAxe(page);
    if (!auditor) {
      const auditContext = await browser.newContext({ ...contextOptions, javaScriptEnabled: true });
      t.teardown(() => auditContext.close());
      auditContext.on('request', (request) => requests.push(request.url()));
      auditor = await auditContext.newPage();
    }
    const url = page.url();
    const html = (await page.content()).replace(/<script\b[\s\S]*?<\/script>/gi, '');
    // Only the document comes from the snapshot; its stylesheets come from the server as usual.
    const serve = (route: Route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
    await auditor.route(url, serve);
    try {
      await auditor.goto(url);
    } finally {
      await auditor.unroute(url, serve);
    }
    return runAxe(auditor);
  };

  const check = async (t: Test, label: string) => {
    const path = new URL(page.url()).pathname;
    if (opts.js) {
      // htmx sends the token of the nearest hx-headers; a boosted swap leaves <body>'s attributes
      // as they were, so a token there would go stale at log in. All tokens on the page must agree.
      const tokens = await page.evaluate<string[]>(`[
        ...[...document.querySelectorAll('[hx-headers]')].map((el) => JSON.parse(el.getAttribute('hx-headers'))['X-CSRF-Token']),
        ...[...document.querySelectorAll('input[name="_csrf"]')].map((el) => el.value),
      ]`);
      t.equal(new Set(tokens).size <= 1, true, `${label} (${path}): htmx's CSRF header and the forms' tokens agree`, { tokens });
    }
    const violations = (await audit()).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (violations.length) t.fail(`${label} (${path}): serious or critical axe violations:\n${describe(violations)}`);
    else t.pass(`${label} (${path}): no serious or critical axe violation`);

    await page.setViewportSize({ width: NARROW, height: PHONE.height });
    try {
      const [scrollWidth, clientWidth, culprits] = await page.evaluate<[number, number, string[]]>(`(() => {
        const root = document.documentElement;
        const culprits = [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5)
          .slice(0, 5)
          .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
        return [root.scrollWidth, root.clientWidth, culprits];
      })()`);
      t.ok(scrollWidth <= clientWidth, `${label} (${path}): no horizontal scroll at ${NARROW} px (scrollWidth ${scrollWidth}, clientWidth ${clientWidth})`, {
        ...(scrollWidth > clientWidth ? { overflowing: culprits } : {}),
      });
    } finally {
      await page.setViewportSize(PHONE);
    }
    pagesChecked.add(path);
  };

  return { context, page, js: opts.js, requests, pagesSeen, pagesChecked, failures, check };
}

/** Asserts that every request went to the server under test, none failed, and every page was audited. */
export function assertSameOriginAndAudited(t: Test, session: Session, server: Server): void {
  // data: URLs (Pico's inline SVG icons) never leave the browser; everything else must be ours.
  const foreign = session.requests.filter((url) => !url.startsWith('data:') && new URL(url).origin !== server.origin);
  t.ok(session.requests.length > 0, 'requests were recorded');
  t.same(foreign, [], `no request to another host than ${server.origin}`);
  t.same(session.failures, [], 'no response was a 403 or a server error');
  const unchecked = [...session.pagesSeen].filter((path) => !session.pagesChecked.has(path));
  t.same(unchecked, [], 'every page received was checked with axe and at 320 px');
}
