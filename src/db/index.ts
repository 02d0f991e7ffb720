import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema/index.js';

/** The drizzle database every domain function takes. */
export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** A transaction handle; domain functions accept either a Db or a Tx. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Opens the one SQLite connection the process uses, with the pragmas Carnet relies on:
 * WAL so readers never wait for the writer, foreign keys enforced, a busy timeout instead of
 * immediate SQLITE_BUSY errors, and synchronous=NORMAL, which in WAL mode is crash-safe.
 */
export function openDatabase(file: string): Db {
  return useConnection(new Database(file));
}

/** Gives a connection already open (to look at its file first) the pragmas of openDatabase, for drizzle. */
export function useConnection(sqlite: Database.Database): Db {
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  return drizzle({ client: sqlite, schema, casing: 'snake_case' }) as Db;
}

/**
 * Applies every migration in migrations/ that this database has not had yet.
 *
 * drizzle runs the pending migrations inside one transaction, where SQLite ignores the
 * `PRAGMA foreign_keys=OFF` that drizzle-kit writes around a table rebuild: the rebuild's
 * DROP TABLE would then fire ON DELETE CASCADE / SET NULL on every row pointing at the table
 * (an `accounts` rebuild would empty sessions and roles). So foreign keys are turned off around
 * the migration, outside its transaction, and checked before they are turned back on.
 */
export function applyMigrations(db: Db, migrationsFolder = MIGRATIONS_DIR): void {
  const sqlite = db.$client;
  sqlite.pragma('foreign_keys = OFF');
  try {
    migrate(db, { migrationsFolder });
    const broken = sqlite.pragma('foreign_key_check') as Array<{ table: string; parent: string }>;
    if (broken.length > 0) {
      const tables = [...new Set(broken.map((b) => `${b.table} → ${b.parent}`))].join(', ');
      throw new Error(`after migrating, ${broken.length} rows point at rows that do not exist (${tables}); restore the backup made before the migration`);
    }
  } finally {
    sqlite.pragma('foreign_keys = ON');
  }
}

/** A migration as migrations/meta/_journal.json lists it: its tag (0004_audit_log_and_privacy) and its time. */
export interface KnownMigration {
  tag: string;
  when: number;
}

/** The migrations this code knows, oldest first. */
export function knownMigrations(migrationsFolder = MIGRATIONS_DIR): KnownMigration[] {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: KnownMigration[] };
  return journal.entries.map((e) => ({ tag: e.tag, when: e.when }));
}

/** Where a database stands against this code. */
export interface MigrationState {
  /** How many migrations the database has had (0 for a new, empty one). */
  applied: number;
  /** Migrations this code would apply, oldest first. */
  pending: KnownMigration[];
  /** The newest migration applied that this code knows (null for a new, empty database). */
  current: KnownMigration | null;
  /** Set when the database had migrations this code does not know: it was made by a newer Carnet. */
  newer: { migration: string } | null;
}

/**
 * Compares the database's __drizzle_migrations with the journal, the way drizzle's migrator does:
 * a migration is pending when it is newer than the newest one applied. Takes the raw connection so
 * that a file can be inspected read-only, before anything opens it for writing.
 */
export function migrationState(sqlite: Database.Database, migrationsFolder = MIGRATIONS_DIR): MigrationState {
  const known = knownMigrations(migrationsFolder);
  const hasTable = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'").get() !== undefined;
  const applied = hasTable ? (sqlite.prepare('select created_at from __drizzle_migrations').pluck().all() as Array<number | string>).map(Number) : [];
  const newest = applied.length ? Math.max(...applied) : -Infinity;
  const newestKnown = known.length ? known[known.length - 1]!.when : -Infinity;
  return {
    applied: applied.length,
    pending: known.filter((k) => k.when > newest),
    current: known.filter((k) => k.when <= newest).at(-1) ?? null,
    // Migrations are numbered from 0000, so the newest one applied is numbered (count - 1).
    newer: newest > newestKnown ? { migration: String(applied.length - 1).padStart(4, '0') } : null,
  };
}

export { schema };
