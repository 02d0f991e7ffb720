import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
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
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  return drizzle({ client: sqlite, schema, casing: 'snake_case' }) as Db;
}

/** Applies every migration in migrations/ that this database has not had yet. */
export function applyMigrations(db: Db, migrationsFolder = MIGRATIONS_DIR): void {
  migrate(db, { migrationsFolder });
}

export { schema };
