import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { applyMigrations, MIGRATIONS_DIR, openDatabase, type Db } from '../../src/db/index.js';
import { openAndMigrate } from '../../src/domain/backups.js';
import { DEFAULT_CATEGORIES, DEFAULT_VAT_RATES_BP } from '../../src/domain/coop.js';
import { outbox } from '../../src/db/schema/index.js';
import { Mailer } from '../../src/mail/mailer.js';
import { OutboxSender, type Transport } from '../../src/mail/sender.js';
import { build, Client, text } from '../helper.js';

/*
 * Upgrades: a database made with each released schema (test/fixtures/upgrade/schema-NNNN.db,
 * built by make-fixtures.ts there) is upgraded to the current schema by the code the server runs
 * at start, and must come out with every row and value it had, the structure of a fresh
 * database, and an app that still works on it. The fixtures are copied first: the committed
 * files stand for databases in the wild and are never modified.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/upgrade', import.meta.url));
const fixtures = readdirSync(FIXTURES)
  .filter((f) => /^schema-\d{4}\.db$/.test(f))
  .sort();
const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string; when: number }> };
const fileHash = (tag: string) => createHash('sha256').update(readFileSync(join(MIGRATIONS_DIR, `${tag}.sql`))).digest('hex');

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-upgrade-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A working copy of a fixture in its own temporary folder. */
function copyFixture(t: Test, name: string): string {
  const file = join(tmp(t), 'carnet.db');
  copyFileSync(join(FIXTURES, name), file);
  return file;
}

/** Opens a database the way the server does and applies the migrations; closed when the test ends. */
function upgrade(t: Test, file: string, migrationsFolder?: string): Db {
  const db = openDatabase(file);
  t.teardown(() => db.$client.close());
  applyMigrations(db, migrationsFolder);
  return db;
}

const quoteId = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Every table in sqlite_master (sqlite_sequence and the migrations table included). */
function tableNames(db: Database.Database): string[] {
  return db.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all() as string[];
}

function columnNames(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_xinfo(${quoteId(table)})`) as Array<{ name: string }>).map((c) => c.name);
}

/**
 * The rows of a table, each as the SQL literals of the given columns (quote() keeps the type:
 * 1, 1.0, '1' and NULL all differ), sorted: the rows as a multiset, whatever their rowid.
 */
function rowsOf(db: Database.Database, table: string, columns: string[]): string[] {
  const select = columns.map((c) => `quote(${quoteId(c)})`).join(', ');
  return (db.prepare(`select ${select} from ${quoteId(table)}`).raw().all() as string[][]).map((r) => r.join(' | ')).sort();
}

/** Every table's columns and rows. */
type Snapshot = Record<string, { columns: string[]; rows: string[] }>;

function snapshot(db: Database.Database): Snapshot {
  const out: Snapshot = {};
  for (const table of tableNames(db)) {
    const columns = columnNames(db, table);
    out[table] = { columns, rows: rowsOf(db, table, columns) };
  }
  return out;
}

const MIGRATIONS_TABLE = '__drizzle_migrations';

/**
 * What an upgrade lost or changed: a table or column that is gone, a row of `before` that is
 * not in `after` (in the columns `before` had), or a row that appeared. The migrations table may
 * only grow.
 */
function dataDifferences(before: Snapshot, after: Database.Database): string[] {
  const problems: string[] = [];
  const tablesAfter = new Set(tableNames(after));
  for (const [table, { columns, rows }] of Object.entries(before)) {
    if (!tablesAfter.has(table)) {
      problems.push(`table ${table} is gone`);
      continue;
    }
    const columnsAfter = new Set(columnNames(after, table));
    const kept = columns.filter((c) => columnsAfter.has(c));
    for (const c of columns) if (!columnsAfter.has(c)) problems.push(`column ${table}.${c} is gone`);
    const remaining = new Map<string, number>();
    for (const r of rowsOf(after, table, kept)) remaining.set(r, (remaining.get(r) ?? 0) + 1);
    const project = (row: string) => {
      if (kept.length === columns.length) return row;
      const values = row.split(' | ');
      return columns.flatMap((c, i) => (columnsAfter.has(c) ? [values[i]] : [])).join(' | ');
    };
    for (const row of rows) {
      const key = project(row);
      const n = remaining.get(key) ?? 0;
      if (n === 0) problems.push(`${table}: lost or changed row (${columns.join(', ')}) = ${row}`);
      else remaining.set(key, n - 1);
    }
    if (table === MIGRATIONS_TABLE) continue;
    for (const [row, n] of remaining) for (let i = 0; i < n; i++) problems.push(`${table}: new or changed row (${kept.join(', ')}) = ${row}`);
  }
  return problems;
}

/** The database's structure as sqlite_master states it: every table, index and its DDL. */
function schemaOf(db: Database.Database): Array<{ type: string; name: string; tbl_name: string; sql: string | null }> {
  return db.prepare('select type, name, tbl_name, sql from sqlite_master order by type, name').all() as Array<{ type: string; name: string; tbl_name: string; sql: string | null }>;
}

/** The structure of a fresh database migrated from empty, to compare upgraded ones with. */
const fresh = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-upgrade-fresh-'));
  const db = openDatabase(join(dir, 'carnet.db'));
  applyMigrations(db);
  const out = { schema: schemaOf(db.$client), migrations: rowsOf(db.$client, MIGRATIONS_TABLE, ['hash', 'created_at']) };
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
  return out;
})();

/** Reads a fixture copy as it is before any upgrade, without opening it the server's way. */
function readBefore(file: string): { snap: Snapshot; outbox: Array<Record<string, unknown>> } {
  const raw = new Database(file, { readonly: true });
  try {
    return { snap: snapshot(raw), outbox: raw.prepare('select * from outbox order by id').all() as Array<Record<string, unknown>> };
  } finally {
    raw.close();
  }
}

t.test('there is a fixture for every released schema', async (t) => {
  t.same(fixtures.slice(0, 3), ['schema-0000.db', 'schema-0001.db', 'schema-0002.db']);
  for (const name of fixtures) {
    const level = Number(name.slice(7, 11));
    const raw = new Database(join(FIXTURES, name), { readonly: true });
    const applied = raw.prepare(`select hash, created_at from ${MIGRATIONS_TABLE} order by created_at`).all() as Array<{ hash: string; created_at: number }>;
    t.equal(raw.pragma('journal_mode', { simple: true }), 'delete', `${name} is a single file, not WAL`);
    raw.close();
    // A database in the wild has these migrations applied: editing one afterwards would leave it
    // with a schema that no fresh database has, so released migrations stay byte for byte.
    t.same(
      applied.map((m) => m.hash),
      journal.entries.slice(0, level + 1).map((e) => fileHash(e.tag)),
      `${name}: migrations 0..${level} applied, and the released SQL files are unchanged`,
    );
    t.same(
      applied.map((m) => Number(m.created_at)),
      journal.entries.slice(0, level + 1).map((e) => e.when),
    );
  }
});

for (const name of fixtures) {
  t.test(`upgrading ${name} to the current schema keeps every row and value`, async (t) => {
    const file = copyFixture(t, name);
    const before = readBefore(file);
    t.ok(Object.keys(before.snap).length >= 7, 'the fixture has tables');
    t.ok(before.snap.accounts!.rows.length >= 5 && before.snap.outbox!.rows.length >= 3, 'and data in them');

    const db = upgrade(t, file);
    const sqlite = db.$client;
    t.equal(sqlite.pragma('integrity_check', { simple: true }), 'ok');
    t.same(sqlite.pragma('foreign_key_check'), [], 'no row points at a missing row');
    t.same(dataDifferences(before.snap, sqlite), [], 'every row of every table, in every column it had');
    t.same(schemaOf(sqlite), fresh.schema, 'the structure of a freshly migrated database');
    t.same(rowsOf(sqlite, MIGRATIONS_TABLE, ['hash', 'created_at']), fresh.migrations, 'every migration recorded once');

    // Columns added since the fixture's schema hold their default (NULL when they have none).
    for (const table of Object.keys(before.snap)) {
      const old = new Set(before.snap[table]!.columns);
      for (const c of sqlite.pragma(`table_xinfo(${quoteId(table)})`) as Array<{ name: string; dflt_value: string | null }>) {
        if (old.has(c.name)) continue;
        const expected = c.dflt_value === null ? 'NULL' : (sqlite.prepare(`select quote(${c.dflt_value})`).pluck().get() as string);
        const values = sqlite.prepare(`select distinct quote(${quoteId(c.name)}) from ${quoteId(table)}`).pluck().all();
        if (values.length) t.same(values, [expected], `new column ${table}.${c.name} holds its default ${expected}`);
      }
    }
    t.equal(sqlite.prepare('select legal_notice from coop').pluck().get(), '', 'coop.legal_notice is empty');

    // Emails queued before 0003 keep their rendered bodies and have no template.
    const rows = db.select().from(outbox).orderBy(outbox.id).all();
    t.equal(rows.length, before.outbox.length);
    t.same(
      rows.map((r) => ({ id: r.id, template: r.template, locale: r.locale, payload: r.payload, textBody: r.textBody, htmlBody: r.htmlBody, status: r.status })),
      before.outbox.map((r) => ({ id: r.id, template: null, locale: null, payload: null, textBody: r.text_body, htmlBody: r.html_body, status: r.status })),
    );
    const mailer = new Mailer('http://carnet.test');
    const pending = rows.filter((r) => r.status === 'pending');
    t.ok(pending.length >= 1, 'the fixture has a pending email');
    for (const row of pending) {
      const old = before.outbox.find((r) => r.id === row.id)!;
      t.same(mailer.renderStored(row), { subject: old.subject, text: old.text_body, html: old.html_body }, `pending email ${row.id} renders as stored`);
    }

    // The outbox loop sends them as they were written.
    const sent: Array<{ to: string; subject: string; text: string; html: string }> = [];
    const transport: Transport = { kind: 'file', send: async (m) => void sent.push(m), close: () => {} };
    await new OutboxSender(db, transport, (row) => mailer.renderStored(row), { info: () => {}, warn: () => {} }).drain();
    t.same(
      sent.map((m) => ({ to: m.to, subject: m.subject, text: m.text, html: m.html })),
      before.outbox
        .filter((r) => r.status === 'pending')
        .sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || Number(a.id) - Number(b.id))
        .map((r) => ({ to: `"${r.to_name}" <${r.to_address}>`, subject: r.subject, text: r.text_body, html: r.html_body })),
      'every pending email is sent with its stored subject and bodies',
    );
    t.same(db.select({ status: outbox.status }).from(outbox).where(eq(outbox.status, 'pending')).all(), []);
  });

  t.test(`${name}: applying the migrations again changes nothing`, async (t) => {
    const file = copyFixture(t, name);
    let db = upgrade(t, file);
    const once = { schema: schemaOf(db.$client), data: snapshot(db.$client) };
    applyMigrations(db);
    t.same({ schema: schemaOf(db.$client), data: snapshot(db.$client) }, once, 'same connection');
    db.$client.close();
    // as the server does at its next start
    db = upgrade(t, file);
    t.same({ schema: schemaOf(db.$client), data: snapshot(db.$client) }, once, 'after a restart');
  });

  t.test(`${name}: the app serves the upgraded data`, async (t) => {
    const db = upgrade(t, copyFixture(t, name));
    const level = Number(name.slice(7, 11));
    const { app } = await build(t, { db, setup: false });
    const home = await app.inject({ method: 'GET', url: '/' });
    t.not(home.statusCode, 500);
    t.notMatch(String(home.headers.location ?? ''), /setup/, 'the upgraded coop is set up already');

    // Élodie's password hash was made by the app's hashing with the tests' parameters.
    const client = new Client(app);
    await client.login('elodie.garnier@exemple.fr');
    const account = await client.get('/account');
    t.equal(account.statusCode, 200);
    t.match(account.body, 'value="Élodie Garnier"');
    t.match(account.body, 'value="06 12 34 56 78"');

    if (level >= 2) {
      const list = await client.get('/orders');
      t.equal(list.statusCode, 200);
      const past = text(list.body.slice(list.body.indexOf('id="past-title"')));
      t.match(past, /V1-0001 Vente de septembre Local de l’épicerie .* 13,60\s€/, 'her past order, with its sale, pickup and total');
      t.notMatch(text(list.body), 'V1-0002', 'not another member’s order');
      const order = await client.get('/orders/1');
      t.equal(order.statusCode, 200);
      const page = text(order.body);
      t.match(page, 'Carottes nouvelles');
      t.match(page, 'Tomme du Plateau');
      t.match(page, /13,60\s€/);
    }
  });
}

t.test('the comparison reports lost and changed data', async (t) => {
  const name = fixtures.at(-1)!;
  const file = copyFixture(t, name);
  const before = readBefore(file);
  const db = upgrade(t, file);
  t.same(dataDifferences(before.snap, db.$client), [], 'control: the real upgrade loses nothing');
  const sqlite = db.$client;
  sqlite.pragma('foreign_keys = OFF');
  sqlite.prepare("update accounts set name = 'Elodie Garnier' where name = 'Élodie Garnier'").run();
  sqlite.prepare('delete from password_resets where used_at is not null').run();
  sqlite.prepare("update outbox set html_body = '' where id = 1").run();
  sqlite.prepare('update sessions set flash = 1 where flash is null and account_id = 1').run();
  const problems = dataDifferences(before.snap, sqlite);
  t.match(problems, [/^accounts: lost or changed row .*'Élodie Garnier'/, /^accounts: new or changed row .*'Elodie Garnier'/], 'a changed value');
  t.ok(problems.some((p) => p.startsWith('password_resets: lost')), 'a deleted row');
  t.ok(problems.some((p) => p.startsWith('outbox: lost')), 'a value emptied');
  t.ok(problems.some((p) => /^sessions: new or changed row .*\| 1 \|/.test(p)), 'NULL turned into 1');
  sqlite.exec('alter table producers drop column siret');
  t.ok(dataDifferences(before.snap, sqlite).includes('column producers.siret is gone'), 'a dropped column');
  sqlite.exec('drop table order_submissions');
  t.ok(dataDifferences(before.snap, sqlite).includes('table order_submissions is gone'), 'a dropped table');
});

t.test('a coop set up before the catalog existed gets the default categories and VAT rates when the server upgrades it', async (t) => {
  const counts = (db: Db) => db.$client.prepare('select (select count(*) from categories) c, (select count(*) from vat_rates) v').get() as { c: number; v: number };
  for (const [fixture, expected] of [
    ['schema-0000.db', { c: DEFAULT_CATEGORIES.length, v: DEFAULT_VAT_RATES_BP.length }],
    ['schema-0001.db', null],
  ] as const) {
    const file = copyFixture(t, fixture);
    const before = new Database(file, { readonly: true });
    const had = fixture === 'schema-0000.db' ? null : (before.prepare('select (select count(*) from categories) c, (select count(*) from vat_rates) v').get() as { c: number; v: number });
    before.close();
    const opened = openAndMigrate(dirname(file), { keep: 14 });
    if (!opened.ok) throw new Error(opened.message);
    t.teardown(() => opened.db.$client.close());
    t.same(counts(opened.db), expected ?? had, expected ? `${fixture}: the default lists` : `${fixture}: its own lists, untouched`);
  }
});

/** The committed migrations plus one more, in a temporary folder. */
function withExtraMigration(t: Test, name: string, sqlText: string): string {
  const folder = tmp(t);
  mkdirSync(join(folder, 'meta'));
  for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'))) copyFileSync(join(MIGRATIONS_DIR, f), join(folder, f));
  const last = journal.entries.at(-1)!;
  const tag = `${String(last.idx + 1).padStart(4, '0')}_${name}`;
  writeFileSync(join(folder, `${tag}.sql`), sqlText);
  const entries = [...journal.entries, { idx: last.idx + 1, version: '6', when: last.when + 1, tag, breakpoints: true }];
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ version: '7', dialect: 'sqlite', entries }));
  return folder;
}

t.test('a table rebuilt the way drizzle-kit writes it keeps the rows that point at it', async (t) => {
  // drizzle-kit rebuilds a table to change a column or a check; rows in other tables point at it.
  const file = copyFixture(t, fixtures.at(-1)!);
  const before = readBefore(file);
  const sqlite = new Database(file, { readonly: true });
  const accountsSql = (sqlite.prepare("select sql from sqlite_master where name = 'accounts'").get() as { sql: string }).sql;
  const columns = columnNames(sqlite, 'accounts').map(quoteId).join(', ');
  sqlite.close();
  const rebuild = [
    'PRAGMA foreign_keys=OFF;',
    accountsSql.replace(/CREATE TABLE [`"]accounts[`"]/, 'CREATE TABLE `__new_accounts`').replaceAll('"accounts".', '"__new_accounts".') + ';',
    `INSERT INTO \`__new_accounts\`(${columns}) SELECT ${columns} FROM \`accounts\`;`,
    'DROP TABLE `accounts`;',
    'ALTER TABLE `__new_accounts` RENAME TO `accounts`;',
    'PRAGMA foreign_keys=ON;',
  ].join('--> statement-breakpoint\n');
  const folder = withExtraMigration(t, 'rebuild_accounts', rebuild + '--> statement-breakpoint\nCREATE UNIQUE INDEX `accounts_email_unique` ON `accounts` (`email`);--> statement-breakpoint\nCREATE INDEX `accounts_status_idx` ON `accounts` (`status`,`created_at`);');
  const db = upgrade(t, file, folder);
  t.same(dataDifferences(before.snap, db.$client), [], 'sessions, roles, baskets and orders still point at their accounts');
  t.equal(db.$client.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are on again');
});

t.test('an upgrade through a migration that loses data fails the check', async (t) => {
  // The committed migrations plus one more, as a careless future migration could be.
  const folder = withExtraMigration(t, 'careless', "UPDATE `accounts` SET `phone` = NULL WHERE `status` = 'active';");

  const file = copyFixture(t, fixtures.at(-1)!);
  const before = readBefore(file);
  const db = upgrade(t, file, folder);
  t.equal(db.$client.pragma('integrity_check', { simple: true }), 'ok', 'the database is sound');
  const problems = dataDifferences(before.snap, db.$client);
  t.ok(problems.some((p) => p.startsWith('accounts: lost or changed row') && p.includes("'06 12 34 56 78'")), 'but a member’s phone was lost, and that is reported');
});
