import t from 'tap';
import type { Test } from 'tap';
import type { Db } from '../../src/db/index.js';
import { CYCLE_STATUSES, type CycleStatus } from '../../src/db/schema/index.js';
import { setupCoop } from '../../src/domain/coop.js';
import {
  actionsFor,
  applyDueTransitions,
  CLOCK_EVENTS,
  CYCLE_ACTIONS,
  createCycle,
  DONE_AFTER_MS,
  dueClockEvent,
  duplicateCycle,
  editableParts,
  getCycle,
  listCycles,
  nextStatus,
  performCycleAction,
  producerSummaries,
  reminderHoursField,
  sendDueReminders,
  updateCycle,
  validateCycleForm,
  type CycleEvent,
  type CycleFormInput,
} from '../../src/domain/cycles.js';
import { toDateTimeLocal } from '../../src/domain/time.js';
import { Mailer } from '../../src/mail/mailer.js';
import { testDb } from '../helper.js';
import { outboxEmails } from '../support/outbox.js';

/*
 * Sale cycles: the state machine (every status × every action and clock event), the clock
 * (several steps at once after a downtime, guarded updates), producer notices sent once, form
 * validation, the edit rules of each status, duplication across a change of the clocks, and the
 * admin overview's figures.
 */

const PARIS = 'Europe/Paris';
const H = 3_600_000;
const D = 24 * H;
const iso = (s: string) => Date.parse(s);
/** "Now" in these tests: Tuesday 20 October 2026, 12:00 in Paris (summer time). */
const NOW = iso('2026-10-20T10:00:00Z');
const mailer = new Mailer('http://carnet.test');

interface Fixture {
  db: Db;
  points: { a: number; b: number; closed: number };
  producers: { p1: number; p2: number; gone: number };
  products: { carrots: number; eggs: number; archived: number; cheese: number; goneJam: number };
}

function run(db: Db, sql: string, ...params: unknown[]): number {
  return Number(db.$client.prepare(sql).run(...params).lastInsertRowid);
}
function rows<T = Record<string, unknown>>(db: Db, sql: string, ...params: unknown[]): T[] {
  return db.$client.prepare(sql).all(...params) as T[];
}

/** A coop in Paris, three pickup points (one inactive), three producers (one inactive) with their accounts and products. */
function fixture(t: Test): Fixture {
  const { db } = testDb(t);
  const setup = setupCoop(db, {
    coopName: 'Coop',
    contactEmail: 'c@coop.test',
    defaultLocale: 'fr',
    timeZone: PARIS,
    adminName: 'Ada',
    adminEmail: 'admin@coop.test',
    passwordHash: 'x',
    adminLocale: 'fr',
  });
  if (!setup.ok) throw new Error('setup');
  const point = (name: string, active: number) => run(db, 'insert into pickup_points (name, address, active, created_at, updated_at) values (?, ?, ?, 0, 0)', name, name + ' street', active);
  const producer = (name: string, active: number) => run(db, 'insert into producers (name, active, created_at, updated_at) values (?, ?, 0, 0)', name, active);
  const account = (email: string, locale: string, status = 'active') =>
    run(db, "insert into accounts (email, name, password_hash, locale, status, created_at, updated_at) values (?, ?, 'x', ?, ?, 0, 0)", email, email.split('@')[0], locale, status);
  const manage = (producerId: number, accountId: number) => run(db, 'insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, 0)', producerId, accountId);
  const product = (producerId: number, name: string, price: number, active = 1) =>
    run(db, "insert into products (producer_id, name, unit, price_cents, vat_rate_bp, active, created_at, updated_at) values (?, ?, 'piece', ?, 550, ?, 0, 0)", producerId, name, price, active);
  const points = { a: point('Halle', 1), b: point('École', 1), closed: point('Ancienne gare', 0) };
  const producers = { p1: producer('Ferme des Saules', 1), p2: producer('Chèvrerie', 1), gone: producer('Ancien verger', 0) };
  manage(producers.p1, account('saules@coop.test', 'fr'));
  manage(producers.p1, account('saules2@coop.test', 'en'));
  manage(producers.p2, account('chevre@coop.test', 'en'));
  manage(producers.p2, account('waiting@coop.test', 'fr', 'pending'));
  manage(producers.gone, account('verger@coop.test', 'fr'));
  const products = {
    carrots: product(producers.p1, 'Carottes', 250),
    eggs: product(producers.p1, 'Œufs', 420),
    archived: product(producers.p1, 'Radis', 150, 0),
    cheese: product(producers.p2, 'Crottin', 380),
    goneJam: product(producers.gone, 'Confiture', 500),
  };
  return { db, points, producers, products };
}

/** Inserts a cycle directly, with distributions given as [pickup point, starts, ends]. */
function insertCycle(db: Db, c: { name?: string; status?: CycleStatus; opensAt: number; closesAt: number; noticeAt?: number | null; dists?: Array<[number, number, number]> }): number {
  const id = run(
    db,
    'insert into cycles (name, opens_at, closes_at, status, scheduled_notice_at, created_at, updated_at) values (?, ?, ?, ?, ?, 0, 0)',
    c.name ?? 'Semaine 44',
    c.opensAt,
    c.closesAt,
    c.status ?? 'draft',
    c.noticeAt ?? null,
  );
  for (const [p, s, e] of c.dists ?? []) run(db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', id, p, s, e);
  return id;
}

function offer(db: Db, cycleId: number, productId: number, producerId: number, o: { published?: boolean; qty?: number | null; price?: number; taken?: number } = {}): number {
  return run(
    db,
    'insert into offers (cycle_id, product_id, producer_id, published, quantity_available, quantity_taken, price_cents, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, 0, 0)',
    cycleId,
    productId,
    producerId,
    o.published === false ? 0 : 1,
    o.qty === undefined ? 10 : o.qty,
    o.taken ?? 0,
    o.price ?? 300,
  );
}

const statusOf = (db: Db, id: number) => rows<{ status: CycleStatus }>(db, 'select status from cycles where id = ?', id)[0]!.status;
const outbox = (db: Db) => outboxEmails(db);

/** A cycle opening in two days, closing in four, one distribution the day after closing. */
function standardTimes(now = NOW) {
  const opensAt = now + 2 * D;
  const closesAt = now + 4 * D;
  return { opensAt, closesAt, dist: [closesAt + D, closesAt + D + 2 * H] as const };
}

// ----- the state machine as data -----

t.test('every (status, event) pair of the state machine', async (t) => {
  const expected: Record<CycleStatus, Partial<Record<CycleEvent, CycleStatus>>> = {
    draft: { schedule: 'scheduled' },
    scheduled: { unschedule: 'draft', opens_at_reached: 'open' },
    open: { close: 'closed', closes_at_reached: 'closed' },
    closed: { finish: 'done', done_delay_passed: 'done' },
    done: {},
  };
  const events: CycleEvent[] = [...CYCLE_ACTIONS, ...CLOCK_EVENTS];
  let pairs = 0;
  for (const status of CYCLE_STATUSES) {
    for (const event of events) {
      t.equal(nextStatus(status, event), expected[status][event] ?? null, `${status} + ${event}`);
      pairs++;
    }
  }
  t.equal(pairs, 35, 'five statuses × seven events');
  // never back from open or closed, never out of done
  for (const event of events) {
    t.notOk(['draft', 'scheduled'].includes(nextStatus('open', event) ?? ''), `open never goes back (${event})`);
    t.notOk(['draft', 'scheduled', 'open'].includes(nextStatus('closed', event) ?? ''), `closed never reopens (${event})`);
    t.equal(nextStatus('done', event), null, `done is final (${event})`);
  }
});

t.test('the actions offered and the parts editable in each status', async (t) => {
  const cases: Array<[CycleStatus, string[], string]> = [
    ['draft', ['schedule'], 'all'],
    ['scheduled', ['unschedule'], 'all'],
    ['open', ['close'], 'open'],
    ['closed', ['finish'], 'none'],
    ['done', [], 'none'],
  ];
  for (const [status, actions, editable] of cases) {
    t.same(actionsFor(status), actions, `${status}: actions`);
    t.equal(editableParts(status), editable, `${status}: editable`);
  }
});

t.test('which clock event is due, by status and time', async (t) => {
  const c = { opensAt: 1000 * H, closesAt: 1010 * H };
  const lastEnd = 1030 * H;
  const cases: Array<[CycleStatus, number, number | null, string | null]> = [
    ['draft', 2000 * H, lastEnd, null],
    ['scheduled', 1000 * H - 1, lastEnd, null],
    ['scheduled', 1000 * H, lastEnd, 'opens_at_reached'],
    ['scheduled', 5000 * H, lastEnd, 'opens_at_reached'],
    ['open', 1010 * H - 1, lastEnd, null],
    ['open', 1010 * H, lastEnd, 'closes_at_reached'],
    ['closed', lastEnd + DONE_AFTER_MS - 1, lastEnd, null],
    ['closed', lastEnd + DONE_AFTER_MS, lastEnd, 'done_delay_passed'],
    ['closed', 1010 * H + DONE_AFTER_MS, null, 'done_delay_passed'],
    ['done', 9000 * H, lastEnd, null],
  ];
  for (const [status, now, end, want] of cases) t.equal(dueClockEvent({ ...c, status }, end, now), want, `${status} at ${now / H} h`);
});

// ----- admin actions -----

t.test('every admin action in every status', async (t) => {
  const f = fixture(t);
  const { opensAt, closesAt } = standardTimes();
  const cases: Array<[CycleStatus, (typeof CYCLE_ACTIONS)[number], string, CycleStatus]> = [
    ['draft', 'schedule', 'ok', 'scheduled'],
    ['draft', 'unschedule', 'not_allowed', 'draft'],
    ['draft', 'close', 'not_allowed', 'draft'],
    ['draft', 'finish', 'not_allowed', 'draft'],
    ['scheduled', 'schedule', 'not_allowed', 'scheduled'],
    ['scheduled', 'unschedule', 'ok', 'draft'],
    ['scheduled', 'close', 'not_allowed', 'scheduled'],
    ['scheduled', 'finish', 'not_allowed', 'scheduled'],
    ['open', 'schedule', 'not_allowed', 'open'],
    ['open', 'unschedule', 'not_allowed', 'open'],
    ['open', 'close', 'ok', 'closed'],
    ['open', 'finish', 'not_allowed', 'open'],
    ['closed', 'schedule', 'not_allowed', 'closed'],
    ['closed', 'unschedule', 'not_allowed', 'closed'],
    ['closed', 'close', 'not_allowed', 'closed'],
    ['closed', 'finish', 'ok', 'done'],
    ['done', 'schedule', 'not_allowed', 'done'],
    ['done', 'unschedule', 'not_allowed', 'done'],
    ['done', 'close', 'not_allowed', 'done'],
    ['done', 'finish', 'not_allowed', 'done'],
  ];
  for (const [status, action, want, after] of cases) {
    // An open cycle has opened already; the others open in two days.
    const times = status === 'draft' || status === 'scheduled' ? { opensAt, closesAt } : { opensAt: NOW - D, closesAt: NOW + D };
    const id = insertCycle(f.db, { status, ...times, dists: [[f.points.a, times.closesAt + D, times.closesAt + D + 2 * H]] });
    const result = performCycleAction(f.db, mailer, id, action, NOW);
    if (want === 'ok') t.match(result, { ok: true, transition: { cycleId: id, from: status, to: after, event: action } }, `${status} + ${action}`);
    else t.same(result, { ok: false, reason: want }, `${status} + ${action}: refused`);
    t.equal(statusOf(f.db, id), after, `${status} + ${action}: now ${after}`);
  }
  t.same(performCycleAction(f.db, mailer, 9999, 'schedule', NOW), { ok: false, reason: 'not_found' });
});

t.test('scheduling needs a future opening and a distribution; unscheduling only before opening', async (t) => {
  const f = fixture(t);
  const past = insertCycle(f.db, { opensAt: NOW - H, closesAt: NOW + D, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  t.same(performCycleAction(f.db, mailer, past, 'schedule', NOW), { ok: false, reason: 'opens_in_past' });
  const exactlyNow = insertCycle(f.db, { opensAt: NOW, closesAt: NOW + D, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  t.same(performCycleAction(f.db, mailer, exactlyNow, 'schedule', NOW), { ok: false, reason: 'opens_in_past' });
  const bare = insertCycle(f.db, { opensAt: NOW + D, closesAt: NOW + 2 * D });
  t.same(performCycleAction(f.db, mailer, bare, 'schedule', NOW), { ok: false, reason: 'no_distribution' });
  t.equal(outbox(f.db).length, 0, 'no email for a refused action');

  // The clock has not run yet, but the opening has come: the admin cannot pull it back to draft.
  const opening = insertCycle(f.db, { status: 'scheduled', opensAt: NOW - 1, closesAt: NOW + D, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  t.same(performCycleAction(f.db, mailer, opening, 'unschedule', NOW), { ok: false, reason: 'already_opening' });
  t.equal(statusOf(f.db, opening), 'scheduled');
});

t.test('closing now records when the sale really closed', async (t) => {
  const f = fixture(t);
  const id = insertCycle(f.db, { status: 'open', opensAt: NOW - D, closesAt: NOW + D, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  t.ok(performCycleAction(f.db, mailer, id, 'close', NOW).ok);
  t.match(getCycle(f.db, id), { status: 'closed', closesAt: NOW, opensAt: NOW - D });
});

t.test('scheduling emails every account of every active producer once, in its language', async (t) => {
  const f = fixture(t);
  const { opensAt, closesAt, dist } = standardTimes();
  const id = insertCycle(f.db, { name: 'Semaine 44 <b>', opensAt, closesAt, dists: [[f.points.a, ...dist]] });
  const result = performCycleAction(f.db, mailer, id, 'schedule', NOW);
  t.match(result, { ok: true, emails: 3 });
  const mails = outbox(f.db);
  t.same(mails.map((m) => m.to_address).sort(), ['chevre@coop.test', 'saules2@coop.test', 'saules@coop.test'], 'not the inactive producer, not a pending account');
  const fr = mails.find((m) => m.to_address === 'saules@coop.test')!;
  t.equal(fr.subject, 'La vente Semaine 44 <b> est programmée : publiez votre stock');
  t.match(fr.text_body, 'elle ouvre le 22 oct. 2026, 12:00');
  t.match(fr.text_body, `http://carnet.test/producer/${f.producers.p1}/cycles/${id}/offers`);
  const en = mails.find((m) => m.to_address === 'chevre@coop.test')!;
  t.equal(en.subject, 'Sale Semaine 44 <b> is scheduled: publish your stock');
  t.match(en.text_body, 'it opens on 22 Oct 2026, 12:00');
  t.match(en.text_body, `http://carnet.test/producer/${f.producers.p2}/cycles/${id}/offers`);
  t.ok(rows<{ n: number }>(f.db, 'select scheduled_notice_at n from cycles where id = ?', id)[0]!.n === NOW, 'the notice is recorded');

  // Back to draft and scheduled again: the producers were already told.
  t.ok(performCycleAction(f.db, mailer, id, 'unschedule', NOW + H).ok);
  t.match(performCycleAction(f.db, mailer, id, 'schedule', NOW + 2 * H), { ok: true, emails: 0 });
  t.equal(outbox(f.db).length, 3, 'sent once');
});

// ----- the clock -----

t.test('the clock applies every due step, several at once after a downtime', async (t) => {
  const f = fixture(t);
  const a = f.points.a;
  const cases: Array<{ label: string; status: CycleStatus; opensAt: number; closesAt: number; dist: [number, number]; want: CycleStatus; steps: string[] }> = [
    { label: 'draft past its opening stays draft', status: 'draft', opensAt: NOW - D, closesAt: NOW + D, dist: [NOW + 2 * D, NOW + 2 * D + H], want: 'draft', steps: [] },
    { label: 'scheduled, not yet', status: 'scheduled', opensAt: NOW + 1, closesAt: NOW + D, dist: [NOW + 2 * D, NOW + 2 * D + H], want: 'scheduled', steps: [] },
    { label: 'scheduled, opening now', status: 'scheduled', opensAt: NOW, closesAt: NOW + D, dist: [NOW + 2 * D, NOW + 2 * D + H], want: 'open', steps: ['scheduled>open'] },
    { label: 'scheduled, down past closing', status: 'scheduled', opensAt: NOW - 2 * D, closesAt: NOW - H, dist: [NOW + D, NOW + D + H], want: 'closed', steps: ['scheduled>open', 'open>closed'] },
    {
      label: 'scheduled, down for weeks',
      status: 'scheduled',
      opensAt: NOW - 20 * D,
      closesAt: NOW - 18 * D,
      dist: [NOW - 17 * D, NOW - 17 * D + H],
      want: 'done',
      steps: ['scheduled>open', 'open>closed', 'closed>done'],
    },
    { label: 'open, not yet closing', status: 'open', opensAt: NOW - D, closesAt: NOW + 1, dist: [NOW + D, NOW + D + H], want: 'open', steps: [] },
    { label: 'open, closing now', status: 'open', opensAt: NOW - D, closesAt: NOW, dist: [NOW + D, NOW + D + H], want: 'closed', steps: ['open>closed'] },
    { label: 'closed, distribution ended 2 days ago', status: 'closed', opensAt: NOW - 6 * D, closesAt: NOW - 4 * D, dist: [NOW - 2 * D - H, NOW - 2 * D], want: 'closed', steps: [] },
    { label: 'closed, distribution ended 3 days ago', status: 'closed', opensAt: NOW - 6 * D, closesAt: NOW - 5 * D, dist: [NOW - 3 * D - H, NOW - 3 * D], want: 'done', steps: ['closed>done'] },
    { label: 'done stays done', status: 'done', opensAt: NOW - 30 * D, closesAt: NOW - 29 * D, dist: [NOW - 28 * D, NOW - 28 * D + H], want: 'done', steps: [] },
  ];
  const ids = cases.map((c) => insertCycle(f.db, { status: c.status, opensAt: c.opensAt, closesAt: c.closesAt, dists: [[a, ...c.dist]] }));
  const report = applyDueTransitions(f.db, mailer, NOW);
  cases.forEach((c, i) => {
    t.equal(statusOf(f.db, ids[i]!), c.want, c.label);
    const steps = report.transitions.filter((tr) => tr.cycleId === ids[i]).map((tr) => `${tr.from}>${tr.to}`);
    t.same(steps, c.steps, `${c.label}: steps reported`);
  });
  t.same(applyDueTransitions(f.db, mailer, NOW), { transitions: [], reminders: [] }, 'a second pass finds nothing to do');
});

t.test('the last distribution, not the first, starts the three days before done', async (t) => {
  const f = fixture(t);
  const id = insertCycle(f.db, {
    status: 'closed',
    opensAt: NOW - 10 * D,
    closesAt: NOW - 8 * D,
    dists: [
      [f.points.a, NOW - 7 * D, NOW - 7 * D + H],
      [f.points.b, NOW - 2 * D, NOW - 2 * D + H],
    ],
  });
  applyDueTransitions(f.db, mailer, NOW);
  t.equal(statusOf(f.db, id), 'closed');
  applyDueTransitions(f.db, mailer, NOW + D + H);
  t.equal(statusOf(f.db, id), 'done');
});

t.test('producers who published nothing are reminded once, at the configured time', async (t) => {
  const f = fixture(t);
  const { db } = f;
  run(db, 'update coop set producer_reminder_hours = 24');
  // Scheduled a week ago (notice sent then), opens in 30 hours.
  const id = insertCycle(db, { status: 'scheduled', opensAt: NOW + 30 * H, closesAt: NOW + 50 * H, noticeAt: NOW - 7 * D, dists: [[f.points.a, NOW + 60 * H, NOW + 62 * H]] });
  offer(db, id, f.products.cheese, f.producers.p2, { published: true });
  offer(db, id, f.products.carrots, f.producers.p1, { published: false });

  t.same(sendDueReminders(db, mailer, NOW), [], '30 h before: not yet');
  t.same(applyDueTransitions(db, mailer, NOW + 6 * H - 1).reminders, [], 'one ms before 24 h: not yet');
  const report = applyDueTransitions(db, mailer, NOW + 6 * H);
  t.same(report.reminders, [{ cycleId: id, emails: 2 }]);
  const mails = outbox(db);
  t.same(mails.map((m) => m.to_address).sort(), ['saules2@coop.test', 'saules@coop.test'], 'only the producer with nothing published (a draft does not count)');
  t.equal(mails.find((m) => m.to_address === 'saules@coop.test')!.subject, 'Rappel : la vente Semaine 44 ouvre le 21 oct. 2026, 18:00');
  t.equal(mails.find((m) => m.to_address === 'saules2@coop.test')!.subject, 'Reminder: sale Semaine 44 opens on 21 Oct 2026, 18:00');
  t.same(applyDueTransitions(db, mailer, NOW + 7 * H).reminders, [], 'never twice');
  t.equal(outbox(db).length, 2);
});

t.test('no reminder right after the "scheduled" email, nor once the sale has opened', async (t) => {
  const f = fixture(t);
  const { db } = f;
  // Scheduled 10 hours before opening: the notice already asked producers to publish.
  const late = insertCycle(db, { status: 'scheduled', opensAt: NOW + 10 * H, closesAt: NOW + D, noticeAt: NOW, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  t.same(sendDueReminders(db, mailer, NOW + 1), [{ cycleId: late, emails: 0 }]);
  t.equal(outbox(db).length, 0);
  // The server was down through the whole reminder window: the sale opens, no late reminder.
  const missed = insertCycle(db, { status: 'scheduled', opensAt: NOW - H, closesAt: NOW + D, noticeAt: NOW - 9 * D, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  const report = applyDueTransitions(db, mailer, NOW);
  t.same(report.transitions.map((tr) => tr.cycleId), [missed]);
  t.same(report.reminders, []);
  t.equal(outbox(db).length, 0);
  // Drafts are never reminded about.
  insertCycle(db, { status: 'draft', opensAt: NOW + H, closesAt: NOW + D, dists: [[f.points.a, NOW + 2 * D, NOW + 2 * D + H]] });
  t.same(sendDueReminders(db, mailer, NOW), []);
});

t.test('the reminder-hours setting accepts 1 to 336 whole hours', async (t) => {
  const cases: Array<[unknown, number | null]> = [
    ['48', 48],
    [' 1 ', 1],
    ['336', 336],
    ['0', null],
    ['337', null],
    ['-5', null],
    ['2.5', null],
    ['2,5', null],
    ['', null],
    ['abc', null],
    ['1e2', null],
    ['9999', null],
    [48, null],
  ];
  for (const [value, want] of cases) {
    const r = reminderHoursField.safeParse(value);
    t.same(r.success ? r.data : null, want, JSON.stringify(value));
  }
});

// ----- the form -----

t.test('cycle form validation', async (t) => {
  const f = fixture(t);
  const { a, b, closed } = f.points;
  const base: CycleFormInput = {
    name: 'Semaine 45',
    opensAt: '2026-10-28T18:00',
    closesAt: '2026-10-31T12:00',
    rows: [{ index: 0, pickupPointId: String(a), date: '2026-11-03', start: '17:00', end: '19:00' }],
  };
  const row = (over: Partial<CycleFormInput['rows'][number]>, index = 0) => ({ ...base.rows[0]!, index, ...over });
  const cases: Array<{ label: string; input: Partial<CycleFormInput>; errors?: Record<string, string> }> = [
    { label: 'valid', input: {} },
    { label: 'blank spare rows are ignored', input: { rows: [base.rows[0]!, { index: 1, pickupPointId: '', date: '', start: '', end: '' }, { index: 2 }] } },
    { label: 'same point twice on a day, other hours', input: { rows: [base.rows[0]!, row({ start: '19:00', end: '20:00' }, 1)] } },
    { label: 'two points at the same time', input: { rows: [base.rows[0]!, row({ pickupPointId: String(b) }, 1)] } },
    { label: 'distribution starting as the sale closes', input: { rows: [row({ date: '2026-10-31', start: '12:00', end: '13:00' })] } },
    { label: 'distribution in the autumn overlap hour', input: { rows: [row({ date: '2026-11-01', start: '02:00', end: '02:30' })] } },
    { label: 'missing name', input: { name: '  ' }, errors: { name: 'error.required' } },
    { label: 'name too long', input: { name: 'x'.repeat(101) }, errors: { name: 'error.too_long' } },
    { label: 'name with a newline', input: { name: 'Semaine\n45' }, errors: { name: 'cycles.error.invalid_name' } },
    { label: 'missing dates', input: { opensAt: '', closesAt: undefined }, errors: { opensAt: 'error.required', closesAt: 'error.required' } },
    { label: 'garbage dates', input: { opensAt: 'tomorrow', closesAt: '2026-02-30T10:00' }, errors: { opensAt: 'cycles.error.invalid_datetime', closesAt: 'cycles.error.invalid_datetime' } },
    { label: 'opening in the spring gap', input: { opensAt: '2027-03-28T02:30', closesAt: '2027-03-29T12:00', rows: [row({ date: '2027-03-30' })] }, errors: { opensAt: 'cycles.error.nonexistent_time' } },
    { label: 'closing before opening', input: { closesAt: '2026-10-27T18:00' }, errors: { closesAt: 'cycles.error.closes_before_opens' } },
    { label: 'closing as it opens', input: { closesAt: '2026-10-28T18:00' }, errors: { closesAt: 'cycles.error.closes_before_opens' } },
    { label: 'no distribution', input: { rows: [] }, errors: { distributions: 'cycles.error.no_distribution' } },
    { label: 'only blank rows', input: { rows: [{ index: 0, pickupPointId: '', date: '', start: '', end: '' }] }, errors: { distributions: 'cycles.error.no_distribution' } },
    { label: 'distribution before closing', input: { rows: [row({ date: '2026-10-30' })] }, errors: { 'dist-0-date': 'cycles.error.distribution_before_close' } },
    { label: 'distribution ending before it starts', input: { rows: [row({ start: '19:00', end: '17:00' })] }, errors: { 'dist-0-end': 'cycles.error.ends_before_starts' } },
    { label: 'distribution of no length', input: { rows: [row({ start: '19:00', end: '19:00' })] }, errors: { 'dist-0-end': 'cycles.error.ends_before_starts' } },
    { label: 'unknown pickup point', input: { rows: [row({ pickupPointId: '9999' })] }, errors: { 'dist-0-point': 'cycles.error.unknown_pickup_point' } },
    { label: 'inactive pickup point', input: { rows: [row({ pickupPointId: String(closed) })] }, errors: { 'dist-0-point': 'cycles.error.unknown_pickup_point' } },
    { label: 'pickup point not a number', input: { rows: [row({ pickupPointId: '1 or 1=1' })] }, errors: { 'dist-0-point': 'cycles.error.unknown_pickup_point' } },
    { label: 'partly filled row', input: { rows: [row({ pickupPointId: '', start: '' })] }, errors: { 'dist-0-point': 'error.required', 'dist-0-start': 'error.required' } },
    { label: 'garbage distribution date', input: { rows: [row({ date: '2026-11-31' })] }, errors: { 'dist-0-date': 'cycles.error.invalid_date' } },
    { label: 'garbage time', input: { rows: [row({ start: '5pm', end: '25:00' })] }, errors: { 'dist-0-start': 'cycles.error.invalid_time', 'dist-0-end': 'cycles.error.invalid_time' } },
    {
      label: 'distribution in the spring gap',
      input: { opensAt: '2027-03-20T18:00', closesAt: '2027-03-25T12:00', rows: [row({ date: '2027-03-28', start: '02:15', end: '04:00' })] },
      errors: { 'dist-0-start': 'cycles.error.nonexistent_time' },
    },
    { label: 'exact duplicate', input: { rows: [base.rows[0]!, row({}, 1)] }, errors: { 'dist-1-point': 'cycles.error.duplicate_distribution' } },
    { label: 'a saved id from nowhere', input: { rows: [row({ id: '424242' })] }, errors: { 'dist-0-point': 'cycles.error.unknown_distribution' } },
    {
      label: 'too many rows',
      input: { rows: Array.from({ length: 51 }, (_, i) => row({ start: `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}`, end: '23:59' }, i)) },
      errors: { distributions: 'cycles.error.too_many_distributions' },
    },
  ];
  for (const c of cases) {
    const r = validateCycleForm(f.db, { ...base, ...c.input }, { timeZone: PARIS, now: NOW });
    if (!c.errors) {
      t.ok(r.ok, c.label);
      continue;
    }
    t.notOk(r.ok, `${c.label}: refused`);
    if (!r.ok) t.same(Object.fromEntries(Object.entries(r.errors).map(([k, v]) => [k, v.key])), c.errors, `${c.label}: messages`);
  }
  const ok = validateCycleForm(f.db, base, { timeZone: PARIS, now: NOW });
  t.same(ok, {
    ok: true,
    value: {
      name: 'Semaine 45',
      opensAt: iso('2026-10-28T17:00:00Z'),
      closesAt: iso('2026-10-31T11:00:00Z'),
      distributions: [{ id: null, pickupPointId: a, startsAt: iso('2026-11-03T16:00:00Z'), endsAt: iso('2026-11-03T18:00:00Z') }],
      removed: [],
    },
  }, 'times are read in the coop time zone (summer time until 25 October, winter time after)');
});

t.test('creating a cycle stores a draft with its distributions, or nothing', async (t) => {
  const f = fixture(t);
  const input: CycleFormInput = {
    name: ' Semaine 45 ',
    opensAt: '2026-10-28T18:00',
    closesAt: '2026-10-31T12:00',
    rows: [
      { index: 0, pickupPointId: String(f.points.a), date: '2026-11-03', start: '17:00', end: '19:00' },
      { index: 3, pickupPointId: String(f.points.b), date: '2026-11-04', start: '10:00', end: '12:00' },
    ],
  };
  const r = createCycle(f.db, input, { timeZone: PARIS, now: NOW });
  t.ok(r.ok);
  if (!r.ok) return;
  t.match(getCycle(f.db, r.cycleId), { name: 'Semaine 45', status: 'draft', distributions: [{ pickupPointName: 'Halle' }, { pickupPointName: 'École' }] });
  const bad = createCycle(f.db, { ...input, rows: [{ ...input.rows[0]!, pickupPointId: '9999' }] }, { timeZone: PARIS, now: NOW });
  t.match(bad, { ok: false, reason: 'invalid' });
  t.equal(rows(f.db, 'select * from cycles').length, 1, 'nothing stored');
});

t.test('editing follows the status: all while draft or scheduled, later closing and new distributions while open, nothing after', async (t) => {
  const f = fixture(t);
  const { a, b } = f.points;
  const opts = { timeZone: PARIS, now: NOW };
  const opensAt = iso('2026-10-28T17:00:00Z');
  const closesAt = iso('2026-10-31T11:00:00Z');
  const d1: [number, number, number] = [a, iso('2026-11-03T16:00:00Z'), iso('2026-11-03T18:00:00Z')];
  const d2: [number, number, number] = [b, iso('2026-11-04T09:00:00Z'), iso('2026-11-04T11:00:00Z')];
  const form = (id: number, over: Partial<CycleFormInput> = {}): CycleFormInput => {
    const c = getCycle(f.db, id)!;
    return {
      name: c.name,
      opensAt: toDateTimeLocal(c.opensAt, PARIS),
      closesAt: toDateTimeLocal(c.closesAt, PARIS),
      rows: c.distributions.map((d, i) => ({ index: i, id: String(d.id), pickupPointId: String(d.pickupPointId), date: '2026-11-0' + (d.pickupPointId === a ? 3 : 4), start: d.pickupPointId === a ? '17:00' : '10:00', end: d.pickupPointId === a ? '19:00' : '12:00' })),
      ...over,
    };
  };

  // draft: rename, move, remove one distribution, add one
  const draft = insertCycle(f.db, { opensAt, closesAt, dists: [d1, d2] });
  let rowsIn = form(draft).rows;
  let r = updateCycle(f.db, draft, form(draft, { name: 'Renamed', rows: [rowsIn[0]!, { ...rowsIn[1]!, remove: true }, { index: 2, pickupPointId: String(b), date: '2026-11-05', start: '10:00', end: '11:00' }] }), opts);
  t.same(r, { ok: true });
  t.match(getCycle(f.db, draft), { name: 'Renamed', distributions: [{ pickupPointId: a }, { pickupPointId: b, startsAt: iso('2026-11-05T09:00:00Z') }] });
  t.equal(getCycle(f.db, draft)!.distributions.length, 2);
  // removing the last one is refused
  rowsIn = form(draft).rows;
  r = updateCycle(f.db, draft, form(draft, { rows: rowsIn.map((x) => ({ ...x, remove: true })) }), opts);
  t.match(r, { ok: false, reason: 'invalid', errors: { distributions: { key: 'cycles.error.no_distribution' } } });
  // another cycle's distribution id cannot be edited through this one
  const other = insertCycle(f.db, { opensAt, closesAt, dists: [d1] });
  const otherDist = getCycle(f.db, other)!.distributions[0]!.id;
  r = updateCycle(f.db, draft, form(draft, { rows: [{ index: 0, id: String(otherDist), pickupPointId: String(b), date: '2026-11-06', start: '10:00', end: '11:00', remove: true }] }), opts);
  t.match(r, { ok: false, reason: 'invalid', errors: { 'dist-0-point': { key: 'cycles.error.unknown_distribution' } } });
  t.equal(getCycle(f.db, other)!.distributions.length, 1, 'the other cycle keeps its distribution');

  // scheduled: the opening must stay in the future
  const scheduled = insertCycle(f.db, { status: 'scheduled', opensAt, closesAt, dists: [d1] });
  r = updateCycle(f.db, scheduled, form(scheduled, { opensAt: '2026-10-19T18:00' }), opts);
  t.match(r, { ok: false, reason: 'invalid', errors: { opensAt: { key: 'cycles.error.scheduled_opens_past' } } });
  t.same(updateCycle(f.db, scheduled, form(scheduled, { closesAt: '2026-11-01T12:00' }), opts), { ok: true });

  // open: only a later closing and new distributions
  const open = insertCycle(f.db, { status: 'open', opensAt: NOW - D, closesAt, dists: [d1] });
  const openForm = (over: Partial<CycleFormInput>) => ({ name: 'Hacked', opensAt: '2026-10-30T10:00', closesAt: toDateTimeLocal(closesAt, PARIS), rows: [], ...over });
  t.match(updateCycle(f.db, open, openForm({ closesAt: '2026-10-30T12:00' }), opts), { ok: false, errors: { closesAt: { key: 'cycles.error.open_close_earlier' } } });
  t.match(updateCycle(f.db, open, openForm({ closesAt: '2026-11-03T18:00' }), opts), { ok: false, errors: { closesAt: { key: 'cycles.error.close_after_distribution', params: { point: 'Halle' } } } });
  const savedId = getCycle(f.db, open)!.distributions[0]!.id;
  t.match(updateCycle(f.db, open, openForm({ rows: [{ index: 0, id: String(savedId), remove: true }] }), opts), { ok: false, errors: { 'dist-0-point': { key: 'cycles.error.cannot_remove_open' } } });
  r = updateCycle(f.db, open, openForm({ closesAt: '2026-11-01T12:00', rows: [{ index: 0, pickupPointId: String(b), date: '2026-11-04', start: '10:00', end: '12:00' }] }), opts);
  t.same(r, { ok: true });
  t.match(getCycle(f.db, open), { name: 'Semaine 44', opensAt: NOW - D, closesAt: iso('2026-11-01T11:00:00Z'), distributions: [{ id: savedId }, { pickupPointId: b }] }, 'name and opening unchanged');

  // closed and done: nothing
  for (const status of ['closed', 'done'] as const) {
    const id = insertCycle(f.db, { status, opensAt: NOW - 5 * D, closesAt: NOW - 3 * D, dists: [[a, NOW - 2 * D, NOW - 2 * D + H]] });
    t.same(updateCycle(f.db, id, form(id, { name: 'Changed' }), opts), { ok: false, reason: 'not_editable' }, status);
    t.equal(getCycle(f.db, id)!.name, 'Semaine 44');
  }
  t.same(updateCycle(f.db, 9999, form(draft), opts), { ok: false, reason: 'not_found' });
});

// ----- duplicate -----

t.test('duplicating to next week keeps the wall clock across the autumn change and copies offers as drafts', async (t) => {
  const f = fixture(t);
  const { db } = f;
  // Opens Wednesday 21 October 18:00 (summer time), distribution Tuesday 27 October 17:00 (winter time).
  const id = insertCycle(db, {
    name: 'Semaine 43',
    status: 'done',
    opensAt: iso('2026-10-21T16:00:00Z'),
    closesAt: iso('2026-10-24T10:00:00Z'),
    dists: [
      [f.points.a, iso('2026-10-27T16:00:00Z'), iso('2026-10-27T18:00:00Z')],
      [f.points.closed, iso('2026-10-27T16:00:00Z'), iso('2026-10-27T18:00:00Z')],
    ],
  });
  offer(db, id, f.products.carrots, f.producers.p1, { qty: 20, price: 260, taken: 12 });
  offer(db, id, f.products.eggs, f.producers.p1, { qty: null, price: 420, published: false });
  offer(db, id, f.products.cheese, f.producers.p2, { qty: 5, price: 390 });
  const archivedOffer = offer(db, id, f.products.archived, f.producers.p1, { qty: 3 });
  offer(db, id, f.products.goneJam, f.producers.gone, { qty: 3 });
  run(db, 'update products set active = 0 where id = ?', f.products.archived);

  const r = duplicateCycle(db, id, { timeZone: PARIS, suffix: '(copie)', now: NOW });
  t.match(r, { ok: true, offers: 3, distributions: 1 });
  if (!r.ok) return;
  const copy = getCycle(db, r.cycleId)!;
  t.match(copy, { name: 'Semaine 43 (copie)', status: 'draft', scheduledNoticeAt: null, producerReminderAt: null });
  t.equal(toDateTimeLocal(copy.opensAt, PARIS), '2026-10-28T18:00', 'opening: same wall clock');
  t.equal(copy.opensAt - iso('2026-10-21T16:00:00Z'), 7 * D + H, '7 days and 1 hour later in UTC');
  t.equal(toDateTimeLocal(copy.closesAt, PARIS), '2026-10-31T12:00');
  t.equal(copy.distributions.length, 1, 'the inactive pickup point is left out');
  t.equal(toDateTimeLocal(copy.distributions[0]!.startsAt, PARIS), '2026-11-03T17:00', 'both in winter time: exactly 7 days');
  t.equal(copy.distributions[0]!.endsAt - copy.distributions[0]!.startsAt, 2 * H);
  const copied = rows<Record<string, number | null>>(db, 'select product_id, producer_id, published, quantity_available, quantity_taken, price_cents from offers where cycle_id = ? order by product_id', r.cycleId);
  t.same(copied, [
    { product_id: f.products.carrots, producer_id: f.producers.p1, published: 0, quantity_available: 20, quantity_taken: 0, price_cents: 260 },
    { product_id: f.products.eggs, producer_id: f.producers.p1, published: 0, quantity_available: null, quantity_taken: 0, price_cents: 420 },
    { product_id: f.products.cheese, producer_id: f.producers.p2, published: 0, quantity_available: 5, quantity_taken: 0, price_cents: 390 },
  ], 'drafts, nothing taken, same price and quantity; archived products and inactive producers left out');
  t.ok(archivedOffer);

  // Across the spring change: 18:00 stays 18:00, one hour less in UTC.
  const spring = insertCycle(db, { name: 'x'.repeat(100), opensAt: iso('2027-03-24T17:00:00Z'), closesAt: iso('2027-03-26T11:00:00Z'), dists: [[f.points.a, iso('2027-03-27T09:00:00Z'), iso('2027-03-27T11:00:00Z')]] });
  const r2 = duplicateCycle(db, spring, { timeZone: PARIS, suffix: '(copy)', now: NOW });
  if (!r2.ok) return t.fail('duplicate');
  const copy2 = getCycle(db, r2.cycleId)!;
  t.equal(toDateTimeLocal(copy2.opensAt, PARIS), '2027-03-31T18:00');
  t.equal(copy2.opensAt - iso('2027-03-24T17:00:00Z'), 7 * D - H);
  t.equal(toDateTimeLocal(copy2.distributions[0]!.startsAt, PARIS), '2027-04-03T10:00');
  t.equal(copy2.name.length, 100, 'a long name is shortened to fit the suffix');
  t.ok(copy2.name.endsWith(' (copy)'));
  t.same(duplicateCycle(db, 9999, { timeZone: PARIS, suffix: '(copy)', now: NOW }), { ok: false, reason: 'not_found' });
});

// ----- overview and list -----

t.test('the overview counts published offers and their value per active producer', async (t) => {
  const f = fixture(t);
  const { db } = f;
  const id = insertCycle(db, { status: 'scheduled', ...standardTimes(), dists: [[f.points.a, NOW + 5 * D, NOW + 5 * D + H]] });
  offer(db, id, f.products.carrots, f.producers.p1, { qty: 20, price: 250 });
  offer(db, id, f.products.eggs, f.producers.p1, { qty: null, price: 420 });
  offer(db, id, f.products.archived, f.producers.p1, { qty: 100, price: 150, published: false });
  offer(db, id, f.products.goneJam, f.producers.gone, { qty: 3 });
  // an offer in another cycle never counts
  const other = insertCycle(db, { ...standardTimes() });
  offer(db, other, f.products.cheese, f.producers.p2, { qty: 50, price: 380 });
  t.same(producerSummaries(db, id), [
    { producerId: f.producers.p2, name: 'Chèvrerie', publishedOffers: 0, draftOffers: 0, valueCents: 0, unlimitedOffers: 0 },
    { producerId: f.producers.p1, name: 'Ferme des Saules', publishedOffers: 2, draftOffers: 1, valueCents: 5000, unlimitedOffers: 1 },
  ]);
});

t.test('the list shows open and upcoming cycles first, then past ones by page', async (t) => {
  const f = fixture(t);
  const mk = (name: string, status: CycleStatus, opensAt: number) => insertCycle(f.db, { name, status, opensAt, closesAt: opensAt + D });
  mk('old done', 'done', NOW - 30 * D);
  mk('recent closed', 'closed', NOW - 3 * D);
  mk('next draft', 'draft', NOW + 9 * D);
  mk('scheduled', 'scheduled', NOW + 2 * D);
  mk('open now', 'open', NOW - D);
  const list = listCycles(f.db, { page: 1, perPage: 1 });
  t.same(list.current.map((c) => c.name), ['open now', 'scheduled', 'next draft']);
  t.same(list.past.map((c) => c.name), ['recent closed']);
  t.equal(list.pastTotal, 2);
  t.same(listCycles(f.db, { page: 2, perPage: 1 }).past.map((c) => c.name), ['old done']);
});
