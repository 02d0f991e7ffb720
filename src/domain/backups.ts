import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { applyMigrations, migrationState, MIGRATIONS_DIR, openDatabase, useConnection, type Db, type KnownMigration, type MigrationState } from '../db/index.js';
import { passwordResets, sessions } from '../db/schema/index.js';
import { recordAudit, type AuditActor } from './audit.js';
import { getCoop, seedCatalogDefaults } from './coop.js';

/*
 * Backups of the one SQLite file, made online with VACUUM INTO: one statement that writes a
 * consistent, compact snapshot while the server keeps serving (in WAL mode writers are not blocked
 * by its read transaction). It is synchronous, which suits Carnet's synchronous domain code; it
 * holds the event loop for its duration, about a quarter of a second for a 45 MB database, once a
 * day. The async backup API would not block but copies page by page and restarts when another
 * connection writes, for no gain at this size.
 */

export const DATABASE_FILE = 'carnet.db';
export const BACKUPS_FOLDER = 'backups';
export const REPLACED_FOLDER = 'replaced';
/** A tiny SQLite file whose exclusive lock says "a Carnet process is using this DATA_DIR". */
export const LOCK_FILE = 'carnet.lock';

/** Why a backup was made; it is part of its file name. */
export const BACKUP_KINDS = ['scheduled', 'manual', 'before-migration'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** One backup file in DATA_DIR/backups. */
export interface BackupInfo {
  file: string;
  path: string;
  kind: BackupKind;
  /** For a before-migration backup, the number of the first migration it preceded (0004). */
  migration: string | null;
  /** When it was made (from its name, to the second). */
  at: number;
  size: number;
}

/** The only names this code produces, e.g. carnet-2026-11-26T12-00-00Z-before-migration-0004.db. */
const BACKUP_NAME = /^carnet-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z-(scheduled|manual|before-migration-(\d{4}))\.db$/;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
// A temporary file older than this was left by a crash, not by a backup in progress.
const STALE_TEMP_MS = 24 * 3600_000;

/** The folder backups are written to. */
export function backupsDir(dataDir: string): string {
  return join(dataDir, BACKUPS_FOLDER);
}

/** A time as the sortable, file-name-safe text used in names: 2026-11-26T12-00-00Z. */
export function fileTimestamp(at: number): string {
  return new Date(at).toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
}

/** The name of a backup made at `at`. */
export function backupFileName(kind: BackupKind, at: number, migration?: string): string {
  const suffix = kind === 'before-migration' ? `before-migration-${migration ?? '0000'}` : kind;
  return `carnet-${fileTimestamp(at)}-${suffix}.db`;
}

/** Reads a backup's name; anything this code would not have produced (or an impossible date) is null. */
export function parseBackupName(file: string): { kind: BackupKind; migration: string | null; at: number } | null {
  const m = BACKUP_NAME.exec(file);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const at = Date.UTC(y, mo - 1, d, h, mi, s);
  if (fileTimestamp(at) !== file.slice(7, 27)) return null;
  const migration = m[8] ?? null;
  return { kind: migration === null ? (m[7] as BackupKind) : 'before-migration', migration, at };
}

/** Every backup in DATA_DIR/backups, newest first. */
export function listBackups(dataDir: string): BackupInfo[] {
  const dir = backupsDir(dataDir);
  // Missing, or something else in its place (the next backup will say why it fails): no backups.
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  const found: BackupInfo[] = [];
  for (const file of readdirSync(dir)) {
    const parsed = parseBackupName(file);
    if (!parsed) continue;
    const stat = statSync(join(dir, file), { throwIfNoEntry: false });
    if (stat?.isFile()) found.push({ file, path: join(dir, file), ...parsed, size: stat.size });
  }
  return found.sort((a, b) => (a.file < b.file ? 1 : a.file > b.file ? -1 : 0));
}

/** The backup with this exact name, if the name is one this code makes and the file exists. */
export function findBackup(dataDir: string, file: string): BackupInfo | undefined {
  if (!parseBackupName(file)) return undefined;
  return listBackups(dataDir).find((b) => b.file === file);
}

export type BackupResult = { ok: true; backup: BackupInfo } | { ok: false; reason: 'failed'; message: string };

/**
 * Writes a backup of the live database. It is written under a temporary name, flushed to disk and
 * then renamed, so that a half-written file (a crash, a full disk) never looks like a backup.
 */
export function createBackup(db: Db, dataDir: string, kind: BackupKind, opts: { now?: number; migration?: string } = {}): BackupResult {
  const now = opts.now ?? Date.now();
  const dir = backupsDir(dataDir);
  const file = backupFileName(kind, now, opts.migration);
  const temp = join(dir, `.${file}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    db.$client.prepare('VACUUM INTO ?').run(temp);
    // SQLite does not sync the file VACUUM INTO writes; a backup must survive a power cut.
    syncFile(temp);
    renameSync(temp, join(dir, file));
  } catch (err) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // The folder itself is unusable; there is no temporary file to remove.
    }
    return { ok: false, reason: 'failed', message: (err as Error).message };
  }
  const parsed = parseBackupName(file)!;
  return { ok: true, backup: { file, path: join(dir, file), ...parsed, size: statSync(join(dir, file)).size } };
}

/**
 * Retention: the newest `keep` backups of each kind are kept, the older ones of that kind deleted.
 * Kinds are counted apart, so a run of manual backups never pushes out the automatic ones, and the
 * backups made before upgrades stay until `keep` newer upgrades. Leftover temporary files from a
 * crash are removed too. Returns the names deleted.
 */
export function pruneBackups(dataDir: string, kind: BackupKind, keep: number, now = Date.now()): string[] {
  const removed: string[] = [];
  for (const b of listBackups(dataDir).filter((x) => x.kind === kind).slice(Math.max(1, keep))) {
    rmSync(b.path, { force: true });
    removed.push(b.file);
  }
  const dir = backupsDir(dataDir);
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.startsWith('.carnet-') || !name.endsWith('.tmp')) continue;
    const stat = statSync(join(dir, name), { throwIfNoEntry: false });
    if (stat && now - stat.mtimeMs > STALE_TEMP_MS) rmSync(join(dir, name), { force: true });
  }
  return removed;
}

/** The automatic backup settings (BACKUP_INTERVAL_HOURS, BACKUP_KEEP). */
export interface BackupSchedule {
  intervalHours: number;
  keep: number;
}

export type ScheduledBackupOutcome =
  | { outcome: 'off' }
  | { outcome: 'not_due'; dueAt: number }
  | { outcome: 'created'; backup: BackupInfo; removed: string[]; dueAt: number }
  | { outcome: 'failed'; message: string };

/** When the next automatic backup is due: an interval after the newest one, or now if there is none. */
export function nextScheduledBackupAt(dataDir: string, schedule: BackupSchedule, now = Date.now()): number | null {
  if (schedule.intervalHours === 0) return null;
  const last = listBackups(dataDir).find((b) => b.kind === 'scheduled');
  return last ? last.at + schedule.intervalHours * 3600_000 : now;
}

/**
 * One tick of the backup clock: backs up if due, then prunes. Reading the due time from the
 * newest automatic backup's name means a restart does not back up again, and a server that was
 * down past the due time backs up as soon as it starts.
 */
export function runScheduledBackup(db: Db, dataDir: string, schedule: BackupSchedule, now = Date.now()): ScheduledBackupOutcome {
  try {
    const dueAt = nextScheduledBackupAt(dataDir, schedule, now);
    if (dueAt === null) return { outcome: 'off' };
    if (now < dueAt) return { outcome: 'not_due', dueAt };
    const result = createBackup(db, dataDir, 'scheduled', { now });
    if (!result.ok) return { outcome: 'failed', message: result.message };
    const removed = pruneBackups(dataDir, 'scheduled', schedule.keep, now);
    return { outcome: 'created', backup: result.backup, removed, dueAt: now + schedule.intervalHours * 3600_000 };
  } catch (err) {
    // An unreadable backups folder is a failed backup too: reported, never thrown at the server.
    return { outcome: 'failed', message: (err as Error).message };
  }
}

/** A backup asked for by an admin (page or CLI), recorded in the audit log, then pruned. */
export function createManualBackup(db: Db, dataDir: string, keep: number, actor: AuditActor, now = Date.now()): BackupResult {
  const result = createBackup(db, dataDir, 'manual', { now });
  if (!result.ok) return result;
  recordAudit(db, actor, 'backup.created', undefined, { file: result.backup.file }, now);
  pruneBackups(dataDir, 'manual', keep, now);
  return result;
}

// ----- opening the database: refuse a newer one, back up before migrating -----

export type OpenResult =
  | { ok: true; db: Db; migrated: KnownMigration[]; backup: BackupInfo | null }
  | { ok: false; reason: 'newer' | 'older_running' | 'backup_failed'; message: string };

/**
 * Opens DATA_DIR/carnet.db for the server or the CLI: a database made by a newer Carnet is refused
 * before anything writes to it; one with pending migrations is backed up first (unless it is new
 * and empty), then migrated. A failed backup stops here: migrating without one is not worth the risk.
 * With olderMayRun (a command run beside the server, which does not hold the DATA_DIR lock), pending
 * migrations are refused while another process holds it: that is an older Carnet, whose schema
 * would change under it.
 */
export function openAndMigrate(dataDir: string, opts: { now?: number; keep?: number; migrationsFolder?: string; olderMayRun?: boolean } = {}): OpenResult {
  const file = join(dataDir, DATABASE_FILE);
  const folder = opts.migrationsFolder ?? MIGRATIONS_DIR;
  // Looked at before the pragmas, which would write to it (WAL mode). A plain connection rather
  // than a read-only one: closing it removes the -wal and -shm files it created.
  const sqlite = new Database(file);
  let state: MigrationState;
  try {
    state = migrationState(sqlite, folder);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const pending = state.pending;
  if (state.newer) {
    sqlite.close();
    return { ok: false, reason: 'newer', message: `the database in ${file} was made by a newer Carnet (migration ${state.newer.migration}); restore a backup or run the newer version` };
  }
  if (opts.olderMayRun && pending.length > 0 && isDataDirLocked(dataDir)) {
    sqlite.close();
    return {
      ok: false,
      reason: 'older_running',
      message: `an older Carnet is running on ${dataDir}: restart it with this version (it upgrades the database), then run this command again`,
    };
  }
  const db = useConnection(sqlite);
  let backup: BackupInfo | null = null;
  if (state.applied > 0 && pending.length > 0) {
    const migration = pending[0]!.tag.slice(0, 4);
    const result = createBackup(db, dataDir, 'before-migration', { now: opts.now, migration });
    if (!result.ok) {
      sqlite.close();
      return { ok: false, reason: 'backup_failed', message: `could not back up ${file} before migrating it (${result.message}); nothing was changed` };
    }
    backup = result.backup;
    pruneBackups(dataDir, 'before-migration', opts.keep ?? 14, opts.now);
  }
  applyMigrations(db, folder);
  // A coop set up before the catalog existed (schema 0000) has no categories or VAT rates, which
  // setup only creates: it gets the defaults, as a new coop does. Lists never empty once filled.
  if (pending.length > 0 && getCoop(db)) seedCatalogDefaults(db);
  return { ok: true, db, migrated: pending, backup };
}

// ----- the DATA_DIR lock: a running server, or a restore in progress -----

/** Held while a process uses DATA_DIR; the operating system drops it when the process ends. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes the DATA_DIR lock, or returns null when another process holds it. The lock is SQLite's
 * own exclusive file lock on DATA_DIR/carnet.lock, held for the life of the connection: unlike a
 * PID file it cannot go stale, since the kernel releases it when the process dies, even on SIGKILL.
 */
export function lockDataDir(dataDir: string): DataDirLock | null {
  const sqlite = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    sqlite.pragma('journal_mode = MEMORY');
    sqlite.pragma('locking_mode = EXCLUSIVE');
    // In exclusive locking mode the lock taken here is kept after COMMIT, until close.
    sqlite.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    sqlite.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw err;
  }
  return { release: () => sqlite.close() };
}

/** True when a Carnet process (the server, or a restore) holds the DATA_DIR lock. */
export function isDataDirLocked(dataDir: string): boolean {
  const lock = lockDataDir(dataDir);
  lock?.release();
  return lock === null;
}

// ----- restore -----

export type RestoreRefusal = 'running' | 'not_found' | 'not_sqlite' | 'corrupt' | 'not_carnet' | 'newer' | 'live_database' | 'migration_failed';
export type RestoreResult =
  | { ok: true; replaced: string | null; migrated: KnownMigration[] }
  | { ok: false; reason: RestoreRefusal; detail: string };

/** True when a file starts with the SQLite header. */
function looksLikeSqlite(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } finally {
    closeSync(fd);
  }
}

/** Checks a candidate database: readable, intact, a Carnet database, and not newer than this code. */
function checkCandidate(file: string, migrationsFolder: string): { ok: true } | { ok: false; reason: RestoreRefusal; detail: string } {
  let sqlite: Database.Database | undefined;
  try {
    sqlite = new Database(file, { fileMustExist: true });
    const integrity = sqlite.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') return { ok: false, reason: 'corrupt', detail: `integrity check failed: ${String(integrity)}` };
    const tables = new Set(sqlite.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[]);
    if (!tables.has('__drizzle_migrations') || !tables.has('accounts')) return { ok: false, reason: 'not_carnet', detail: 'it has no Carnet tables' };
    const state = migrationState(sqlite, migrationsFolder);
    if (state.newer) return { ok: false, reason: 'newer', detail: `it was made by a newer Carnet (migration ${state.newer.migration})` };
    return { ok: true };
  } catch (err) {
    // A truncated or garbled file often fails before integrity_check can report it.
    return { ok: false, reason: 'corrupt', detail: (err as Error).message };
  } finally {
    sqlite?.close();
  }
}

/** Flushes a file to the disk. */
function syncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Keeps the live database in DATA_DIR/replaced/carnet-<time>.db, after a checkpoint so that the
 * kept file holds everything. The database file is copied, not moved, so that DATA_DIR never lacks
 * one: the restore then renames the backup over it in one step, and a crash at any point leaves
 * either the old database or the restored one, never none (with none, the next start would show
 * an empty Carnet's setup page to anyone). Its -wal and -shm, if any remain, are moved, since a
 * stale write-ahead log must not be replayed onto the restored file. Returns the kept path, or
 * null if there was no live database.
 */
function moveLiveAside(dataDir: string, now: number): string | null {
  const live = join(dataDir, DATABASE_FILE);
  if (!existsSync(live)) return null;
  try {
    const sqlite = new Database(live, { fileMustExist: true });
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.close();
  } catch {
    // A damaged live database (perhaps why it is being replaced) is moved as it is.
  }
  const dir = join(dataDir, REPLACED_FOLDER);
  mkdirSync(dir, { recursive: true });
  // Never over an earlier replaced database: two restores in the same second would lose the first.
  let target = join(dir, `carnet-${fileTimestamp(now)}.db`);
  for (let n = 2; existsSync(target); n++) target = join(dir, `carnet-${fileTimestamp(now)}-${n}.db`);
  copyFileSync(live, target);
  syncFile(target);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(live + suffix)) renameSync(live + suffix, target + suffix);
  }
  return target;
}

/** Puts a moved-aside database back, after a restore that could not finish. */
function moveBack(dataDir: string, replaced: string): void {
  const live = join(dataDir, DATABASE_FILE);
  for (const suffix of ['', '-wal', '-shm']) {
    rmSync(live + suffix, { force: true });
    if (existsSync(replaced + suffix)) renameSync(replaced + suffix, live + suffix);
  }
}

/**
 * Replaces the live database with a backup. The server must be stopped (the DATA_DIR lock is held
 * throughout, so it cannot start meanwhile). The backup is copied in and checked first; a file that
 * is not SQLite, fails PRAGMA integrity_check or comes from a newer Carnet changes nothing. The
 * replaced database is kept in DATA_DIR/replaced; an older backup is then migrated. Sessions and
 * reset links are cleared: one revoked after the backup was made must not come back to life.
 */
export function restoreBackup(
  dataDir: string,
  source: string,
  actor: AuditActor,
  opts: { now?: number; migrationsFolder?: string } = {},
): RestoreResult {
  const now = opts.now ?? Date.now();
  const folder = opts.migrationsFolder ?? MIGRATIONS_DIR;
  const from = resolve(source);
  const live = join(dataDir, DATABASE_FILE);
  if (!existsSync(from) || !statSync(from).isFile()) return { ok: false, reason: 'not_found', detail: `${from} does not exist` };
  if (from === resolve(live)) return { ok: false, reason: 'live_database', detail: `${from} is the live database itself` };
  if (!looksLikeSqlite(from)) return { ok: false, reason: 'not_sqlite', detail: `${from} is not a SQLite database` };
  const lock = lockDataDir(dataDir);
  if (!lock) return { ok: false, reason: 'running', detail: `Carnet is running on ${dataDir}: stop it before restoring` };
  const incoming = join(dataDir, `.restoring-${randomBytes(6).toString('hex')}.db`);
  try {
    copyFileSync(from, incoming);
    const check = checkCandidate(incoming, folder);
    if (!check.ok) return check;
    const replaced = moveLiveAside(dataDir, now);
    renameSync(incoming, live);
    let db: Db | undefined;
    try {
      db = openDatabase(live);
      const pending = migrationState(db.$client, folder).pending;
      applyMigrations(db, folder);
      db.transaction((tx) => {
        tx.delete(sessions).run();
        tx.delete(passwordResets).run();
        recordAudit(tx, actor, 'backup.restored', undefined, { file: basename(from) }, now);
      });
      return { ok: true, replaced, migrated: pending };
    } catch (err) {
      db?.$client.close();
      db = undefined;
      if (replaced) moveBack(dataDir, replaced);
      else for (const suffix of ['', '-wal', '-shm']) rmSync(live + suffix, { force: true });
      return { ok: false, reason: 'migration_failed', detail: (err as Error).message };
    } finally {
      db?.$client.close();
    }
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(incoming + suffix, { force: true });
    lock.release();
  }
}
