import t from 'tap';
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../src/db/index.js';
import { toDateInput, toDateTimeLocal } from '../../src/domain/time.js';
import { translator, type Locale, type MessageKey, type Params } from '../../src/i18n/index.js';
import { build, text, type Client } from '../helper.js';
import { ACTORS, clientFor, count, createCast, decode, EMAILS, escapeHtml, expectRejected, HOSTILE, outboxFor, snapshot, type Actor } from './route-helper.js';

/*
 * Sale cycles for admins: the list, the form with and without JavaScript, editing under the
 * rules of each status, the status actions and their emails, the coop's reminder setting, and bad
 * input. Who may do what is checked for a visitor, a member, a producer and an admin.
 */

const PARIS = 'Europe/Paris';
const H = 3_600_000;
const D = 24 * H;
const fr = translator('fr');
const en = translator('en');

interface World {
  app: FastifyInstance;
  db: Db;
  points: { a: number; b: number; closed: number };
  producerA: number;
  producerB: number;
}

const run = (db: Db, sql: string, ...params: unknown[]) => Number(db.$client.prepare(sql).run(...params).lastInsertRowid);

/** The app with the cast, two active pickup points and an inactive one, and two producers (A managed by producer@carnet.test). */
async function world(t: Test): Promise<World> {
  const { app, db } = await build(t);
  const ids = await createCast(db);
  const point = (name: string, active: number) => run(db, 'insert into pickup_points (name, address, active, created_at, updated_at) values (?, ?, ?, 0, 0)', name, name + ', 1 rue', active);
  const points = { a: point('Halle du marché', 1), b: point('École Jules Ferry', 1), closed: point('Ancienne gare', 0) };
  const producerA = run(db, "insert into producers (name, active, created_at, updated_at) values ('Ferme des Saules', 1, 0, 0)");
  const producerB = run(db, "insert into producers (name, active, created_at, updated_at) values ('Chèvrerie du Bois', 1, 0, 0)");
  run(db, 'insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, 0)', producerA, ids.producer);
  const other = run(db, "insert into accounts (email, name, password_hash, locale, status, created_at, updated_at) values ('goat@carnet.test', 'Gaspard', 'x', 'en', 'active', 0, 0)");
  run(db, 'insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, 0)', producerB, other);
  return { app, db, points, producerA, producerB };
}

/** Input values (Paris wall clock) for a time relative to now, rounded to the hour. */
function at(offsetMs: number): { local: string; date: string; time: string; ms: number } {
  const ms = Math.floor((Date.now() + offsetMs) / H) * H;
  const local = toDateTimeLocal(ms, PARIS);
  return { local, date: toDateInput(ms, PARIS), time: local.slice(11), ms };
}

/** A valid new-cycle form: opens in 3 days, closes in 5, one distribution at A on day 6. */
function validForm(w: World): Record<string, string> {
  const dist = at(6 * D);
  return {
    name: 'Semaine 12',
    opensAt: at(3 * D).local,
    closesAt: at(5 * D).local,
    'dist-0-point': String(w.points.a),
    'dist-0-date': dist.date,
    'dist-0-start': '17:00',
    'dist-0-end': '19:00',
    'dist-1-point': '',
    'dist-1-date': '',
    'dist-1-start': '',
    'dist-1-end': '',
  };
}

/** Inserts a cycle in a status, with one distribution at point A a day after it closes. */
function insertCycle(w: World, status: string, name = 'Vente test'): number {
  const past = status === 'closed' || status === 'done';
  const opensAt = past ? Date.now() - 5 * D : status === 'open' ? Date.now() - D : Date.now() + 2 * D;
  const closesAt = past ? Date.now() - 3 * D : Date.now() + 4 * D;
  const id = run(w.db, 'insert into cycles (name, opens_at, closes_at, status, created_at, updated_at) values (?, ?, ?, ?, 0, 0)', name, opensAt, closesAt, status);
  run(w.db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', id, w.points.a, closesAt + D, closesAt + D + 2 * H);
  return id;
}

/** The database without the sessions table, whose flash messages change with every redirect. */
function dataOf(db: Db): string {
  const all = JSON.parse(snapshot(db)) as Record<string, unknown>;
  delete all.sessions;
  return JSON.stringify(all);
}

const statusOf = (db: Db, id: number) => (db.$client.prepare('select status from cycles where id = ?').get(id) as { status: string }).status;
const cycleCount = (db: Db) => count(db, 'cycles');

/** The admin, reading the given language (saved on the account, so it wins over the browser's). */
async function admin(app: FastifyInstance, locale: Locale = 'fr'): Promise<Client> {
  const c = await clientFor(app, 'admin');
  await c.post('/lang', { locale, next: '/' });
  await c.get('/');
  return c;
}

t.test('who may see and do what', async (t) => {
  const w = await world(t);
  const cycle = insertCycle(w, 'draft');
  const pages = ['/admin/cycles', '/admin/cycles/new', `/admin/cycles/${cycle}`, `/admin/cycles/${cycle}/edit`, `/admin/cycles/${cycle}/producers/${w.producerA}`, '/admin/cycles/distribution-row?index=3'];
  const posts = ['/admin/cycles', `/admin/cycles/${cycle}/edit`, `/admin/cycles/${cycle}/schedule`, `/admin/cycles/${cycle}/unschedule`, `/admin/cycles/${cycle}/close`, `/admin/cycles/${cycle}/finish`, `/admin/cycles/${cycle}/duplicate`];
  for (const actor of ACTORS.filter((a) => a !== 'pending') as Actor[]) {
    const c = await clientFor(w.app, actor);
    for (const url of pages) {
      const res = await c.get(url);
      if (actor === 'anonymous') {
        t.equal(res.statusCode, 303, `${actor} GET ${url}`);
        t.equal(res.headers.location, '/login?next=' + encodeURIComponent(url));
      } else t.equal(res.statusCode, actor === 'admin' ? 200 : 403, `${actor} GET ${url}`);
    }
    if (actor === 'admin') continue;
    // A fresh client: the GETs above left a "log in first" flash that an error page would consume.
    const poster = await clientFor(w.app, actor);
    for (const url of posts) {
      const before = snapshot(w.db);
      const res = await poster.post(url, validForm(w));
      t.equal(res.statusCode, 403, `${actor} POST ${url}`);
      t.equal(snapshot(w.db), before, `${actor} POST ${url}: nothing changed`);
    }
  }
  // The admin's actions: each answers with a redirect (tested in detail below).
  const a = await admin(w.app);
  for (const url of posts) {
    await a.get(`/admin/cycles/${cycle}`);
    const res = await a.post(url, validForm(w));
    t.equal(res.statusCode, 303, `admin POST ${url}`);
  }
});

t.test('the list: empty state, then upcoming and open first, past after, with status and counts', async (t) => {
  const w = await world(t);
  const a = await admin(w.app, 'en');
  let res = await a.get('/admin/cycles');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), en('cycles.empty'));
  t.match(res.body, /href="\/admin\/cycles\/new"/);
  t.match(res.body, /href="\/admin\/cycles" aria-current="page">Sales</, 'the admin menu links to sales');

  insertCycle(w, 'done', 'Old sale');
  insertCycle(w, 'open', 'Open sale');
  insertCycle(w, 'draft', 'Next <draft>');
  res = await a.get('/admin/cycles');
  const body = decode(text(res.body));
  t.ok(body.indexOf('Open sale') < body.indexOf('Next <draft>') && body.indexOf('Next <draft>') < body.indexOf('Old sale'), 'open, then upcoming, then past');
  t.match(res.body, escapeHtml('Next <draft>'), 'names are escaped');
  t.notMatch(res.body, 'Next <draft>');
  for (const s of ['open', 'draft', 'done'] as const) t.match(body, en(`cycles.status.${s}`));
  t.match(res.body, /<td>1<\/td>/, 'the distribution count');
  // the French admin reads it in French
  const f = await admin(w.app, 'fr');
  res = await f.get('/admin/cycles');
  t.match(text(res.body), 'Ventes passées');
  t.match(text(res.body), 'ouverte');
});

t.test('creating a sale without JavaScript: three rows, blank ones ignored, "add a distribution" for more', async (t) => {
  const w = await world(t);
  const a = await admin(w.app, 'en');
  let res = await a.get('/admin/cycles/new');
  t.equal(res.statusCode, 200);
  t.equal([...res.body.matchAll(/name="dist-\d+-point"/g)].length, 3, 'three distribution rows');
  t.match(res.body, /<option value="\d+">Halle du marché<\/option>/);
  t.notMatch(res.body, 'Ancienne gare', 'inactive pickup points are not offered');
  t.match(res.body, /type="datetime-local"/);
  t.match(res.body, /name="addRow"/);
  t.match(text(res.body), en('cycles.time_zone_hint', { zone: PARIS }));

  // "Add a distribution" shows the form again with one more row, keeping what was typed, storing nothing.
  const form: Record<string, string> = { ...validForm(w), name: 'Semaine <12>', 'dist-2-point': '', 'dist-2-date': '', 'dist-2-start': '', 'dist-2-end': '' };
  const before = snapshot(w.db);
  res = await a.post('/admin/cycles', { ...form, addRow: '1' });
  t.equal(res.statusCode, 200);
  t.equal(snapshot(w.db), before, 'nothing stored');
  t.equal([...res.body.matchAll(/name="dist-\d+-point"/g)].length, 4, 'four rows now');
  t.match(res.body, /name="dist-3-point"/);
  t.match(res.body, escapeHtml('Semaine <12>'), 'typed values are kept, escaped');
  t.match(res.body, new RegExp(`name="dist-0-date" type="date" value="${form['dist-0-date']}"`));

  res = await a.post('/admin/cycles', { ...form, name: 'Semaine 12', 'dist-3-point': String(w.points.b), 'dist-3-date': form['dist-0-date']!, 'dist-3-start': '10:00', 'dist-3-end': '12:00' });
  t.equal(res.statusCode, 303);
  const id = Number(/\/admin\/cycles\/(\d+)$/.exec(String(res.headers.location))![1]);
  const stored = w.db.$client.prepare('select * from cycles where id = ?').get(id) as Record<string, number | string>;
  t.match(stored, { name: 'Semaine 12', status: 'draft' });
  t.equal(toDateTimeLocal(Number(stored.opens_at), PARIS), form.opensAt, 'stored in the coop time zone');
  t.equal(count(w.db, 'distributions', 'cycle_id = ?', id), 2);
  res = await a.get(String(res.headers.location));
  t.match(text(res.body), en('cycles.flash.created'));
  t.match(text(res.body), 'Halle du marché');
  t.match(text(res.body), 'École Jules Ferry');
});

t.test('with htmx, "add a distribution" fetches one row and moves the button on', async (t) => {
  const w = await world(t);
  const a = await admin(w.app);
  const res = await a.get('/admin/cycles/distribution-row?index=3', { 'hx-request': 'true' });
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /<html/, 'a fragment');
  t.match(res.body, /name="dist-3-point"/);
  t.match(res.body, /name="dist-3-date"/);
  t.match(res.body, /<label for="f-dist-3-start">/);
  t.match(res.body, /id="add-distribution"[^>]*hx-swap-oob="true"/);
  t.match(res.body, /hx-get="\/admin\/cycles\/distribution-row\?index=4"/);
  t.match(String(res.headers.vary), /HX-Request/);
  // nonsense indexes fall back to a safe row
  for (const index of ['abc', '-1', '999999']) {
    const r = await a.get('/admin/cycles/distribution-row?index=' + index, { 'hx-request': 'true' });
    t.equal(r.statusCode, 200, `index=${index}`);
    t.match(r.body, /name="dist-0-point"/);
  }
  // the last allowed row no longer offers the button
  const last = await a.get('/admin/cycles/distribution-row?index=49', { 'hx-request': 'true' });
  t.notMatch(last.body, /<button[^>]*add-distribution/);
});

const BAD: Array<{ label: string; form: (w: World) => Record<string, string>; key: MessageKey; params?: Params; echo?: string }> = [
  { label: 'empty form', form: () => ({}), key: 'error.required' },
  { label: 'closing before opening', form: (w) => ({ ...validForm(w), closesAt: at(2 * D).local }), key: 'cycles.error.closes_before_opens' },
  { label: 'garbage opening', form: (w) => ({ ...validForm(w), opensAt: 'next tuesday' }), key: 'cycles.error.invalid_datetime', echo: 'next tuesday' },
  { label: 'impossible date', form: (w) => ({ ...validForm(w), closesAt: '2026-02-30T12:00' }), key: 'cycles.error.invalid_datetime', echo: '2026-02-30T12:00' },
  { label: 'hour that the clocks skip', form: (w) => ({ ...validForm(w), opensAt: '2027-03-28T02:30', closesAt: '2027-03-29T12:00' }), key: 'cycles.error.nonexistent_time' },
  { label: 'unknown pickup point', form: (w) => ({ ...validForm(w), 'dist-0-point': '99999' }), key: 'cycles.error.unknown_pickup_point' },
  { label: 'inactive pickup point', form: (w) => ({ ...validForm(w), 'dist-0-point': String(w.points.closed) }), key: 'cycles.error.unknown_pickup_point' },
  { label: 'pickup point id is hostile', form: (w) => ({ ...validForm(w), 'dist-0-point': HOSTILE.sql }), key: 'cycles.error.unknown_pickup_point' },
  { label: 'distribution before closing', form: (w) => ({ ...validForm(w), 'dist-0-date': at(4 * D).date }), key: 'cycles.error.distribution_before_close' },
  { label: 'distribution ends before it starts', form: (w) => ({ ...validForm(w), 'dist-0-start': '19:00', 'dist-0-end': '18:00' }), key: 'cycles.error.ends_before_starts' },
  { label: 'garbage time', form: (w) => ({ ...validForm(w), 'dist-0-start': '7pm' }), key: 'cycles.error.invalid_time', echo: '7pm' },
  { label: 'no distribution', form: (w) => ({ ...validForm(w), 'dist-0-point': '', 'dist-0-date': '', 'dist-0-start': '', 'dist-0-end': '' }), key: 'cycles.error.no_distribution' },
  {
    label: 'exact duplicate distribution',
    form: (w) => {
      const f = validForm(w);
      return { ...f, 'dist-1-point': f['dist-0-point']!, 'dist-1-date': f['dist-0-date']!, 'dist-1-start': '17:00', 'dist-1-end': '19:00' };
    },
    key: 'cycles.error.duplicate_distribution',
  },
  { label: '101-character name', form: (w) => ({ ...validForm(w), name: 'V'.repeat(101) }), key: 'error.too_long', params: { max: 100 }, echo: 'V'.repeat(101) },
  { label: 'hostile name with a bad date', form: (w) => ({ ...validForm(w), name: HOSTILE.script, opensAt: 'x' }), key: 'cycles.error.invalid_datetime', echo: HOSTILE.script },
  { label: 'attribute breakout in a date', form: (w) => ({ ...validForm(w), closesAt: HOSTILE.attr }), key: 'cycles.error.invalid_datetime', echo: HOSTILE.attr },
];

for (const locale of ['fr', 'en'] as const) {
  t.test(`bad input on the cycle form is refused with a clear message (${locale})`, async (t) => {
    const w = await world(t);
    const a = await admin(w.app, locale);
    const tr = translator(locale);
    for (const bad of BAD) {
      await expectRejected(t, w.db, a, '/admin/cycles', { label: bad.label, form: bad.form(w), message: tr(bad.key, bad.params), ...(bad.echo ? { echo: bad.echo } : {}) }, '/admin/cycles/new');
    }
    // the field in error is marked for assistive technology
    const res = await a.post('/admin/cycles', { ...validForm(w), 'dist-0-point': '99999' });
    t.match(res.body, /<select id="f-dist-0-point" name="dist-0-point" aria-invalid="true" aria-describedby="f-dist-0-point-error">/);
    t.equal(cycleCount(w.db), 0);
  });
}

t.test('editing: a draft fully, an open sale only later and with new distributions, a closed one not at all', async (t) => {
  const w = await world(t);
  const a = await admin(w.app, 'en');
  const draft = insertCycle(w, 'draft', 'Draft sale');
  let res = await a.get(`/admin/cycles/${draft}/edit`);
  t.equal(res.statusCode, 200);
  const opens = toDateTimeLocal((w.db.$client.prepare('select opens_at from cycles where id = ?').get(draft) as { opens_at: number }).opens_at, PARIS);
  t.match(res.body, `value="${opens}"`, 'dates shown in the coop time zone');
  t.match(res.body, /name="dist-0-id" value="\d+"/);
  t.match(res.body, /name="dist-0-remove"/);
  // Add a second distribution at B and remove the first.
  const distId = /name="dist-0-id" value="(\d+)"/.exec(res.body)![1]!;
  const form = Object.fromEntries([...res.body.matchAll(/<input id="f-([^"]+)" name="([^"]+)" type="[^"]+" value="([^"]*)"/g)].map((m) => [m[2]!, decode(m[3]!)]));
  const distDate = form['dist-0-date']!;
  res = await a.post(`/admin/cycles/${draft}/edit`, {
    ...form,
    name: 'Draft sale, renamed',
    'dist-0-id': distId,
    'dist-0-point': String(w.points.a),
    'dist-0-remove': 'on',
    'dist-1-point': String(w.points.b),
    'dist-1-date': distDate,
    'dist-1-start': '09:00',
    'dist-1-end': '11:00',
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/admin/cycles/${draft}`);
  t.same(w.db.$client.prepare('select pickup_point_id from distributions where cycle_id = ?').all(draft), [{ pickup_point_id: w.points.b }]);
  t.match(text((await a.get(`/admin/cycles/${draft}`)).body), 'Draft sale, renamed');

  // Open: the name and the opening are not inputs any more; closing earlier is refused.
  const open = insertCycle(w, 'open', 'Open sale');
  res = await a.get(`/admin/cycles/${open}/edit`);
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /name="name"/);
  t.notMatch(res.body, /name="opensAt"/);
  t.notMatch(res.body, /name="dist-\d+-remove"/);
  t.match(text(res.body), en('cycles.open_edit_notice'));
  const closes = (w.db.$client.prepare('select closes_at from cycles where id = ?').get(open) as { closes_at: number }).closes_at;
  await expectRejected(t, w.db, a, `/admin/cycles/${open}/edit`, { label: 'open: earlier closing', form: { closesAt: toDateTimeLocal(closes - H, PARIS) }, message: en('cycles.error.open_close_earlier') });
  const later = closes + 2 * H;
  const newDist = at(10 * D);
  res = await a.post(`/admin/cycles/${open}/edit`, { name: 'Hijacked', closesAt: toDateTimeLocal(later, PARIS), 'dist-0-point': String(w.points.b), 'dist-0-date': newDist.date, 'dist-0-start': '10:00', 'dist-0-end': '12:00' });
  t.equal(res.statusCode, 303);
  const saved = w.db.$client.prepare('select name, closes_at from cycles where id = ?').get(open) as { name: string; closes_at: number };
  t.equal(saved.name, 'Open sale', 'the name of an open sale is kept');
  t.equal(toDateTimeLocal(saved.closes_at, PARIS), toDateTimeLocal(later, PARIS), 'closing moved later');
  t.equal(count(w.db, 'distributions', 'cycle_id = ?', open), 2, 'a distribution added, none removed');

  // Closed and done: the edit page sends back to the overview with a message; a POST changes nothing.
  for (const status of ['closed', 'done']) {
    const id = insertCycle(w, status, 'Past sale');
    res = await a.get(`/admin/cycles/${id}/edit`);
    t.equal(res.statusCode, 303, `${status}: no edit page`);
    t.equal(res.headers.location, `/admin/cycles/${id}`);
    t.match(text((await a.get(String(res.headers.location))).body), en('cycles.flash.not_editable'));
    const before = dataOf(w.db);
    res = await a.post(`/admin/cycles/${id}/edit`, validForm(w));
    t.equal(res.statusCode, 303);
    t.equal(dataOf(w.db), before, `${status}: nothing changed`);
  }
  // Unknown and malformed ids
  for (const id of ['99999', 'abc', '0', '-1', '1.5']) {
    t.equal((await a.get(`/admin/cycles/${id}/edit`)).statusCode, 404, `GET edit ${id}`);
    await a.get('/admin/cycles');
    const before = snapshot(w.db);
    t.equal((await a.post(`/admin/cycles/${id}/edit`, validForm(w))).statusCode, 404, `POST edit ${id}`);
    t.equal(snapshot(w.db), before);
  }
});

t.test('a distribution of another sale cannot be changed or removed through this one', async (t) => {
  const w = await world(t);
  const a = await admin(w.app);
  const mine = insertCycle(w, 'draft', 'Mine');
  const other = insertCycle(w, 'draft', 'Other');
  const otherDist = (w.db.$client.prepare('select id from distributions where cycle_id = ?').get(other) as { id: number }).id;
  await a.get(`/admin/cycles/${mine}/edit`);
  const f = validForm(w);
  await expectRejected(t, w.db, a, `/admin/cycles/${mine}/edit`, {
    label: 'foreign distribution id',
    form: { ...f, 'dist-0-id': String(otherDist), 'dist-0-remove': 'on' },
    message: fr('cycles.error.unknown_distribution'),
  });
  t.equal(count(w.db, 'distributions', 'cycle_id = ?', other), 1);
});

t.test('status actions: schedule emails producers once, then unschedule, close now, mark as done', async (t) => {
  const w = await world(t);
  const a = await admin(w.app, 'en');
  const id = insertCycle(w, 'draft', 'Week 12');
  let res = await a.get(`/admin/cycles/${id}`);
  t.match(res.body, new RegExp(`action="/admin/cycles/${id}/schedule"`));
  t.notMatch(res.body, new RegExp(`action="/admin/cycles/${id}/close"`));
  t.match(res.body, new RegExp(`action="/admin/cycles/${id}/duplicate"`));
  t.match(res.body, new RegExp(`href="/admin/cycles/${id}/edit"`));

  res = await a.post(`/admin/cycles/${id}/schedule`);
  t.equal(res.statusCode, 303);
  t.equal(statusOf(w.db, id), 'scheduled');
  t.match(text((await a.get(`/admin/cycles/${id}`)).body), en('cycles.flash.schedule', { name: 'Week 12', emails: 2 }));
  const mails = outboxFor(w.db);
  t.same(mails.map((m) => m.to_address).sort(), ['goat@carnet.test', EMAILS.producer]);
  const toA = outboxFor(w.db, EMAILS.producer)[0]!;
  t.equal(toA.subject, fr('cycles.email.scheduled.subject', { cycle: 'Week 12' }), 'in the producer’s language');
  t.match(toA.text_body, `http://carnet.test/producer/${w.producerA}/cycles/${id}/offers`);
  t.match(outboxFor(w.db, 'goat@carnet.test')[0]!.text_body, `http://carnet.test/producer/${w.producerB}/cycles/${id}/offers`);

  res = await a.get(`/admin/cycles/${id}`);
  t.match(res.body, new RegExp(`action="/admin/cycles/${id}/unschedule"`));
  await a.post(`/admin/cycles/${id}/unschedule`);
  t.equal(statusOf(w.db, id), 'draft');
  await a.get(`/admin/cycles/${id}`);
  await a.post(`/admin/cycles/${id}/schedule`);
  t.equal(statusOf(w.db, id), 'scheduled');
  t.equal(outboxFor(w.db).length, 2, 'producers are told once');

  // A refused action says why and changes nothing.
  await a.get(`/admin/cycles/${id}`);
  let before = dataOf(w.db);
  res = await a.post(`/admin/cycles/${id}/close`);
  t.equal(res.statusCode, 303);
  t.equal(dataOf(w.db), before);
  t.match(text((await a.get(`/admin/cycles/${id}`)).body), en('cycles.refused.not_allowed'));

  const open = insertCycle(w, 'open', 'Open');
  await a.get(`/admin/cycles/${open}`);
  res = await a.post(`/admin/cycles/${open}/close`);
  t.equal(statusOf(w.db, open), 'closed');
  res = await a.get(`/admin/cycles/${open}`);
  t.match(res.body, /hx-confirm=/, 'marking as done asks for confirmation with JavaScript');
  await a.post(`/admin/cycles/${open}/finish`);
  t.equal(statusOf(w.db, open), 'done');
  res = await a.get(`/admin/cycles/${open}`);
  t.notMatch(res.body, new RegExp(`action="/admin/cycles/${open}/(schedule|unschedule|close|finish)"`), 'a done sale has no status action');
  t.notMatch(res.body, new RegExp(`href="/admin/cycles/${open}/edit"`));
  before = dataOf(w.db);
  for (const action of ['schedule', 'unschedule', 'close', 'finish']) {
    await a.post(`/admin/cycles/${open}/${action}`);
    t.equal(statusOf(w.db, open), 'done', `${action}: a done sale never reopens`);
  }
  t.equal(dataOf(w.db), before, 'nothing but the flash changed');

  // Scheduling a sale whose opening has passed is refused with a clear message.
  const late = insertCycle(w, 'draft', 'Late');
  w.db.$client.prepare('update cycles set opens_at = ? where id = ?').run(Date.now() - H, late);
  await a.get(`/admin/cycles/${late}`);
  await a.post(`/admin/cycles/${late}/schedule`);
  t.equal(statusOf(w.db, late), 'draft');
  t.match(text((await a.get(`/admin/cycles/${late}`)).body), en('cycles.refused.opens_in_past'));

  for (const action of ['schedule', 'unschedule', 'close', 'finish', 'duplicate']) {
    for (const bad of ['99999', 'abc', '0']) {
      await a.get('/admin/cycles');
      t.equal((await a.post(`/admin/cycles/${bad}/${action}`)).statusCode, 404, `${action} ${bad}`);
    }
  }
});

t.test('the reminder setting is on the coop settings form, 1 to 336 hours', async (t) => {
  const w = await world(t);
  const a = await admin(w.app, 'en');
  let res = await a.get('/admin/settings');
  t.match(res.body, /name="producerReminderHours"[^>]*value="48"/);
  const settings = { name: 'Coop Test', contactEmail: 'contact@carnet.test', defaultLocale: 'fr', timeZone: PARIS };
  for (const bad of ['0', '337', 'abc', '-4', '2,5', '']) {
    await expectRejected(t, w.db, a, '/admin/settings', { label: `hours ${JSON.stringify(bad)}`, form: { ...settings, producerReminderHours: bad }, message: bad === '' ? en('error.required') : en('error.reminder_hours'), ...(bad ? { echo: bad } : {}) }, '/admin/settings');
  }
  res = await a.post('/admin/settings', { ...settings, producerReminderHours: ' 24 ' });
  t.equal(res.statusCode, 303);
  t.equal((w.db.$client.prepare('select producer_reminder_hours h from coop').get() as { h: number }).h, 24);
  // A form without the field (an older page) keeps the value.
  await a.get('/admin/settings');
  res = await a.post('/admin/settings', settings);
  t.equal(res.statusCode, 303);
  t.equal((w.db.$client.prepare('select producer_reminder_hours h from coop').get() as { h: number }).h, 24);
});
