import { stringify } from 'csv-stringify/sync';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { readFileSync } from 'node:fs';
import { migrationState, type Db } from '../db/index.js';
import { neutralise } from './catalog-csv.js';

/*
 * The whole coop as one zip, for an admin to keep, audit or move elsewhere: one CSV per table
 * (header row, UTF-8 with a BOM, formula-looking cells neutralised as in the catalog export) and
 * carnet.json with every table in one document and a manifest. Secrets never leave: password
 * hashes, session, reset and invitation tokens are not exported.
 */

/** The tables exported, in the order a reader meets them. */
export const EXPORTED_TABLES = [
  'coop',
  'accounts',
  'account_roles',
  'producers',
  'producer_accounts',
  'categories',
  'vat_rates',
  'products',
  'pickup_points',
  'cycles',
  'distributions',
  'offers',
  'baskets',
  'basket_items',
  'orders',
  'order_lines',
  'audit_log',
] as const;

/** Tables left out on purpose, and why. A new table must be added to one list or the other (a test checks). */
export const EXCLUDED_TABLES: Readonly<Record<string, string>> = {
  sessions: 'login sessions: secret tokens',
  password_resets: 'password reset links: secret tokens',
  producer_invitations: 'invitation links: secret tokens',
  order_submissions: 'one-time tokens that stop a double click from ordering twice',
  outbox: 'the email queue: copies of messages, not coop records',
  __drizzle_migrations: 'migration bookkeeping (the manifest names the schema)',
  sqlite_sequence: 'SQLite bookkeeping',
};

/** A column that is never exported, whatever its table: a password hash, a token, a secret. */
const SECRET_COLUMN = /(^|_)(password|hash|token|secret)(_|$)/;

type Cell = string | number | bigint | null | Buffer;
type Row = Record<string, Cell>;

/** The version in package.json. */
export function carnetVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The exported columns of a table: all but the secret ones. */
function exportedColumns(db: Db, table: string): string[] {
  const columns = db.$client.prepare(`select name from pragma_table_info(?)`).pluck().all(table) as string[];
  return columns.filter((c) => !SECRET_COLUMN.test(c));
}

/** One table's rows, in insertion order. */
function readTable(db: Db, table: string, columns: string[]): Row[] {
  const list = columns.map((c) => `"${c}"`).join(', ');
  return db.$client.prepare(`select ${list} from "${table}" order by rowid`).all() as Row[];
}

/** A value as a CSV cell; text that a spreadsheet would run as a formula is neutralised. */
function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'string') return neutralise(value);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return String(value);
}

/** A value as JSON holds it (big integers as text, blobs as base64). */
function jsonValue(value: Cell): string | number | null {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return value;
}

/** The tables to export that this database has. */
function presentTables(db: Db): string[] {
  const present = new Set(db.$client.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[]);
  return EXPORTED_TABLES.filter((t) => present.has(t));
}

/** What carnet.json says about the export itself. */
export interface ExportManifest {
  format: 'carnet-export';
  carnetVersion: string;
  /** The newest migration the database has had (its tag), or null for an empty database. */
  schemaMigration: string | null;
  exportedAt: string;
  tables: Record<string, number>;
  excluded: Record<string, string>;
}

/**
 * Builds the export zip: <table>.csv for each exported table and carnet.json. Reads inside one
 * transaction, so every file shows the same moment.
 */
export function exportCoop(db: Db, opts: { now?: number; version?: string } = {}): { zip: Uint8Array; manifest: ExportManifest } {
  const now = opts.now ?? Date.now();
  const files: Zippable = {};
  const tables: Record<string, Array<Record<string, string | number | null>>> = {};
  const manifest: ExportManifest = {
    format: 'carnet-export',
    carnetVersion: opts.version ?? carnetVersion(),
    schemaMigration: null,
    exportedAt: new Date(now).toISOString(),
    tables: {},
    excluded: { ...EXCLUDED_TABLES, '*': 'columns holding password hashes, tokens or secrets' },
  };
  db.transaction(() => {
    manifest.schemaMigration = migrationState(db.$client).current?.tag ?? null;
    for (const table of presentTables(db)) {
      const columns = exportedColumns(db, table);
      const rows = readTable(db, table, columns);
      const csv = stringify([columns, ...rows.map((r) => columns.map((c) => csvCell(r[c] ?? null)))], { bom: true, record_delimiter: 'windows' });
      files[`${table}.csv`] = strToU8(csv);
      tables[table] = rows.map((r) => Object.fromEntries(columns.map((c) => [c, jsonValue(r[c] ?? null)])));
      manifest.tables[table] = rows.length;
    }
  });
  files['carnet.json'] = strToU8(JSON.stringify({ manifest, tables }, null, 2));
  return { zip: zipSync(files, { level: 6, mtime: new Date(now) }), manifest };
}
