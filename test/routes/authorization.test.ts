import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Db } from '../../src/db/index.js';
import { requestPasswordReset } from '../../src/domain/password-reset.js';
import { build, createAccount, loggedIn, text } from '../helper.js';
import {
  ACTORS,
  accountRow,
  clientFor,
  count,
  createCast,
  EMAILS,
  outboxFor,
  PASSWORD,
  resetLinkFrom,
  rolesOf,
  snapshot,
  type Actor,
} from './route-helper.js';

/*
 * The authorization matrix: every route, as a visitor, a pending member, a member, a producer and
 * an admin. Refused POSTs must leave every table exactly as it was.
 */

interface Ctx {
  app: FastifyInstance;
  db: Db;
  ids: Record<Exclude<Actor, 'anonymous'>, number>;
  applicant: number;
  failedEmail: number;
}

interface Expected {
  status: number;
  location?: string;
}

interface RouteCase {
  method: 'GET' | 'POST';
  path: string;
  url?: (ctx: Ctx, actor: Actor) => string | Promise<string>;
  form?: (ctx: Ctx, actor: Actor) => Record<string, string | string[]>;
  expect: (actor: Actor, ctx: Ctx) => Expected;
  /** Checks the effect of an allowed request. */
  after?: (t: Test, ctx: Ctx, actor: Actor, res: LightMyRequestResponse) => void;
}

const everyone = (status: number, location?: string) => () => ({ status, ...(location ? { location } : {}) });
const loginFor = (url: string) => '/login?next=' + encodeURIComponent(url);

/** Pages for any logged-in account: a visitor is sent to log in, with the way back. */
const accountPage = (url: string) => (actor: Actor) => (actor === 'anonymous' ? { status: 303, location: loginFor(url) } : { status: 200 });
/** Admin pages: a visitor logs in first, other accounts are refused. */
const adminPage = (url: string) => (actor: Actor) =>
  actor === 'anonymous' ? { status: 303, location: loginFor(url) } : actor === 'admin' ? { status: 200 } : { status: 403 };
/** Admin actions: only an admin gets through; everyone else gets 403. */
const adminAction = (location: string | ((ctx: Ctx) => string)) => (actor: Actor, ctx: Ctx) =>
  actor === 'admin' ? { status: 303, location: typeof location === 'string' ? location : location(ctx) } : { status: 403 };
/** Account actions: any logged-in account; a visitor gets 403 (no redirect for a POST). */
const accountAction = (location: string) => (actor: Actor) => (actor === 'anonymous' ? { status: 403 } : { status: 303, location });

const loggedInGoHome = (actor: Actor) => (actor === 'anonymous' ? { status: 200 } : { status: 303, location: '/' });

const ROUTES: RouteCase[] = [
  { method: 'GET', path: '/', expect: everyone(200) },
  {
    method: 'GET',
    path: '/healthz',
    expect: everyone(200),
    after: (t, _c, _a, res) => t.same(res.json(), { status: 'ok', database: 'ok' }),
  },
  {
    method: 'POST',
    path: '/lang',
    form: () => ({ locale: 'en', next: '/account' }),
    expect: everyone(303, '/account'),
    after: (t, ctx, actor) => {
      if (actor !== 'anonymous') t.equal(accountRow(ctx.db, EMAILS[actor])!.locale, 'en', 'the account remembers the language');
    },
  },
  { method: 'GET', path: '/setup', expect: everyone(404) },
  {
    method: 'POST',
    path: '/setup',
    form: () => ({
      coopName: 'Takeover',
      contactEmail: 'evil@example.org',
      defaultLocale: 'en',
      timeZone: 'Europe/Paris',
      adminName: 'Evil',
      adminEmail: 'evil@example.org',
      password: PASSWORD,
      passwordConfirm: PASSWORD,
    }),
    expect: everyone(404),
  },
  { method: 'GET', path: '/signup', expect: loggedInGoHome },
  {
    method: 'POST',
    path: '/signup',
    form: (_c, actor) => ({ name: 'New ' + actor, email: `new-${actor}@carnet.test`, password: PASSWORD, passwordConfirm: PASSWORD }),
    expect: everyone(303, '/'),
    // A logged-in person (double submit, second tab) is sent home and no second account is made.
    after: (t, ctx, actor) =>
      actor === 'anonymous'
        ? t.ok(accountRow(ctx.db, `new-${actor}@carnet.test`), 'the account is created')
        : t.notOk(accountRow(ctx.db, `new-${actor}@carnet.test`), 'no account is created while logged in'),
  },
  { method: 'GET', path: '/login', expect: loggedInGoHome },
  {
    method: 'POST',
    path: '/login',
    form: (_c, actor) => ({ email: actor === 'anonymous' ? EMAILS.member : EMAILS[actor], password: PASSWORD }),
    expect: everyone(303, '/'),
  },
  {
    method: 'POST',
    path: '/logout',
    expect: everyone(303, '/'),
    after: (t, ctx, actor) => {
      if (actor !== 'anonymous') t.equal(count(ctx.db, 'sessions', 'account_id = ?', ctx.ids[actor]), 0, 'the session row is gone');
    },
  },
  { method: 'GET', path: '/password/forgot', expect: everyone(200) },
  {
    method: 'POST',
    path: '/password/forgot',
    form: () => ({ email: EMAILS.member }),
    expect: everyone(200),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Consultez vos emails'),
  },
  {
    method: 'GET',
    path: '/password/reset/:token',
    url: (ctx) => {
      requestPasswordReset(ctx.db, ctx.app.mailer, EMAILS.member);
      return resetLinkFrom(outboxFor(ctx.db, EMAILS.member).at(-1)!);
    },
    expect: everyone(200),
  },
  {
    method: 'POST',
    path: '/password/reset/:token',
    url: (ctx) => {
      requestPasswordReset(ctx.db, ctx.app.mailer, 'forgetful@carnet.test');
      return resetLinkFrom(outboxFor(ctx.db, 'forgetful@carnet.test').at(-1)!);
    },
    form: () => ({ password: 'a brand new password', passwordConfirm: 'a brand new password' }),
    expect: everyone(303, '/'),
    after: (t, ctx) => t.equal(count(ctx.db, 'password_resets', 'used_at is null'), 0, 'the link is used up'),
  },
  { method: 'GET', path: '/account', expect: accountPage('/account') },
  {
    method: 'POST',
    path: '/account/profile',
    form: (_c, actor) => ({ name: 'Renamed ' + actor, email: actor === 'anonymous' ? EMAILS.member : EMAILS[actor], phone: '', locale: 'fr' }),
    expect: accountAction('/account'),
    after: (t, ctx, actor) => t.equal(accountRow(ctx.db, EMAILS[actor as Exclude<Actor, 'anonymous'>])!.name, 'Renamed ' + actor),
  },
  {
    method: 'POST',
    path: '/account/password',
    form: () => ({ currentPassword: PASSWORD, password: 'another long password', passwordConfirm: 'another long password' }),
    expect: accountAction('/account'),
    after: (t, ctx, actor) => t.equal(outboxFor(ctx.db, EMAILS[actor as Exclude<Actor, 'anonymous'>]).length, 1, 'a "password changed" email'),
  },
  { method: 'POST', path: '/account/sessions/revoke', expect: accountAction('/account') },
  { method: 'GET', path: '/admin', expect: adminPage('/admin') },
  { method: 'GET', path: '/admin/accounts', expect: adminPage('/admin/accounts') },
  {
    method: 'GET',
    path: '/admin/accounts/:id',
    url: (ctx) => `/admin/accounts/${ctx.ids.member}`,
    expect: (actor, ctx) => adminPage(`/admin/accounts/${ctx.ids.member}`)(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Mia Member'),
  },
  {
    method: 'POST',
    path: '/admin/accounts/:id/roles',
    url: (ctx) => `/admin/accounts/${ctx.ids.member}/roles`,
    form: () => ({ roles: ['producer', 'member'] }),
    expect: adminAction((ctx) => `/admin/accounts/${ctx.ids.member}`),
    after: (t, ctx) => t.same(rolesOf(ctx.db, ctx.ids.member), ['member', 'producer']),
  },
  { method: 'GET', path: '/admin/approvals', expect: adminPage('/admin/approvals') },
  {
    method: 'POST',
    path: '/admin/approvals/:id/approve',
    url: (ctx) => `/admin/approvals/${ctx.applicant}/approve`,
    expect: adminAction('/admin/approvals'),
    after: (t, ctx) => t.equal(accountRow(ctx.db, 'applicant@carnet.test')!.status, 'active'),
  },
  {
    method: 'POST',
    path: '/admin/approvals/:id/reject',
    url: (ctx) => `/admin/approvals/${ctx.applicant}/reject`,
    expect: adminAction('/admin/approvals'),
    after: (t, ctx) => t.equal(accountRow(ctx.db, 'applicant@carnet.test'), undefined),
  },
  { method: 'GET', path: '/admin/settings', expect: adminPage('/admin/settings') },
  {
    method: 'POST',
    path: '/admin/settings',
    form: () => ({ name: 'Coop Renamed', contactEmail: 'hello@carnet.test', defaultLocale: 'en', timeZone: 'Europe/Brussels', requireApproval: 'on' }),
    expect: adminAction('/admin/settings'),
    after: (t, ctx) =>
      t.match(ctx.db.$client.prepare('select * from coop').get(), { name: 'Coop Renamed', default_locale: 'en', time_zone: 'Europe/Brussels', require_approval: 1 }),
  },
  { method: 'GET', path: '/admin/outbox', expect: adminPage('/admin/outbox') },
  {
    method: 'POST',
    path: '/admin/outbox/test',
    form: () => ({ to: 'someone@example.org' }),
    expect: adminAction('/admin/outbox'),
    after: (t, ctx) => t.equal(outboxFor(ctx.db, 'someone@example.org').length, 1),
  },
  {
    method: 'POST',
    path: '/admin/outbox/:id/retry',
    url: (ctx) => `/admin/outbox/${ctx.failedEmail}/retry`,
    expect: adminAction('/admin/outbox'),
    after: (t, ctx) => t.equal(outboxFor(ctx.db, 'failed@example.org')[0]!.status, 'pending'),
  },
];

async function setUp(t: Test): Promise<Ctx> {
  const { app, db } = await build(t);
  const ids = await createCast(db);
  const applicant = await createAccount(db, { email: 'applicant@carnet.test', name: 'Alex Applicant', status: 'pending' });
  await createAccount(db, { email: 'forgetful@carnet.test', name: 'Fred Forgetful' });
  const failedEmail = app.mailer.queue(db, { to: 'failed@example.org', locale: 'fr', template: 'test' });
  db.$client.prepare("update outbox set status = 'failed', attempts = 5 where id = ?").run(failedEmail);
  return { app, db, ids, applicant, failedEmail };
}

t.test('the matrix covers every route in src/routes', async (t) => {
  const root = fileURLToPath(new URL('../../src/routes', import.meta.url));
  const declared = new Set<string>();
  for (const dir of readdirSync(root, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    const source = readFileSync(join(root, dir.name, 'index.ts'), 'utf8');
    for (const m of source.matchAll(/app\.(get|post|put|patch|delete)\(\s*'([^']+)'/g)) declared.add(`${m[1]!.toUpperCase()} ${m[2]}`);
  }
  t.ok(declared.size >= 25, `found ${declared.size} routes`);
  t.same([...declared].sort(), ROUTES.map((r) => `${r.method} ${r.path}`).sort(), 'a new route needs a row in this matrix');
});

for (const route of ROUTES) {
  t.test(`${route.method} ${route.path}`, async (t) => {
    const ctx = await setUp(t);
    for (const actor of ACTORS) {
      const c = await clientFor(ctx.app, actor);
      const url = route.url ? await route.url(ctx, actor) : route.path;
      const want = route.expect(actor, ctx);
      const before = snapshot(ctx.db);
      const res = route.method === 'GET' ? await c.get(url) : await c.post(url, route.form?.(ctx, actor) ?? {});
      t.equal(res.statusCode, want.status, `${actor}: status`);
      if (want.location) t.equal(res.headers.location, want.location, `${actor}: redirect`);
      if (route.method === 'POST' && want.status >= 400) t.equal(snapshot(ctx.db), before, `${actor}: refused, nothing changed`);
      if (want.status === 403) t.match(text(res.body), 'Accès refusé', `${actor}: the 403 page`);
      if (want.status < 400 && !(route.method === 'GET' && want.status === 303) && route.after) route.after(t, ctx, actor, res);
    }
  });
}

t.test('a visitor sent to log in comes back to the page they asked for', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const c = await clientFor(app, 'anonymous', { 'accept-language': 'en' });
  let res = await c.get('/admin/accounts?q=mia');
  t.equal(res.headers.location, '/login?next=' + encodeURIComponent('/admin/accounts?q=mia'));
  res = await c.get(res.headers.location as string);
  t.match(text(res.body), 'Please log in to see this page.');
  res = await c.post('/login', { email: EMAILS.admin, password: PASSWORD, next: '/admin/accounts?q=mia' });
  t.equal(res.headers.location, '/admin/accounts?q=mia');
  res = await c.get('/admin/accounts?q=mia');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Mia Member');
});

t.test('member B cannot change member A’s data', async (t) => {
  const { app, db } = await build(t);
  const a = await createAccount(db, { email: 'ana@carnet.test', name: 'Ana' });
  await createAccount(db, { email: 'bob@carnet.test', name: 'Bob' });
  const anaClient = await loggedIn(app, 'ana@carnet.test');
  const bob = await loggedIn(app, 'bob@carnet.test');
  await bob.get('/account');
  const anaBefore = accountRow(db, 'ana@carnet.test');

  // Taking A's email is refused as a duplicate; an "id" field in the form is ignored.
  let res = await bob.post('/account/profile', { id: String(a), name: 'Hacked', email: 'ana@carnet.test', locale: 'en' });
  t.equal(res.statusCode, 422);
  t.same(accountRow(db, 'ana@carnet.test'), anaBefore, 'A is untouched');
  t.equal(accountRow(db, 'bob@carnet.test')!.name, 'Bob', 'B is untouched too');

  res = await bob.post('/account/profile', { id: String(a), accountId: String(a), name: 'Bobby', email: 'bob@carnet.test', locale: 'fr' });
  t.equal(res.statusCode, 303);
  t.same(accountRow(db, 'ana@carnet.test'), anaBefore, 'only B is changed');
  t.equal(accountRow(db, 'bob@carnet.test')!.name, 'Bobby');

  // B's "log out other devices" and password change never touch A's sessions.
  await bob.get('/account');
  res = await bob.post('/account/sessions/revoke', { accountId: String(a) });
  t.equal(res.statusCode, 303);
  res = await bob.post('/account/password', { currentPassword: PASSWORD, password: 'bob new password', passwordConfirm: 'bob new password', accountId: String(a) });
  t.equal(res.statusCode, 303);
  t.equal(count(db, 'sessions', 'account_id = ?', a), 1, 'A is still logged in');
  t.equal((await anaClient.get('/account')).statusCode, 200);
  t.same(accountRow(db, 'ana@carnet.test'), anaBefore);

  // And the admin pages for A are closed to B.
  await bob.get('/account');
  t.equal((await bob.get(`/admin/accounts/${a}`)).statusCode, 403);
  res = await bob.post(`/admin/accounts/${a}/roles`, { roles: ['member'] });
  t.equal(res.statusCode, 403);
  t.same(rolesOf(db, a), ['member']);
});

t.test('admin routes answer 404 for an unknown or malformed id', async (t) => {
  const { app, db } = await build(t);
  const active = await createAccount(db, { email: 'active@carnet.test' });
  const sent = app.mailer.queue(db, { to: 'x@example.org', locale: 'fr', template: 'test' });
  db.$client.prepare("update outbox set status = 'sent' where id = ?").run(sent);
  const admin = await loggedIn(app, EMAILS.admin, { 'accept-language': 'en' });
  await admin.get('/admin');
  const badIds = ['9999', 'abc', '0', '-1', '1.5', '1e3', '99999999999999999999', '%20', '1;drop'];
  for (const id of badIds) {
    const res = await admin.get(`/admin/accounts/${id}`);
    t.equal(res.statusCode, 404, `GET /admin/accounts/${id}`);
    t.match(text(res.body), 'Page introuvable', 'in the admin’s language');
  }
  for (const id of badIds) {
    for (const action of ['roles', 'approve', 'reject', 'retry']) {
      const url = action === 'roles' ? `/admin/accounts/${id}/roles` : action === 'retry' ? `/admin/outbox/${id}/retry` : `/admin/approvals/${id}/${action}`;
      const before = snapshot(db);
      const res = await admin.post(url, { roles: ['member'] });
      t.equal(res.statusCode, 404, `POST ${url}`);
      t.equal(snapshot(db), before, `POST ${url} changed nothing`);
    }
  }
  // An account that is not waiting cannot be approved or rejected; a sent email cannot be retried.
  for (const url of [`/admin/approvals/${active}/approve`, `/admin/approvals/${active}/reject`, `/admin/outbox/${sent}/retry`]) {
    const before = snapshot(db);
    const res = await admin.post(url);
    t.equal(res.statusCode, 404, url);
    t.equal(snapshot(db), before, `${url} changed nothing`);
  }
  t.ok(accountRow(db, 'active@carnet.test'), 'the active account is not deleted');
});
