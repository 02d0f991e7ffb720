import t, { type Test } from 'tap';
import { translator } from '../../src/i18n/index.js';
import { build, loggedIn, text } from '../helper.js';
import { count, decode, snapshot } from './route-helper.js';
import { addProduct, createProducers, postMultipart, PRODUCER_A, PRODUCER_B, productRow } from '../fixtures/catalog.js';

/*
 * Catalog CSV through the pages: export, upload and preview, confirm, and the refusals (another
 * producer's ids, bad lines, bad files) that must leave the catalogue exactly as it was.
 */

const fr = translator('fr');
const HEADER = 'name,category,unit,price,vat_rate';
const csvFile = (content: string | Buffer, filename = 'catalogue.csv') => ({ filename, contentType: 'text/csv', data: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8') });

async function setUp(t: Test) {
  const built = await build(t);
  const cast = await createProducers(built.db);
  const a = await loggedIn(built.app, PRODUCER_A);
  const A = `/producer/${cast.producerA}/products`;
  await a.get(`${A}/import`);
  return { ...built, ...cast, a, A };
}

/** The hidden CSV the preview carries to the confirm form (base64). */
function carried(html: string): string | undefined {
  const m = /<input type="hidden" id="f-csv" name="csv" value="([^"]*)">/.exec(html);
  return m ? decode(m[1]!) : undefined;
}
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

t.test('export: a UTF-8 CSV with a BOM, only this producer’s products, formulas neutralised', async (t) => {
  const ctx = await setUp(t);
  addProduct(ctx.db, ctx.producerA, { name: '=1+1', description: 'Légumes "bio", frais' });
  addProduct(ctx.db, ctx.producerB, { name: 'Secret de B' });
  const res = await ctx.a.get(`${ctx.A}.csv`);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], 'text/csv; charset=utf-8');
  t.match(res.headers['content-disposition'], /attachment; filename="catalogue-\d+-\d{4}-\d{2}-\d{2}\.csv"/);
  t.equal(res.rawPayload.subarray(0, 3).toString('hex'), 'efbbbf', 'starts with a BOM');
  t.match(res.body, 'id,name,description,category,unit,unit_label,price,vat_rate,max_per_order,weighed,estimated_weight_g,active');
  t.match(res.body, `'=1+1`);
  t.match(res.body, '"Légumes ""bio"", frais"');
  t.notMatch(res.body, 'Secret de B');
});

t.test('export, edit in a spreadsheet, import: preview, then confirm', async (t) => {
  const ctx = await setUp(t);
  const carrots = addProduct(ctx.db, ctx.producerA, { name: 'Carottes', price_cents: 250 });
  const leeks = addProduct(ctx.db, ctx.producerA, { name: 'Poireaux', price_cents: 300 });
  const exported = (await ctx.a.get(`${ctx.A}.csv`)).body;

  // Unchanged, the file changes nothing.
  await ctx.a.get(`${ctx.A}/import`);
  let res = await postMultipart(ctx.a, `${ctx.A}/import`, { file: csvFile(exported) });
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('catalog.preview_nothing'));
  t.equal(carried(res.body), undefined, 'nothing to confirm');

  // A spreadsheet saves it with semicolons and French decimals, a price changed and a line added.
  const edited = exported
    .replace(/^\ufeff/, '')
    .split('\r\n')
    .filter(Boolean)
    .map((line) => line.split(',').join(';'))
    .map((line) => (line.startsWith(`${carrots};`) ? line.replace(';2.50;', ';2,80;') : line))
    .concat([';Navets;"Bio,\nde saison";Légumes;bunch;;1,90;5,5;;no;;yes'])
    .join('\r\n');
  await ctx.a.get(`${ctx.A}/import`);
  const before = snapshot(ctx.db);
  res = await postMultipart(ctx.a, `${ctx.A}/import`, { file: csvFile('\ufeff' + edited) });
  t.equal(res.statusCode, 200);
  t.equal(snapshot(ctx.db), before, 'the preview changes nothing');
  const page = text(res.body);
  t.match(page, fr('catalog.preview_creates', { count: '1' }));
  t.match(page, fr('catalog.preview_updates', { count: '1' }));
  t.match(page, 'Navets');
  t.match(page, /prix 2,50 €\s*→\s*2,80 €/, 'old → new');
  const csv = carried(res.body);
  t.ok(csv, 'the file is carried to the confirm form');
  t.equal(Buffer.from(csv!, 'base64').toString('utf8'), edited, 'byte for byte, line breaks included');

  res = await postMultipart(ctx.a, `${ctx.A}/import/confirm`, { csv: csv! });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, ctx.A);
  t.equal(productRow(ctx.db, carrots)!.price_cents, 280);
  t.equal(productRow(ctx.db, leeks)!.price_cents, 300);
  t.equal(count(ctx.db, 'products', "name = 'Navets' and description = ? and price_cents = 190", 'Bio,\nde saison'), 1);
  res = await ctx.a.get(ctx.A);
  t.match(text(res.body), fr('catalog.flash_imported', { created: '1', updated: '1' }));
});

t.test('errors are listed by line and nothing is applied', async (t) => {
  const ctx = await setUp(t);
  const theirs = addProduct(ctx.db, ctx.producerB, { name: 'Pommes de B' });
  const file = [
    `id,${HEADER}`,
    `,Poireaux,Légumes,bunch,2,5.5`,
    `${theirs},Volées,Légumes,bunch,1,5.5`,
    `,Navets,Légumes,bunch,-2,5.5`,
    `,"<script>alert(1)</script>",Minéraux,bunch,2,5.5`,
  ].join('\n');
  const before = snapshot(ctx.db);
  const res = await postMultipart(ctx.a, `${ctx.A}/import`, { file: csvFile(file) });
  t.equal(res.statusCode, 422);
  t.equal(snapshot(ctx.db), before);
  const page = text(res.body);
  t.match(page, fr('catalog.preview_errors', { count: '3' }));
  t.match(page, `3 id ${fr('error.catalog.csv_unknown_id', { id: String(theirs) })}`, 'another producer’s id, on line 3');
  t.match(page, `4 price ${fr('error.price_range')}`, 'the negative price, on line 4');
  t.match(page, `5 category Catégorie inconnue « Minéraux ».`);
  t.notMatch(res.body, '<script>alert(1)</script>', 'escaped');
  t.equal(carried(res.body), undefined, 'no confirm button while a line is wrong');

  // Confirming by hand (a forged or edited field) is checked again and refused the same way.
  const forged = await postMultipart(ctx.a, `${ctx.A}/import/confirm`, { csv: b64(file) });
  t.equal(forged.statusCode, 422);
  t.equal(snapshot(ctx.db), before);
  t.equal(productRow(ctx.db, theirs)!.name, 'Pommes de B');
});

t.test('bad files', async (t) => {
  const ctx = await setUp(t);
  const cases: Array<[string, Record<string, string | ReturnType<typeof csvFile>>, string]> = [
    ['no file', {}, fr('error.catalog.csv_no_file')],
    ['an empty file part', { file: csvFile('', '') }, fr('error.catalog.csv_no_file')],
    ['an empty file', { file: csvFile('\ufeff') }, fr('error.catalog.csv_empty')],
    ['Latin-1 bytes', { file: csvFile(Buffer.from([...Buffer.from(`${HEADER}\nL`), 0xe9, ...Buffer.from('gumes,Légumes,bunch,2,5.5\n')])) }, fr('error.catalog.csv_not_utf8')],
    ['an unknown column', { file: csvFile(`${HEADER},couleur\nX,Légumes,bunch,2,5.5,rouge\n`) }, fr('error.catalog.csv_unknown_columns', { columns: 'couleur' })],
    ['a missing column', { file: csvFile(`name,price\nX,2\n`) }, fr('error.catalog.csv_missing_columns', { columns: 'category, unit, vat_rate' })],
    ['over 2 MB', { file: csvFile(`${HEADER}\n` + 'X,Légumes,bunch,2,5.5\n'.repeat(110_000)) }, fr('error.catalog.csv_too_large')],
    ['an image', { file: { filename: 'x.csv', contentType: 'text/csv', data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]) } }, fr('error.catalog.csv_not_utf8')],
  ];
  for (const [label, fields, message] of cases) {
    await ctx.a.get(`${ctx.A}/import`);
    const before = snapshot(ctx.db);
    const res = await postMultipart(ctx.a, `${ctx.A}/import`, fields);
    t.equal(res.statusCode, 422, `${label}: 422`);
    t.ok(decode(res.body).includes(message), `${label}: says "${message}"`);
    t.match(res.body, /id="f-file"[^>]*aria-invalid="true"/, `${label}: the file field is marked`);
    t.equal(snapshot(ctx.db), before, `${label}: nothing stored`);
  }
  await ctx.a.get(`${ctx.A}/import`);
  for (const [label, csv] of [
    ['an empty confirm', ''],
    ['not base64', 'Tm9t!!!'],
    ['base64 of Latin-1 bytes', Buffer.from([0x6e, 0xe9]).toString('base64')],
    ['over 2 MB', b64(`${HEADER}\n` + 'X,Légumes,bunch,2,5.5\n'.repeat(110_000))],
  ] as const) {
    await ctx.a.get(`${ctx.A}/import`);
    const before = snapshot(ctx.db);
    const res = await postMultipart(ctx.a, `${ctx.A}/import/confirm`, { csv });
    t.equal(res.statusCode, 422, `confirm, ${label}: 422`);
    t.equal(snapshot(ctx.db), before, `confirm, ${label}: nothing stored`);
  }
});

t.test('producer B cannot import into A, nor export A', async (t) => {
  const ctx = await setUp(t);
  addProduct(ctx.db, ctx.producerA, { name: 'Carottes de A' });
  const b = await loggedIn(ctx.app, PRODUCER_B);
  await b.get(`/producer/${ctx.producerB}/products/import`);
  const before = snapshot(ctx.db);
  let res = await postMultipart(b, `${ctx.A}/import`, { file: csvFile(`${HEADER}\nX,Légumes,bunch,2,5.5\n`) });
  t.equal(res.statusCode, 404);
  res = await postMultipart(b, `${ctx.A}/import/confirm`, { csv: b64(`${HEADER}\nX,Légumes,bunch,2,5.5\n`) });
  t.equal(res.statusCode, 404);
  res = await b.get(`${ctx.A}.csv`);
  t.equal(res.statusCode, 404);
  t.notMatch(res.body, 'Carottes de A');
  t.equal(snapshot(ctx.db), before);
});
