import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { applyMigrations, knownMigrations, migrationState, MIGRATIONS_DIR, openDatabase, type Db } from '../../src/db/index.js';
import {
  backupFileName,
  createBackup,
  createManualBackup,
  DATABASE_FILE,
  findBackup,
  isDataDirLocked,
  listBackups,
  lockDataDir,
  openAndMigrate,
  parseBackupName,
  pruneBackups,
  restoreBackup,
  runScheduledBackup,
} from '../../src/domain/backups.js';
import { createSession, newToken } from '../../src/domain/sessions.js';
import { createAccount, seedCoop } from '../helper.js';

/*
 * Backups: names, retention, the schedule, the check before migrating, the DATA_DIR lock, and
 * restore (round trip, and every refusal leaving everything as it was).
 */

const H = 3_600_000;
const NOW = Date.parse('2026-11-26T12:00:00Z');
const CLI = { id: null, name: 'CLI' };

function tmp(t: Test, prefix = 'carnet-backups-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A DATA_DIR with a migrated database holding a coop, its admin and one member; the caller closes it. */
async function dataDirWithCoop(t: Test): Promise<{ dir: string; db: Db }> {
  const dir = tmp(t);
  const opened = openAndMigrate(dir);
  if (!opened.ok) throw new Error(opened.message);
  await seedCoop(opened.db);
  await createAccount(opened.db, { email: 'mia@carnet.test', name: 'Mia Member' });
  return { dir, db: opened.db };
}

/** A migrations folder holding only the first `count` migrations: a database made by an older Carnet. */
function olderMigrations(t: Test, count: number): string {
  const folder = tmp(t, 'carnet-old-migrations-');
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
  journal.entries = journal.entries.slice(0, count);
  mkdirSync(join(folder, 'meta'));
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(MIGRATIONS_DIR, `${e.tag}.sql`), join(folder, `${e.tag}.sql`));
  return folder;
}

/** Marks a database as migrated by a newer Carnet: one more migration than this code knows. */
function makeNewer(file: string): void {
  const sqlite = new Database(file);
  const last = knownMigrations().at(-1)!.when;
  sqlite.prepare('insert into __drizzle_migrations (hash, created_at) values (?, ?)').run('future', last + 60_000);
  sqlite.close();
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const names = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** The rows that matter for a round trip, read from a database file. */
function people(file: string): unknown {
  const sqlite = new Database(file, { readonly: true });
  try {
    return {
      coop: sqlite.prepare('select name, contact_email from coop').all(),
      accounts: sqlite.prepare('select id, email, name from accounts order by id').all(),
      roles: sqlite.prepare('select account_id, role from account_roles order by account_id, role').all(),
    };
  } finally {
    sqlite.close();
  }
}

t.test('backup names are explicit, sortable, and only names this code makes are accepted', async (t) => {
  t.equal(backupFileName('scheduled', NOW), 'carnet-2026-11-26T12-00-00Z-scheduled.db');
  t.equal(backupFileName('manual', NOW + 1500), 'carnet-2026-11-26T12-00-01Z-manual.db');
  t.equal(backupFileName('before-migration', NOW, '0004'), 'carnet-2026-11-26T12-00-00Z-before-migration-0004.db');
  t.same(parseBackupName('carnet-2026-11-26T12-00-00Z-before-migration-0004.db'), { kind: 'before-migration', migration: '0004', at: NOW });
  t.same(parseBackupName('carnet-2026-11-26T12-00-00Z-manual.db'), { kind: 'manual', migration: null, at: NOW });
  const refused = [
    'carnet.db',
    '../carnet.db',
    'carnet-2026-11-26T12-00-00Z-manual.db/../../carnet.db',
    '..%2Fcarnet.db',
    'carnet-2026-11-26T12-00-00Z-daily.db',
    'carnet-2026-02-30T12-00-00Z-manual.db',
    'carnet-2026-11-26T25-00-00Z-manual.db',
    'carnet-2026-11-26T12-00-00Z-manual.db.tmp',
    '.carnet-2026-11-26T12-00-00Z-manual.db.abc.tmp',
    'carnet-2026-11-26T12-00-00Z-before-migration-4.db',
    'CARNET-2026-11-26T12-00-00Z-manual.db',
    'carnet-2026-11-26T12-00-00Z-manual.db\u0000',
    'session-secret',
  ];
  for (const name of refused) t.equal(parseBackupName(name), null, `refused: ${JSON.stringify(name)}`);
});

t.test('a backup is a complete, intact copy, written under a temporary name first', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  t.teardown(() => db.$client.close());
  const result = createBackup(db, dir, 'manual', { now: NOW });
  if (!result.ok) throw new Error(result.message);
  t.equal(result.backup.file, 'carnet-2026-11-26T12-00-00Z-manual.db');
  t.equal(result.backup.kind, 'manual');
  t.ok(result.backup.size > 0);
  t.same(names(join(dir, 'backups')), [result.backup.file], 'no temporary file is left behind');
  const copy = new Database(result.backup.path, { readonly: true });
  t.teardown(() => copy.close());
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
  t.same(people(result.backup.path), people(join(dir, DATABASE_FILE)), 'same data as the live database');
  t.equal(migrationState(copy).pending.length, 0, 'same schema');
  t.same(findBackup(dir, result.backup.file)?.size, result.backup.size);
  t.equal(findBackup(dir, '../carnet.db'), undefined);
  t.equal(findBackup(dir, 'carnet-2026-11-26T12-00-00Z-scheduled.db'), undefined, 'a valid name with no file');
});

t.test('a backup that cannot be written fails cleanly and leaves nothing behind', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  t.teardown(() => db.$client.close());
  // The backups folder cannot be created: a file sits where it should be (like a full or read-only disk).
  writeFileSync(join(dir, 'backups'), 'in the way');
  const result = createBackup(db, dir, 'manual', { now: NOW });
  t.match(result, { ok: false, reason: 'failed' });
  t.same(names(dir).filter((n) => n.includes('tmp')), []);
  t.same(
    runScheduledBackup(db, dir, { intervalHours: 24, keep: 3 }, NOW).outcome,
    'failed',
    'the schedule reports the failure rather than throwing',
  );
  rmSync(join(dir, 'backups'));
  t.equal(runScheduledBackup(db, dir, { intervalHours: 24, keep: 3 }, NOW + 5 * 60_000).outcome, 'created', 'and succeeds at the next tick');
});

t.test('retention: the newest N of each kind are kept, kinds counted apart', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  t.teardown(() => db.$client.close());
  for (let i = 0; i < 4; i++) createBackup(db, dir, 'scheduled', { now: NOW + i * 24 * H });
  for (let i = 0; i < 3; i++) createBackup(db, dir, 'manual', { now: NOW + i * H });
  createBackup(db, dir, 'before-migration', { now: NOW - 30 * 24 * H, migration: '0003' });
  createBackup(db, dir, 'before-migration', { now: NOW - 10 * 24 * H, migration: '0004' });
  t.equal(listBackups(dir).length, 9);
  t.same(pruneBackups(dir, 'scheduled', 2, NOW).sort(), [backupFileName('scheduled', NOW), backupFileName('scheduled', NOW + 24 * H)].sort());
  t.same(pruneBackups(dir, 'manual', 2, NOW), [backupFileName('manual', NOW)]);
  t.same(pruneBackups(dir, 'before-migration', 2, NOW), [], 'two before-migration backups, both kept');
  const left = listBackups(dir);
  t.same(
    left.map((b) => b.file),
    [
      backupFileName('scheduled', NOW + 3 * 24 * H),
      backupFileName('scheduled', NOW + 2 * 24 * H),
      backupFileName('manual', NOW + 2 * H),
      backupFileName('manual', NOW + H),
      backupFileName('before-migration', NOW - 10 * 24 * H, '0004'),
      backupFileName('before-migration', NOW - 30 * 24 * H, '0003'),
    ],
    'the newest of each kind are kept, listed newest first',
  );
  // A temporary file left by a crash a day ago is cleaned up; one being written now is not.
  const old = join(dir, 'backups', '.carnet-old.db.abc.tmp');
  const current = join(dir, 'backups', '.carnet-now.db.def.tmp');
  writeFileSync(old, 'x');
  utimesSync(old, new Date(Date.now() - 25 * H), new Date(Date.now() - 25 * H));
  writeFileSync(current, 'x');
  pruneBackups(dir, 'manual', 2, Date.now());
  t.notOk(existsSync(old), 'a day-old temporary file is removed');
  t.ok(existsSync(current), 'a fresh one is left alone');
});

t.test('manual backups are recorded in the audit log with the file name only', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  t.teardown(() => db.$client.close());
  const result = createManualBackup(db, dir, 14, { id: 1, name: 'Ada Admin' }, NOW);
  t.ok(result.ok);
  const audit = db.$client.prepare("select actor_id, actor_name, details from audit_log where action = 'backup.created'").all();
  t.same(audit, [{ actor_id: 1, actor_name: 'Ada Admin', details: JSON.stringify({ file: 'carnet-2026-11-26T12-00-00Z-manual.db' }) }]);
});

t.test('the schedule backs up when due, not at every start, and can be turned off', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  t.teardown(() => db.$client.close());
  const daily = { intervalHours: 24, keep: 3 };
  const first = runScheduledBackup(db, dir, daily, NOW);
  t.match(first, { outcome: 'created', dueAt: NOW + 24 * H }, 'no backup yet: one now');
  t.same(runScheduledBackup(db, dir, daily, NOW + 60_000), { outcome: 'not_due', dueAt: NOW + 24 * H }, 'a restart a minute later does not back up again');
  t.equal(runScheduledBackup(db, dir, daily, NOW + 24 * H - 1000).outcome, 'not_due');
  t.equal(runScheduledBackup(db, dir, daily, NOW + 24 * H).outcome, 'created', 'due after the interval');
  // A server that was down for three days backs up as soon as it starts.
  t.equal(runScheduledBackup(db, dir, daily, NOW + 5 * 24 * H).outcome, 'created');
  for (let day = 6; day <= 8; day++) runScheduledBackup(db, dir, daily, NOW + day * 24 * H);
  t.equal(listBackups(dir).filter((b) => b.kind === 'scheduled').length, 3, 'only the newest 3 are kept');
  t.same(runScheduledBackup(db, dir, { intervalHours: 0, keep: 3 }, NOW + 30 * 24 * H), { outcome: 'off' });
  // Manual backups do not reset the schedule.
  createBackup(db, dir, 'manual', { now: NOW + 9 * 24 * H });
  t.equal(runScheduledBackup(db, dir, daily, NOW + 9 * 24 * H + 1000).outcome, 'created');
});

t.test('before migrating, an existing database is backed up; a new one is not', async (t) => {
  const dir = tmp(t);
  const fresh = openAndMigrate(dir, { now: NOW });
  if (!fresh.ok) throw new Error(fresh.message);
  t.equal(fresh.backup, null, 'a new database has nothing to back up');
  t.equal(fresh.migrated.length, knownMigrations().length);
  fresh.db.$client.close();
  t.same(listBackups(dir), []);

  // A database made by a Carnet that knew only the first two migrations, with a coop in it.
  const old = tmp(t);
  const oldDb = openDatabase(join(old, DATABASE_FILE));
  applyMigrations(oldDb, olderMigrations(t, 2));
  oldDb.$client.prepare("insert into coop (id, name, contact_email, default_locale, time_zone, created_at, updated_at) values (1, 'Vieille Coop', 'c@old.test', 'fr', 'Europe/Paris', 0, 0)").run();
  oldDb.$client.close();
  const upgraded = openAndMigrate(old, { now: NOW });
  if (!upgraded.ok) throw new Error(upgraded.message);
  t.teardown(() => upgraded.db.$client.close());
  const third = knownMigrations()[2]!.tag;
  t.same(upgraded.migrated.map((m) => m.tag), knownMigrations().slice(2).map((m) => m.tag));
  t.equal(upgraded.backup?.file, `carnet-2026-11-26T12-00-00Z-before-migration-${third.slice(0, 4)}.db`, 'named after the first migration applied');
  const before = new Database(upgraded.backup!.path, { readonly: true });
  t.teardown(() => before.close());
  t.equal(migrationState(before).applied, 2, 'the backup is the database as it was before');
  t.equal(before.prepare('select name from coop').pluck().get(), 'Vieille Coop');
  t.same(migrationState(upgraded.db.$client).pending, [], 'the live database is migrated');
  t.equal(upgraded.db.$client.prepare('select name from coop').pluck().get(), 'Vieille Coop', 'its data kept');
});

t.test('a database made by a newer Carnet is refused and left untouched', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  db.$client.close();
  const file = join(dir, DATABASE_FILE);
  makeNewer(file);
  const before = { hash: sha(file), files: names(dir) };
  const result = openAndMigrate(dir);
  const migration = String(knownMigrations().length).padStart(4, '0');
  t.same(result, { ok: false, reason: 'newer', message: `the database in ${file} was made by a newer Carnet (migration ${migration}); restore a backup or run the newer version` });
  t.equal(sha(file), before.hash, 'the file is unchanged');
  t.same(names(dir), before.files, 'no file is added (no backup, no WAL)');
});

t.test('the DATA_DIR lock is held by one process at a time and released on close', async (t) => {
  const dir = tmp(t);
  t.notOk(isDataDirLocked(dir));
  const lock = lockDataDir(dir);
  t.ok(lock);
  t.equal(lockDataDir(dir), null, 'a second holder is refused');
  t.ok(isDataDirLocked(dir));
  lock!.release();
  t.notOk(isDataDirLocked(dir));
  const again = lockDataDir(dir);
  t.ok(again, 'free again after release');
  again!.release();
});

t.test('restore: a round trip brings the data back as it was, and keeps the replaced database', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  const live = join(dir, DATABASE_FILE);
  const backup = createBackup(db, dir, 'manual', { now: NOW });
  if (!backup.ok) throw new Error(backup.message);
  db.$client.close();
  const atBackup = people(live);

  // The coop changes after the backup: a renamed coop, a new member, a member gone, sessions.
  const later = openDatabase(live);
  later.$client.prepare("update coop set name = 'Coop Renommée'").run();
  const late = await createAccount(later, { email: 'late@carnet.test', name: 'Lou Late' });
  later.$client.prepare("delete from accounts where email = 'mia@carnet.test'").run();
  createSession(later, newToken(), late);
  later.$client.close();
  const changed = people(live);
  t.not(JSON.stringify(changed), JSON.stringify(atBackup));

  const result = restoreBackup(dir, backup.backup.path, CLI, { now: NOW + 24 * H });
  t.match(result, { ok: true, replaced: join(dir, 'replaced', 'carnet-2026-11-27T12-00-00Z.db'), migrated: [] });
  t.same(people(live), atBackup, 'the data is as it was at backup time');
  t.same(people(join(dir, 'replaced', 'carnet-2026-11-27T12-00-00Z.db')), changed, 'the replaced database is kept aside, whole');
  t.ok(existsSync(backup.backup.path), 'the backup itself is still there');
  const restored = new Database(live, { readonly: true });
  t.teardown(() => restored.close());
  t.equal(restored.prepare('select count(*) from sessions').pluck().get(), 0, 'everyone logs in again');
  t.same(restored.prepare("select actor_name, details from audit_log where action = 'backup.restored'").all(), [
    { actor_name: 'CLI', details: JSON.stringify({ file: backup.backup.file }) },
  ]);
  t.equal(restored.pragma('integrity_check', { simple: true }), 'ok');
  t.notOk(isDataDirLocked(dir), 'the lock is released');
  t.same(names(dir).filter((n) => n.startsWith('.restoring')), [], 'no temporary file is left');
});

t.test('restore: a second restore in the same second keeps the first replaced database too', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  const live = join(dir, DATABASE_FILE);
  const backup = createBackup(db, dir, 'manual', { now: NOW });
  if (!backup.ok) throw new Error(backup.message);
  db.$client.prepare("update coop set name = 'Coop du jour'").run();
  db.$client.close();
  const original = people(live);
  t.match(restoreBackup(dir, backup.backup.path, CLI, { now: NOW + H }), { ok: true, replaced: join(dir, 'replaced', 'carnet-2026-11-26T13-00-00Z.db') });
  // The wrong file, say: restored again at once.
  const again = restoreBackup(dir, backup.backup.path, CLI, { now: NOW + H });
  t.match(again, { ok: true, replaced: join(dir, 'replaced', 'carnet-2026-11-26T13-00-00Z-2.db') });
  t.same(people(join(dir, 'replaced', 'carnet-2026-11-26T13-00-00Z.db')), original, 'the coop as it was before the first restore is still kept');
});

t.test('restore: an older backup is upgraded to the current schema', async (t) => {
  const dir = tmp(t);
  const oldFile = join(tmp(t), 'old.db');
  const oldDb = openDatabase(oldFile);
  applyMigrations(oldDb, olderMigrations(t, 3));
  oldDb.$client.prepare("insert into coop (id, name, contact_email, default_locale, time_zone, created_at, updated_at) values (1, 'Vieille Coop', 'c@old.test', 'fr', 'Europe/Paris', 0, 0)").run();
  oldDb.$client.close();
  const result = restoreBackup(dir, oldFile, CLI);
  t.match(result, { ok: true, replaced: null }, 'nothing to replace in an empty DATA_DIR');
  if (!result.ok) return;
  t.same(result.migrated.map((m) => m.tag), knownMigrations().slice(3).map((m) => m.tag));
  const restored = new Database(join(dir, DATABASE_FILE), { readonly: true });
  t.teardown(() => restored.close());
  t.same(migrationState(restored).pending, []);
  t.equal(restored.prepare('select name from coop').pluck().get(), 'Vieille Coop');
});

t.test('restore refuses a damaged, foreign or newer file, or a running server, and changes nothing', async (t) => {
  const { dir, db } = await dataDirWithCoop(t);
  const backup = createBackup(db, dir, 'manual', { now: NOW });
  if (!backup.ok) throw new Error(backup.message);
  db.$client.close();
  const live = join(dir, DATABASE_FILE);
  const files = tmp(t);
  const copy = (name: string) => {
    const path = join(files, name);
    cpSync(backup.backup.path, path);
    return path;
  };
  const pageSize = 4096;
  // A server that ran here left its lock file; restore takes the same lock.
  t.notOk(isDataDirLocked(dir));

  const garbled = copy('garbled.db');
  const bytes = readFileSync(garbled);
  // Random bytes over a few pages in the middle: b-tree pages that no longer make sense.
  for (let i = 2 * pageSize; i < Math.min(bytes.length, 6 * pageSize); i++) bytes[i] = (i * 7919) % 251;
  writeFileSync(garbled, bytes);

  const truncated = copy('truncated.db');
  truncateSync(truncated, Math.floor(statSync(truncated).size / 2));

  const text = join(files, 'notes.db');
  writeFileSync(text, 'These are not the droids you are looking for.\n'.repeat(200));

  const foreign = join(files, 'foreign.db');
  const other = new Database(foreign);
  other.exec('create table recipes (id integer primary key, name text)');
  other.close();

  const newer = copy('newer.db');
  makeNewer(newer);

  const cases: Array<[string, string, string]> = [
    ['a garbled copy', garbled, 'corrupt'],
    ['a truncated copy', truncated, 'corrupt'],
    ['a text file', text, 'not_sqlite'],
    ['another application’s SQLite file', foreign, 'not_carnet'],
    ['a backup from a newer Carnet', newer, 'newer'],
    ['a missing file', join(files, 'nope.db'), 'not_found'],
    ['the live database itself', live, 'live_database'],
  ];
  for (const [label, file, reason] of cases) {
    const before = { hash: sha(live), files: names(dir), backups: names(join(dir, 'backups')) };
    const result = restoreBackup(dir, file, CLI, { now: NOW + H });
    t.match(result, { ok: false, reason }, `${label}: refused (${reason})`);
    t.equal(sha(live), before.hash, `${label}: the live database is unchanged`);
    t.same(names(dir), before.files, `${label}: no file added or moved`);
    t.same(names(join(dir, 'backups')), before.backups, `${label}: backups unchanged`);
  }

  const lock = lockDataDir(dir)!;
  const before = sha(live);
  t.match(restoreBackup(dir, backup.backup.path, CLI), { ok: false, reason: 'running', detail: `Carnet is running on ${dir}: stop it before restoring` });
  t.equal(sha(live), before, 'refused while the server holds the lock');
  lock.release();
  t.match(restoreBackup(dir, backup.backup.path, CLI), { ok: true }, 'and accepted once it is stopped');
});
