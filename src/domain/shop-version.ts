import type BetterSqlite3 from 'better-sqlite3';
import type { Db, Tx } from '../db/index.js';
import { connectionOf, perConnection } from '../db/prepared.js';

/*
 * A version of everything the shop's offer list shows (offers and their stock, products,
 * producers, categories, cycles, the coop's settings), so the server can keep the rendered list
 * and know for sure when it is stale. Rather than trusting every write path to remember a bump,
 * the connection carries TEMP triggers (they live in the connection, not in the database file, so
 * no migration) that call a JS function on any insert, update or delete of those tables: a new
 * write path, a CSV import or a test writing SQL directly all bump it. A rolled-back write bumps it
 * too, which only costs one re-render. Writes by another connection (the CLI on the same file)
 * fire no trigger here: SQLite's `PRAGMA data_version` changes for those, so it is part of the
 * version. Reading the version is one tiny statement.
 */

const WATCHED_TABLES = ['offers', 'products', 'producers', 'categories', 'cycles', 'coop'] as const;
const FUNCTION = 'carnet_shop_changed';

interface Tracker {
  counter: number;
  dataVersion: BetterSqlite3.Statement<[], number>;
}

/** A connection's tracker, with its function and triggers installed (perConnection builds it once). */
function installTracker(db: Db | Tx): Tracker {
  const client = connectionOf(db);
  const t: Tracker = { counter: 0, dataVersion: client.prepare<[], number>('pragma data_version').pluck() };
  client.function(FUNCTION, { deterministic: false }, () => {
    t.counter++;
    return null;
  });
  for (const table of WATCHED_TABLES) {
    for (const event of ['insert', 'update', 'delete']) {
      client.exec(`create temp trigger if not exists carnet_shop_${table}_${event} after ${event} on main.${table} begin select ${FUNCTION}(); end`);
    }
  }
  return t;
}

/** The tracker of a connection, installing its function and triggers on first use. */
function trackerOf(db: Db | Tx): Tracker {
  return perConnection(db, installTracker);
}

/**
 * The version of the shop's data on this connection: it changes whenever anything a shop page
 * lists changes, from this connection or another one.
 */
export function shopVersion(db: Db | Tx): string {
  const t = trackerOf(db);
  return `${t.counter}:${t.dataVersion.get()}`;
}

/** Marks the shop's data as changed (the triggers do it for table writes; for anything else). */
export function bumpShopVersion(db: Db | Tx): void {
  trackerOf(db).counter++;
}
