import t, { type Test } from 'tap';
import { createProduct, findProduct, listProducts, type ProductInput } from '../../src/domain/catalog.js';
import {
  CSV_COLUMNS,
  CSV_MAX_ROWS,
  decodeCsv,
  detectDelimiter,
  exportCatalogCsv,
  importCatalog,
  neutralise,
  planCatalogImport,
  unneutralise,
  type ImportPlan,
} from '../../src/domain/catalog-csv.js';
import { seedCoop, testDb } from '../helper.js';
import { addProducer, categoryId } from '../fixtures/catalog.js';

const HEADER = 'name,category,unit,price,vat_rate';

async function setUp(t: Test) {
  const { db } = testDb(t);
  await seedCoop(db);
  const a = addProducer(db, 'Ferme A');
  const b = addProducer(db, 'Verger B');
  const veg = categoryId(db, 'Légumes');
  const base: ProductInput = {
    name: 'Carottes',
    description: '',
    categoryId: veg,
    unit: 'bunch',
    unitLabel: null,
    priceCents: 250,
    vatRateBp: 550,
    maxPerOrder: null,
    weighed: false,
    estimatedWeightGrams: null,
  };
  return { db, a, b, veg, base };
}

t.test('formula cells are neutralised, and the quote is taken off again on import', async (t) => {
  const table: Array<[string, string]> = [
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['+33 6 12', "'+33 6 12"],
    ['-2', "'-2"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['Carottes', 'Carottes'],
    ['', ''],
    ["'quoted", "'quoted"],
    ['2=3', '2=3'],
  ];
  for (const [cell, want] of table) {
    t.equal(neutralise(cell), want, `neutralise ${JSON.stringify(cell)}`);
    t.equal(unneutralise(neutralise(cell)), cell, `round trip ${JSON.stringify(cell)}`);
  }
});

t.test('delimiter and encoding', async (t) => {
  const delimiters: Array<[string, string]> = [
    ['name,price\n', ','],
    ['name;price\n', ';'],
    ['\ufeffname;category;unit\n', ';'],
    ['"a,b";c;d\n', ';'],
    ['name\n', ','],
  ];
  for (const [text, want] of delimiters) t.equal(detectDelimiter(text), want, JSON.stringify(text));
  t.equal(decodeCsv(Buffer.from('\ufeffnom,é', 'utf8')), 'nom,é', 'the BOM is dropped');
  t.equal(decodeCsv(Buffer.from('nom,é', 'utf8')), 'nom,é');
  t.equal(decodeCsv(Buffer.from([0x6e, 0xe9, 0x0a])), undefined, 'Latin-1 bytes are not UTF-8');
});

t.test('reading an import file', async (t) => {
  const { db, a, b, veg, base } = await setUp(t);
  const mine = createProduct(db, a, base);
  const theirs = createProduct(db, b, { ...base, name: 'Pommes' });

  type Want = { error?: string; creates?: number; updates?: number; unchanged?: number; errors?: Array<{ line: number; column?: string; message?: string; issue?: string }> };
  const table: Array<[string, string, Want]> = [
    ['comma, one new product', `${HEADER}\nPoireaux,Légumes,bunch,"2,50",5.5\n`, { creates: 1, errors: [] }],
    ['a BOM and semicolons', `\ufeffname;category;unit;price;vat_rate\r\nPoireaux;Légumes;bunch;2,50;5,5\r\n`, { creates: 1, errors: [] }],
    ['an English category, any case, and a dotted price', `${HEADER}\nLeeks,VEGETABLES,bunch,2.50,5.5\n`, { creates: 1, errors: [] }],
    ['a unit by its French name', `${HEADER}\nMiel,Légumes,pot,8,5.5\n`, { creates: 1, errors: [] }],
    [
      'a quoted newline; the next line keeps its number',
      `name,description,category,unit,price,vat_rate\nPoireaux,"Bio\nde saison",Légumes,bunch,2,5.5\nNavets,,Légumes,bunch,-1,5.5\n`,
      { creates: 1, errors: [{ line: 4, issue: 'price' }] },
    ],
    ['an unknown column', `${HEADER},colour\nPoireaux,Légumes,bunch,2,5.5,red\n`, { error: 'error.catalog.csv_unknown_columns' }],
    ['a missing column', `name,category,unit,price\nPoireaux,Légumes,bunch,2\n`, { error: 'error.catalog.csv_missing_columns' }],
    ['a duplicated column', `${HEADER},name\nPoireaux,Légumes,bunch,2,5.5,X\n`, { error: 'error.catalog.csv_duplicate_columns' }],
    ['only a header', `${HEADER}\n`, { error: 'error.catalog.csv_no_rows' }],
    ['an empty file', `\ufeff  \n`, { error: 'error.catalog.csv_empty' }],
    ['a broken quote', `${HEADER}\n"Poireaux,Légumes,bunch,2,5.5\n`, { error: 'error.catalog.csv_malformed' }],
    ['a negative price', `${HEADER}\nPoireaux,Légumes,bunch,-2.50,5.5\n`, { creates: 0, errors: [{ line: 2, issue: 'price' }] }],
    ['a zero price and a bad VAT', `${HEADER}\nPoireaux,Légumes,bunch,0,7\n`, { errors: [{ line: 2, issue: 'price' }, { line: 2, issue: 'vatRate' }] }],
    ['an unknown category', `${HEADER}\nPoireaux,Minerals,bunch,2,5.5\n`, { errors: [{ line: 2, column: 'category', message: 'error.catalog.csv_unknown_category' }] }],
    ['a wrong number of cells', `${HEADER}\nPoireaux,Légumes,bunch\n`, { errors: [{ line: 2, message: 'error.catalog.csv_column_count' }] }],
    ['a weighed product without weight', `${HEADER},weighed\nPoulet,Légumes,piece,12,5.5,yes\n`, { errors: [{ line: 2, issue: 'estimatedWeight' }] }],
    ['a weighed product with its weight', `${HEADER},weighed,estimated_weight_g\nPoulet,Légumes,piece,"12,90",5.5,oui,1600\n`, { creates: 1, errors: [] }],
    ['a yes/no cell that is neither', `${HEADER},active\nPoulet,Légumes,piece,12,5.5,maybe\n`, { errors: [{ line: 2, column: 'active', message: 'error.catalog.csv_yes_no' }] }],
    ['another producer’s product id', `id,${HEADER}\n${theirs.id},Volées,Légumes,bunch,1,5.5\n`, { errors: [{ line: 2, column: 'id', message: 'error.catalog.csv_unknown_id' }] }],
    ['a made-up id', `id,${HEADER}\n999999,X,Légumes,bunch,1,5.5\n`, { errors: [{ line: 2, column: 'id', message: 'error.catalog.csv_unknown_id' }] }],
    ['an id that is not a number', `id,${HEADER}\nabc,X,Légumes,bunch,1,5.5\n`, { errors: [{ line: 2, column: 'id', message: 'error.catalog.csv_unknown_id' }] }],
    ['my product, changed', `id,${HEADER}\n${mine.id},Carottes nouvelles,Légumes,bunch,"2,80",5.5\n`, { updates: 1, errors: [] }],
    ['my product, unchanged', `id,${HEADER}\n${mine.id},Carottes,Légumes,bunch,2.50,5.5\n`, { updates: 0, unchanged: 1, errors: [] }],
    ['my product twice', `id,${HEADER}\n${mine.id},A,Légumes,bunch,2,5.5\n${mine.id},B,Légumes,bunch,2,5.5\n`, { updates: 1, errors: [{ line: 3, message: 'error.catalog.csv_duplicate_id' }] }],
    ['hostile HTML is kept as text', `${HEADER}\n<script>alert(1)</script>,Légumes,bunch,2,5.5\n`, { creates: 1, errors: [] }],
    ['blank lines are skipped', `${HEADER}\n\nPoireaux,Légumes,bunch,2,5.5\n,,,,\n`, { creates: 1, errors: [] }],
  ];
  for (const [label, text, want] of table) {
    const r = planCatalogImport(db, a, text);
    if (want.error) {
      t.notOk(r.ok, `${label}: the whole file is refused`);
      if (!r.ok) t.equal(r.error.message, want.error, `${label}: ${want.error}`);
      continue;
    }
    t.ok(r.ok, `${label}: read`);
    if (!r.ok) continue;
    const plan: ImportPlan = r.plan;
    if (want.creates !== undefined) t.equal(plan.creates.length, want.creates, `${label}: creates`);
    if (want.updates !== undefined) t.equal(plan.updates.length, want.updates, `${label}: updates`);
    if (want.unchanged !== undefined) t.equal(plan.unchanged, want.unchanged, `${label}: unchanged`);
    if (want.errors) {
      const got: Array<Record<string, unknown>> = plan.errors.flatMap((e): Array<Record<string, unknown>> =>
        e.issues ? e.issues.issues.map((i) => ({ line: e.line, issue: String(i.path[0]) })) : [{ line: e.line, column: e.column, message: e.message }],
      );
      t.equal(got.length, want.errors.length, `${label}: ${want.errors.length} error(s)`);
      for (const w of want.errors) t.ok(got.some((g) => Object.entries(w).every(([k, v]) => g[k] === v)), `${label}: ${JSON.stringify(w)}`);
    }
  }
  // The multi-line description is read whole.
  const r = planCatalogImport(db, a, `name,description,category,unit,price,vat_rate\nPoireaux,"Bio\nde saison",Légumes,bunch,2,5.5\n`);
  t.ok(r.ok && r.plan.creates[0]!.input.description === 'Bio\nde saison');
  const changed = planCatalogImport(db, a, `id,${HEADER}\n${mine.id},Carottes nouvelles,Légumes,bunch,"2,80",5.5\n`);
  t.ok(changed.ok);
  if (changed.ok) t.same(changed.plan.updates[0]!.changed, ['name', 'priceCents'], 'what changes is listed');
  t.equal(findProduct(db, b, theirs.id)!.name, 'Pommes', 'planning writes nothing');
  t.equal(findProduct(db, a, mine.id)!.name, 'Carottes');
  t.equal(veg > 0, true);
});

t.test('too many lines or bytes', async (t) => {
  const { db, a } = await setUp(t);
  const rows = Array.from({ length: CSV_MAX_ROWS + 1 }, (_, i) => `P${i},Légumes,bunch,2,5.5`).join('\n');
  const r = planCatalogImport(db, a, `${HEADER}\n${rows}\n`);
  t.notOk(r.ok);
  if (!r.ok) t.equal(r.error.message, 'error.catalog.csv_too_many_rows');
  const big = planCatalogImport(db, a, `${HEADER}\n` + `X,Légumes,bunch,2,5.5,${'x'.repeat(100)}\n`.repeat(22000));
  t.notOk(big.ok);
  if (!big.ok) t.equal(big.error.message, 'error.catalog.csv_too_large');
});

t.test('export: BOM, header, neutralised cells, and a round trip that changes nothing', async (t) => {
  const { db, a, b, base } = await setUp(t);
  createProduct(db, a, { ...base, name: '=HYPERLINK("http://evil")', description: '+33 6 00 00 00 00\n-- "fresh"' });
  createProduct(db, a, { ...base, name: '@Poulet', weighed: true, unit: 'piece', estimatedWeightGrams: 1600, priceCents: 1290, maxPerOrder: 2 });
  createProduct(db, a, { ...base, name: 'Barquette', unit: 'custom', unitLabel: 'barquette de 6', vatRateBp: 2000 });
  createProduct(db, b, { ...base, name: 'Secret de B' });
  const csv = exportCatalogCsv(db, a, 'fr');
  t.ok(csv.startsWith('\ufeff' + CSV_COLUMNS.join(',') + '\r\n'), 'BOM and header');
  t.notMatch(csv, 'Secret de B', 'only this producer’s products');
  t.match(csv, `"'=HYPERLINK(""http://evil"")"`, 'a formula becomes text');
  t.match(csv, `"'+33 6 00 00 00 00\n-- ""fresh"""`, 'a leading + is neutralised, the newline kept');
  t.match(csv, `'@Poulet`);
  t.match(csv, ',12.90,5.5,2,yes,1600,yes', 'price with a dot, VAT in percent, weighed');
  t.match(csv, ',Légumes,', 'the category in the reader’s language');
  t.match(exportCatalogCsv(db, a, 'en'), ',Vegetables,');

  const r = planCatalogImport(db, a, csv);
  t.ok(r.ok);
  if (r.ok) {
    t.same(r.plan.errors, [], 'no error');
    t.equal(r.plan.creates.length + r.plan.updates.length, 0, 'nothing to change');
    t.equal(r.plan.unchanged, 3);
  }
  // Semicolons, as a French spreadsheet saves it, read the same.
  const semi = planCatalogImport(db, a, exportCatalogCsv(db, a, 'en').replace(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/gm, ';'));
  t.ok(semi.ok && semi.plan.unchanged === 3, 'the same file with semicolons changes nothing either');
});

t.test('an import is applied whole, or not at all', async (t) => {
  const { db, a, b, base } = await setUp(t);
  const mine = createProduct(db, a, base);
  const theirs = createProduct(db, b, { ...base, name: 'Pommes' });
  const before = JSON.stringify(listProducts(db, a));

  const bad = importCatalog(db, a, `id,${HEADER}\n${mine.id},Carottes,Légumes,bunch,3,5.5\n,Navets,Légumes,bunch,2,5.5\n${theirs.id},Volées,Légumes,bunch,1,5.5\n`);
  t.notOk(bad.ok, 'one wrong line refuses the file');
  t.equal(JSON.stringify(listProducts(db, a)), before, 'nothing applied');
  t.equal(findProduct(db, b, theirs.id)!.name, 'Pommes', 'B untouched');

  const good = importCatalog(db, a, `id,${HEADER},active\n${mine.id},Carottes,Légumes,bunch,3,5.5,no\n,Navets,Légumes,bunch,2,5.5,\n`);
  t.same(good, { ok: true, created: 1, updated: 1 });
  const after = listProducts(db, a);
  t.same(after.map((p) => [p.name, p.priceCents, p.active]), [['Navets', 200, true], ['Carottes', 300, false]]);
  t.equal(findProduct(db, b, theirs.id)!.name, 'Pommes');
});
