import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { createProducer, type Producer } from '../../src/domain/producers.js';
import { build, Client, createAccount, loggedIn, text } from '../helper.js';
import { snapshot } from './route-helper.js';

/*
 * The cast for the admin pages of producers, invitations, pickup points and categories: a visitor,
 * a member, two producers who each manage their own farm, and the admin. Every admin-only route is
 * run as each of them.
 */

export const CAST = ['anonymous', 'member', 'producerA', 'producerB', 'admin'] as const;
export type CastMember = (typeof CAST)[number];

export const CAST_EMAILS: Record<Exclude<CastMember, 'anonymous'>, string> = {
  member: 'member@carnet.test',
  producerA: 'producer-a@carnet.test',
  producerB: 'producer-b@carnet.test',
  admin: 'admin@carnet.test',
};

export interface CastCtx {
  app: FastifyInstance;
  db: Db;
  ids: Record<Exclude<CastMember, 'anonymous'>, number>;
  farmA: Producer;
  farmB: Producer;
}

/** Builds the app with the cast: producer A manages farm A, producer B manages farm B. */
export async function castApp(t: Test): Promise<CastCtx> {
  const { app, db } = await build(t);
  const member = await createAccount(db, { email: CAST_EMAILS.member, name: 'Mia Member' });
  const producerA = await createAccount(db, { email: CAST_EMAILS.producerA, name: 'Paul Producteur', roles: ['producer', 'member'] });
  const producerB = await createAccount(db, { email: CAST_EMAILS.producerB, name: 'Rose Rucher', roles: ['producer', 'member'] });
  const admin = (db.$client.prepare('select id from accounts where email = ?').get(CAST_EMAILS.admin) as { id: number }).id;
  const farmA = createProducer(db, { name: 'Ferme des Trois Chênes', description: '', address: '', active: true });
  const farmB = createProducer(db, { name: 'Les Ruchers du Val', description: '', address: '', active: true });
  const link = db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)');
  link.run(farmA.id, producerA, Date.now());
  link.run(farmB.id, producerB, Date.now());
  return { app, db, ids: { member, producerA, producerB, admin }, farmA, farmB };
}

/** A client for one member of the cast, having seen a page (so it holds a CSRF token). */
export async function clientAs(app: FastifyInstance, who: CastMember, headers: Record<string, string> = {}): Promise<Client> {
  if (who === 'anonymous') {
    const c = new Client(app, headers);
    await c.get('/');
    return c;
  }
  const c = await loggedIn(app, CAST_EMAILS[who], headers);
  await c.get('/');
  return c;
}

export interface AdminRoute {
  method: 'GET' | 'POST';
  url: (ctx: CastCtx) => string;
  form?: (ctx: CastCtx) => Record<string, string | string[]>;
  /** What the admin gets: a status, and for a redirect where it goes. */
  admin: { status: number; location?: string | ((ctx: CastCtx) => string) };
  /** Checks the admin's request had its effect. */
  after?: (t: Test, ctx: CastCtx, res: LightMyRequestResponse) => void;
}

/**
 * Runs an admin-only route as every member of the cast: a visitor is sent to log in (GET) or
 * refused (POST), the member and both producers get 403, and only the admin gets through.
 * Every refused POST must leave the database exactly as it was.
 */
export async function adminOnly(t: Test, route: AdminRoute, setUp: (t: Test) => Promise<CastCtx> = castApp): Promise<void> {
  const ctx = await setUp(t);
  for (const who of CAST) {
    const c = await clientAs(ctx.app, who);
    const url = route.url(ctx);
    const before = snapshot(ctx.db);
    const res = route.method === 'GET' ? await c.get(url) : await c.post(url, route.form?.(ctx) ?? {});
    if (who === 'admin') {
      t.equal(res.statusCode, route.admin.status, `admin: ${route.method} ${url}`);
      const location = typeof route.admin.location === 'function' ? route.admin.location(ctx) : route.admin.location;
      if (location) t.equal(res.headers.location, location, 'admin: redirect');
      route.after?.(t, ctx, res);
    } else if (who === 'anonymous' && route.method === 'GET') {
      t.equal(res.statusCode, 303, `anonymous: ${url} → log in`);
      t.equal(res.headers.location, '/login?next=' + encodeURIComponent(url));
    } else {
      t.equal(res.statusCode, 403, `${who}: ${route.method} ${url} refused`);
      t.match(text(res.body), 'Accès refusé', `${who}: the 403 page`);
      t.equal(snapshot(ctx.db), before, `${who}: nothing changed`);
    }
  }
}
