import Database from 'better-sqlite3';
import { generateSQLiteDrizzleJson, generateSQLiteMigration, type DrizzleSQLiteSnapshotJSON } from 'drizzle-kit/api';
import { is, sql } from 'drizzle-orm';
import { CasingCache } from 'drizzle-orm/casing';
import { check, getTableConfig, index, integer, SQLiteTable, sqliteTable, text, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { applyMigrations, MIGRATIONS_DIR, openDatabase, schema } from '../../src/db/index.js';

/*
 * The schema in code (src/db/schema) and the committed migrations must describe the same
 * database. Three independent checks:
 *   1. drizzle-kit's own diff between the latest committed snapshot and the code is empty
 *      (what `drizzle-kit generate` would do: nothing);
 *   2. a database built by applying every migration has exactly the structure (columns, types,
 *      defaults, keys, indexes, foreign keys, checks) of a database built from the code's DDL;
 *   3. its tables and columns match getTableConfig() read straight from the code.
 *
 * Why not drizzle-kit/api's pushSQLiteSchema(schema, db)? Tried with better-sqlite3: it calls
 * generateSQLiteDrizzleJson without a casing, so with `casing: 'snake_case'` every camelCase
 * column looks renamed and it stops on an interactive rename prompt ("Interactive prompts
 * require a TTY"); with the names snake-cased by hand it still recreates every table that has
 * a check() constraint (drizzle-team/drizzle-orm#4574, open in drizzle-kit 0.31), so its
 * statement list is never empty here. Checks 2 and 3 cover what it would have checked.
 */

const casing = new CasingCache('snake_case');
type Snapshot = DrizzleSQLiteSnapshotJSON;
const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as {
  entries: Array<{ idx: number; tag: string; when: number }>;
};
const snapshotOf = (idx: number): Snapshot =>
  JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', `${String(idx).padStart(4, '0')}_snapshot.json`), 'utf8')) as Snapshot;

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-migrations-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The structure of a SQLite database as SQLite itself reports it, independent of how the DDL was written. */
function describeDb(db: Database.Database): Record<string, unknown> {
  const tables = db
    .prepare("select name, sql from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' and name <> '__drizzle_migrations' order by name")
    .all() as Array<{ name: string; sql: string }>;
  const out: Record<string, unknown> = {};
  for (const { name, sql: ddl } of tables) {
    const indexes = (db.pragma(`index_list(${JSON.stringify(name)})`) as Array<{ name: string; unique: number; origin: string; partial: number }>)
      .map((i) => ({
        name: i.name,
        unique: i.unique,
        origin: i.origin,
        partial: i.partial,
        columns: (db.pragma(`index_info(${JSON.stringify(i.name)})`) as Array<{ name: string }>).map((c) => c.name),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const checks = [...ddl.matchAll(/CONSTRAINT\s+["`]?(\w+)["`]?\s+CHECK\s*\((.*)\)\s*,?\s*$/gim)]
      .map((m) => `${m[1]}: ${m[2]!.replace(/\s+/g, ' ').trim()}`)
      .sort();
    out[name] = {
      // by name, without position: a column added by ALTER TABLE comes last, wherever it sits in code
      columns: (db.pragma(`table_xinfo(${JSON.stringify(name)})`) as Array<{ cid: number; name: string }>)
        .map(({ cid: _cid, ...c }) => c)
        .sort((x, y) => x.name.localeCompare(y.name)),
      indexes,
      foreignKeys: (db.pragma(`foreign_key_list(${JSON.stringify(name)})`) as Array<Record<string, unknown>>).map(({ id: _id, seq: _seq, ...fk }) => fk),
      checks,
      autoincrement: /\bAUTOINCREMENT\b/i.test(ddl),
    };
  }
  return out;
}

/** A database built straight from the code's schema (the DDL drizzle-kit derives from it). */
async function databaseFromCode(dir: string, imports: Record<string, unknown>): Promise<Database.Database> {
  const empty = await generateSQLiteDrizzleJson({}, undefined, 'snake_case');
  const current = await generateSQLiteDrizzleJson(imports, undefined, 'snake_case');
  const statements = await generateSQLiteMigration(empty as Snapshot, current as Snapshot);
  const db = new Database(join(dir, `from-code-${Math.random().toString(36).slice(2)}.db`));
  for (const s of statements) db.exec(s);
  return db;
}

/** A database built by applying every committed migration. */
function migratedDatabase(dir: string): Database.Database {
  const db = openDatabase(join(dir, 'migrated.db'));
  applyMigrations(db);
  return db.$client;
}

/** What drizzle-kit generate would write for this schema, given the committed migrations. */
async function pendingStatements(imports: Record<string, unknown>): Promise<string[]> {
  const latest = snapshotOf(journal.entries[journal.entries.length - 1]!.idx);
  const current = await generateSQLiteDrizzleJson(imports, latest.id, 'snake_case');
  return generateSQLiteMigration(latest, current as Snapshot);
}

/** Differences between the tables and columns in code (getTableConfig) and a database. */
function codeVsDatabase(imports: Record<string, unknown>, db: Database.Database): string[] {
  const problems: string[] = [];
  const inCode = Object.values(imports).filter((v): v is SQLiteTable => is(v, SQLiteTable));
  const inDb = describeDb(db) as Record<string, { columns: Array<{ name: string; type: string; notnull: number; pk: number; dflt_value: string | null }>; indexes: Array<{ name: string; unique: number; columns: string[] }>; foreignKeys: Array<{ table: string; from: string; to: string; on_delete: string }> }>;
  const codeNames = inCode.map((table) => getTableConfig(table).name).sort();
  if (JSON.stringify(codeNames) !== JSON.stringify(Object.keys(inDb).sort())) problems.push(`tables: code ${codeNames.join(',')} vs database ${Object.keys(inDb).sort().join(',')}`);
  for (const table of inCode) {
    const config = getTableConfig(table);
    const live = inDb[config.name];
    if (!live) continue;
    const pkColumns = new Set([...config.columns.filter((c) => c.primary).map((c) => casing.getColumnCasing(c)), ...config.primaryKeys.flatMap((pk) => pk.columns.map((c) => casing.getColumnCasing(c)))]);
    const codeColumns = config.columns.map((c) => ({
      name: casing.getColumnCasing(c),
      type: c.getSQLType(),
      notnull: c.notNull || c.primary ? 1 : 0,
      pk: pkColumns.has(casing.getColumnCasing(c)),
      hasDefault: c.default !== undefined,
    }));
    const liveColumns = live.columns.map((c) => ({ name: c.name, type: c.type.toLowerCase(), notnull: c.notnull, pk: c.pk > 0, hasDefault: c.dflt_value !== null }));
    const key = (cols: unknown[]) => JSON.stringify([...cols].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    if (key(codeColumns) !== key(liveColumns)) problems.push(`${config.name} columns: code ${key(codeColumns)} vs database ${key(liveColumns)}`);
    const codeIndexes = config.indexes.map((i) => ({ name: i.config.name, unique: i.config.unique ? 1 : 0, columns: i.config.columns.map((c) => casing.getColumnCasing(c as never)) }));
    const liveIndexes = live.indexes.filter((i) => !i.name.startsWith('sqlite_autoindex_')).map(({ name, unique, columns }) => ({ name, unique, columns }));
    if (key(codeIndexes) !== key(liveIndexes)) problems.push(`${config.name} indexes: code ${key(codeIndexes)} vs database ${key(liveIndexes)}`);
    const codeFks = config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return { table: getTableConfig(ref.foreignTable).name, from: casing.getColumnCasing(ref.columns[0]!), to: casing.getColumnCasing(ref.foreignColumns[0]!), on_delete: (fk.onDelete ?? 'no action').toUpperCase() };
    });
    const liveFks = live.foreignKeys.map(({ table: tbl, from, to, on_delete }) => ({ table: tbl, from, to, on_delete }));
    if (key(codeFks) !== key(liveFks)) problems.push(`${config.name} foreign keys: code ${key(codeFks)} vs database ${key(liveFks)}`);
  }
  return problems;
}

t.test('the migrations are consistent: journal, SQL files and snapshots', async (t) => {
  const sqlFiles = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
  t.same(sqlFiles, journal.entries.map((e) => `${e.tag}.sql`), 'every SQL file is in the journal, in order');
  t.same(journal.entries.map((e) => e.idx), journal.entries.map((_, i) => i));
  let prevId = '00000000-0000-0000-0000-000000000000';
  for (const entry of journal.entries) {
    const snap = snapshotOf(entry.idx);
    t.equal(snap.prevId, prevId, `snapshot ${entry.idx} follows the previous one`);
    prevId = snap.id;
  }
});

t.test('the latest snapshot equals the schema in code (drizzle-kit generate has nothing to do)', async (t) => {
  t.same(await pendingStatements(schema), []);
});

t.test('a database built from the migrations has the structure of the schema in code', async (t) => {
  const dir = tmp(t);
  const migrated = migratedDatabase(dir);
  const fromCode = await databaseFromCode(dir, schema);
  t.teardown(() => {
    migrated.close();
    fromCode.close();
  });
  const a = describeDb(migrated);
  const b = describeDb(fromCode);
  t.ok(Object.keys(a).length >= 6, 'the tables are there');
  t.same(a, b);
  t.same(codeVsDatabase(schema, migrated), [], 'tables, columns, indexes and foreign keys match getTableConfig');
});

t.test('the checks fail when code and migrations differ', async (t) => {
  // Mutants of the coop table, as if someone edited the schema and forgot `drizzle-kit generate`.
  // Mutants of a small, stable table (vat_rates), so that growing other tables never breaks this test.
  const vatColumns = () => ({
    rateBp: integer().primaryKey(),
    active: integer({ mode: 'boolean' }).notNull().default(true),
  });
  const range = (t: { rateBp: AnySQLiteColumn }) => check('vat_rates_range', sql`${t.rateBp} between 0 and 10000`);
  const mutants: Record<string, SQLiteTable> = {
    'an added column': sqliteTable('vat_rates', { ...vatColumns(), label: text() }, (t) => [range(t)]),
    'a column made nullable': sqliteTable('vat_rates', { ...vatColumns(), active: integer({ mode: 'boolean' }).default(true) }, (t) => [range(t)]),
    'a changed default': sqliteTable('vat_rates', { ...vatColumns(), active: integer({ mode: 'boolean' }).notNull().default(false) }, (t) => [range(t)]),
    'an added index': sqliteTable('vat_rates', vatColumns(), (t) => [range(t), index('vat_rates_active_idx').on(t.active)]),
    'a dropped check': sqliteTable('vat_rates', vatColumns()),
  };
  // the control: the same table, unchanged, makes no difference
  const control = sqliteTable('vat_rates', vatColumns(), (t) => [range(t)]);
  t.same(await pendingStatements({ ...schema, vatRates: control }), [], 'control: an identical copy is no change');

  const dir = tmp(t);
  const migrated = migratedDatabase(dir);
  t.teardown(() => migrated.close());
  const live = describeDb(migrated);
  for (const [what, vatRates] of Object.entries(mutants)) {
    const imports = { ...schema, vatRates };
    const pending = await pendingStatements(imports);
    t.ok(pending.length > 0, `${what}: drizzle-kit sees a pending migration`);
    const fromCode = await databaseFromCode(dir, imports);
    t.notSame(describeDb(fromCode), live, `${what}: the structures differ`);
    fromCode.close();
  }
  t.match(await pendingStatements({ ...schema, vatRates: mutants['an added column']! }), [/ALTER TABLE `vat_rates` ADD `label` text/]);
  t.match(codeVsDatabase({ ...schema, vatRates: mutants['an added column']! }, migrated), [/vat_rates columns/]);
  t.match(codeVsDatabase({ ...schema, vatRates: mutants['an added index']! }, migrated), [/vat_rates indexes/]);
  // a table in code that no migration creates
  const extra = sqliteTable('not_migrated', { id: integer().primaryKey() });
  t.ok((await pendingStatements({ ...schema, extra })).some((s) => s.includes('CREATE TABLE `not_migrated`')));
  t.match(codeVsDatabase({ ...schema, extra }, migrated), [/^tables: /]);
});

t.test('openDatabase sets the pragmas Carnet relies on', async (t) => {
  const dir = tmp(t);
  const db = openDatabase(join(dir, 'carnet.db'));
  t.teardown(() => db.$client.close());
  const pragma = (name: string) => db.$client.pragma(name, { simple: true });
  t.equal(pragma('foreign_keys'), 1);
  t.equal(pragma('journal_mode'), 'wal');
  t.equal(pragma('synchronous'), 1, 'NORMAL');
  t.equal(pragma('busy_timeout'), 5000);
  // foreign keys are really enforced
  applyMigrations(db);
  t.throws(() => db.$client.prepare("insert into sessions (id_hash, account_id, created_at, last_seen_at, expires_at) values ('x', 999, 0, 0, 1)").run(), /FOREIGN KEY/);
  // WAL persists in the file: a plain connection sees it too
  const other = new Database(join(dir, 'carnet.db'));
  t.equal(other.pragma('journal_mode', { simple: true }), 'wal');
  other.close();
});

t.test('applying the migrations again changes nothing', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'carnet.db');
  let db = openDatabase(file);
  applyMigrations(db);
  db.$client.prepare("insert into coop (id, name, contact_email, default_locale, time_zone, created_at, updated_at) values (1, 'Coop', 'c@x.test', 'fr', 'Europe/Paris', 0, 0)").run();
  const migrationsRows = () => db.$client.prepare('select hash, created_at from __drizzle_migrations order by id').all();
  const before = { structure: describeDb(db.$client), rows: migrationsRows() };
  t.equal(before.rows.length, journal.entries.length, 'one row per migration');
  applyMigrations(db);
  t.same({ structure: describeDb(db.$client), rows: migrationsRows() }, before, 'same connection');
  db.$client.close();
  // as after a restart
  db = openDatabase(file);
  t.teardown(() => db.$client.close());
  applyMigrations(db);
  t.same({ structure: describeDb(db.$client), rows: migrationsRows() }, before, 'new connection');
  t.equal(db.$client.prepare('select name from coop').pluck().get(), 'Coop', 'data kept');
  t.equal(db.$client.pragma('integrity_check', { simple: true }), 'ok');
});
