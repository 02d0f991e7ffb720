import t from 'tap';
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../src/db/index.js';
import { toDateTimeLocal } from '../../src/domain/time.js';
import { translator } from '../../src/i18n/index.js';
import { build, text, type Client } from '../helper.js';
import { clientFor, count, createCast, decode, snapshot } from './route-helper.js';

/*
 * The admin's overview of a sale: which producers have published, how many offers and their
 * value, each producer's offers read-only, and "duplicate to next week".
 */

const PARIS = 'Europe/Paris';
const H = 3_600_000;
const D = 24 * H;
const en = translator('en');

const run = (db: Db, sql: string, ...params: unknown[]) => Number(db.$client.prepare(sql).run(...params).lastInsertRowid);

interface World {
  app: FastifyInstance;
  db: Db;
  cycle: number;
  saules: number;
  chevre: number;
  verger: number;
  products: Record<string, number>;
}

/** A scheduled sale with offers from two producers; a third producer offers nothing, a fourth is inactive. */
async function world(t: Test): Promise<World> {
  const { app, db } = await build(t);
  await createCast(db);
  const point = run(db, "insert into pickup_points (name, address, active, created_at, updated_at) values ('Halle', '1 rue', 1, 0, 0)");
  const producer = (name: string, active = 1) => run(db, 'insert into producers (name, active, created_at, updated_at) values (?, ?, 0, 0)', name, active);
  const saules = producer('Ferme des Saules');
  const chevre = producer('Chèvrerie <du> Bois');
  const verger = producer('Verger');
  const gone = producer('Ancienne ferme', 0);
  const product = (producerId: number, name: string, unit: string, price: number, active = 1, weighed = 0) =>
    run(db, 'insert into products (producer_id, name, unit, price_cents, vat_rate_bp, weighed, estimated_weight_grams, active, created_at, updated_at) values (?, ?, ?, ?, 550, ?, ?, ?, 0, 0)', producerId, name, unit, price, weighed, weighed ? 1600 : null, active);
  const products = {
    carrots: product(saules, 'Carottes', 'bunch', 250),
    chicken: product(saules, 'Poulet', 'kg', 1450, 1, 1),
    radish: product(saules, 'Radis', 'bunch', 150),
    cheese: product(chevre, 'Crottin', 'piece', 380),
    tomme: product(chevre, 'Tomme', 'piece', 900, 0),
    jam: product(gone, 'Confiture', 'jar', 500),
  };
  const opensAt = Date.now() + 2 * D;
  const closesAt = opensAt + 2 * D;
  const cycle = run(db, "insert into cycles (name, opens_at, closes_at, status, created_at, updated_at) values ('Semaine 12', ?, ?, 'scheduled', 0, 0)", opensAt, closesAt);
  run(db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycle, point, closesAt + D, closesAt + D + 2 * H);
  const offer = (productId: number, producerId: number, qty: number | null, price: number, published = 1, taken = 0) =>
    run(db, 'insert into offers (cycle_id, product_id, producer_id, published, quantity_available, quantity_taken, price_cents, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, 0, 0)', cycle, productId, producerId, published, qty, taken, price);
  offer(products.carrots, saules, 20, 250, 1, 4); // 50.00
  offer(products.chicken, saules, 6, 1500); // 90.00
  offer(products.radish, saules, 30, 150, 0); // draft: not counted
  offer(products.cheese, chevre, null, 380); // unlimited
  offer(products.tomme, chevre, 2, 900); // product archived since
  offer(products.jam, gone, 10, 500); // inactive producer
  return { app, db, cycle, saules, chevre, verger, products };
}

async function englishAdmin(app: FastifyInstance): Promise<Client> {
  const c = await clientFor(app, 'admin');
  await c.post('/lang', { locale: 'en', next: '/' });
  await c.get('/');
  return c;
}

/** The cells of the table row that links to a producer's offers. */
function producerRow(html: string, cycle: number, producerId: number): string[] {
  const row = new RegExp(`<tr>\\s*<td><a href="/admin/cycles/${cycle}/producers/${producerId}">[\\s\\S]*?</tr>`).exec(html);
  if (!row) return [];
  return [...row[0].matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => decode(text(m[1]!)));
}

t.test('the overview: status, dates, actions, distributions and where each producer stands', async (t) => {
  const w = await world(t);
  const a = await englishAdmin(w.app);
  const res = await a.get(`/admin/cycles/${w.cycle}`);
  t.equal(res.statusCode, 200);
  const body = decode(text(res.body));
  t.match(body, 'Semaine 12');
  t.match(body, en('cycles.status.scheduled'));
  t.match(body, en('cycles.status_help.scheduled'));
  t.match(body, 'Halle');
  t.match(res.body, /<div class="table-scroll">/, 'tables scroll on a narrow screen');
  t.match(body, en('cycles.published_summary', { published: 2, total: 3 }), 'two of the three active producers published');
  t.same(producerRow(res.body, w.cycle, w.saules), ['Ferme des Saules', 'yes (1 draft(s))', '2', '€140.00']);
  t.same(producerRow(res.body, w.cycle, w.chevre), ['Chèvrerie <du> Bois', 'yes', '2', '€18.00 + 1 unlimited offer(s)']);
  t.same(producerRow(res.body, w.cycle, w.verger), ['Verger', 'no', '0', '€0.00']);
  t.notMatch(body, 'Ancienne ferme', 'inactive producers are not listed');
  t.notMatch(res.body, 'Chèvrerie <du> Bois', 'names are escaped');
  t.match(res.body, new RegExp(`action="/admin/cycles/${w.cycle}/unschedule"`));
  t.match(res.body, new RegExp(`action="/admin/cycles/${w.cycle}/duplicate"`));
});

t.test('a producer’s offers, read-only', async (t) => {
  const w = await world(t);
  const a = await englishAdmin(w.app);
  let res = await a.get(`/admin/cycles/${w.cycle}/producers/${w.saules}`);
  t.equal(res.statusCode, 200);
  const body = decode(text(res.body));
  t.match(body, en('cycles.producer_offers_title', { producer: 'Ferme des Saules', cycle: 'Semaine 12' }));
  t.match(body, /Carottes €2\.50 \/ bunch 20 4 published/);
  t.match(body, /Poulet €15\.00 \/ kg 6 0 published/);
  t.match(body, /Radis €1\.50 \/ bunch 30 0 draft \(not on sale\)/);
  const main = /<main[\s\S]*<\/main>/.exec(res.body)![0];
  t.notMatch(main.replace(/<nav[\s\S]*?<\/nav>/g, ''), /<form/i, 'nothing to change here');
  res = await a.get(`/admin/cycles/${w.cycle}/producers/${w.chevre}`);
  t.match(decode(text(res.body)), /Crottin €3\.80 \/ piece unlimited 0 published/);
  res = await a.get(`/admin/cycles/${w.cycle}/producers/${w.verger}`);
  t.match(text(res.body), en('cycles.no_offers'), 'empty state');
  // unknown or malformed ids: 404
  for (const url of [`/admin/cycles/${w.cycle}/producers/99999`, `/admin/cycles/99999/producers/${w.saules}`, `/admin/cycles/${w.cycle}/producers/abc`, `/admin/cycles/x/producers/1`, '/admin/cycles/99999']) {
    t.equal((await a.get(url)).statusCode, 404, url);
  }
  // a producer sees none of it, not even their own line
  const p = await clientFor(w.app, 'producer');
  t.equal((await p.get(`/admin/cycles/${w.cycle}/producers/${w.saules}`)).statusCode, 403);
});

t.test('an empty sale: no producer yet, no distribution', async (t) => {
  const { app, db } = await build(t);
  const id = run(db, "insert into cycles (name, opens_at, closes_at, status, created_at, updated_at) values ('Vide', ?, ?, 'draft', 0, 0)", Date.now() + D, Date.now() + 2 * D);
  const a = await englishAdmin(app);
  const res = await a.get(`/admin/cycles/${id}`);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), en('cycles.no_producers'));
  t.match(res.body, /href="\/admin\/producers"/);
  t.match(text(res.body), en('cycles.no_distributions'));
  // and the form says to create a pickup point first
  const form = await a.get('/admin/cycles/new');
  t.match(text(form.body), en('cycles.no_pickup_points'));
  t.match(form.body, /href="\/admin\/pickup-points"/);
});

t.test('duplicate to next week: a draft copy with dates shifted on the wall clock and offers as drafts', async (t) => {
  const w = await world(t);
  const a = await englishAdmin(w.app);
  await a.get(`/admin/cycles/${w.cycle}`);
  const res = await a.post(`/admin/cycles/${w.cycle}/duplicate`);
  t.equal(res.statusCode, 303);
  const copy = Number(/\/admin\/cycles\/(\d+)$/.exec(String(res.headers.location))![1]);
  t.not(copy, w.cycle);
  const [src, dst] = [w.cycle, copy].map((id) => w.db.$client.prepare('select * from cycles where id = ?').get(id) as Record<string, number | string>);
  t.match(dst, { name: 'Semaine 12 (copy)', status: 'draft' });
  const shifted = (ms: number) => {
    const [date, time] = toDateTimeLocal(ms, PARIS).split('T');
    const d = new Date(date + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + 7);
    return d.toISOString().slice(0, 10) + 'T' + time;
  };
  t.equal(toDateTimeLocal(Number(dst!.opens_at), PARIS), shifted(Number(src!.opens_at)), 'opening: same time a week later');
  t.equal(toDateTimeLocal(Number(dst!.closes_at), PARIS), shifted(Number(src!.closes_at)));
  t.equal(count(w.db, 'distributions', 'cycle_id = ?', copy), 1);
  t.same(
    w.db.$client.prepare('select product_id, published, quantity_available, quantity_taken, price_cents from offers where cycle_id = ? order by product_id').all(copy),
    [
      { product_id: w.products.carrots, published: 0, quantity_available: 20, quantity_taken: 0, price_cents: 250 },
      { product_id: w.products.chicken, published: 0, quantity_available: 6, quantity_taken: 0, price_cents: 1500 },
      { product_id: w.products.radish, published: 0, quantity_available: 30, quantity_taken: 0, price_cents: 150 },
      { product_id: w.products.cheese, published: 0, quantity_available: null, quantity_taken: 0, price_cents: 380 },
    ],
    'active products of active producers, as drafts',
  );
  const page = await a.get(String(res.headers.location));
  t.match(text(page.body), en('cycles.flash.duplicated', { offers: 4 }));
  t.same(producerRow(page.body, copy, w.saules).slice(1, 3), ['no (3 draft(s))', '0'], 'drafts are not published offers');
  // The French admin gets a French suffix.
  const before = snapshot(w.db);
  const fr = await clientFor(w.app, 'admin');
  await fr.post('/lang', { locale: 'fr', next: '/' });
  await fr.get(`/admin/cycles/${w.cycle}`);
  await fr.post(`/admin/cycles/${w.cycle}/duplicate`);
  t.not(snapshot(w.db), before);
  t.equal((w.db.$client.prepare('select name from cycles order by id desc limit 1').get() as { name: string }).name, 'Semaine 12 (copie)');
});
