import t from 'tap';
import type { Test } from 'tap';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/index.js';
import { SCHEDULER_INTERVAL_MS } from '../src/plugins/scheduler.js';
import { seedCoop, TEST_SCRYPT, testDb } from './helper.js';

/*
 * The cycle clock inside the app: what fell due while the server was down is applied when the app
 * starts, reminders are queued once even across restarts, it ticks on an interval and stops on
 * close, and tests can turn it off.
 */

const H = 3_600_000;
const D = 24 * H;
const run = (db: Db, sql: string, ...params: unknown[]) => Number(db.$client.prepare(sql).run(...params).lastInsertRowid);
const statusOf = (db: Db, id: number) => (db.$client.prepare('select status from cycles where id = ?').get(id) as { status: string }).status;
const outboxCount = (db: Db) => (db.$client.prepare('select count(*) n from outbox').get() as { n: number }).n;

/** A set-up coop with a pickup point and one producer (one account), ready for cycles. */
async function coop(t: Test): Promise<{ db: Db; dir: string; point: number }> {
  const { db, dir } = testDb(t);
  await seedCoop(db);
  const point = run(db, "insert into pickup_points (name, address, active, created_at, updated_at) values ('Halle', '1 rue', 1, 0, 0)");
  const producer = run(db, "insert into producers (name, active, created_at, updated_at) values ('Ferme', 1, 0, 0)");
  const account = run(db, "insert into accounts (email, name, password_hash, locale, status, created_at, updated_at) values ('ferme@carnet.test', 'Ferme', 'x', 'fr', 'active', 0, 0)");
  run(db, 'insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, 0)', producer, account);
  return { db, dir, point };
}

function cycle(db: Db, point: number, status: string, opensAt: number, closesAt: number, lastEnd = closesAt + D): number {
  const id = run(db, 'insert into cycles (name, opens_at, closes_at, status, scheduled_notice_at, created_at, updated_at) values (?, ?, ?, ?, 0, 0, 0)', 'Vente ' + status, opensAt, closesAt, status);
  run(db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', id, point, lastEnd - 2 * H, lastEnd);
  return id;
}

async function start(t: Test, db: Db, dir: string, scheduler?: boolean) {
  const app = await buildApp({
    config: loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', BASE_URL: 'http://carnet.test' }),
    db,
    scrypt: TEST_SCRYPT,
    sendMail: false,
    logger: false,
    ...(scheduler === undefined ? {} : { scheduler }),
  });
  t.teardown(() => app.close());
  return app;
}

t.test('transitions that fell due while the server was down are applied when the app starts', async (t) => {
  const { db, dir, point } = await coop(t);
  const now = Date.now();
  const toOpen = cycle(db, point, 'scheduled', now - H, now + D);
  const toClose = cycle(db, point, 'scheduled', now - 3 * D, now - 2 * D);
  const toFinish = cycle(db, point, 'open', now - 10 * D, now - 8 * D, now - 4 * D);
  const waiting = cycle(db, point, 'scheduled', now + D, now + 2 * D);
  const draft = cycle(db, point, 'draft', now - H, now + D);

  const app = await start(t, db, dir); // the scheduler is on by default
  t.equal(statusOf(db, toOpen), 'scheduled', 'nothing happens before the app is ready');
  await app.ready();
  t.equal(statusOf(db, toOpen), 'open', 'opened on start');
  t.equal(statusOf(db, toClose), 'closed', 'opened and closed on start');
  t.equal(statusOf(db, toFinish), 'done', 'closed and finished on start');
  t.equal(statusOf(db, waiting), 'scheduled', 'not yet due');
  t.equal(statusOf(db, draft), 'draft', 'a draft is never opened by the clock');
});

t.test('the reminder is queued once, even across a restart', async (t) => {
  const { db, dir, point } = await coop(t);
  // Opens in 10 hours (inside the 48 h window); scheduled long ago, so the notice is long past.
  const id = cycle(db, point, 'scheduled', Date.now() + 10 * H, Date.now() + D);
  const first = await start(t, db, dir, true);
  await first.ready();
  t.equal(outboxCount(db), 1, 'one reminder to the producer who published nothing');
  t.match(db.$client.prepare('select to_address, subject from outbox').get(), { to_address: 'ferme@carnet.test', subject: /^Rappel : la vente Vente scheduled ouvre le / });
  t.ok((db.$client.prepare('select producer_reminder_at r from cycles where id = ?').get(id) as { r: number | null }).r, 'recorded');
  await first.close();
  const second = await start(t, db, dir, true);
  await second.ready();
  t.equal(outboxCount(db), 1, 'not again after a restart');
  t.equal(second.runScheduler()?.reminders.length, 0, 'nor on the next tick');
});

t.test('with the scheduler off nothing moves until a tick is forced', async (t) => {
  const { db, dir, point } = await coop(t);
  const id = cycle(db, point, 'scheduled', Date.now() - H, Date.now() + D);
  const app = await start(t, db, dir, false);
  await app.ready();
  t.equal(statusOf(db, id), 'scheduled');
  const report = app.runScheduler();
  t.same(report?.transitions.map((tr) => [tr.cycleId, tr.from, tr.to]), [[id, 'scheduled', 'open']]);
  t.equal(statusOf(db, id), 'open');
});

t.test('the clock ticks on its interval and stops when the app closes', async (t) => {
  const { db, dir, point } = await coop(t);
  t.equal(SCHEDULER_INTERVAL_MS, 30_000, 'every 30 seconds');
  const intervals: Array<{ ms: number; cleared: boolean; unref: boolean; fn: () => void }> = [];
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  // Capture the scheduler's timer instead of waiting 30 s.
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    const entry = { ms, cleared: false, unref: false, fn };
    intervals.push(entry);
    return { unref: () => ((entry.unref = true), undefined), ref: () => undefined, entry } as unknown as NodeJS.Timeout;
  }) as typeof setInterval;
  globalThis.clearInterval = ((h: { entry?: { cleared: boolean } }) => {
    if (h?.entry) h.entry.cleared = true;
  }) as typeof clearInterval;
  t.teardown(() => {
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
  });
  const app = await start(t, db, dir, true);
  await app.ready();
  const timer = intervals.find((i) => i.ms === SCHEDULER_INTERVAL_MS);
  t.ok(timer, 'an interval of 30 s');
  t.ok(timer?.unref, 'unref’d: it never keeps the process alive');
  const id = cycle(db, point, 'scheduled', Date.now() - 1, Date.now() + D);
  timer!.fn();
  t.equal(statusOf(db, id), 'open', 'a tick opens what is due');
  await app.close();
  t.ok(timer?.cleared, 'stopped on close');
});

t.test('a failing tick is logged and the app keeps running', async (t) => {
  const { db, dir } = await coop(t);
  const app = await start(t, db, dir, false);
  await app.ready();
  db.$client.exec('drop table distributions');
  t.equal(app.runScheduler(), null, 'the tick reports nothing instead of throwing');
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
});
