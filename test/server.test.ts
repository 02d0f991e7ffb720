import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

/* The real server, as Docker runs it: a child process, real HTTP, real signals. */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Spawns `node --import tsx src/server.ts` with only the given environment (plus PATH/HOME). */
function spawnServer(t: Test, env: Record<string, string>, args: string[] = []): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let signalledAt = 0;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: signalledAt ? Date.now() - signalledAt : 0 })),
  );
  const kill = child.kill.bind(child);
  child.kill = (sig?: NodeJS.Signals | number) => {
    signalledAt = Date.now();
    return kill(sig);
  };
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      kill('SIGKILL');
      await exited;
    }
  });
  return { child, url: `http://127.0.0.1:${env.PORT}`, stdout: () => out, stderr: () => err, exited };
}

/** Waits until /healthz answers 200, or fails with what the server printed. */
async function waitHealthy(s: Running, timeoutMs = 25_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.child.exitCode !== null) throw new Error(`server exited with ${s.child.exitCode}: ${s.stderr()}${s.stdout()}`);
    try {
      const res = await fetch(`${s.url}/healthz`);
      if (res.status === 200) return res;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not healthy after ${timeoutMs} ms: ${s.stderr()}${s.stdout()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A tiny browser: keeps cookies, reads the CSRF token of the last page, posts forms. */
class Browser {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly base: string) {}
  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  private headers(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }
  async get(path: string): Promise<{ res: Response; body: string }> {
    const res = await fetch(this.base + path, { redirect: 'manual', headers: { 'accept-language': 'en', ...this.headers() } });
    this.remember(res);
    const body = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (m) this.csrf = m[1]!;
    return { res, body };
  }
  async post(path: string, form: Record<string, string>): Promise<{ res: Response; body: string }> {
    const res = await fetch(this.base + path, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en', ...this.headers() },
      body: new URLSearchParams({ _csrf: this.csrf, ...form }).toString(),
    });
    this.remember(res);
    return { res, body: await res.text() };
  }
}

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ');

t.test('starts, serves, and stops cleanly on SIGTERM', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const s = spawnServer(t, { DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const health = await waitHealthy(s);
  t.same(await health.json(), { status: 'ok', database: 'ok' });
  t.equal(health.headers.get('cache-control'), 'no-store');

  const browser = new Browser(s.url);
  const home = await browser.get('/');
  t.equal(home.res.status, 303);
  t.equal(home.res.headers.get('location'), '/setup');

  // first-run setup through the real form, so there is data to keep
  const form = await browser.get('/setup');
  t.equal(form.res.status, 200);
  t.ok(browser.csrf, 'the form has a CSRF token');
  const done = await browser.post('/setup', {
    coopName: 'La Coop du Marais',
    contactEmail: 'contact@marais.test',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    adminName: 'Camille Martin',
    adminEmail: 'camille@marais.test',
    password: 'correct horse battery',
    passwordConfirm: 'correct horse battery',
  });
  t.equal(done.res.status, 303, 'setup done');
  t.equal(done.res.headers.get('location'), '/admin');
  t.equal((await browser.get('/admin')).res.status, 200, 'logged in as the admin');

  s.child.kill('SIGTERM');
  const exit = await Promise.race([s.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
  t.ok(exit, 'exits within 10 s');
  t.equal(exit?.code, 0, 'exit code 0');
  t.equal(exit?.signal, null, 'it handled the signal rather than being killed by it');
  t.equal(s.stderr(), '', 'nothing on stderr');

  const file = join(dir, 'carnet.db');
  const wal = `${file}-wal`;
  t.ok(!existsSync(wal) || statSync(wal).size === 0, 'the WAL was checkpointed into the database when it closed');
  const db = new Database(file, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  t.same(db.pragma('foreign_key_check'), []);
  t.equal(db.prepare('select name from coop').pluck().get(), 'La Coop du Marais', 'the data written before the signal is there');
  t.equal(db.prepare("select count(*) from accounts where email = 'camille@marais.test'").pluck().get(), 1);
});

t.test('a bad environment variable stops start-up with one clear line', async (t) => {
  const dir = tmp(t);
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '3000', BASE_URL: 'ftp://x' }, 'BASE_URL'],
  ];
  for (const [env, name] of cases) {
    const started = Date.now();
    const s = spawnServer(t, { DATA_DIR: dir, HOST: '127.0.0.1', ...env });
    const exit = await Promise.race([s.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    t.ok(exit, `${name}: exits`);
    t.ok(Date.now() - started < 15_000, `${name}: quickly`);
    t.not(exit?.code, 0, `${name}: with a non-zero code`);
    t.equal(exit?.code, 78, `${name}: EX_CONFIG`);
    const lines = s.stderr().split('\n').filter((l) => l.trim() !== '');
    t.equal(lines.length, 1, `${name}: exactly one line on stderr`);
    t.match(lines[0], new RegExp(`^carnet: Invalid ${name}: `), `${name}: the line names the variable`);
    t.equal(s.stdout(), '', `${name}: nothing on stdout`);
  }
  t.notOk(existsSync(join(dir, 'carnet.db')), 'no database is created for a bad configuration');
});

t.test('demo mode: the login page lists the demo accounts, and they log in', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const env = { DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  for (const run of ['first start', 'restart on the same data']) {
    const s = spawnServer(t, env, ['--demo']);
    await waitHealthy(s);
    const browser = new Browser(s.url);
    const login = await browser.get('/login');
    t.equal(login.res.status, 200, `${run}: login page`);
    const page = text(login.body);
    for (const email of ['admin@demo.carnet.coop', 'producteur@demo.carnet.coop', 'adherent@demo.carnet.coop']) t.match(page, email, `${run}: lists ${email}`);
    t.match(page, 'carnet-demo', `${run}: shows the demo password`);

    const res = await browser.post('/login', { email: 'adherent@demo.carnet.coop', password: 'carnet-demo' });
    t.equal(res.res.status, 303, `${run}: logged in`);
    const home = await browser.get('/');
    t.equal(home.res.status, 200);
    t.match(text(home.body), 'Léa Bernard', `${run}: the home page greets the member`);
    const stranger = new Browser(s.url);
    await stranger.get('/login');
    const wrong = await stranger.post('/login', { email: 'adherent@demo.carnet.coop', password: 'not-the-password' });
    t.equal(wrong.res.status, 422, `${run}: a wrong password is refused`);

    s.child.kill('SIGTERM');
    const exit = await s.exited;
    t.equal(exit.code, 0, `${run}: clean exit`);
  }
  const db = new Database(join(dir, 'carnet.db'), { readonly: true });
  t.teardown(() => db.close());
  // the demo: 3 role accounts and 12 members, 5 producers, 10 placed orders; a second start adds none
  const counts = db
    .prepare("select (select count(*) from accounts) accounts, (select count(*) from producers) producers, (select count(*) from orders where status = 'placed') orders")
    .get();
  t.same(counts, { accounts: 15, producers: 5, orders: 10 }, 'seeding twice creates nothing more');
});
