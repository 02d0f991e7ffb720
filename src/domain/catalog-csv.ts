import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { SALE_UNITS } from '../db/schema/index.js';
import { dictionaries, type Locale, type MessageKey } from '../i18n/index.js';
import {
  bpToPercent,
  catalogChoices,
  createProduct,
  findProduct,
  listProducts,
  productFormValues,
  productSchema,
  setProductActive,
  updateProduct,
  type Product,
  type ProductInput,
} from './catalog.js';
import { categoryName, listCategories, type Category } from './categories.js';

/** The columns of a catalog CSV, in export order. */
export const CSV_COLUMNS = [
  'id',
  'name',
  'description',
  'category',
  'unit',
  'unit_label',
  'price',
  'vat_rate',
  'max_per_order',
  'weighed',
  'estimated_weight_g',
  'active',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Columns an import file must have; the others keep their value (update) or default (create). */
export const REQUIRED_COLUMNS: readonly CsvColumn[] = ['name', 'category', 'unit', 'price', 'vat_rate'];
/** The largest import file, in bytes, and the most product lines it may hold. */
export const CSV_MAX_BYTES = 2 * 1024 * 1024;
export const CSV_MAX_ROWS = 5000;

/** Which CSV column a product form field comes from, to name it in an error. */
export const FIELD_COLUMN: Record<string, CsvColumn> = {
  name: 'name',
  description: 'description',
  categoryId: 'category',
  unit: 'unit',
  unitLabel: 'unit_label',
  price: 'price',
  vatRate: 'vat_rate',
  maxPerOrder: 'max_per_order',
  weighed: 'weighed',
  estimatedWeight: 'estimated_weight_g',
};

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return, which some
 * spreadsheets skip before looking) as a formula. A leading quote makes it plain text.
 */
export function neutralise(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? "'" + cell : cell;
}

/** Undoes neutralise on import, so that an exported file imports back unchanged. */
export function unneutralise(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/** A producer's whole catalog as CSV: UTF-8 with a BOM (so spreadsheets read accents), comma-separated. */
export function exportCatalogCsv(db: Db | Tx, producerId: number, locale: Locale): string {
  const rows = listProducts(db, producerId, 'all').map((p) => [
    String(p.id),
    p.name,
    p.description,
    p.categoryFr === null ? '' : categoryName({ nameFr: p.categoryFr, nameEn: p.categoryEn ?? p.categoryFr }, locale),
    p.unit,
    p.unitLabel ?? '',
    (p.priceCents / 100).toFixed(2),
    bpToPercent(p.vatRateBp),
    p.maxPerOrder === null ? '' : String(p.maxPerOrder),
    p.weighed ? 'yes' : 'no',
    p.estimatedWeightGrams === null ? '' : String(p.estimatedWeightGrams),
    p.active ? 'yes' : 'no',
  ]);
  return stringify([[...CSV_COLUMNS], ...rows.map((r) => r.map(neutralise))], { bom: true, record_delimiter: 'windows' });
}

/** A problem with the whole file: nothing in it can be read line by line. */
export interface CsvFileError {
  message: MessageKey;
  params?: Record<string, string | number>;
}

/** A problem on one line: either a message, or the product rules' issues (by form field). */
export interface CsvLineError {
  line: number;
  column?: CsvColumn;
  message?: MessageKey;
  params?: Record<string, string | number>;
  issues?: z.ZodError;
}

/** A product the import will add. */
export interface CsvCreate {
  line: number;
  input: ProductInput;
  active: boolean;
}

export type ChangedField = keyof ProductInput | 'active';

/** A product the import will change, with what it was and what it becomes. */
export interface CsvUpdate {
  line: number;
  before: Product;
  input: ProductInput;
  active: boolean;
  changed: ChangedField[];
}

/** What an import would do. Nothing may be applied while `errors` is not empty. */
export interface ImportPlan {
  creates: CsvCreate[];
  updates: CsvUpdate[];
  unchanged: number;
  errors: CsvLineError[];
}

export type PlanResult = { ok: true; plan: ImportPlan } | { ok: false; error: CsvFileError };

/** Reads uploaded bytes as UTF-8 text, with or without a BOM; undefined when they are not UTF-8. */
export function decodeCsv(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Picks the delimiter from the header line: semicolon when it has more of them than commas. */
export function detectDelimiter(text: string): ',' | ';' {
  const firstLine = text.replace(/^\ufeff/, '').split(/\r?\n/, 1)[0] ?? '';
  const outsideQuotes = firstLine.replace(/"[^"]*"/g, '');
  const semicolons = (outsideQuotes.match(/;/g) ?? []).length;
  const commas = (outsideQuotes.match(/,/g) ?? []).length;
  return semicolons > commas ? ';' : ',';
}

const YES = new Set(['yes', 'y', 'oui', 'o', 'true', 'vrai', '1', 'x']);
const NO = new Set(['no', 'n', 'non', 'false', 'faux', '0']);

/** A yes/no cell in either language; '' gives the fallback, anything else undefined. */
function parseBool(cell: string, fallback: boolean): boolean | undefined {
  const v = cell.trim().toLowerCase();
  if (v === '') return fallback;
  if (YES.has(v)) return true;
  if (NO.has(v)) return false;
  return undefined;
}

const fold = (s: string) => s.normalize('NFC').trim().toLocaleLowerCase('fr').replace(/\s+/g, ' ');

/** Sale units by code and by their name in every language ("500 g", "pièce", "bunch"…). */
function unitAliases(): Map<string, string> {
  const m = new Map<string, string>();
  for (const unit of SALE_UNITS) {
    m.set(unit, unit);
    for (const dict of Object.values(dictionaries)) m.set(fold(dict[`catalog.unit.${unit}` as MessageKey]), unit);
  }
  m.set('500g', 'g500');
  m.set('l', 'litre');
  m.set('liter', 'litre');
  return m;
}

/** Normalises a header cell: "Unit label" and "unit-label" are unit_label. */
const headerName = (cell: string) => cell.replace(/^\ufeff/, '').trim().toLowerCase().replace(/[\s-]+/g, '_');

/**
 * Reads a catalog CSV and works out, line by line, what importing it into this producer's catalog
 * would do. A line with an id updates that product only if it is this producer's; a line without
 * one creates a product. Every line goes through the same rules as the product form.
 */
export function planCatalogImport(db: Db | Tx, producerId: number, text: string): PlanResult {
  if (Buffer.byteLength(text, 'utf8') > CSV_MAX_BYTES) return { ok: false, error: { message: 'error.catalog.csv_too_large' } };
  const body = text.replace(/^\ufeff/, '');
  if (body.trim() === '') return { ok: false, error: { message: 'error.catalog.csv_empty' } };

  let records: Array<{ record: string[]; raw: string; info: { lines: number } }>;
  try {
    records = parse(body, { delimiter: detectDelimiter(body), bom: true, info: true, raw: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (err) {
    const line = typeof (err as { lines?: unknown }).lines === 'number' ? (err as { lines: number }).lines : 0;
    return { ok: false, error: { message: 'error.catalog.csv_malformed', params: { line } } };
  }
  const [header, ...rows] = records;
  if (!header) return { ok: false, error: { message: 'error.catalog.csv_empty' } };
  const columns = header.record.map(headerName);
  const unknown = columns.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length) return { ok: false, error: { message: 'error.catalog.csv_unknown_columns', params: { columns: unknown.join(', ') } } };
  const duplicated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (duplicated.length) return { ok: false, error: { message: 'error.catalog.csv_duplicate_columns', params: { columns: [...new Set(duplicated)].join(', ') } } };
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length) return { ok: false, error: { message: 'error.catalog.csv_missing_columns', params: { columns: missing.join(', ') } } };
  if (rows.length === 0) return { ok: false, error: { message: 'error.catalog.csv_no_rows' } };
  if (rows.length > CSV_MAX_ROWS) return { ok: false, error: { message: 'error.catalog.csv_too_many_rows', params: { max: CSV_MAX_ROWS } } };

  const categories = listCategories(db);
  const byName = new Map<string, Category>();
  for (const c of categories) for (const n of [c.nameFr, c.nameEn]) if (!byName.has(fold(n))) byName.set(fold(n), c);
  const units = unitAliases();
  const seenIds = new Set<number>();
  const plan: ImportPlan = { creates: [], updates: [], unchanged: 0, errors: [] };

  for (const { record, raw, info } of rows) {
    // The line a record starts on: where it ends, less the line breaks inside quoted cells.
    const inner = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
    const line = info.lines - (inner.match(/\n/g) ?? []).length;
    if (record.every((cell) => cell.trim() === '')) continue;
    if (record.length !== columns.length) {
      plan.errors.push({ line, message: 'error.catalog.csv_column_count', params: { expected: columns.length, found: record.length } });
      continue;
    }
    const cells = new Map<CsvColumn, string>();
    columns.forEach((c, i) => cells.set(c as CsvColumn, unneutralise(record[i] ?? '')));
    const errors: CsvLineError[] = [];

    let existing: Product | undefined;
    const idCell = (cells.get('id') ?? '').trim();
    if (idCell !== '') {
      const id = /^\d{1,15}$/.test(idCell) ? Number(idCell) : 0;
      existing = id > 0 ? findProduct(db, producerId, id) : undefined;
      if (!existing) {
        plan.errors.push({ line, column: 'id', message: 'error.catalog.csv_unknown_id', params: { id: idCell.slice(0, 20) } });
        continue;
      }
      if (seenIds.has(id)) {
        plan.errors.push({ line, column: 'id', message: 'error.catalog.csv_duplicate_id', params: { id } });
        continue;
      }
      seenIds.add(id);
    }

    const values: Record<string, string> = existing
      ? productFormValues(existing, 'en')
      : { name: '', description: '', categoryId: '', unit: '', unitLabel: '', price: '', vatRate: '', maxPerOrder: '', weighed: '', estimatedWeight: '' };
    for (const [column, cell] of cells) {
      switch (column) {
        case 'id':
        case 'active':
          break;
        case 'category': {
          const found = byName.get(fold(cell));
          if (cell.trim() === '') values.categoryId = '';
          else if (found) values.categoryId = String(found.id);
          else errors.push({ line, column, message: 'error.catalog.csv_unknown_category', params: { name: cell.slice(0, 50) } });
          break;
        }
        case 'unit':
          values.unit = units.get(fold(cell)) ?? cell.trim();
          break;
        case 'weighed': {
          const b = parseBool(cell, false);
          if (b === undefined) errors.push({ line, column, message: 'error.catalog.csv_yes_no' });
          else values.weighed = b ? 'on' : '';
          break;
        }
        default: {
          const field = Object.keys(FIELD_COLUMN).find((f) => FIELD_COLUMN[f] === column)!;
          values[field] = cell;
        }
      }
    }
    const active = parseBool(cells.get('active') ?? '', existing?.active ?? true);
    if (active === undefined) errors.push({ line, column: 'active', message: 'error.catalog.csv_yes_no' });

    const parsed = productSchema(catalogChoices(db, existing)).safeParse(values, { reportInput: true });
    if (!parsed.success) {
      // An unknown category is already said; the schema's "required" for it would repeat it.
      const categorySaid = errors.some((e) => e.column === 'category');
      const issues = categorySaid ? parsed.error.issues.filter((i) => i.path[0] !== 'categoryId') : parsed.error.issues;
      if (issues.length) errors.push({ line, issues: new z.ZodError(issues) });
    }
    if (errors.length || !parsed.success || active === undefined) {
      plan.errors.push(...errors);
      continue;
    }
    const input = parsed.data;
    if (!existing) {
      plan.creates.push({ line, input, active });
      continue;
    }
    const changed: ChangedField[] = (Object.keys(input) as Array<keyof ProductInput>).filter((k) => input[k] !== existing[k]);
    if (active !== existing.active) changed.push('active');
    if (changed.length) plan.updates.push({ line, before: existing, input, active, changed });
    else plan.unchanged++;
  }
  return { ok: true, plan };
}

export type ImportResult = { ok: true; created: number; updated: number } | { ok: false; plan?: ImportPlan; error?: CsvFileError };

/**
 * Applies an import in one transaction, planning it again inside it: what was previewed is checked
 * once more against the catalog as it is now, and nothing at all is written if any line is wrong.
 */
export function importCatalog(db: Db, producerId: number, text: string, now = Date.now()): ImportResult {
  return db.transaction(
    (tx): ImportResult => {
      const planned = planCatalogImport(tx, producerId, text);
      if (!planned.ok) return { ok: false, error: planned.error };
      const { plan } = planned;
      if (plan.errors.length) return { ok: false, plan };
      for (const c of plan.creates) {
        const p = createProduct(tx, producerId, c.input, now);
        if (!c.active) setProductActive(tx, producerId, p.id, false, now);
      }
      for (const u of plan.updates) {
        const r = updateProduct(tx, producerId, u.before.id, u.input, now);
        if (!r.ok) throw new Error('product vanished during import');
        if (u.active !== u.before.active) setProductActive(tx, producerId, u.before.id, u.active, now);
      }
      return { ok: true, created: plan.creates.length, updated: plan.updates.length };
    },
    { behavior: 'immediate' },
  );
}
