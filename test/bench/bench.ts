import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { memoryOf, ROOT, startServer, type ServerProcess } from '../support/server-process.js';
import { addMembers, formToken, SESSION_SECRET, seedShop, stockRows, type BasketLine, type SeededMember } from '../support/shop-fixture.js';
import { benchCatalog, prng } from './catalog-names.js';

/*
 * npm run bench — issue 4, item 9. Not a timed test: it measures and reports, never fails on a
 * target. Seeds a fresh database (50 producers × 20 offers = 1,000 published offers, one scarce
 * offer, 2,000 members with sessions and filled baskets), starts the real server as a child
 * process, and runs with autocannon against 127.0.0.1:
 *   (a) floor: a bare Fastify process answering the same shop HTML from memory;
 *   (b) shop: GET /shop/:cycleId as members first see it, cookies rotated over the members;
 *   (c) placement: POST /shop/:cycleId/order, request i placed by member i, each once.
 * Prints one JSON line per scenario and the summary lines, and writes bench-results.json.
 *
 * Options: --duration=<s> (default 10) for (a) and (b); --connections=<n> (default 10);
 * --dist runs the compiled dist/server.js (npm run build first) instead of src/server.ts with tsx;
 * --cpu-prof writes a CPU profile of the server to the kept data folder; --keep keeps that folder.
 */

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const DURATION_S = Number(args.get('duration') ?? 10);
const CONNECTIONS = Number(args.get('connections') ?? 10);
const WARMUP_S = 2;
const PRODUCERS = 50;
const OFFERS_PER_PRODUCER = 20;
const STOCK = 1_000_000;
const MEMBERS = 2000;
const WARMUP_MEMBERS = 100;
const SCARCE_UNITS = 150;
// Every SCARCE_EVERY-th member also wants one unit of the scarce offer: more demand than stock.
const SCARCE_EVERY = 10;
const keep = args.has('keep') || args.has('cpu-prof');

// The server runs with the Node flags production uses: those of `npm start` (docker/Dockerfile's CMD has the same).
const SERVER_NODE_FLAGS = (/\bnode((?:\s+--[\w-]+(?:=\S+)?)*)\s+dist\/server\.js/.exec((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start)?.[1] ?? '')
  .trim()
  .split(/\s+/)
  .filter(Boolean);

const TARGETS = { shopP99Ms: 50, shopToFloorRatio: 0.3, placementPerSec: 500, unitsOversold: 0, peakRssMb: 150 };

interface Scenario {
  name: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-bench-'));
  // Other work on the machine skews every figure: the load average is reported with them.
  const loadBefore = round(loadavg()[0]!, 2);
  const servers: ServerProcess[] = [];
  try {
    // ----- seed -----
    let t0 = Date.now();
    const catalog = benchCatalog(PRODUCERS, OFFERS_PER_PRODUCER, STOCK);
    catalog.push({
      name: 'Ferme de la Dernière Barquette',
      description: 'Petite ferme, petites quantités.',
      offers: [{ name: 'Fraises mara des bois', category: 1, unit: 'box', priceCents: 590, vatRateBp: 550, available: SCARCE_UNITS }],
    });
    const shop = await seedShop(dir, catalog);
    const scarce = shop.offers.at(-1)!;
    const regular = shop.offers.slice(0, -1);
    const rnd = prng(7);
    const basketFor =
      (withScarce: boolean) =>
      (i: number): BasketLine[] => {
        const lines = new Map<number, number>();
        const n = 3 + Math.floor(rnd() * 5);
        for (let k = 0; k < n; k++) lines.set(regular[Math.floor(rnd() * regular.length)]!.id, 1 + Math.floor(rnd() * 3));
        if (withScarce && i % SCARCE_EVERY === 0) lines.set(scarce.id, 1);
        return [...lines].map(([offerId, quantity]) => ({ offerId, quantity }));
      };
    const members = addMembers(shop, MEMBERS, basketFor(true), { prefix: 'bench' });
    const warmupMembers = addMembers(shop, WARMUP_MEMBERS, basketFor(false), { prefix: 'warmup' });
    const { cycleId, distributionId } = shop;
    shop.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    shop.db.$client.close();
    log(`seeded ${shop.offers.length} offers and ${MEMBERS + WARMUP_MEMBERS} members in ${Date.now() - t0} ms (${dir})`);

    // ----- the server, with its memory sampled every 100 ms -----
    const profDir = join(dir, 'cpu-prof');
    if (args.has('cpu-prof')) mkdirSync(profDir);
    t0 = Date.now();
    const server = await startServer({
      entry: args.has('dist') ? 'dist/server.js' : 'src/server.ts',
      tsx: !args.has('dist'),
      env: { DATA_DIR: dir, SESSION_SECRET, LOG_LEVEL: 'warn', BASE_URL: 'http://127.0.0.1', BACKUP_INTERVAL_HOURS: '0' },
      nodeArgs: [...SERVER_NODE_FLAGS, ...(args.has('cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [])],
    });
    servers.push(server);
    log(`server ${server.pid} ready on ${server.url} in ${Date.now() - t0} ms`);
    const idle = memoryOf(server.pid);
    let peakKb = 0;
    // The high-water mark reached by the end of each phase, to tell which one grows the server.
    const phaseRssMb: Record<string, number> = {};
    const sample = () => {
      const m = memoryOf(server.pid);
      if (m) peakKb = Math.max(peakKb, m.rssKb, m.hwmKb);
    };
    const phaseDone = (name: string) => {
      sample();
      phaseRssMb[name] = round(peakKb / 1024);
    };
    const sampler = setInterval(sample, 100);

    // ----- the page the floor serves: the shop as member 0 first sees it -----
    const first = await fetch(`${server.url}/shop/${cycleId}`, { headers: { cookie: members[0]!.cookie }, redirect: 'manual' });
    const html = await first.text();
    if (first.status !== 200 || !html.includes(regular[0]!.name.split(' ')[0]!)) {
      throw new Error(`GET /shop/${cycleId} answered ${first.status}, not the shop page:\n${html.slice(0, 500)}`);
    }
    const htmlFile = join(dir, 'shop.html');
    writeFileSync(htmlFile, html);
    log(`shop page: ${(Buffer.byteLength(html) / 1024).toFixed(0)} kB`);
    const floor = await startServer({ entry: 'test/bench/floor-server.ts', env: { FLOOR_HTML: htmlFile } });
    servers.push(floor);

    const results: Scenario[] = [];
    const print = (line: object) => process.stdout.write(JSON.stringify(line) + '\n');

    // ----- (a) floor -----
    await cannon({ url: `${floor.url}/shop/${cycleId}`, connections: CONNECTIONS, duration: WARMUP_S });
    const floorRun = await cannon({ url: `${floor.url}/shop/${cycleId}`, connections: CONNECTIONS, duration: DURATION_S });
    results.push(scenario('floor: pre-rendered shop HTML from memory', floorRun, [200]));
    phaseDone('afterFloor');
    print(results.at(-1)!);

    // ----- (b) the shop, cookies rotated over the members -----
    const shopRequests = (pool: SeededMember[]) => {
      let k = 0;
      return [
        {
          method: 'GET' as const,
          path: `/shop/${cycleId}`,
          setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, cookie: pool[k++ % pool.length]!.cookie } }),
        },
      ];
    };
    await cannon({ url: server.url, connections: CONNECTIONS, duration: WARMUP_S, requests: shopRequests(warmupMembers) });
    const shopRun = await cannon({ url: server.url, connections: CONNECTIONS, duration: DURATION_S, requests: shopRequests(members) });
    results.push(scenario('shop: GET /shop/:cycleId as a member (1,000 offers)', shopRun, [200]));
    phaseDone('afterShop');
    print(results.at(-1)!);

    // ----- (c) placement: request i by member i, each with a fresh form token -----
    const placeRequests = (pool: SeededMember[]) => {
      let i = 0;
      return [
        {
          method: 'POST' as const,
          path: `/shop/${cycleId}/order`,
          setupRequest: (req: autocannon.Request) => {
            const m = pool[i++ % pool.length]!;
            return {
              ...req,
              headers: { ...req.headers, cookie: m.cookie, 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ _csrf: m.csrf, token: formToken(), distributionId: String(distributionId) }).toString(),
            };
          },
        },
      ];
    };
    await cannon({ url: server.url, connections: CONNECTIONS, amount: warmupMembers.length, requests: placeRequests(warmupMembers) });
    // Timed here, from the start to the last answer: autocannon ends an amount-bounded run on its
    // next one-second tick, so its own duration (and any rate computed from it) is rounded up.
    const placeStart = performance.now();
    let lastAnswer = placeStart;
    const placing = cannon({ url: server.url, connections: CONNECTIONS, amount: members.length, requests: placeRequests(members) });
    (placing as unknown as NodeJS.EventEmitter).on('response', () => (lastAnswer = performance.now()));
    const placeRun = await placing;
    placeRun.duration = (lastAnswer - placeStart) / 1000;
    // 303 = placed; 409 = the scarce offer ran out for this member, an expected answer.
    const placement = scenario('placement: POST /shop/:cycleId/order, distinct members', placeRun, [303, 409]);
    results.push(placement);
    print(placement);

    clearInterval(sampler);
    phaseDone('afterPlacement');
    const peakRssMb = round(peakKb / 1024);

    // ----- what the database says -----
    const db = new Database(join(dir, 'carnet.db'), { readonly: true });
    const stock = stockRows(db, cycleId);
    const scarceRow = stock.find((r) => r.offerId === scarce.id)!;
    // Over every offer: units sold beyond what it had (the scarce one is where it could happen).
    const unitsOversold = stock.reduce((n, r) => n + (r.available !== null ? Math.max(0, r.sold - r.available) : 0), 0);
    const stockMismatches = stock.filter((r) => r.taken !== r.sold).length;
    const placedOrders = (db.prepare(`select count(*) as n from orders where cycle_id = ? and status = 'placed'`).get(cycleId) as { n: number }).n;
    // Disk an order costs: its tables and their indexes (orders, lines, form tokens, confirmation email), per 1,000 orders.
    const orderBytes = (
      db
        .prepare(
          `select sum(d.pgsize) as bytes from dbstat d join sqlite_master m on m.name = d.name
           where m.tbl_name in ('orders', 'order_lines', 'order_submissions', 'outbox')`,
        )
        .get() as { bytes: number }
    ).bytes;
    const diskPer1000OrdersMb = round((orderBytes / placedOrders) * 1000 / 1024 / 1024, 2);
    db.close();
    const placed303 = placeRun.statusCodeStats?.['303']?.count ?? 0;
    const refused409 = placeRun.statusCodeStats?.['409']?.count ?? 0;

    const shopToFloorRatio = round(results[1]!.requestsPerSec / results[0]!.requestsPerSec, 3);
    const summary = {
      shopToFloorRatio,
      peakRssMb,
      unitsOversold,
    };
    print({ shopToFloorRatio });
    print({ peakRssMb });
    print({ unitsOversold });
    const details = {
      idleRssMb: idle ? round(idle.rssKb / 1024) : null,
      peakRssMbByPhase: phaseRssMb,
      shopPageKb: round(Buffer.byteLength(html) / 1024),
      placementAnswers: { placed: placed303, refusedScarce: refused409, ordersStoredIncludingWarmup: placedOrders, warmupOrders: WARMUP_MEMBERS },
      placedOrdersPerSec: round(placed303 / placeRun.duration),
      scarce: { available: SCARCE_UNITS, sold: scarceRow.sold, wanted: Math.ceil(MEMBERS / SCARCE_EVERY) },
      stockMismatches,
      diskPer1000OrdersMb,
      loadAverage: { before: loadBefore, after: round(loadavg()[0]!, 2) },
      server: args.has('dist') ? `node ${[...SERVER_NODE_FLAGS, ''].join(' ')}dist/server.js` : `node ${[...SERVER_NODE_FLAGS, ''].join(' ')}--import tsx src/server.ts`,
    };
    print(details);
    const met = {
      shopP99: results[1]!.p99Ms <= TARGETS.shopP99Ms,
      shopToFloorRatio: shopToFloorRatio >= TARGETS.shopToFloorRatio,
      placementPerSec: placement.requestsPerSec >= TARGETS.placementPerSec,
      unitsOversold: unitsOversold <= TARGETS.unitsOversold,
      peakRssMb: peakRssMb <= TARGETS.peakRssMb,
    };
    print({ targets: TARGETS, met });

    writeFileSync(
      join(ROOT, 'bench-results.json'),
      JSON.stringify(
        {
          at: new Date().toISOString(),
          machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
          setup: { producers: PRODUCERS, offers: shop.offers.length, members: MEMBERS, connections: CONNECTIONS, durationS: DURATION_S },
          scenarios: results,
          ...summary,
          details,
          targets: TARGETS,
          met,
        },
        null,
        2,
      ) + '\n',
    );
    log('wrote bench-results.json');

    for (const s of servers) await s.stop();
    servers.length = 0;
    if (args.has('cpu-prof')) log(`CPU profile(s): ${readdirSync(profDir).map((f) => join(profDir, f)).join(', ')}`);
  } finally {
    for (const s of servers) await s.kill();
    if (!keep) rmSync(dir, { recursive: true, force: true });
    else log(`data kept in ${dir}`);
  }
}

function cannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ timeout: 10, ...opts });
}

/** One scenario line; requests/s is completed requests over the run's duration. */
function scenario(name: string, r: autocannon.Result, expected: number[]): Scenario {
  const answered = Object.entries(r.statusCodeStats ?? {}).reduce((n, [, v]) => n + (v.count ?? 0), 0);
  const ok = expected.reduce((n, code) => n + (r.statusCodeStats?.[String(code) as `${number}`]?.count ?? 0), 0);
  return {
    name,
    requestsPerSec: round(answered / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: answered - ok + r.errors + r.timeouts,
  };
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
