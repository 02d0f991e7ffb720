import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { SMTPServer } from 'smtp-server';
import t, { type Test } from 'tap';
import { applyMigrations, knownMigrations, MIGRATIONS_DIR, openDatabase } from '../src/db/index.js';
import { createBackup, DATABASE_FILE, listBackups, lockDataDir, openAndMigrate } from '../src/domain/backups.js';
import { verifyPassword } from '../src/domain/passwords.js';
import { createSession, newToken } from '../src/domain/sessions.js';
import { createAccount, PASSWORD, seedCoop } from './helper.js';
import { freePort, ROOT, startServer } from './support/server-process.js';

/*
 * The carnet command line, run as a real process (node --import tsx src/cli.ts) on a temporary
 * DATA_DIR: exit codes, output, and what each command changes. The server's own checks at start
 * (another process on DATA_DIR, a newer database, a backup before migrating) are here too, since
 * they also need a real process.
 */

const NEW_PASSWORD = 'a brand new passphrase';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

/** Runs the CLI with these arguments, environment and standard input. */
function cli(args: string[], opts: { dataDir?: string; env?: Record<string, string>; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(opts.dataDir ? { DATA_DIR: opts.dataDir } : {}), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const raw = Buffer.concat(out);
      resolve({ code, stdout: raw.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), raw });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A DATA_DIR holding a coop (admin@carnet.test) and a member (mia@carnet.test), closed for the CLI. */
async function coopDir(t: Test): Promise<string> {
  const dir = tmp(t);
  const opened = openAndMigrate(dir);
  if (!opened.ok) throw new Error(opened.message);
  await seedCoop(opened.db);
  await createAccount(opened.db, { email: 'mia@carnet.test', name: 'Mia Member' });
  opened.db.$client.close();
  return dir;
}

/** Makes DATA_DIR's database as an older Carnet left it: only the first two migrations applied. */
function olderDatabase(t: Test, dir: string): void {
  const folder = tmp(t);
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
  journal.entries = journal.entries.slice(0, 2);
  mkdirSync(join(folder, 'meta'));
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(MIGRATIONS_DIR, `${e.tag}.sql`), join(folder, `${e.tag}.sql`));
  const old = openDatabase(join(dir, DATABASE_FILE));
  applyMigrations(old, folder);
  old.$client.close();
}

/** Runs a query on DATA_DIR's database and closes it. */
function query<T>(dir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('usage: help, unknown commands and options, missing arguments', async (t) => {
  let r = await cli(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: carnet <command> \[options\]/);
  for (const command of ['create-admin', 'reset-password', 'backup', 'restore', 'export', 'send-test-email']) t.match(r.stdout, `  ${command} `);

  r = await cli(['backup', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: carnet backup\n/);
  r = await cli(['help', 'restore']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: carnet restore FILE\n/);

  const usage: Array<[string[], RegExp]> = [
    [[], /^carnet: a command is needed\n\nUsage: carnet <command>/],
    [['frobnicate'], /^carnet: unknown command "frobnicate"\n\nUsage: carnet <command>/],
    [['create-admin', '--colour', 'red'], /^carnet: Unknown option --colour\n\nUsage: carnet create-admin/],
    [['create-admin', '--name', 'Ada'], /^carnet: --email is required\n\nUsage: carnet create-admin/],
    [['create-admin', '--email', 'not-an-email', '--name', 'Ada'], /^carnet: --email: Enter an email address such as name@example.org/],
    [['reset-password', '--email'], /^carnet: Option --email <value> argument missing/],
    [['restore'], /^carnet: the backup FILE to restore is required\n\nUsage: carnet restore FILE/],
    [['backup', 'extra'], /^carnet: unexpected argument "extra"/],
    [['send-test-email', '--to', 'x@example.org', '--locale', 'de'], /^carnet: --locale must be fr or en/],
  ];
  const dir = await coopDir(t);
  for (const [args, message] of usage) {
    r = await cli(args, { dataDir: dir });
    t.equal(r.code, 2, `${args.join(' ') || '(nothing)'}: exit 2`);
    t.match(r.stderr, message, `${args.join(' ') || '(nothing)'}: says why, then the usage`);
    t.equal(r.stdout, '');
  }
});

t.test('configuration: a bad variable is one line and exit 78; a wrong DATA_DIR creates no database', async (t) => {
  const dir = tmp(t);
  let r = await cli(['backup'], { dataDir: dir, env: { BACKUP_KEEP: '0' } });
  t.equal(r.code, 78);
  t.equal(r.stderr, 'carnet: Invalid BACKUP_KEEP: must be a whole number between 1 and 1000 (got "0")\n');
  for (const command of [['backup'], ['export'], ['reset-password', '--email', 'a@b.test']]) {
    r = await cli(command, { dataDir: dir });
    t.equal(r.code, 1, `${command[0]}: exit 1`);
    t.equal(r.stderr, `carnet: no database in ${dir} (carnet.db not found): check DATA_DIR\n`);
  }
  t.notOk(existsSync(join(dir, DATABASE_FILE)), 'no empty database was created');
  const typo = join(dir, 'dta');
  r = await cli(['backup'], { dataDir: typo });
  t.equal(r.code, 78);
  t.equal(r.stderr, `carnet: Invalid DATA_DIR: ${typo} does not exist\n`);
  t.notOk(existsSync(typo), 'a mistyped DATA_DIR is not created');
});

t.test('create-admin: creates an admin from a piped password, refuses a taken email unless --promote', async (t) => {
  const dir = await coopDir(t);
  let r = await cli(['create-admin', '--email', ' Zoe@Example.org ', '--name', 'Zoé Admin', '--password-stdin'], { dataDir: dir, input: `${NEW_PASSWORD}\n` });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'Admin account created for zoe@example.org');
  const [zoe] = query<{ id: number; name: string; password_hash: string; status: string; locale: string }>(dir, "select * from accounts where email = 'zoe@example.org'");
  t.match(zoe, { name: 'Zoé Admin', status: 'active', locale: 'fr' }, 'email normalised, the coop’s language');
  t.ok(await verifyPassword(NEW_PASSWORD, zoe!.password_hash), 'the password is the one given, newline removed');
  t.same(query(dir, 'select role from account_roles where account_id = ? order by role', zoe!.id), [{ role: 'admin' }, { role: 'member' }]);
  t.same(query(dir, "select actor_id, actor_name, subject_id, details from audit_log where action = 'admin.created_by_cli'"), [
    { actor_id: null, actor_name: 'CLI', subject_id: zoe!.id, details: '{}' },
  ]);

  // Piped without the flag works the same; a password too short or two different ones are refused.
  r = await cli(['create-admin', '--email', 'sam@example.org', '--name', 'Sam', '--locale', 'en'], { dataDir: dir, input: NEW_PASSWORD });
  t.equal(r.code, 0, r.stderr);
  t.same(query(dir, "select locale from accounts where email = 'sam@example.org'"), [{ locale: 'en' }]);
  r = await cli(['create-admin', '--email', 'short@example.org', '--name', 'Short', '--password-stdin'], { dataDir: dir, input: 'short\n' });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'carnet: the password must be at least 10 characters long\n');
  t.same(query(dir, "select id from accounts where email = 'short@example.org'"), [], 'nothing created');

  const miaBefore = query(dir, "select * from accounts where email = 'mia@carnet.test'");
  r = await cli(['create-admin', '--email', 'mia@carnet.test', '--name', 'Mia', '--password-stdin'], { dataDir: dir, input: NEW_PASSWORD });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'carnet: an account with the email mia@carnet.test already exists; add --promote to make it an admin\n');
  t.same(query(dir, "select role from account_roles join accounts on accounts.id = account_id where email = 'mia@carnet.test'"), [{ role: 'member' }]);

  r = await cli(['create-admin', '--email', 'mia@carnet.test', '--promote'], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'mia@carnet.test is now an admin.');
  t.same(query(dir, "select role from account_roles join accounts on accounts.id = account_id where email = 'mia@carnet.test' order by role"), [{ role: 'admin' }, { role: 'member' }]);
  const [mia] = query<{ password_hash: string }>(dir, "select password_hash from accounts where email = 'mia@carnet.test'");
  t.equal(mia!.password_hash, (miaBefore[0] as { password_hash: string }).password_hash, 'the password is kept');
  t.ok(await verifyPassword(PASSWORD, mia!.password_hash));
  t.same(query(dir, "select details from audit_log where action = 'admin.created_by_cli' order by id").at(-1), { details: '{"promoted":true}' });
  r = await cli(['create-admin', '--email', 'mia@carnet.test', '--promote'], { dataDir: dir });
  t.equal(r.code, 0);
  t.match(r.stdout, 'already an admin');
});

t.test('create-admin before first-run setup points to the setup page', async (t) => {
  const dir = tmp(t);
  const opened = openAndMigrate(dir);
  if (!opened.ok) throw new Error(opened.message);
  opened.db.$client.close();
  const r = await cli(['create-admin', '--email', 'a@example.org', '--name', 'Ada', '--password-stdin'], { dataDir: dir, input: NEW_PASSWORD });
  t.equal(r.code, 1);
  t.match(r.stderr, 'no coop yet: open it in a browser and run the first-run setup');
  t.same(query(dir, 'select id from accounts'), []);
});

t.test('reset-password: a new password, every session ended, the owner told', async (t) => {
  const dir = await coopDir(t);
  const db = openDatabase(join(dir, DATABASE_FILE));
  const mia = (db.$client.prepare("select id from accounts where email = 'mia@carnet.test'").get() as { id: number }).id;
  createSession(db, newToken(), mia);
  createSession(db, newToken(), mia);
  db.$client.close();
  let r = await cli(['reset-password', '--email', 'MIA@carnet.test', '--password-stdin'], { dataDir: dir, input: `${NEW_PASSWORD}\r\n` });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'Password changed for mia@carnet.test');
  const [row] = query<{ password_hash: string }>(dir, 'select password_hash from accounts where id = ?', mia);
  t.ok(await verifyPassword(NEW_PASSWORD, row!.password_hash));
  t.same(query(dir, 'select * from sessions where account_id = ?', mia), [], 'logged out everywhere');
  t.same(query(dir, "select template from outbox where to_address = 'mia@carnet.test'"), [{ template: 'passwordChanged' }], 'told by email');
  t.same(query(dir, "select actor_name, subject_id from audit_log where action = 'password.reset_by_cli'"), [{ actor_name: 'CLI', subject_id: mia }]);

  r = await cli(['reset-password', '--email', 'nobody@carnet.test', '--password-stdin'], { dataDir: dir, input: NEW_PASSWORD });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'carnet: no account has the email nobody@carnet.test\n');
});

t.test('backup prints the new file; restore brings it back and keeps the replaced database', async (t) => {
  const dir = await coopDir(t);
  let r = await cli(['backup'], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  const path = r.stdout.trim();
  t.match(path, new RegExp(`^${join(dir, 'backups')}/carnet-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ-manual\\.db$`));
  t.ok(existsSync(path));
  t.same(query(dir, "select actor_name, details from audit_log where action = 'backup.created'"), [{ actor_name: 'CLI', details: JSON.stringify({ file: path.split('/').pop() }) }]);

  const db = new Database(join(dir, DATABASE_FILE));
  db.prepare("update coop set name = 'Coop Changée'").run();
  db.prepare("delete from accounts where email = 'mia@carnet.test'").run();
  db.close();

  r = await cli(['restore', path], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `Restored ${path} into ${join(dir, DATABASE_FILE)}.`);
  const replaced = /kept in (\S+)\.\n/.exec(r.stdout)?.[1];
  t.match(replaced, new RegExp(`^${join(dir, 'replaced')}/carnet-.*Z\\.db$`));
  t.same(query(dir, 'select name from coop'), [{ name: 'Coop Test' }], 'the coop as it was');
  t.same(query(dir, "select email from accounts where email = 'mia@carnet.test'"), [{ email: 'mia@carnet.test' }], 'Mia is back');
  const old = new Database(replaced!, { readonly: true });
  t.teardown(() => old.close());
  t.equal(old.prepare('select name from coop').pluck().get(), 'Coop Changée', 'the replaced database is kept, with the later changes');
  t.same(query(dir, "select actor_name from audit_log where action = 'backup.restored'"), [{ actor_name: 'CLI' }]);
});

t.test('restore refuses while Carnet runs, and refuses a damaged file; nothing changes', async (t) => {
  const dir = await coopDir(t);
  const made = (() => {
    const db = openDatabase(join(dir, DATABASE_FILE));
    try {
      const r = createBackup(db, dir, 'manual');
      if (!r.ok) throw new Error(r.message);
      return r.backup.path;
    } finally {
      db.$client.close();
    }
  })();
  const live = join(dir, DATABASE_FILE);
  const before = sha(live);

  // This test process plays the running server: it holds the DATA_DIR lock.
  const lock = lockDataDir(dir)!;
  let r = await cli(['restore', made], { dataDir: dir });
  lock.release();
  t.equal(r.code, 1);
  t.equal(r.stderr, `carnet: cannot restore ${made}: Carnet is running (Carnet is running on ${dir}: stop it before restoring); nothing was changed\n`);
  t.equal(sha(live), before);

  const damaged = join(tmp(t), 'damaged.db');
  copyFileSync(made, damaged);
  const bytes = readFileSync(damaged);
  bytes.fill(0x5a, 4096 * 2, Math.min(bytes.length, 4096 * 5));
  writeFileSync(damaged, bytes);
  r = await cli(['restore', damaged], { dataDir: dir });
  t.equal(r.code, 1);
  t.match(r.stderr, `carnet: cannot restore ${damaged}: the file is damaged (`);
  t.match(r.stderr, /; nothing was changed\n$/);
  t.equal(sha(live), before, 'the live database is unchanged');
  t.notOk(existsSync(join(dir, 'replaced')), 'nothing moved aside');
});

t.test('export writes a zip of CSV files and carnet.json, to a file or to standard output', async (t) => {
  const dir = await coopDir(t);
  let r = await cli(['export'], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  const path = r.stdout.trim();
  t.match(path, new RegExp(`^${join(dir, 'exports')}/carnet-export-.*Z\\.zip$`));
  const files = unzipSync(readFileSync(path));
  t.ok(files['accounts.csv'] && files['carnet.json'] && files['orders.csv']);
  const accounts = strFromU8(files['accounts.csv']!);
  t.match(accounts, 'mia@carnet.test');
  t.notMatch(accounts, 'scrypt$', 'no password hash');
  t.same(query(dir, "select actor_name, details from audit_log where action = 'export.created'"), [{ actor_name: 'CLI', details: JSON.stringify({ file: path.split('/').pop() }) }]);

  const out = join(tmp(t), 'coop.zip');
  r = await cli(['export', '--out', out], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), out);
  t.ok(unzipSync(readFileSync(out))['carnet.json']);

  r = await cli(['export', '--out', '-'], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  t.same([...r.raw.subarray(0, 2)], [0x50, 0x4b], 'a zip on standard output, and nothing else');
  t.match(JSON.parse(strFromU8(unzipSync(new Uint8Array(r.raw))['carnet.json']!)), { manifest: { format: 'carnet-export' } });
});

/** A local SMTP server that accepts mail, or refuses every recipient. */
async function smtpServer(t: Test, refuse = false): Promise<{ port: number; received: string[] }> {
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (refuse) return callback(Object.assign(new Error('No such user here'), { responseCode: 550 }));
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, received };
}

t.test('send-test-email sends at once through SMTP, or says what the server answered', async (t) => {
  const dir = await coopDir(t);
  const smtp = await smtpServer(t);
  let r = await cli(['send-test-email', '--to', 'ops@example.org'], { dataDir: dir, env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` } });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `Test email sent to ops@example.org through 127.0.0.1:${smtp.port}.\n`);
  t.equal(smtp.received.length, 1, 'the server got it');
  t.match(smtp.received[0], /To: ops@example.org/);
  t.match(query(dir, "select status, attempts from outbox where to_address = 'ops@example.org'"), [{ status: 'sent', attempts: 1 }], 'recorded as sent in the outbox');

  const refusing = await smtpServer(t, true);
  r = await cli(['send-test-email', '--to', 'nobody@example.org'], { dataDir: dir, env: { SMTP_URL: `smtp://127.0.0.1:${refusing.port}` } });
  t.equal(r.code, 1);
  t.match(r.stderr, /^carnet: the test email to nobody@example.org was not sent: .*No such user here/);
  t.match(query(dir, "select status, last_error from outbox where to_address = 'nobody@example.org'"), [{ status: 'failed', last_error: /No such user here/ }]);

  const port = await freePort();
  r = await cli(['send-test-email', '--to', 'ops@example.org'], { dataDir: dir, env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
  t.equal(r.code, 1, 'no server listening');
  t.match(r.stderr, /^carnet: the test email to ops@example.org was not sent: .*ECONNREFUSED/);

  // Without SMTP_URL the email is written to DATA_DIR/mail.
  r = await cli(['send-test-email', '--to', 'ops@example.org', '--locale', 'en'], { dataDir: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `written to ${join(dir, 'mail')}/`);
  t.equal(readdirSync(join(dir, 'mail')).filter((f) => f.endsWith('.eml')).length, 1);
});

t.test('the server refuses a newer database with one line, exit 78, touching nothing', async (t) => {
  const dir = await coopDir(t);
  const file = join(dir, DATABASE_FILE);
  const db = new Database(file);
  db.prepare('insert into __drizzle_migrations (hash, created_at) values (?, ?)').run('future', knownMigrations().at(-1)!.when + 1000);
  db.close();
  const before = { hash: sha(file), files: readdirSync(dir).sort() };
  const migration = String(knownMigrations().length).padStart(4, '0');
  const server = await runServer(dir);
  t.equal(server.code, 78);
  t.equal(server.stderr, `carnet: the database in ${file} was made by a newer Carnet (migration ${migration}); restore a backup or run the newer version\n`);
  t.equal(sha(file), before.hash, 'the database is unchanged');
  // Only what any start writes before looking at the database: the lock and the session secret.
  t.same(readdirSync(dir).sort(), [...before.files, 'carnet.lock', 'session-secret'].sort(), 'no backup made, nothing else written');

  const r = await cli(['export'], { dataDir: dir });
  t.equal(r.code, 78, 'the CLI refuses it too');
  t.match(r.stderr, 'was made by a newer Carnet');
});

t.test('a second process on the same DATA_DIR is refused', async (t) => {
  const dir = await coopDir(t);
  const lock = lockDataDir(dir)!;
  t.teardown(() => lock.release());
  const server = await runServer(dir);
  t.equal(server.code, 1);
  t.equal(server.stderr, `carnet: another Carnet process is using ${dir} (a running server, or a restore); stop it first\n`);
});

t.test('a command does not upgrade the database under an older server still running', async (t) => {
  const dir = tmp(t);
  olderDatabase(t, dir);
  const file = join(dir, DATABASE_FILE);
  const before = sha(file);

  // The older server holds the DATA_DIR lock.
  const lock = lockDataDir(dir)!;
  const r = await cli(['backup'], { dataDir: dir });
  t.equal(r.code, 1);
  t.equal(r.stderr, `carnet: an older Carnet is running on ${dir}: restart it with this version (it upgrades the database), then run this command again\n`);
  t.equal(sha(file), before, 'the database is not migrated');
  t.same(listBackups(dir), [], 'and no backup is made');
  lock.release();

  const after = await cli(['backup'], { dataDir: dir });
  t.equal(after.code, 0, 'once the server is stopped, the command upgrades and backs up');
  t.same(query(dir, 'select count(*) as n from __drizzle_migrations'), [{ n: knownMigrations().length }]);
});

t.test('the server backs up an older database before migrating it', async (t) => {
  const dir = tmp(t);
  olderDatabase(t, dir);

  const server = await startServer({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn', BACKUP_INTERVAL_HOURS: '0' } });
  t.equal(await server.stop(), 'exit 0');
  const third = knownMigrations()[2]!.tag.slice(0, 4);
  t.same(
    listBackups(dir).map((b) => b.kind + ' ' + b.migration),
    [`before-migration ${third}`],
    'one backup, made before the first migration that was missing (and none on schedule: it is off)',
  );
  t.same(query(dir, 'select count(*) as n from __drizzle_migrations'), [{ n: knownMigrations().length }], 'then migrated');
});

/** Runs the server on DATA_DIR until it exits by itself (these cases stop before listening). */
async function runServer(dir: string): Promise<{ code: number | null; stderr: string }> {
  const port = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
