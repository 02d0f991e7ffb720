import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import type { Db } from '../../src/db/index.js';
import { categories, cycles, offers, producerAccounts, producers, products, type CycleStatus } from '../../src/db/schema/index.js';
import { translator } from '../../src/i18n/index.js';
import { build, Client, createAccount, loggedIn, text, type TestApp } from '../helper.js';
import { clientFor, count, decode, escapeHtml, expectRejected, snapshot, type BadInput } from './route-helper.js';

/*
 * The producer's weekly stock pages: the cycle list, the offers page, the whole-page save without
 * JavaScript, the inline row save with htmx, "copy my offers from the last cycle", read-only
 * cycles, and who may do what. Cycles and products are inserted directly.
 */

const fr = translator('fr');
const DAY = 24 * 3_600_000;

interface World extends TestApp {
  a: number;
  b: number;
  cycles: Record<'open' | 'scheduled' | 'closed' | 'draft', number>;
  p: Record<'carrots' | 'tomme' | 'chicken' | 'archived' | 'honey', number>;
}

function cycle(db: Db, name: string, status: CycleStatus, opensInDays: number): number {
  const now = Date.now();
  const opensAt = now + opensInDays * DAY;
  return db.insert(cycles).values({ name, status, opensAt, closesAt: opensAt + 3 * DAY, createdAt: now, updatedAt: now }).returning({ id: cycles.id }).get().id;
}

function offer(db: Db, cycleId: number, productId: number, producerId: number, fields: Partial<typeof offers.$inferInsert> = {}): number {
  const now = Date.now();
  return db
    .insert(offers)
    .values({ cycleId, productId, producerId, quantityAvailable: 10, priceCents: 250, createdAt: now, updatedAt: now, ...fields })
    .returning({ id: offers.id })
    .get().id;
}

/** Two producers with their accounts, a member, products, and cycles in every state. */
async function world(t: Test, opts: { cycles?: boolean } = {}): Promise<World> {
  const built = await build(t);
  const { db } = built;
  const now = Date.now();
  const producer = (name: string) => db.insert(producers).values({ name, createdAt: now, updatedAt: now }).returning({ id: producers.id }).get().id;
  const a = producer('Ferme des Alouettes');
  const b = producer('Rucher de Bea');
  const link = async (email: string, producerId: number) => {
    const accountId = await createAccount(db, { email, name: email.split('@')[0], roles: ['producer', 'member'] });
    db.insert(producerAccounts).values({ producerId, accountId, createdAt: now }).run();
  };
  await link('a@carnet.test', a);
  await link('b@carnet.test', b);
  await createAccount(db, { email: 'member@carnet.test', name: 'Mia Member' });
  const veg = db.insert(categories).values({ nameFr: 'Légumes test', nameEn: 'Test vegetables', position: -2 }).returning({ id: categories.id }).get().id;
  const cheese = db.insert(categories).values({ nameFr: 'Fromages test', nameEn: 'Test cheese', position: -1 }).returning({ id: categories.id }).get().id;
  const product = (producerId: number, name: string, fields: Partial<typeof products.$inferInsert> = {}) =>
    db
      .insert(products)
      .values({ producerId, name, unit: 'piece', priceCents: 200, vatRateBp: 550, createdAt: now, updatedAt: now, ...fields })
      .returning({ id: products.id })
      .get().id;
  const p = {
    carrots: product(a, 'Carottes', { categoryId: veg, unit: 'bunch', priceCents: 180 }),
    tomme: product(a, 'Tomme', { categoryId: cheese, unit: 'kg', priceCents: 2200 }),
    chicken: product(a, 'Poulet', { weighed: true, estimatedWeightGrams: 1600, priceCents: 1290 }),
    archived: product(a, 'Vieux produit', { categoryId: veg, active: false }),
    honey: product(b, 'Miel de Bea', { unit: 'jar', priceCents: 800 }),
  };
  const ids =
    opts.cycles === false
      ? { open: 0, scheduled: 0, closed: 0, draft: 0 }
      : {
          closed: cycle(db, 'Semaine 1', 'closed', -8),
          open: cycle(db, 'Semaine 2', 'open', -1),
          scheduled: cycle(db, 'Semaine 3', 'scheduled', 6),
          draft: cycle(db, 'Semaine 4', 'draft', 13),
        };
  return { ...built, a, b, cycles: ids, p };
}

/** An input of the offers page holding a value. */
const inputValue = (field: string, productId: number, value: string) => new RegExp(`name="${field}\\[${productId}\\]" form="offers-form" aria-label="[^"]+" value="${value}"`);

const pageOf = (w: World, cycleId: number, producerId = w.a) => `/producer/${producerId}/cycles/${cycleId}/offers`;

/** An htmx request from a page: the CSRF token in its header, as the layout's hx-headers sends it. */
async function htmxPost(c: Client, url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
  return c.app.inject({
    method: 'POST',
    url,
    payload: new URLSearchParams(form).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'hx-request': 'true',
      'x-csrf-token': c.csrf,
      cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    },
  });
}

const offerRow = (db: Db, cycleId: number, productId: number) =>
  db.$client.prepare('select published, quantity_available, quantity_taken, price_cents, producer_id from offers where cycle_id = ? and product_id = ?').get(cycleId, productId) as
    | { published: number; quantity_available: number | null; quantity_taken: number; price_cents: number; producer_id: number }
    | undefined;

const offersAndCycles = (db: Db) => JSON.stringify([db.$client.prepare('select * from offers order by id').all(), db.$client.prepare('select * from cycles order by id').all()]);

t.test('who may open and change the weekly stock pages', async (t) => {
  const w = await world(t);
  const { app, db } = w;
  offer(db, w.cycles.open, w.p.carrots, w.a);
  offer(db, w.cycles.closed, w.p.carrots, w.a);
  await createAccount(db, { email: 'admin-producer@carnet.test', roles: ['admin', 'producer'] });
  const base = `/producer/${w.a}/cycles`;
  const routes: Array<{ method: 'GET' | 'POST'; url: string; form?: Record<string, string>; ok: number }> = [
    { method: 'GET', url: base, ok: 200 },
    { method: 'GET', url: pageOf(w, w.cycles.open), ok: 200 },
    { method: 'POST', url: pageOf(w, w.cycles.open), form: { [`offered[${w.p.tomme}]`]: 'on', [`quantity[${w.p.tomme}]`]: '4', [`price[${w.p.tomme}]`]: '21,00' }, ok: 303 },
    { method: 'POST', url: pageOf(w, w.cycles.scheduled) + '/copy-last', ok: 303 },
    { method: 'POST', url: `${pageOf(w, w.cycles.open)}/${w.p.chicken}`, form: { [`offered[${w.p.chicken}]`]: 'on', [`quantity[${w.p.chicken}]`]: '6', [`price[${w.p.chicken}]`]: '12,90' }, ok: 303 },
  ];
  const people: Array<{ who: string; client: () => Promise<Client>; get: number | 'login'; post: number }> = [
    { who: 'a visitor', client: () => clientFor(app, 'anonymous'), get: 'login', post: 403 },
    { who: 'a member', client: () => loggedIn(app, 'member@carnet.test'), get: 403, post: 403 },
    { who: 'an admin who is no producer', client: () => loggedIn(app, 'admin@carnet.test'), get: 403, post: 403 },
    { who: 'an admin-producer who does not manage A', client: () => loggedIn(app, 'admin-producer@carnet.test'), get: 404, post: 404 },
    { who: 'producer B', client: () => loggedIn(app, 'b@carnet.test'), get: 404, post: 404 },
  ];
  for (const person of people) {
    const c = await person.client();
    for (const r of routes) {
      await c.get('/');
      const before = snapshot(db);
      const res = r.method === 'GET' ? await c.get(r.url) : await c.post(r.url, r.form ?? {});
      if (r.method === 'GET' && person.get === 'login') {
        t.equal(res.statusCode, 303, `${person.who}: GET ${r.url}`);
        t.equal(res.headers.location, '/login?next=' + encodeURIComponent(r.url));
      } else t.equal(res.statusCode, r.method === 'GET' ? person.get : person.post, `${person.who}: ${r.method} ${r.url}`);
      t.notMatch(res.body, 'Carottes', `${person.who}: never A’s data`);
      if (r.method === 'POST') t.equal(snapshot(db), before, `${person.who}: ${r.method} ${r.url} changed nothing`);
    }
    // Producer B's htmx row save on A's product through B's own URL is a 404 too.
    if (person.who === 'producer B') {
      await c.get(pageOf(w, w.cycles.open, w.b));
      const before = snapshot(db);
      const res = await htmxPost(c, `${pageOf(w, w.cycles.open, w.b)}/${w.p.carrots}`, { [`offered[${w.p.carrots}]`]: 'on', [`quantity[${w.p.carrots}]`]: '1' });
      t.equal(res.statusCode, 404, 'B cannot save A’s product through its own pages');
      t.equal(snapshot(db), before);
      const page = await c.get(pageOf(w, w.cycles.open, w.b));
      t.equal(page.statusCode, 200, 'B has its own page');
      t.notMatch(page.body, 'Carottes');
      t.match(page.body, 'Miel de Bea');
    }
  }
  const a = await loggedIn(app, 'a@carnet.test');
  for (const r of routes) {
    await a.get(pageOf(w, w.cycles.open));
    const res = r.method === 'GET' ? await a.get(r.url) : await a.post(r.url, r.form ?? {});
    t.equal(res.statusCode, r.ok, `producer A: ${r.method} ${r.url}`);
  }
  t.match(offerRow(db, w.cycles.open, w.p.tomme), { quantity_available: 4, price_cents: 2100, producer_id: w.a });
  t.match(offerRow(db, w.cycles.open, w.p.chicken), { quantity_available: 6, price_cents: 1290 });
});

t.test('ids that do not exist, are malformed, or name a draft cycle are 404', async (t) => {
  const w = await world(t);
  const a = await loggedIn(w.app, 'a@carnet.test');
  const urls = [
    `/producer/${w.a}/cycles/${w.cycles.draft}/offers`,
    `/producer/${w.a}/cycles/9999/offers`,
    `/producer/${w.a}/cycles/abc/offers`,
    `/producer/${w.a}/cycles/1e3/offers`,
    `/producer/${w.a}/cycles/0/offers`,
    `/producer/${w.a}/cycles/-1/offers`,
    `/producer/9999/cycles/${w.cycles.open}/offers`,
    `/producer/abc/cycles`,
  ];
  for (const url of urls) t.equal((await a.get(url)).statusCode, 404, `GET ${url}`);
  await a.get(pageOf(w, w.cycles.open));
  for (const url of [
    ...urls,
    `${pageOf(w, w.cycles.draft)}/copy-last`,
    `${pageOf(w, w.cycles.open)}/9999`,
    `${pageOf(w, w.cycles.open)}/${w.p.honey}`,
    `${pageOf(w, w.cycles.open)}/x1`,
    `${pageOf(w, w.cycles.draft)}/${w.p.carrots}`,
  ]) {
    const before = snapshot(w.db);
    const res = await a.post(url, { [`offered[${w.p.honey}]`]: 'on', [`quantity[${w.p.honey}]`]: '3' });
    t.equal(res.statusCode, 404, `POST ${url}`);
    t.equal(snapshot(w.db), before, `POST ${url} changed nothing`);
  }
});

t.test('the cycle list: empty state, then coming, open and past sales with this producer’s counts', async (t) => {
  const w = await world(t, { cycles: false });
  const a = await loggedIn(w.app, 'a@carnet.test');
  let res = await a.get(`/producer/${w.a}/cycles`);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('offers.no_cycle'));

  const draft = cycle(w.db, 'Vente brouillon', 'draft', 10);
  t.match(text((await a.get(`/producer/${w.a}/cycles`)).body), fr('offers.no_cycle'), 'a draft is not shown');
  const open = cycle(w.db, 'Vente ouverte', 'open', -1);
  const next = cycle(w.db, 'Vente programmée', 'scheduled', 5);
  const closed = cycle(w.db, 'Vente fermée', 'closed', -9);
  offer(w.db, open, w.p.carrots, w.a);
  offer(w.db, open, w.p.tomme, w.a);
  offer(w.db, open, w.p.honey, w.b);
  offer(w.db, next, w.p.carrots, w.a, { published: false });
  const point = w.db.$client.prepare("insert into pickup_points (name, address, created_at, updated_at) values ('Halle aux grains', '1 place', 0, 0) returning id").get() as { id: number };
  const startsAt = Date.UTC(2031, 4, 6, 15, 0);
  w.db.$client.prepare('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)').run(next, point.id, startsAt, startsAt + 2 * 3_600_000);
  res = await a.get(`/producer/${w.a}/cycles`);
  const page = text(res.body);
  t.notMatch(page, fr('offers.no_cycle'));
  t.notMatch(page, 'Vente brouillon');
  t.match(page, 'Vente ouverte');
  t.match(page, 'Vente programmée');
  t.match(page, fr('offers.past'));
  t.match(page, 'Vente fermée');
  t.match(page, fr('offers.published_count', { count: 2 }), 'A’s two offers, not B’s');
  t.match(page, fr('offers.draft_count', { count: 1 }));
  t.match(page, fr('offers.not_published'));
  t.match(page, 'Halle aux grains, 6 mai 2031, 17:00–19:00', 'the distribution, in the coop’s time zone');
  t.match(page, fr('offers.no_distribution'));
  for (const id of [open, next, closed]) t.match(res.body, `href="/producer/${w.a}/cycles/${id}/offers"`);
  t.notMatch(res.body, `/cycles/${draft}/offers`);
  t.match(res.body, 'class="table-scroll"');
});

t.test('the offers page lists every active product by category, with drafts pre-filled but unticked', async (t) => {
  const w = await world(t);
  offer(w.db, w.cycles.scheduled, w.p.carrots, w.a, { published: false, quantityAvailable: 7, priceCents: 195 });
  offer(w.db, w.cycles.scheduled, w.p.tomme, w.a, { quantityAvailable: null, priceCents: 2150 });
  const a = await loggedIn(w.app, 'a@carnet.test');
  const res = await a.get(pageOf(w, w.cycles.scheduled));
  t.equal(res.statusCode, 200);
  const body = res.body;
  const page = text(body);
  t.ok(page.indexOf('Légumes test') < page.indexOf('Fromages test'), 'categories in their order');
  t.match(page, fr('offers.no_category'), 'products without a category come last');
  t.notMatch(page, 'Vieux produit', 'archived products are not listed');
  t.notMatch(page, 'Miel de Bea');
  // The draft: filled in, unticked, with its note.
  t.match(body, new RegExp(`<input type="checkbox" id="offered-${w.p.carrots}" name="offered\\[${w.p.carrots}\\]" form="offers-form" aria-label="[^"]+" aria-describedby`));
  t.match(body, inputValue('quantity', w.p.carrots, '7'));
  t.match(body, inputValue('price', w.p.carrots, '1,95'));
  t.match(page, fr('offers.draft_note'));
  // The published, unlimited offer.
  t.match(body, new RegExp(`id="offered-${w.p.tomme}" name="offered\\[${w.p.tomme}\\]" form="offers-form" aria-label="[^"]+" checked`));
  t.match(body, new RegExp(`name="unlimited\\[${w.p.tomme}\\]" form="offers-form" aria-label="[^"]+" checked`));
  t.match(body, inputValue('price', w.p.tomme, '21,50'));
  // A product not offered: the catalog price is the default; a weighed one is priced per kg.
  t.match(body, inputValue('price', w.p.chicken, '12,90'));
  t.match(page, fr('offers.per_kg_weighed'));
  t.match(page, fr('offers.per_unit.bunch'));
  // One form, posted without JavaScript, and per-row htmx saves.
  t.match(body, `<form id="offers-form" method="post" action="${pageOf(w, w.cycles.scheduled)}"`);
  t.match(body, `hx-post="${pageOf(w, w.cycles.scheduled)}/${w.p.carrots}"`);
  t.match(body, 'hx-include="this"');
  t.notMatch(page, fr('offers.col_ordered'), 'nothing is ordered before the sale opens');
  for (const id of [w.p.carrots, w.p.tomme, w.p.chicken]) {
    for (const field of ['offered', 'quantity', 'unlimited', 'price']) t.match(body, new RegExp(`id="${field}-${id}" name="${field}\\[${id}\\]" form="offers-form" aria-label="[^"]+"`), `${field} of ${id} is labelled`);
  }
  t.match(body, 'class="table-scroll"');

  // In English, categories are named in English.
  const en = await loggedIn(w.app, 'a@carnet.test');
  await en.post('/lang', { locale: 'en', next: '/' });
  const page2 = text((await en.get(pageOf(w, w.cycles.scheduled))).body);
  t.match(page2, 'Test vegetables');
  t.match(page2, 'Copied from last week, not yet published.');
});

t.test('an open cycle shows what is ordered and what is left', async (t) => {
  const w = await world(t);
  offer(w.db, w.cycles.open, w.p.carrots, w.a, { quantityAvailable: 10, quantityTaken: 3 });
  const a = await loggedIn(w.app, 'a@carnet.test');
  const res = await a.get(pageOf(w, w.cycles.open));
  const page = text(res.body);
  t.match(page, fr('offers.col_ordered'));
  t.match(page, fr('offers.col_left'));
  t.match(page, fr('offers.open_notice'));
  t.match(res.body, /<td[^>]*>3<\/td>\s*<td[^>]*>7<\/td>/, '3 ordered, 7 left');
});

t.test('a product without any catalog: an empty state with the next step', async (t) => {
  const w = await world(t);
  w.db.$client.prepare('update products set active = 0 where producer_id = ?').run(w.a);
  const a = await loggedIn(w.app, 'a@carnet.test');
  const res = await a.get(pageOf(w, w.cycles.scheduled));
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('offers.no_products'));
  t.match(res.body, `href="/producer/${w.a}/products"`);
  t.notMatch(res.body, 'id="offers-form"');
});

t.test('without JavaScript the whole page saves in one transaction', async (t) => {
  const w = await world(t);
  const a = await loggedIn(w.app, 'a@carnet.test');
  const url = pageOf(w, w.cycles.scheduled);
  await a.get(url);
  const res = await a.post(url, {
    [`offered[${w.p.carrots}]`]: 'on',
    [`quantity[${w.p.carrots}]`]: '12',
    [`price[${w.p.carrots}]`]: '2,50',
    [`offered[${w.p.tomme}]`]: 'on',
    [`unlimited[${w.p.tomme}]`]: 'on',
    [`quantity[${w.p.tomme}]`]: '',
    [`price[${w.p.tomme}]`]: '21.90',
    [`quantity[${w.p.chicken}]`]: 'abc',
    [`price[${w.p.chicken}]`]: '-5',
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, url);
  t.match(offerRow(w.db, w.cycles.scheduled, w.p.carrots), { published: 1, quantity_available: 12, price_cents: 250, producer_id: w.a });
  t.match(offerRow(w.db, w.cycles.scheduled, w.p.tomme), { quantity_available: null, price_cents: 2190 });
  t.equal(offerRow(w.db, w.cycles.scheduled, w.p.chicken), undefined, 'an unticked row is not saved, whatever it holds');
  const page = await a.get(url);
  t.match(text(page.body), fr('offers.flash.published', { count: 2 }));

  // Unticking withdraws; the flash counts what is left on sale.
  const res2 = await a.post(url, { [`offered[${w.p.tomme}]`]: 'on', [`unlimited[${w.p.tomme}]`]: 'on', [`price[${w.p.tomme}]`]: '21,90', [`quantity[${w.p.carrots}]`]: '12', [`price[${w.p.carrots}]`]: '2,50' });
  t.equal(res2.statusCode, 303);
  t.equal(offerRow(w.db, w.cycles.scheduled, w.p.carrots), undefined);
  t.match(text((await a.get(url)).body), fr('offers.flash.published', { count: 1 }));
});

t.test('bad input on the whole page: 422, the error on its row, nothing saved', async (t) => {
  const w = await world(t);
  offer(w.db, w.cycles.open, w.p.tomme, w.a, { quantityAvailable: 10, quantityTaken: 3 });
  const a = await loggedIn(w.app, 'a@carnet.test');
  const url = pageOf(w, w.cycles.open);
  const c = w.p.carrots;
  const row = (quantity: string, price: string, extra: Record<string, string> = {}) => ({
    [`offered[${c}]`]: 'on',
    [`quantity[${c}]`]: quantity,
    [`price[${c}]`]: price,
    // a valid row alongside, which must not be saved either
    [`offered[${w.p.chicken}]`]: 'on',
    [`quantity[${w.p.chicken}]`]: '5',
    [`price[${w.p.chicken}]`]: '12,90',
    ...extra,
  });
  const cases: BadInput[] = [
    { label: 'negative quantity', form: row('-3', '2,50'), message: fr('error.invalid_quantity'), echo: '-3' },
    { label: 'quantity "abc"', form: row('abc', '2,50'), message: fr('error.invalid_quantity'), echo: 'abc' },
    { label: 'decimal quantity', form: row('2,5', '2,50'), message: fr('error.invalid_quantity'), echo: '2,5' },
    { label: 'quantity too large', form: row('100001', '2,50'), message: fr('error.quantity_range') },
    { label: 'quantity missing', form: row('', '2,50'), message: fr('error.required') },
    { label: 'quantity zero', form: row('0', '2,50'), message: fr('offers.error.zero_quantity') },
    { label: 'price "-2"', form: row('4', '-2'), message: fr('error.invalid_price'), echo: '-2' },
    { label: 'price "1000000"', form: row('4', '1000000'), message: fr('error.price_range'), echo: '1000000' },
    { label: 'price "0"', form: row('4', '0'), message: fr('error.price_range') },
    { label: 'price "abc"', form: row('4', 'abc'), message: fr('error.invalid_price') },
    { label: 'hostile price', form: row('4', '<script>alert(1)</script>'), message: fr('error.invalid_price'), echo: '<script>alert(1)</script>' },
    { label: 'hostile quantity', form: row('"><img src=x onerror=alert(1)>', '2'), message: fr('error.quantity_range'), echo: '"><img src=x onerror=alert(1)>' },
    { label: 'a field sent twice', form: { ...row('4', '2,50'), [`quantity[${c}]`]: ['4', '5'] }, message: fr('error.invalid_value') },
    {
      label: 'lowering below what is ordered',
      form: row('4', '2,50', { [`offered[${w.p.tomme}]`]: 'on', [`quantity[${w.p.tomme}]`]: '2', [`price[${w.p.tomme}]`]: '22' }),
      message: fr('offers.error.below_taken', { taken: 3 }),
    },
    {
      label: 'withdrawing what is ordered',
      form: row('4', '2,50', { [`quantity[${w.p.tomme}]`]: '10', [`price[${w.p.tomme}]`]: '22' }),
      message: fr('offers.error.already_ordered', { taken: 3 }),
    },
    {
      label: 'an archived product',
      form: row('4', '2,50', { [`offered[${w.p.archived}]`]: 'on', [`quantity[${w.p.archived}]`]: '2', [`price[${w.p.archived}]`]: '2' }),
      message: fr('offers.error.unknown_product'),
    },
    {
      label: 'another producer’s product',
      form: row('4', '2,50', { [`offered[${w.p.honey}]`]: 'on', [`quantity[${w.p.honey}]`]: '2', [`price[${w.p.honey}]`]: '8' }),
      message: fr('offers.error.unknown_product'),
    },
  ];
  for (const bad of cases) {
    const res = await expectRejected(t, w.db, a, url, bad, url);
    t.ok(decode(res.body).includes(fr('offers.error.rows', { count: 1 })), `${bad.label}: the summary says nothing was saved`);
    // A product that is not on the page has no row to mark: the summary says it.
    if (bad.message !== fr('offers.error.unknown_product')) t.match(res.body, 'aria-invalid="true"', `${bad.label}: the field is marked`);
  }
  t.equal(count(w.db, 'offers'), 1, 'only the offer that was there');

  // "2,50" and "2.50" are both understood.
  for (const price of ['2,50', '2.50']) {
    await a.get(url);
    const res = await a.post(url, row('4', price));
    t.equal(res.statusCode, 303, `price ${price}`);
    t.match(offerRow(w.db, w.cycles.open, c), { price_cents: 250 });
  }
});

t.test('an archived product that is still offered can be withdrawn, not offered again', async (t) => {
  const w = await world(t);
  offer(w.db, w.cycles.open, w.p.archived, w.a);
  const a = await loggedIn(w.app, 'a@carnet.test');
  const url = pageOf(w, w.cycles.open);
  let res = await a.get(url);
  t.match(text(res.body), 'Vieux produit');
  t.match(text(res.body), fr('offers.archived_note'));
  res = await htmxPost(a, `${url}/${w.p.archived}`, { [`offered[${w.p.archived}]`]: 'on', [`quantity[${w.p.archived}]`]: '20', [`price[${w.p.archived}]`]: '2' });
  t.equal(res.statusCode, 422);
  t.match(decode(res.body), fr('offers.error.archived'));
  res = await htmxPost(a, `${url}/${w.p.archived}`, { [`quantity[${w.p.archived}]`]: '10', [`price[${w.p.archived}]`]: '2,50' });
  t.equal(res.statusCode, 200);
  t.match(res.body, fr('offers.status.removed'));
  t.equal(offerRow(w.db, w.cycles.open, w.p.archived), undefined);
});

t.test('with htmx each row saves by itself and comes back as a fragment', async (t) => {
  const w = await world(t);
  offer(w.db, w.cycles.open, w.p.tomme, w.a, { quantityAvailable: 10, quantityTaken: 3 });
  const a = await loggedIn(w.app, 'a@carnet.test');
  const url = pageOf(w, w.cycles.open);
  await a.get(url);
  const c = w.p.carrots;

  let res = await htmxPost(a, `${url}/${c}`, { [`offered[${c}]`]: 'on', [`quantity[${c}]`]: '8', [`price[${c}]`]: '1,75' });
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /<html/, 'a fragment, not a page');
  t.match(res.body, new RegExp(`^\\s*<tr id="offer-${c}"`));
  t.match(res.body, fr('offers.status.saved'));
  t.match(res.body, `value="1,75"`);
  t.match(String(res.headers.vary), /HX-Request/);
  t.match(offerRow(w.db, w.cycles.open, c), { published: 1, quantity_available: 8, price_cents: 175, producer_id: w.a });

  // Other rows in the request body are ignored: only the URL's product is saved.
  res = await htmxPost(a, `${url}/${c}`, { [`offered[${c}]`]: 'on', [`quantity[${c}]`]: '9', [`price[${c}]`]: '1,75', [`offered[${w.p.chicken}]`]: 'on', [`quantity[${w.p.chicken}]`]: '1' });
  t.equal(res.statusCode, 200);
  t.equal(offerRow(w.db, w.cycles.open, w.p.chicken), undefined);

  // Errors come back as the row with its message, status 422, nothing saved.
  const errors: Array<[string, Record<string, string>, number, string]> = [
    ['bad price', { [`offered[${c}]`]: 'on', [`quantity[${c}]`]: '8', [`price[${c}]`]: '-2' }, c, fr('error.invalid_price')],
    ['bad quantity', { [`offered[${c}]`]: 'on', [`quantity[${c}]`]: 'abc', [`price[${c}]`]: '2' }, c, fr('error.invalid_quantity')],
    ['below taken', { [`offered[${w.p.tomme}]`]: 'on', [`quantity[${w.p.tomme}]`]: '2', [`price[${w.p.tomme}]`]: '22' }, w.p.tomme, fr('offers.error.below_taken', { taken: 3 })],
    ['withdraw taken', { [`quantity[${w.p.tomme}]`]: '10', [`price[${w.p.tomme}]`]: '22' }, w.p.tomme, fr('offers.error.already_ordered', { taken: 3 })],
  ];
  for (const [label, form, productId, message] of errors) {
    const before = snapshot(w.db);
    res = await htmxPost(a, `${url}/${productId}`, form);
    t.equal(res.statusCode, 422, `${label}: 422`);
    t.notMatch(res.body, /<html/, `${label}: a fragment`);
    t.match(res.body, new RegExp(`^\\s*<tr id="offer-${productId}"`), `${label}: the row`);
    t.ok(decode(res.body).includes(message), `${label}: says "${message}"`);
    t.match(res.body, 'aria-invalid="true"');
    t.equal(snapshot(w.db), before, `${label}: nothing saved`);
  }

  // Lowering to exactly what is ordered is fine; the row then shows 0 left.
  res = await htmxPost(a, `${url}/${w.p.tomme}`, { [`offered[${w.p.tomme}]`]: 'on', [`quantity[${w.p.tomme}]`]: '3', [`price[${w.p.tomme}]`]: '22' });
  t.equal(res.statusCode, 200);
  t.match(res.body, /<td[^>]*>3<\/td>\s*<td[^>]*>0<\/td>/);

  // Without the CSRF header the request is refused.
  const noToken = await w.app.inject({
    method: 'POST',
    url: `${url}/${c}`,
    payload: `offered%5B${c}%5D=on&quantity%5B${c}%5D=1&price%5B${c}%5D=1`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true', cookie: [...a.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  t.equal(noToken.statusCode, 403);
  t.match(offerRow(w.db, w.cycles.open, c), { quantity_available: 9 });

  // The same URL without htmx answers 303 back to the page, or the page with the error.
  await a.get(url);
  res = await a.post(`${url}/${c}`, { [`offered[${c}]`]: 'on', [`quantity[${c}]`]: '11', [`price[${c}]`]: '1,80' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, url);
  t.match(offerRow(w.db, w.cycles.open, c), { quantity_available: 11, price_cents: 180 });
  await a.get(url);
  res = await a.post(`${url}/${c}`, { [`offered[${c}]`]: 'on', [`quantity[${c}]`]: '-1', [`price[${c}]`]: '1,80' });
  t.equal(res.statusCode, 422);
  t.match(res.body, /<html/, 'a whole page without htmx');
  t.ok(decode(res.body).includes(fr('error.invalid_quantity')));
  t.match(res.body, inputValue('quantity', c, '-1'));
});

t.test('closed and done cycles are read-only', async (t) => {
  const w = await world(t);
  offer(w.db, w.cycles.closed, w.p.carrots, w.a, { quantityAvailable: 10, quantityTaken: 6, priceCents: 190 });
  const a = await loggedIn(w.app, 'a@carnet.test');
  const url = pageOf(w, w.cycles.closed);
  const res = await a.get(url);
  t.equal(res.statusCode, 200);
  const page = text(res.body);
  t.match(page, fr('offers.read_only_notice'));
  t.match(page, 'Carottes');
  t.match(page, '1,90');
  t.match(res.body, /<td[^>]*>6<\/td>\s*<td[^>]*>4<\/td>/, '6 ordered, 4 left');
  t.notMatch(res.body, 'id="offers-form"');
  t.notMatch(res.body, 'hx-post');
  t.notMatch(res.body, /<input type="(text|checkbox)"/);
  t.notMatch(res.body, '/copy-last');

  const form = { [`offered[${w.p.carrots}]`]: 'on', [`quantity[${w.p.carrots}]`]: '20', [`price[${w.p.carrots}]`]: '1' };
  for (const post of [() => a.post(url, form), () => a.post(`${url}/copy-last`), () => a.post(`${url}/${w.p.carrots}`, form)]) {
    await a.get(url);
    const before = offersAndCycles(w.db);
    const r = await post();
    t.equal(r.statusCode, 303);
    t.equal(offersAndCycles(w.db), before, 'no offer or cycle changed (only the session’s flash)');
    t.match(text((await a.get(url)).body), fr('offers.flash.read_only'));
  }
  const before = snapshot(w.db);
  const r = await htmxPost(a, `${url}/${w.p.carrots}`, form);
  t.equal(r.statusCode, 422);
  t.ok(decode(r.body).includes(fr('offers.flash.read_only')));
  t.equal(snapshot(w.db), before);

  w.db.$client.prepare("update cycles set status = 'done' where id = ?").run(w.cycles.closed);
  t.match(text((await a.get(url)).body), fr('offers.read_only_notice'));
});

t.test('copy my offers from the last cycle', async (t) => {
  const w = await world(t);
  const a = await loggedIn(w.app, 'a@carnet.test');
  const url = pageOf(w, w.cycles.scheduled);
  await a.get(url);
  let res = await a.post(`${url}/copy-last`);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, url);
  t.match(text((await a.get(url)).body), fr('offers.flash.nothing_to_copy'));
  t.equal(count(w.db, 'offers'), 0);

  offer(w.db, w.cycles.open, w.p.carrots, w.a, { quantityAvailable: 14, priceCents: 185, quantityTaken: 5 });
  offer(w.db, w.cycles.open, w.p.tomme, w.a, { quantityAvailable: null, priceCents: 2250 });
  offer(w.db, w.cycles.open, w.p.honey, w.b);
  offer(w.db, w.cycles.scheduled, w.p.tomme, w.a, { quantityAvailable: 2, priceCents: 2000 });
  res = await a.post(`${url}/copy-last`);
  t.equal(res.statusCode, 303);
  t.match(text((await a.get(url)).body), fr('offers.flash.copied', { count: 1, cycle: 'Semaine 2' }));
  t.match(offerRow(w.db, w.cycles.scheduled, w.p.carrots), { published: 1, quantity_available: 14, price_cents: 185, quantity_taken: 0, producer_id: w.a });
  t.match(offerRow(w.db, w.cycles.scheduled, w.p.tomme), { quantity_available: 2, price_cents: 2000 }, 'what was already offered is unchanged');
  t.equal(offerRow(w.db, w.cycles.scheduled, w.p.honey), undefined);

  res = await a.post(`${url}/copy-last`);
  t.match(text((await a.get(url)).body), fr('offers.flash.all_copied', { cycle: 'Semaine 2' }));
});

t.test('the page escapes product and cycle names', async (t) => {
  const w = await world(t);
  w.db.$client.prepare('update products set name = ? where id = ?').run('<script>alert(1)</script>', w.p.carrots);
  w.db.$client.prepare('update cycles set name = ? where id = ?').run('"><img src=x onerror=alert(1)>', w.cycles.scheduled);
  const a = await loggedIn(w.app, 'a@carnet.test');
  for (const url of [pageOf(w, w.cycles.scheduled), `/producer/${w.a}/cycles`]) {
    const res = await a.get(url);
    t.equal(res.statusCode, 200);
    t.notMatch(res.body, '<script>alert(1)</script>');
    t.notMatch(res.body, '<img src=x');
    t.match(res.body, escapeHtml('"><img src=x onerror=alert(1)>'));
  }
});
