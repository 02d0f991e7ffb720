import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Db } from '../../src/db/index.js';
import { requestPasswordReset } from '../../src/domain/password-reset.js';
import { inviteToProducer } from '../../src/domain/producers.js';
import { hashToken } from '../../src/domain/sessions.js';
import { processPhoto, setProductPhoto } from '../../src/domain/photos.js';
import sharp from 'sharp';
import { toDateInput, toDateTimeLocal } from '../../src/domain/time.js';
import { build, createAccount, loggedIn, text } from '../helper.js';
import { placeOrder } from '../../src/domain/orders.js';
import { createBackup, listBackups } from '../../src/domain/backups.js';
import { buildShop, setBasket, type Shop } from '../domain/orders-fixture.js';
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

/*
 * Catalog: the generic producer account manages "Ferme du matrix", which has one product. Producer
 * pages send a visitor to log in; other accounts are refused (403 without the producer role).
 */
const catalogFarms = new WeakMap<Db, { producerId: number; productId: number }>();
function catalogFarm(ctx: Ctx): { producerId: number; productId: number } {
  let farm = catalogFarms.get(ctx.db);
  if (!farm) {
    const now = Date.now();
    const producerId = (ctx.db.$client.prepare("insert into producers (name, created_at, updated_at) values ('Ferme du matrix', ?, ?) returning id").get(now, now) as { id: number }).id;
    ctx.db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(producerId, ctx.ids.producer, now);
    const productId = (
      ctx.db.$client
        .prepare("insert into products (producer_id, name, category_id, unit, price_cents, vat_rate_bp, created_at, updated_at) values (?, 'Carottes', (select id from categories where name_fr = 'Légumes'), 'bunch', 250, 550, ?, ?) returning id")
        .get(producerId, now, now) as { id: number }
    ).id;
    farm = { producerId, productId };
    catalogFarms.set(ctx.db, farm);
  }
  return farm;
}
function catalogProductForm(ctx: Ctx, name: string): Record<string, string> {
  const category = ctx.db.$client.prepare("select id from categories where name_fr = 'Légumes'").get() as { id: number };
  return { name, categoryId: String(category.id), unit: 'bunch', price: '2,50', vatRate: '5.5' };
}
/** Producer pages: a visitor logs in first; only the producer managing this producer gets it. */
const producerPage = (url: string) => (actor: Actor, okStatus = 200) =>
  actor === 'anonymous' ? { status: 303, location: loginFor(url) } : actor === 'producer' ? { status: okStatus } : { status: 403 };
/** Producer actions: only the producer managing this producer; everyone else gets 403. */
const producerAction = (location: string) => (actor: Actor) => (actor === 'producer' ? { status: 303, location } : { status: 403 });

/*
 * Weekly stock (offers): the generic producer account manages "Ferme des offres", with one product,
 * an open cycle and an earlier closed one in which it offered that product (for "copy last").
 */
const offerFarms = new WeakMap<Db, { producerId: number; productId: number; cycleId: number }>();
function offerFarm(ctx: Ctx): { producerId: number; productId: number; cycleId: number } {
  let farm = offerFarms.get(ctx.db);
  if (!farm) {
    const now = Date.now();
    const day = 24 * 3_600_000;
    const one = <T>(sql: string, ...params: unknown[]) => ctx.db.$client.prepare(sql).get(...params) as T;
    const producerId = one<{ id: number }>("insert into producers (name, created_at, updated_at) values ('Ferme des offres', ?, ?) returning id", now, now).id;
    ctx.db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(producerId, ctx.ids.producer, now);
    const productId = one<{ id: number }>(
      "insert into products (producer_id, name, unit, price_cents, vat_rate_bp, created_at, updated_at) values (?, 'Poireaux', 'bunch', 250, 550, ?, ?) returning id",
      producerId,
      now,
      now,
    ).id;
    const cycle = (name: string, status: string, opensAt: number) =>
      one<{ id: number }>('insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values (?, ?, ?, ?, ?, ?) returning id', name, status, opensAt, opensAt + 3 * day, now, now).id;
    const closed = cycle('Vente passée', 'closed', now - 8 * day);
    const cycleId = cycle('Vente ouverte', 'open', now - day);
    ctx.db.$client
      .prepare('insert into offers (cycle_id, product_id, producer_id, quantity_available, price_cents, created_at, updated_at) values (?, ?, ?, 12, 240, ?, ?)')
      .run(closed, productId, producerId, now, now);
    farm = { producerId, productId, cycleId };
    offerFarms.set(ctx.db, farm);
  }
  return farm;
}
const offersUrl = (ctx: Ctx) => `/producer/${offerFarm(ctx).producerId}/cycles/${offerFarm(ctx).cycleId}/offers`;
const offerForm = (ctx: Ctx) => {
  const id = offerFarm(ctx).productId;
  return { [`offered[${id}]`]: 'on', [`quantity[${id}]`]: '7', [`price[${id}]`]: '2,30' };
};
const offeredNow = (ctx: Ctx) => count(ctx.db, 'offers', 'cycle_id = ? and product_id = ? and published = 1', offerFarm(ctx).cycleId, offerFarm(ctx).productId);
/** Stock pages: a visitor logs in first; only the account managing this producer gets in (403 without the role). */
const stockPage = (url: string) => (actor: Actor) =>
  actor === 'anonymous' ? { status: 303, location: loginFor(url) } : actor === 'producer' ? { status: 200 } : { status: 403 };
/** Stock actions: only the account managing this producer; everyone else gets 403. */
const stockAction = (location: string) => (actor: Actor) => (actor === 'producer' ? { status: 303, location } : { status: 403 });

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
  // ----- data rights, audit, privacy -----
  { method: 'GET', path: '/privacy', expect: everyone(200) },
  { method: 'GET', path: '/account/data', expect: accountPage('/account/data') },
  {
    method: 'GET',
    path: '/account/data.json',
    expect: accountPage('/account/data.json'),
    after: (t, _c, actor, res) => t.equal(res.json().account.email, EMAILS[actor as Exclude<Actor, 'anonymous'>], 'their own data only'),
  },
  { method: 'GET', path: '/account/delete', expect: accountPage('/account/delete') },
  {
    method: 'POST',
    path: '/account/delete',
    form: () => ({ password: PASSWORD }),
    // The seeded admin is the only admin: refused (422), nothing changes.
    expect: (actor) => (actor === 'anonymous' ? { status: 403 } : actor === 'admin' ? { status: 422 } : { status: 303, location: '/' }),
    after: (t, ctx, actor) => t.equal(accountRow(ctx.db, EMAILS[actor as Exclude<Actor, 'anonymous'>]), undefined, 'the account is erased'),
  },
  { method: 'GET', path: '/admin/audit', expect: adminPage('/admin/audit') },
  {
    method: 'GET',
    path: '/admin/accounts/:id/data.json',
    url: (ctx) => `/admin/accounts/${ctx.ids.member}/data.json`,
    expect: (actor, ctx) => adminPage(`/admin/accounts/${ctx.ids.member}/data.json`)(actor),
    after: (t, ctx, _a, res) => {
      t.equal(res.json().account.email, EMAILS.member);
      t.equal(count(ctx.db, 'audit_log', "action = 'account.exported'"), 1, 'recorded in the audit log');
    },
  },
  {
    method: 'GET',
    path: '/admin/accounts/:id/erase',
    url: (ctx) => `/admin/accounts/${ctx.ids.member}/erase`,
    expect: (actor, ctx) => adminPage(`/admin/accounts/${ctx.ids.member}/erase`)(actor),
  },
  {
    method: 'POST',
    path: '/admin/accounts/:id/erase',
    url: (ctx) => `/admin/accounts/${ctx.ids.member}/erase`,
    form: () => ({ confirmEmail: EMAILS.member }),
    expect: adminAction('/admin/accounts'),
    after: (t, ctx) => {
      t.equal(accountRow(ctx.db, EMAILS.member), undefined, 'the member is erased');
      t.equal(count(ctx.db, 'audit_log', "action = 'account.erased'"), 1, 'recorded in the audit log');
    },
  },
  // ----- backups (admin): the list, "back up now", downloads (the first backup is made on first use) -----
  { method: 'GET', path: '/admin/backups', expect: adminPage('/admin/backups') },
  {
    method: 'POST',
    path: '/admin/backups',
    expect: adminAction('/admin/backups'),
    after: (t, ctx) => t.equal(listBackups(ctx.app.config.dataDir).filter((b) => b.kind === 'manual').length, 1, 'one manual backup'),
  },
  {
    method: 'GET',
    path: '/admin/backups/:file',
    url: (ctx) => {
      const dir = ctx.app.config.dataDir;
      const made = listBackups(dir)[0] ?? (createBackup(ctx.db, dir, 'scheduled') as { backup: { file: string } }).backup;
      return `/admin/backups/${made.file}`;
    },
    expect: (actor, ctx) => adminPage(`/admin/backups/${listBackups(ctx.app.config.dataDir)[0]!.file}`)(actor),
    after: (t, _c, _a, res) => t.match(res.headers['content-disposition'], /^attachment; filename="carnet-.*-scheduled\.db"$/),
  },
  // ----- catalog (producer products, photos, CSV): the generic producer account manages one producer -----
  {
    method: 'GET',
    path: '/producer',
    url: (ctx) => (catalogFarm(ctx), '/producer'),
    expect: (actor, ctx) => (actor === 'producer' ? { status: 303, location: `/producer/${catalogFarm(ctx).producerId}/products` } : producerPage('/producer')(actor)),
  },
  { method: 'GET', path: '/producer/:producerId/products', url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products`, expect: (actor, ctx) => producerPage(`/producer/${catalogFarm(ctx).producerId}/products`)(actor) },
  { method: 'GET', path: '/producer/:producerId/products/new', url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/new`, expect: (actor, ctx) => producerPage(`/producer/${catalogFarm(ctx).producerId}/products/new`)(actor) },
  {
    method: 'POST',
    path: '/producer/:producerId/products',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products`,
    form: (ctx) => catalogProductForm(ctx, 'Poireaux'),
    expect: (actor, ctx) => producerAction(`/producer/${catalogFarm(ctx).producerId}/products`)(actor),
    after: (t, ctx) => t.equal(count(ctx.db, 'products', "name = 'Poireaux'"), 1, 'the product is added'),
  },
  {
    method: 'GET',
    path: '/producer/:producerId/products/:productId/edit',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/${catalogFarm(ctx).productId}/edit`,
    expect: (actor, ctx) => producerPage(`/producer/${catalogFarm(ctx).producerId}/products/${catalogFarm(ctx).productId}/edit`)(actor),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/products/:productId',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/${catalogFarm(ctx).productId}`,
    form: (ctx) => catalogProductForm(ctx, 'Carottes fanes'),
    expect: (actor, ctx) => producerAction(`/producer/${catalogFarm(ctx).producerId}/products`)(actor),
    after: (t, ctx) => t.equal(count(ctx.db, 'products', "name = 'Carottes fanes'"), 1, 'the product is renamed'),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/products/:productId/archive',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/${catalogFarm(ctx).productId}/archive`,
    expect: (actor, ctx) => producerAction(`/producer/${catalogFarm(ctx).producerId}/products`)(actor),
    after: (t, ctx) => t.equal(count(ctx.db, 'products', 'id = ? and active = 0', catalogFarm(ctx).productId), 1, 'archived'),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/products/:productId/unarchive',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/${catalogFarm(ctx).productId}/unarchive`,
    expect: (actor, ctx) => producerAction(`/producer/${catalogFarm(ctx).producerId}/products`)(actor),
    after: (t, ctx) => t.equal(count(ctx.db, 'products', 'id = ? and active = 1', catalogFarm(ctx).productId), 1, 'back on sale'),
  },
  {
    method: 'GET',
    path: '/photos/:file',
    url: async (ctx) => {
      const { productId, producerId } = catalogFarm(ctx);
      const photo = await processPhoto(await sharp({ create: { width: 4, height: 4, channels: 3, background: '#080' } }).png().toBuffer());
      if (photo.ok) setProductPhoto(ctx.db, ctx.app.config.dataDir, producerId, productId, photo.webp);
      return `/photos/${(ctx.db.$client.prepare('select photo from products where id = ?').get(productId) as { photo: string }).photo}`;
    },
    expect: everyone(200),
    after: (t, _c, _a, res) => t.equal(res.headers['content-type'], 'image/webp'),
  },
  {
    method: 'GET',
    path: '/producer/:producerId/products.csv',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products.csv`,
    expect: (actor, ctx) => producerPage(`/producer/${catalogFarm(ctx).producerId}/products.csv`)(actor),
    after: (t, _c, _a, res) => t.match(res.body, 'Carottes'),
  },
  {
    method: 'GET',
    path: '/producer/:producerId/products/import',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/import`,
    expect: (actor, ctx) => producerPage(`/producer/${catalogFarm(ctx).producerId}/products/import`)(actor),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/products/import',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/import`,
    // Without a file the producer gets the form back with its error; others are refused first.
    expect: (actor) => (actor === 'producer' ? { status: 422 } : { status: 403 }),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/products/import/confirm',
    url: (ctx) => `/producer/${catalogFarm(ctx).producerId}/products/import/confirm`,
    form: () => ({ csv: Buffer.from('name,category,unit,price,vat_rate\nNavets,Légumes,bunch,"2,10",5.5\n').toString('base64') }),
    expect: (actor, ctx) => producerAction(`/producer/${catalogFarm(ctx).producerId}/products`)(actor),
    after: (t, ctx) => t.equal(count(ctx.db, 'products', "name = 'Navets' and price_cents = 210"), 1, 'imported'),
  },
  // ----- weekly stock (offers): the generic producer account manages "Ferme des offres" -----
  {
    method: 'GET',
    path: '/producer/:producerId/cycles',
    url: (ctx) => `/producer/${offerFarm(ctx).producerId}/cycles`,
    expect: (actor, ctx) => stockPage(`/producer/${offerFarm(ctx).producerId}/cycles`)(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Vente ouverte'),
  },
  {
    method: 'GET',
    path: '/producer/:producerId/cycles/:cycleId/offers',
    url: offersUrl,
    expect: (actor, ctx) => stockPage(offersUrl(ctx))(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Poireaux'),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/cycles/:cycleId/offers',
    url: offersUrl,
    form: offerForm,
    expect: (actor, ctx) => stockAction(offersUrl(ctx))(actor),
    after: (t, ctx) => t.equal(offeredNow(ctx), 1, 'the offer is published'),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/cycles/:cycleId/offers/copy-last',
    url: (ctx) => offersUrl(ctx) + '/copy-last',
    expect: (actor, ctx) => stockAction(offersUrl(ctx))(actor),
    after: (t, ctx) => t.equal(offeredNow(ctx), 1, 'the last sale’s offer is copied'),
  },
  {
    method: 'POST',
    path: '/producer/:producerId/cycles/:cycleId/offers/:productId',
    url: (ctx) => `${offersUrl(ctx)}/${offerFarm(ctx).productId}`,
    form: offerForm,
    expect: (actor, ctx) => stockAction(offersUrl(ctx))(actor),
    after: (t, ctx) => t.equal(offeredNow(ctx), 1, 'the row is saved'),
  },
  // ----- producers, invitations, pickup points, categories and VAT rates (admin side of issue 3) -----
  { method: 'GET', path: '/admin/producers', expect: adminPage('/admin/producers') },
  { method: 'GET', path: '/admin/producers/new', expect: adminPage('/admin/producers/new') },
  {
    method: 'POST',
    path: '/admin/producers',
    form: () => ({ name: 'Ferme Nouvelle', siret: '732 829 320 00074', active: 'on' }),
    expect: adminAction((ctx) => `/admin/producers/${issue3NextProducerId(ctx.db)}`),
    after: (t, ctx) => t.equal(count(ctx.db, 'producers', "name = 'Ferme Nouvelle' and siret = '73282932000074'"), 1),
  },
  {
    method: 'GET',
    path: '/admin/producers/:id',
    url: (ctx) => `/admin/producers/${issue3Farm(ctx.db)}`,
    expect: (actor, ctx) => adminPage(`/admin/producers/${issue3Farm(ctx.db)}`)(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Paul Producer'),
  },
  {
    method: 'GET',
    path: '/admin/producers/:id/edit',
    url: (ctx) => `/admin/producers/${issue3Farm(ctx.db)}/edit`,
    expect: (actor, ctx) => adminPage(`/admin/producers/${issue3Farm(ctx.db)}/edit`)(actor),
  },
  {
    method: 'POST',
    path: '/admin/producers/:id',
    url: (ctx) => `/admin/producers/${issue3Farm(ctx.db)}`,
    form: () => ({ name: 'Ferme Renommée', vatNumber: 'fr 44 732829320' }),
    expect: adminAction((ctx) => `/admin/producers/${issue3Farm(ctx.db)}`),
    after: (t, ctx) => t.equal(count(ctx.db, 'producers', "name = 'Ferme Renommée' and vat_number = 'FR44732829320' and active = 0"), 1),
  },
  {
    method: 'POST',
    path: '/admin/producers/:id/accounts/:accountId/remove',
    url: (ctx) => `/admin/producers/${issue3Farm(ctx.db)}/accounts/${ctx.ids.producer}/remove`,
    expect: adminAction((ctx) => `/admin/producers/${issue3Farm(ctx.db)}`),
    after: (t, ctx) => t.same(rolesOf(ctx.db, ctx.ids.producer), ['member'], 'no producer left: the producer role goes'),
  },
  {
    method: 'POST',
    path: '/admin/producers/:id/invitations',
    url: (ctx) => `/admin/producers/${issue3Farm(ctx.db)}/invitations`,
    form: () => ({ email: 'invited@example.org' }),
    expect: adminAction((ctx) => `/admin/producers/${issue3Farm(ctx.db)}`),
    after: (t, ctx) => t.equal(outboxFor(ctx.db, 'invited@example.org').length, 1, 'the invitation is emailed'),
  },
  {
    method: 'POST',
    path: '/admin/producers/:id/invitations/:invitation/revoke',
    url: (ctx) => {
      const token = issue3Invitation(ctx, 'revoked@example.org').split('/').pop()!;
      return `/admin/producers/${issue3Farm(ctx.db)}/invitations/${hashToken(token)}/revoke`;
    },
    expect: adminAction((ctx) => `/admin/producers/${issue3Farm(ctx.db)}`),
    after: (t, ctx) => t.equal(count(ctx.db, 'producer_invitations'), 0),
  },
  {
    method: 'GET',
    path: '/invitations/:token',
    url: (ctx, actor) => issue3Invitation(ctx, `see-${actor}@example.org`),
    expect: everyone(200),
  },
  {
    method: 'POST',
    path: '/invitations/:token/accept',
    url: (ctx, actor) => issue3Invitation(ctx, `accept-${actor}@example.org`) + '/accept',
    expect: (actor) => (actor === 'anonymous' ? { status: 403 } : { status: 303, location: '/producer' }),
    after: (t, ctx, actor) => t.ok(rolesOf(ctx.db, ctx.ids[actor as Exclude<Actor, 'anonymous'>]).includes('producer'), 'the producer role is granted'),
  },
  {
    method: 'POST',
    path: '/invitations/:token/signup',
    url: (ctx, actor) => (issue3LastLink = issue3Invitation(ctx, `signup-${actor}@example.org`)) + '/signup',
    form: () => ({ name: 'New Producer', password: PASSWORD, passwordConfirm: PASSWORD }),
    // A logged-in account does not sign up again: it is sent back to accept as itself.
    expect: (actor) => (actor === 'anonymous' ? { status: 303, location: '/producer' } : { status: 303, location: issue3LastLink }),
    after: (t, ctx, actor) => t.equal(Boolean(accountRow(ctx.db, `signup-${actor}@example.org`)), actor === 'anonymous'),
  },
  { method: 'GET', path: '/admin/pickup-points', expect: adminPage('/admin/pickup-points') },
  { method: 'GET', path: '/admin/pickup-points/new', expect: adminPage('/admin/pickup-points/new') },
  {
    method: 'POST',
    path: '/admin/pickup-points',
    form: () => ({ name: 'Mairie', address: '1 place de la Mairie', active: 'on' }),
    expect: adminAction('/admin/pickup-points'),
    after: (t, ctx) => t.equal(count(ctx.db, 'pickup_points', "name = 'Mairie'"), 1),
  },
  {
    method: 'GET',
    path: '/admin/pickup-points/:id',
    url: (ctx) => `/admin/pickup-points/${issue3PickupPoint(ctx.db, 'Halles')}`,
    expect: (actor, ctx) => adminPage(`/admin/pickup-points/${issue3PickupPoint(ctx.db, 'Halles')}`)(actor),
  },
  {
    method: 'POST',
    path: '/admin/pickup-points/:id',
    url: (ctx) => `/admin/pickup-points/${issue3PickupPoint(ctx.db, 'Halles')}`,
    form: () => ({ name: 'Halles (nord)', address: '2 rue des Halles' }),
    expect: adminAction('/admin/pickup-points'),
    after: (t, ctx) => t.equal(count(ctx.db, 'pickup_points', "name = 'Halles (nord)' and active = 0"), 1),
  },
  {
    method: 'POST',
    path: '/admin/pickup-points/:id/delete',
    url: (ctx, actor) => `/admin/pickup-points/${issue3PickupPoint(ctx.db, 'Gone ' + actor)}/delete`,
    expect: adminAction('/admin/pickup-points'),
    after: (t, ctx) => t.equal(count(ctx.db, 'pickup_points', "name = 'Gone admin'"), 0),
  },
  { method: 'GET', path: '/admin/categories', expect: adminPage('/admin/categories') },
  {
    method: 'POST',
    path: '/admin/categories',
    form: () => ({ nameFr: 'Champignons', nameEn: 'Mushrooms' }),
    expect: adminAction('/admin/categories'),
    after: (t, ctx) => t.equal(count(ctx.db, 'categories', "name_en = 'Mushrooms'"), 1),
  },
  { method: 'GET', path: '/admin/categories/:id', url: () => '/admin/categories/1', expect: adminPage('/admin/categories/1') },
  {
    method: 'POST',
    path: '/admin/categories/:id',
    url: () => '/admin/categories/1',
    form: () => ({ nameFr: 'Légumes frais', nameEn: 'Fresh vegetables', position: '5', active: 'on' }),
    expect: adminAction('/admin/categories'),
    after: (t, ctx) => t.equal(count(ctx.db, 'categories', "id = 1 and name_fr = 'Légumes frais' and position = 5"), 1),
  },
  { method: 'GET', path: '/admin/vat-rates', expect: adminPage('/admin/vat-rates') },
  {
    method: 'POST',
    path: '/admin/vat-rates',
    form: () => ({ rate: '19,6' }),
    expect: adminAction('/admin/vat-rates'),
    after: (t, ctx) => t.equal(count(ctx.db, 'vat_rates', 'rate_bp = 1960'), 1),
  },
  {
    method: 'POST',
    path: '/admin/vat-rates/:rateBp',
    url: () => '/admin/vat-rates/210',
    form: () => ({ active: 'false' }),
    expect: adminAction('/admin/vat-rates'),
    after: (t, ctx) => t.equal(count(ctx.db, 'vat_rates', 'rate_bp = 210 and active = 0'), 1),
  },
  // ----- sale cycles (admin): list, form, status actions, duplicate, overview -----
  { method: 'GET', path: '/admin/cycles', expect: adminPage('/admin/cycles') },
  { method: 'GET', path: '/admin/cycles/new', expect: adminPage('/admin/cycles/new') },
  {
    method: 'POST',
    path: '/admin/cycles',
    // The pickup point exists before the request, so that a refused one changes nothing.
    url: (ctx) => (salesPoint(ctx.db), '/admin/cycles'),
    form: (ctx) => salesForm(ctx.db, 'Vente matrice'),
    expect: adminAction((ctx) => `/admin/cycles/${salesNextCycleId(ctx.db)}`),
    after: (t, ctx) => t.equal(count(ctx.db, 'cycles', "name = 'Vente matrice' and status = 'draft'"), 1),
  },
  {
    method: 'GET',
    path: '/admin/cycles/distribution-row',
    url: () => '/admin/cycles/distribution-row?index=3',
    expect: adminPage('/admin/cycles/distribution-row?index=3'),
    after: (t, _c, _a, res) => t.match(res.body, /name="dist-3-point"/),
  },
  {
    method: 'GET',
    path: '/admin/cycles/:id',
    url: (ctx) => `/admin/cycles/${salesCycle(ctx.db, 'draft')}`,
    expect: (actor, ctx) => adminPage(`/admin/cycles/${salesCycle(ctx.db, 'draft')}`)(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Vente draft'),
  },
  {
    method: 'GET',
    path: '/admin/cycles/:id/edit',
    url: (ctx) => `/admin/cycles/${salesCycle(ctx.db, 'draft')}/edit`,
    expect: (actor, ctx) => adminPage(`/admin/cycles/${salesCycle(ctx.db, 'draft')}/edit`)(actor),
  },
  {
    method: 'POST',
    path: '/admin/cycles/:id/edit',
    url: (ctx) => `/admin/cycles/${salesCycle(ctx.db, 'draft')}/edit`,
    form: (ctx) => salesForm(ctx.db, 'Vente renommée'),
    expect: adminAction((ctx) => `/admin/cycles/${salesCycle(ctx.db, 'draft')}`),
    after: (t, ctx) => t.equal(count(ctx.db, 'cycles', "name = 'Vente renommée'"), 1),
  },
  ...(
    [
      ['schedule', 'draft', 'scheduled'],
      ['unschedule', 'scheduled', 'draft'],
      ['close', 'open', 'closed'],
      ['finish', 'closed', 'done'],
    ] as const
  ).map(
    ([action, from, to]): RouteCase => ({
      method: 'POST',
      path: `/admin/cycles/:id/${action}`,
      url: (ctx) => `/admin/cycles/${salesCycle(ctx.db, from)}/${action}`,
      expect: adminAction((ctx) => `/admin/cycles/${salesCycle(ctx.db, from)}`),
      after: (t, ctx) => t.equal(count(ctx.db, 'cycles', 'id = ? and status = ?', salesCycle(ctx.db, from), to), 1, `${from} → ${to}`),
    }),
  ),
  {
    method: 'POST',
    path: '/admin/cycles/:id/duplicate',
    url: (ctx) => `/admin/cycles/${salesCycle(ctx.db, 'draft')}/duplicate`,
    expect: adminAction((ctx) => `/admin/cycles/${salesNextCycleId(ctx.db)}`),
    after: (t, ctx) => t.equal(count(ctx.db, 'cycles', "name = 'Vente draft (copie)' and status = 'draft'"), 1),
  },
  {
    method: 'GET',
    path: '/admin/cycles/:id/producers/:producerId',
    url: (ctx) => `/admin/cycles/${salesCycle(ctx.db, 'draft')}/producers/${salesProducer(ctx.db)}`,
    expect: (actor, ctx) => adminPage(`/admin/cycles/${salesCycle(ctx.db, 'draft')}/producers/${salesProducer(ctx.db)}`)(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Ferme des ventes'),
  },
  // ----- orders (members): placing from the basket, my orders, one order, change, cancel -----
  {
    method: 'POST',
    path: '/shop/:cycleId/order',
    // Each account that may be asked has one jam in its basket before it posts.
    url: (ctx, actor) => {
      const s = ordersShop(ctx);
      if (actor !== 'anonymous') setBasket(ctx.db, ctx.ids[actor], s.cycle, { [s.offers.jam]: 1 });
      return `/shop/${s.cycle}/order`;
    },
    form: (ctx, actor) => ({ token: `matrix-token-${actor}-0000`, distributionId: String(ordersShop(ctx).dists.halle) }),
    // A pending member or a visitor cannot order; members (the producer and admin are members too) can.
    expect: (actor, ctx) => (actor === 'anonymous' || actor === 'pending' ? { status: 403 } : { status: 303, location: `/orders/${ordersNextId(ctx.db)}` }),
    after: (t, ctx, actor) =>
      t.equal(count(ctx.db, 'orders', "account_id = ? and status = 'placed'", ctx.ids[actor as Exclude<Actor, 'anonymous'>]), 1, 'the order is placed'),
  },
  { method: 'GET', path: '/orders', expect: accountPage('/orders') },
  {
    method: 'GET',
    path: '/orders/:orderId',
    url: (ctx) => `/orders/${ordersMemberOrder(ctx)}`,
    // Only the member who placed it sees it; to anyone else it does not exist.
    expect: (actor, ctx) =>
      actor === 'anonymous' ? { status: 303, location: loginFor(`/orders/${ordersMemberOrder(ctx)}`) } : actor === 'member' ? { status: 200 } : { status: 404 },
    after: (t, _c, _a, res) => t.match(text(res.body), 'Confiture'),
  },
  {
    method: 'POST',
    path: '/orders/:orderId/edit',
    url: (ctx) => `/orders/${ordersMemberOrder(ctx)}/edit`,
    expect: (actor, ctx) =>
      actor === 'anonymous' ? { status: 403 } : actor === 'member' ? { status: 303, location: `/shop/${ordersShop(ctx).cycle}/basket` } : { status: 404 },
    after: (t, ctx) => t.equal(count(ctx.db, 'basket_items', 'account_id = ?', ctx.ids.member), 1, 'the order is back in the basket'),
  },
  {
    method: 'POST',
    path: '/orders/:orderId/cancel',
    url: (ctx) => `/orders/${ordersMemberOrder(ctx)}/cancel`,
    expect: (actor, ctx) => (actor === 'anonymous' ? { status: 403 } : actor === 'member' ? { status: 303, location: `/orders/${ordersMemberOrder(ctx)}` } : { status: 404 }),
    after: (t, ctx) => t.equal(count(ctx.db, 'orders', "id = ? and status = 'cancelled'", ordersMemberOrder(ctx)), 1, 'cancelled'),
  },
  // ----- shop and basket (members): the open sale's shop, an offer, the basket, its changes -----
  {
    method: 'GET',
    path: '/shop',
    url: (ctx) => (shopFixture(ctx), '/shop'),
    // Visitors log in first (the coop does not allow anonymous browsing by default); with one open sale, accounts go to it.
    expect: (actor, ctx) => (actor === 'anonymous' ? { status: 303, location: loginFor('/shop') } : { status: 303, location: `/shop/${shopFixture(ctx).cycleId}` }),
  },
  {
    method: 'GET',
    path: '/shop/:cycleId',
    url: (ctx) => `/shop/${shopFixture(ctx).cycleId}`,
    expect: (actor, ctx) => accountPage(`/shop/${shopFixture(ctx).cycleId}`)(actor),
    after: (t, _c, actor, res) => {
      t.match(text(res.body), 'Radis du matrix');
      // Only an active member gets the add-to-basket form and buttons.
      t.equal(/action="\/shop\/\d+\/basket"/.test(res.body), actor !== 'pending', `${actor}: add form`);
      t.equal(/<button name="offer" value="\d+" hx-post="\/shop\/\d+\/basket\/\d+"/.test(res.body), actor !== 'pending', `${actor}: add buttons`);
    },
  },
  {
    method: 'GET',
    path: '/shop/:cycleId/offers/:offerId',
    url: (ctx) => `/shop/${shopFixture(ctx).cycleId}/offers/${shopFixture(ctx).offerId}`,
    expect: (actor, ctx) => accountPage(`/shop/${shopFixture(ctx).cycleId}/offers/${shopFixture(ctx).offerId}`)(actor),
    after: (t, _c, _a, res) => t.match(text(res.body), 'Ferme du panier'),
  },
  {
    method: 'GET',
    path: '/shop/:cycleId/basket',
    url: (ctx) => `/shop/${shopFixture(ctx).cycleId}/basket`,
    // Every account of the cast holds the member role; a pending one sees the page with a notice.
    expect: (actor, ctx) => accountPage(`/shop/${shopFixture(ctx).cycleId}/basket`)(actor),
  },
  {
    method: 'POST',
    path: '/shop/:cycleId/basket',
    url: (ctx) => `/shop/${shopFixture(ctx).cycleId}/basket`,
    // The shop's one form: the pressed button names the offer.
    form: (ctx) => ({ offer: String(shopFixture(ctx).offerId), [`qty[${shopFixture(ctx).offerId}]`]: '2' }),
    expect: (actor, ctx) => (actor === 'anonymous' || actor === 'pending' ? { status: 403 } : { status: 303, location: `/shop/${shopFixture(ctx).cycleId}` }),
    after: (t, ctx, actor) =>
      t.equal(count(ctx.db, 'basket_items', 'account_id = ? and offer_id = ? and quantity = 2', ctx.ids[actor as Exclude<Actor, 'anonymous'>], shopFixture(ctx).offerId), 1, 'in the basket'),
  },
  {
    method: 'POST',
    path: '/shop/:cycleId/basket/:offerId',
    url: (ctx) => `/shop/${shopFixture(ctx).cycleId}/basket/${shopFixture(ctx).offerId}`,
    form: () => ({ quantity: '2' }),
    expect: (actor, ctx) => (actor === 'anonymous' || actor === 'pending' ? { status: 403 } : { status: 303, location: `/shop/${shopFixture(ctx).cycleId}` }),
    after: (t, ctx, actor) =>
      t.equal(count(ctx.db, 'basket_items', 'account_id = ? and offer_id = ? and quantity = 2', ctx.ids[actor as Exclude<Actor, 'anonymous'>], shopFixture(ctx).offerId), 1, 'in the basket'),
  },
  {
    method: 'POST',
    path: '/shop/:cycleId/distribution',
    url: (ctx) => `/shop/${shopFixture(ctx).cycleId}/distribution`,
    form: (ctx) => ({ distributionId: String(shopFixture(ctx).distributionId) }),
    expect: (actor, ctx) => (actor === 'anonymous' || actor === 'pending' ? { status: 403 } : { status: 303, location: `/shop/${shopFixture(ctx).cycleId}/basket` }),
    after: (t, ctx, actor) =>
      t.equal(count(ctx.db, 'baskets', 'account_id = ? and distribution_id = ?', ctx.ids[actor as Exclude<Actor, 'anonymous'>], shopFixture(ctx).distributionId), 1, 'pickup chosen'),
  },
];

// ----- fixtures for the shop and basket -----
const shopFixtures = new WeakMap<Db, { cycleId: number; offerId: number; distributionId: number }>();
/** An open sale with one offer (10 radishes) and one distribution, created on first use in each test. */
function shopFixture(ctx: Ctx): { cycleId: number; offerId: number; distributionId: number } {
  let f = shopFixtures.get(ctx.db);
  if (!f) {
    const now = Date.now();
    const run = (sql: string, ...params: unknown[]) => Number(ctx.db.$client.prepare(sql).run(...params).lastInsertRowid);
    const producerId = run("insert into producers (name, created_at, updated_at) values ('Ferme du panier', 0, 0)");
    const productId = run("insert into products (producer_id, name, unit, price_cents, vat_rate_bp, created_at, updated_at) values (?, 'Radis du matrix', 'bunch', 150, 550, 0, 0)", producerId);
    const cycleId = run("insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values ('Vente boutique', 'open', ?, ?, 0, 0)", now - 3_600_000, now + 72 * 3_600_000);
    const offerId = run('insert into offers (cycle_id, product_id, producer_id, quantity_available, price_cents, created_at, updated_at) values (?, ?, ?, 10, 150, 0, 0)', cycleId, productId, producerId);
    const point = run("insert into pickup_points (name, address, created_at, updated_at) values ('Halle du panier', '2 rue', 0, 0)");
    const distributionId = run('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycleId, point, now + 96 * 3_600_000, now + 98 * 3_600_000);
    f = { cycleId, offerId, distributionId };
    shopFixtures.set(ctx.db, f);
  }
  return f;
}

// ----- fixtures for orders (members) -----
const ordersShops = new WeakMap<Db, Shop>();
/** The open sale with offers of the order rows, created on first use in each test. */
function ordersShop(ctx: Ctx): Shop {
  let shop = ordersShops.get(ctx.db);
  if (!shop) {
    shop = buildShop(ctx.db, Date.now(), { accounts: false });
    ordersShops.set(ctx.db, shop);
  }
  return shop;
}
/** The cast member's order in that sale, placed on first use. */
function ordersMemberOrder(ctx: Ctx): number {
  const row = ctx.db.$client.prepare('select id from orders where account_id = ?').get(ctx.ids.member) as { id: number } | undefined;
  if (row) return row.id;
  const s = ordersShop(ctx);
  setBasket(ctx.db, ctx.ids.member, s.cycle, { [s.offers.jam]: 1 });
  const placed = placeOrder(ctx.db, ctx.app.mailer, { accountId: ctx.ids.member, cycleId: s.cycle, distributionId: s.dists.halle, token: 'matrix-member-order-0000' });
  if (!placed.ok) throw new Error('order fixture: ' + placed.reason);
  return placed.orderId;
}
/** The id the next new order will get. */
function ordersNextId(db: Db): number {
  return (db.$client.prepare('select coalesce(max(id), 0) + 1 as id from orders').get() as { id: number }).id;
}

// ----- fixtures for the admin side of issue 3 (producers, invitations, pickup points) -----
let issue3LastLink = '';

/** The id the next producer will get. */
function issue3NextProducerId(db: Db): number {
  return (db.$client.prepare('select coalesce(max(id), 0) + 1 as id from producers').get() as { id: number }).id;
}

/** "Ferme Matrice", managed by the cast's producer; created on first use in each test. */
function issue3Farm(db: Db): number {
  const row = db.$client.prepare("select id from producers where name = 'Ferme Matrice'").get() as { id: number } | undefined;
  if (row) return row.id;
  const now = Date.now();
  const id = Number(db.$client.prepare("insert into producers (name, created_at, updated_at) values ('Ferme Matrice', ?, ?)").run(now, now).lastInsertRowid);
  const producer = (db.$client.prepare('select id from accounts where email = ?').get(EMAILS.producer) as { id: number }).id;
  db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(id, producer, now);
  return id;
}

/** A fresh invitation to manage Ferme Matrice; returns its link's path. */
function issue3Invitation(ctx: Ctx, email: string): string {
  const result = inviteToProducer(ctx.db, ctx.app.mailer, { producerId: issue3Farm(ctx.db), email, invitedBy: { id: ctx.ids.admin, name: 'Ada Admin' }, locale: 'fr' });
  if (!result.ok) throw new Error('invite failed: ' + result.reason);
  return `/invitations/${result.token}`;
}

/** A pickup point by name, created on first use. */
function issue3PickupPoint(db: Db, name: string): number {
  const row = db.$client.prepare('select id from pickup_points where name = ?').get(name) as { id: number } | undefined;
  if (row) return row.id;
  const now = Date.now();
  return Number(db.$client.prepare("insert into pickup_points (name, address, created_at, updated_at) values (?, '1 rue', ?, ?)").run(name, now, now).lastInsertRowid);
}

// ----- fixtures for sale cycles (admin) -----
const SALES_H = 3_600_000;

/** The pickup point of the sale fixtures, created on first use. */
function salesPoint(db: Db): number {
  const row = db.$client.prepare("select id from pickup_points where name = 'Halle des ventes'").get() as { id: number } | undefined;
  if (row) return row.id;
  return Number(db.$client.prepare("insert into pickup_points (name, address, created_at, updated_at) values ('Halle des ventes', '1 rue', 0, 0)").run().lastInsertRowid);
}

/** A producer for the overview's offers page, created on first use. */
function salesProducer(db: Db): number {
  const row = db.$client.prepare("select id from producers where name = 'Ferme des ventes'").get() as { id: number } | undefined;
  if (row) return row.id;
  return Number(db.$client.prepare("insert into producers (name, created_at, updated_at) values ('Ferme des ventes', 0, 0)").run().lastInsertRowid);
}

/** "Vente <status>", one per status and test, with one distribution after it closes. */
function salesCycle(db: Db, status: 'draft' | 'scheduled' | 'open' | 'closed'): number {
  const name = 'Vente ' + status;
  const row = db.$client.prepare('select id from cycles where name = ?').get(name) as { id: number } | undefined;
  if (row) return row.id;
  const opensAt = status === 'open' ? Date.now() - 24 * SALES_H : status === 'closed' ? Date.now() - 72 * SALES_H : Date.now() + 48 * SALES_H;
  const closesAt = status === 'closed' ? Date.now() - 48 * SALES_H : opensAt + 96 * SALES_H;
  const id = Number(
    db.$client.prepare('insert into cycles (name, opens_at, closes_at, status, created_at, updated_at) values (?, ?, ?, ?, 0, 0)').run(name, opensAt, closesAt, status).lastInsertRowid,
  );
  db.$client.prepare('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)').run(id, salesPoint(db), closesAt + 24 * SALES_H, closesAt + 26 * SALES_H);
  return id;
}

/** The id the next cycle will get. */
function salesNextCycleId(db: Db): number {
  return (db.$client.prepare('select coalesce(max(id), 0) + 1 as id from cycles').get() as { id: number }).id;
}

/** A valid cycle form: opens in 3 days, closes in 5, one distribution on day 7 (Paris time). */
function salesForm(db: Db, name: string): Record<string, string> {
  const at = (days: number) => Math.floor((Date.now() + days * 24 * SALES_H) / SALES_H) * SALES_H;
  return {
    name,
    opensAt: toDateTimeLocal(at(3), 'Europe/Paris'),
    closesAt: toDateTimeLocal(at(5), 'Europe/Paris'),
    'dist-0-point': String(salesPoint(db)),
    'dist-0-date': toDateInput(at(7), 'Europe/Paris'),
    'dist-0-start': '17:00',
    'dist-0-end': '19:00',
  };
}

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
