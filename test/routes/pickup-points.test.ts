import t from 'tap';
import { createPickupPoint, findPickupPoint } from '../../src/domain/pickup-points.js';
import { translator } from '../../src/i18n/index.js';
import { text } from '../helper.js';
import { adminOnly, castApp, clientAs, type CastCtx } from './admin-cast.js';
import { count, escapeHtml, expectRejected, HOSTILE, snapshot } from './route-helper.js';

/* The admin's pickup points: list, create, edit, deactivate, and delete only when unused. */

const fr = translator('fr');
const good = { name: 'Marché des Halles', address: '2 rue des Halles\n44000 Nantes', instructions: 'Entrée côté parking, porte B', active: 'on' };

/** Cast plus two pickup points, one of them used by a distribution. */
async function setUp(t: Parameters<typeof castApp>[0]) {
  const ctx = await castApp(t);
  const used = createPickupPoint(ctx.db, { name: 'Mairie', address: '1 place de la Mairie', instructions: '', active: true });
  const unused = createPickupPoint(ctx.db, { name: 'École', address: '3 rue de l’École', instructions: '', active: false });
  const now = Date.now();
  const cycle = ctx.db.$client
    .prepare("insert into cycles (name, opens_at, closes_at, status, created_at, updated_at) values ('Semaine 1', ?, ?, 'draft', ?, ?)")
    .run(now, now + 3600_000, now, now).lastInsertRowid;
  ctx.db.$client.prepare('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)').run(cycle, used.id, now + 7200_000, now + 10800_000);
  return Object.assign(ctx, { used, unused });
}
type Ctx = CastCtx & { used: { id: number }; unused: { id: number } };

t.test('every pickup point route: only the admin gets through', async (t) => {
  const routes: Array<Parameters<typeof adminOnly>[1] & { name: string }> = [
    { name: 'list', method: 'GET', url: () => '/admin/pickup-points', admin: { status: 200 }, after: (t, _c, res) => t.match(text(res.body), /Mairie .* actif .* École .* inactif/) },
    { name: 'new', method: 'GET', url: () => '/admin/pickup-points/new', admin: { status: 200 } },
    {
      name: 'create',
      method: 'POST',
      url: () => '/admin/pickup-points',
      form: () => good,
      admin: { status: 303, location: '/admin/pickup-points' },
      after: (t, ctx) => t.equal(count(ctx.db, 'pickup_points', "name = 'Marché des Halles' and active = 1 and address = ?", '2 rue des Halles\n44000 Nantes'), 1),
    },
    { name: 'edit', method: 'GET', url: (ctx) => `/admin/pickup-points/${(ctx as Ctx).used.id}`, admin: { status: 200 } },
    {
      name: 'save (deactivate)',
      method: 'POST',
      url: (ctx) => `/admin/pickup-points/${(ctx as Ctx).used.id}`,
      form: () => ({ name: 'Mairie (salle B)', address: '1 place de la Mairie', instructions: 'Salle B' }),
      admin: { status: 303, location: '/admin/pickup-points' },
      after: (t, ctx) => t.match(findPickupPoint(ctx.db, (ctx as Ctx).used.id), { name: 'Mairie (salle B)', instructions: 'Salle B', active: false }),
    },
    {
      name: 'delete',
      method: 'POST',
      url: (ctx) => `/admin/pickup-points/${(ctx as Ctx).unused.id}/delete`,
      admin: { status: 303, location: '/admin/pickup-points' },
      after: (t, ctx) => t.equal(findPickupPoint(ctx.db, (ctx as Ctx).unused.id), undefined),
    },
  ];
  for (const route of routes) await t.test(route.name, (t) => adminOnly(t, route, setUp));
});

t.test('a pickup point used by a distribution: 422 with a clear message, nothing deleted', async (t) => {
  const ctx = (await setUp(t)) as Ctx;
  const admin = await clientAs(ctx.app, 'admin');
  let res = await admin.get(`/admin/pickup-points/${ctx.used.id}`);
  t.notMatch(res.body, `action="/admin/pickup-points/${ctx.used.id}/delete"`, 'no delete button for a used point');
  t.match(text(res.body), fr('pickup_points.error.in_use', { count: 1 }));
  const before = snapshot(ctx.db);
  res = await admin.post(`/admin/pickup-points/${ctx.used.id}/delete`);
  t.equal(res.statusCode, 422);
  t.match(text(res.body), fr('pickup_points.error.in_use', { count: 1 }));
  t.equal(snapshot(ctx.db), before);
  // The unused one can go, and then it is a 404.
  res = await admin.get(`/admin/pickup-points/${ctx.unused.id}`);
  t.match(res.body, `action="/admin/pickup-points/${ctx.unused.id}/delete"`);
  t.equal((await admin.post(`/admin/pickup-points/${ctx.unused.id}/delete`)).statusCode, 303);
  res = await admin.get('/admin/pickup-points');
  t.match(text(res.body), fr('pickup_points.flash.deleted', { name: 'École' }));
  t.equal((await admin.post(`/admin/pickup-points/${ctx.unused.id}/delete`)).statusCode, 404);
});

t.test('unknown or malformed ids are 404 and change nothing', async (t) => {
  const ctx = (await setUp(t)) as Ctx;
  const admin = await clientAs(ctx.app, 'admin');
  for (const id of ['9999', 'abc', '0', '-1', '1.5', '99999999999999999999']) {
    t.equal((await admin.get(`/admin/pickup-points/${id}`)).statusCode, 404, `GET ${id}`);
    for (const url of [`/admin/pickup-points/${id}`, `/admin/pickup-points/${id}/delete`]) {
      await admin.get('/admin/pickup-points');
      const before = snapshot(ctx.db);
      t.equal((await admin.post(url, good)).statusCode, 404, `POST ${url}`);
      t.equal(snapshot(ctx.db), before);
    }
  }
});

t.test('bad pickup point forms: 422, the same form, nothing stored', async (t) => {
  const ctx = (await setUp(t)) as Ctx;
  const admin = await clientAs(ctx.app, 'admin');
  const cases = [
    { label: 'no name', form: { ...good, name: '' }, message: fr('error.required') },
    { label: 'no address', form: { ...good, address: '  ' }, message: fr('error.required') },
    { label: 'hostile name', form: { ...good, name: HOSTILE.script }, message: fr('error.invalid_name'), echo: HOSTILE.script },
    { label: 'name too long', form: { ...good, name: 'a'.repeat(101) }, message: fr('error.too_long', { max: 100 }) },
    { label: 'address too long', form: { ...good, address: 'a'.repeat(501) }, message: fr('error.too_long', { max: 500 }) },
    { label: 'instructions too long', form: { ...good, instructions: 'a'.repeat(2001) }, message: fr('error.too_long', { max: 2000 }) },
    { label: 'NUL in the instructions', form: { ...good, instructions: HOSTILE.nul }, message: fr('error.invalid_text') },
    { label: 'two addresses', form: { ...good, address: ['a', 'b'] }, message: fr('error.invalid_value') },
  ];
  for (const bad of cases) {
    await expectRejected(t, ctx.db, admin, '/admin/pickup-points', bad, '/admin/pickup-points/new');
    await expectRejected(t, ctx.db, admin, `/admin/pickup-points/${ctx.used.id}`, bad, `/admin/pickup-points/${ctx.used.id}`);
  }
  // Hostile text in the address is kept as text and shown escaped.
  await admin.get('/admin/pickup-points/new');
  t.equal((await admin.post('/admin/pickup-points', { ...good, address: HOSTILE.attr, instructions: HOSTILE.script })).statusCode, 303);
  const res = await admin.get('/admin/pickup-points');
  t.notMatch(res.body, '<img src=x');
  t.match(res.body, escapeHtml(HOSTILE.attr));
});

t.test('an empty list says what to do next', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  const res = await admin.get('/admin/pickup-points');
  t.match(text(res.body), fr('pickup_points.empty'));
  t.match(res.body, 'href="/admin/pickup-points/new"');
  t.match(res.body, /<a href="\/admin\/pickup-points" aria-current="page">/, 'the admin menu shows where we are');
});
