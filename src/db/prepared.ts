import type Database from 'better-sqlite3';
import type { Db, Tx } from './index.js';

/*
 * Statements prepared once per SQLite connection and reused. Building a drizzle query and having
 * SQLite compile it costs far more than running it, so hot paths (session lookup, placing an
 * order) build their queries once with sql.placeholder() and `.prepare()`, and keep them here,
 * keyed by the connection. A statement prepared on a connection also runs inside a transaction
 * of that connection (a Tx shares its Db's connection), so the cache is keyed by the connection,
 * not by the Db or Tx object.
 */

const caches = new WeakMap<Database.Database, Map<unknown, unknown>>();

/** The better-sqlite3 connection behind a Db or a Tx. */
export function connectionOf(db: Db | Tx): Database.Database {
  return (db as Db).$client ?? (db as unknown as { session: { client: Database.Database } }).session.client;
}

/**
 * What `build` returns for this connection, built the first time only. `build` must be a stable
 * (module-level) function: it is the cache key. Whatever it prepares must take its values through
 * placeholders, never from a closure.
 */
export function perConnection<T>(db: Db | Tx, build: (db: Db | Tx) => T): T {
  const connection = connectionOf(db);
  let cache = caches.get(connection);
  if (!cache) caches.set(connection, (cache = new Map()));
  let value = cache.get(build) as T | undefined;
  if (value === undefined) cache.set(build, (value = build(db)));
  return value;
}
