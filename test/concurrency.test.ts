import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { startServer, type ServerProcess } from './support/server-process.js';
import {
  addMembers,
  formToken,
  orderForm,
  SESSION_SECRET,
  seedShop,
  stockRows,
  type BasketLine,
  type SeededMember,
  type StockRow,
} from './support/shop-fixture.js';

/*
 * Concurrency proof for order placement (issue 4, item 8). The REAL server runs as a child
 * process on a seeded database; hundreds of distinct logged-in members submit their baskets at
 * the same instant at offers with scarce stock. Then the same with the process killed (SIGKILL)
 * in the middle of a wave and restarted on the same data directory.
 */

const WAVE1 = 240;
const WAVE2 = 160;
const REQUEST_TIMEOUT_MS = 30_000;
// The crash wave is killed once this many successes have come back.
const KILL_AFTER_SUCCESSES = 10;

const dir = mkdtempSync(join(tmpdir(), 'carnet-concurrency-'));
const servers: ServerProcess[] = [];
t.teardown(async () => {
  for (const s of servers) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

const shop = await seedShop(dir, [
  {
    name: 'Ferme des Grands Champs',
    offers: [
      { name: 'Fraises gariguette, barquette 500 g', category: 1, unit: 'box', priceCents: 450, vatRateBp: 550, available: 50 },
      { name: 'Œufs plein air, boîte de 6', category: 3, unit: 'box', priceCents: 320, vatRateBp: 550, available: 10 },
      { name: 'Pain de campagne au levain', category: 7, unit: 'piece', priceCents: 380, vatRateBp: 550, available: null },
    ],
  },
  {
    name: 'Fromagerie du Vieux Moulin',
    offers: [
      { name: 'Tomme de Savoie', category: 2, unit: 'piece', priceCents: 2200, vatRateBp: 550, available: 40, weighed: true, estimatedWeightGrams: 450 },
      { name: 'Yaourt nature au lait entier', category: 2, unit: 'jar', priceCents: 90, vatRateBp: 550, available: null },
    ],
  },
]);
const offerNames = new Map(shop.offers.map((o) => [o.id, o.name]));
const scarceNames = new Set(shop.offers.filter((o) => o.available !== null).map((o) => o.name));
const [strawberries, eggs, bread, tomme, yoghurt] = shop.offers.map((o) => o.id) as [number, number, number, number, number];

// Wave 1: 60 members want eggs (10 units), about 170 want strawberries (50 units), some only bread.
const wave1Basket = (i: number): BasketLine[] => {
  if (i % 20 === 19) return [{ offerId: bread, quantity: 3 }];
  switch (i % 4) {
    case 0:
      return [
        { offerId: eggs, quantity: 1 },
        { offerId: bread, quantity: 1 },
      ];
    case 1:
      return [
        { offerId: strawberries, quantity: 2 },
        { offerId: bread, quantity: 1 },
      ];
    case 2:
      return [{ offerId: strawberries, quantity: 1 }];
    default:
      return [
        { offerId: strawberries, quantity: 1 },
        { offerId: bread, quantity: 2 },
      ];
  }
};
// Wave 2 (the crash): about 240 units of tomme wanted, 40 available.
const wave2Basket = (i: number): BasketLine[] => [
  { offerId: tomme, quantity: 1 + (i % 2) },
  { offerId: yoghurt, quantity: 4 },
];
const wave1 = addMembers(shop, WAVE1, wave1Basket, { prefix: 'race' });
const wave2 = addMembers(shop, WAVE2, wave2Basket, { prefix: 'crash' });
shop.db.$client.close();

// Orders the first wave placed, checked again after the crash.
let wave1Placed = 0;

const env = { DATA_DIR: dir, SESSION_SECRET, LOG_LEVEL: 'warn', BASE_URL: 'http://127.0.0.1' };

interface Answer {
  status: number;
  location: string | null;
  body: string;
}
interface Attempt {
  member: SeededMember;
  basket: BasketLine[];
  token: string;
  answer: Answer | null;
  error?: string;
}

/** POSTs a member's order form; half the members send the CSRF token as a header (as htmx does). */
async function place(server: ServerProcess, member: SeededMember, token: string, viaHeader: boolean): Promise<Answer> {
  const body = viaHeader
    ? new URLSearchParams({ token, distributionId: String(shop.distributionId) }).toString()
    : orderForm(member, token, shop.distributionId);
  const res = await fetch(`${server.url}/shop/${shop.cycleId}/order`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: member.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      ...(viaHeader ? { 'x-csrf-token': member.csrf } : {}),
    },
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

const ORDER_LOCATION = /^\/orders\/(\d+)(?:[?#].*)?$/;
const orderIdOf = (a: Answer | null): number | null => {
  const m = a && a.status === 303 && a.location ? ORDER_LOCATION.exec(a.location) : null;
  return m ? Number(m[1]) : null;
};

/** Reads the database from the test process (WAL: alongside the running server). */
function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'carnet.db'));
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

interface StoredOrder {
  id: number;
  accountId: number;
  status: string;
  lines: Map<number, number>;
}
function storedOrders(db: Database.Database): Map<number, StoredOrder[]> {
  const rows = db
    .prepare('select id, account_id as accountId, status from orders where cycle_id = ? order by id')
    .all(shop.cycleId) as Array<{ id: number; accountId: number; status: string }>;
  const lines = db.prepare('select offer_id as offerId, quantity from order_lines where order_id = ?');
  const byAccount = new Map<number, StoredOrder[]>();
  for (const r of rows) {
    const l = new Map((lines.all(r.id) as Array<{ offerId: number; quantity: number }>).map((x) => [x.offerId, x.quantity]));
    byAccount.set(r.accountId, [...(byAccount.get(r.accountId) ?? []), { ...r, lines: l }]);
  }
  return byAccount;
}

const describe = (a: Attempt) =>
  a.answer ? `${a.answer.status} ${a.answer.location ?? ''} ${a.answer.body.slice(0, 300).replace(/\s+/g, ' ')}` : `no answer (${a.error})`;

/** Every answered attempt: a success is exactly one placed order of that member with its basket's lines; a refusal is none. */
function checkAnswers(t: Test, attempts: Attempt[], orders: Map<number, StoredOrder[]>, label: string): void {
  let bad = 0;
  for (const a of attempts) {
    if (!a.answer) continue;
    const mine = orders.get(a.member.accountId) ?? [];
    const id = orderIdOf(a.answer);
    if (id !== null) {
      const placed = mine.filter((o) => o.status === 'placed');
      const ok =
        mine.length === 1 &&
        placed.length === 1 &&
        placed[0]!.id === id &&
        placed[0]!.lines.size === a.basket.length &&
        a.basket.every((l) => placed[0]!.lines.get(l.offerId) === l.quantity);
      if (!ok && bad++ < 5) t.fail(`${label}: member ${a.member.accountId} got order ${id} but the database holds ${JSON.stringify(mine.map((o) => ({ ...o, lines: [...o.lines] })))}`);
    } else if (a.answer.status === 409) {
      if (mine.length !== 0 && bad++ < 5) t.fail(`${label}: member ${a.member.accountId} was refused (409) but has ${mine.length} order(s)`);
      // The refusal names the line that no longer fits (one of the scarce offers in the basket).
      const names = a.basket.map((l) => offerNames.get(l.offerId)!).filter((n) => scarceNames.has(n));
      if (!names.some((n) => a.answer!.body.includes(n)) && bad++ < 5) t.fail(`${label}: the 409 page of member ${a.member.accountId} names none of ${names.join(', ')}`);
    } else if (bad++ < 5) {
      t.fail(`${label}: member ${a.member.accountId} got an unexpected answer: ${describe(a)}`);
    }
  }
  t.equal(bad, 0, `${label}: every 303 is exactly one stored placed order with the basket's lines, every 409 is none and names what ran out`);
}

/** units sold ≤ units available; quantity_taken = sum of placed lines; what is left = available − sold. */
function checkStock(t: Test, rows: StockRow[], label: string): void {
  for (const r of rows) {
    t.equal(r.taken, r.sold, `${label}: offer ${r.offerId} quantity_taken equals the sum of placed lines (${r.sold})`);
    if (r.available !== null) {
      t.ok(r.sold <= r.available, `${label}: offer ${r.offerId} sold ${r.sold} ≤ available ${r.available}`);
      t.ok(r.available - r.taken >= 0, `${label}: offer ${r.offerId} left ${r.available - r.taken} = available − sold, never negative`);
    }
  }
}

t.test('hundreds of members racing for the last units never oversell', async (t) => {
  const server = await startServer({ env });
  servers.push(server);

  // Double clicks: every 20th member submits the same form twice at once.
  const attempts: Attempt[] = wave1.map((member, i) => ({ member, basket: wave1Basket(i), token: formToken(), answer: null }));
  const doubles: Attempt[] = attempts.filter((_, i) => i % 20 === 0).map((a) => ({ ...a, answer: null }));
  const started = Date.now();
  await Promise.all(
    [...attempts, ...doubles].map(async (a, k) => {
      try {
        a.answer = await place(server, a.member, a.token, k % 2 === 1);
      } catch (err) {
        a.error = String((err as Error).cause ?? err);
      }
    }),
  );
  const elapsed = Date.now() - started;

  const unanswered = [...attempts, ...doubles].filter((a) => !a.answer);
  t.equal(unanswered.length, 0, `every request got an answer (${attempts.length + doubles.length} in ${elapsed} ms)${unanswered[0] ? ': ' + describe(unanswered[0]) : ''}`);
  const successes = attempts.filter((a) => orderIdOf(a.answer) !== null);
  const refusals = attempts.filter((a) => a.answer?.status === 409);
  t.equal(successes.length + refusals.length, attempts.length, 'every answer is a 303 to the order or a 409');
  t.ok(successes.length > 0 && refusals.length > 0, `some placed (${successes.length}), some refused (${refusals.length})`);

  for (const d of doubles) {
    const first = attempts.find((a) => a.token === d.token)!;
    if (orderIdOf(first.answer) !== orderIdOf(d.answer) || first.answer?.status !== d.answer?.status) {
      t.fail(`double click of member ${d.member.accountId} answered differently: ${describe(first)} / ${describe(d)}`);
    }
  }
  t.pass(`the ${doubles.length} double clicks each answered the same twice`);

  withDb((db) => {
    const orders = storedOrders(db);
    checkAnswers(t, attempts, orders, 'race');
    t.equal([...orders.values()].flat().length, successes.length, 'as many orders stored as successes answered');
    const rows = stockRows(db, shop.cycleId);
    checkStock(t, rows, 'race');
    // Demand far exceeds the scarce offers, so nothing is refused while units remain.
    t.equal(rows.find((r) => r.offerId === strawberries)!.sold, 50, 'all 50 strawberries sold, none more');
    t.equal(rows.find((r) => r.offerId === eggs)!.sold, 10, 'all 10 boxes of eggs sold, none more');
    const submissions = db.prepare('select token, order_id as orderId from order_submissions').all() as Array<{ token: string; orderId: number }>;
    const byToken = new Map(submissions.map((s) => [s.token, s.orderId]));
    wave1Placed = successes.length;
  const unrecorded = successes.filter((a) => byToken.get(a.token) !== orderIdOf(a.answer));
    t.equal(unrecorded.length, 0, 'every successful form token is recorded with its order');
  });

  // Replays of successful submissions (reload, retry after a timeout): same order, nothing new.
  const before = withDb((db) => ({ count: (db.prepare('select count(*) as n from orders').get() as { n: number }).n, stock: stockRows(db, shop.cycleId) }));
  const replays = successes.slice(0, 12);
  const again = await Promise.all(replays.map((a, k) => place(server, a.member, a.token, k % 2 === 0)));
  again.forEach((answer, k) => {
    t.equal(orderIdOf(answer), orderIdOf(replays[k]!.answer), `replay ${k + 1} answers 303 to the same order ${orderIdOf(replays[k]!.answer)}`);
  });
  withDb((db) => {
    t.equal((db.prepare('select count(*) as n from orders').get() as { n: number }).n, before.count, 'replays stored no new order');
    t.same(stockRows(db, shop.cycleId), before.stock, 'replays took no stock');
  });

  t.equal(await server.stop(), 'exit 0', 'the server closes cleanly on SIGTERM');
});

t.test('a server killed in the middle of a wave loses no confirmed order', async (t) => {
  const server = await startServer({ env });
  servers.push(server);
  const attempts: Attempt[] = wave2.map((member, i) => ({ member, basket: wave2Basket(i), token: formToken(), answer: null }));
  let successes = 0;
  let killed = false;
  const kill = async () => {
    if (killed) return;
    killed = true;
    await server.kill();
  };
  const safety = setTimeout(() => void kill(), 10_000);
  await Promise.all(
    attempts.map(async (a, k) => {
      try {
        const answer = await place(server, a.member, a.token, k % 2 === 1);
        // An answer that arrived after the kill was sent is still an answer the member saw.
        a.answer = answer;
        if (orderIdOf(answer) !== null && ++successes >= KILL_AFTER_SUCCESSES) await kill();
      } catch (err) {
        a.error = String((err as Error).cause ?? err);
      }
    }),
  );
  clearTimeout(safety);
  await kill();
  t.equal(await server.exited, 'SIGKILL', 'the server was killed with SIGKILL');
  const answered = attempts.filter((a) => a.answer);
  const confirmed = attempts.filter((a) => orderIdOf(a.answer) !== null);
  t.ok(confirmed.length >= KILL_AFTER_SUCCESSES, `${confirmed.length} successes came back before the kill`);
  t.ok(answered.length < attempts.length, `the kill landed mid-wave: ${attempts.length - answered.length} of ${attempts.length} requests got no answer`);

  const restarted = await startServer({ env });
  servers.push(restarted);
  withDb((db) => {
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check is ok after the crash');
    t.equal((db.pragma('foreign_key_check') as unknown[]).length, 0, 'no dangling foreign keys after the crash');
    const orders = storedOrders(db);
    checkAnswers(t, answered, orders, 'after crash');
    checkStock(t, stockRows(db, shop.cycleId), 'after crash');
  });

  // The members who got no answer retry with the same form token, as a browser would.
  const retried = attempts.filter((a) => !a.answer);
  await Promise.all(
    retried.map(async (a, k) => {
      try {
        a.answer = await place(restarted, a.member, a.token, k % 2 === 0);
      } catch (err) {
        a.error = String((err as Error).cause ?? err);
      }
    }),
  );
  t.equal(retried.filter((a) => !a.answer).length, 0, `the ${retried.length} retries after restart were all answered`);
  withDb((db) => {
    const orders = storedOrders(db);
    checkAnswers(t, attempts, orders, 'after retries');
    const rows = stockRows(db, shop.cycleId);
    checkStock(t, rows, 'after retries');
    t.equal(rows.find((r) => r.offerId === tomme)!.sold, 40, 'all 40 tommes sold across the crash, none more');
    const wave1Orders = wave1.filter((m) => orders.get(m.accountId)?.some((o) => o.status === 'placed')).length;
    t.equal(wave1Orders, wave1Placed, `the ${wave1Placed} orders of the first wave are all still there`);
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check is still ok');
  });
  t.equal(await restarted.stop(), 'exit 0', 'the restarted server closes cleanly');
});
