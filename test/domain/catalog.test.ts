import t from 'tap';
import {
  catalogChoices,
  createProduct,
  findProduct,
  formatVatRate,
  formatWeight,
  listProducts,
  parsePercentToBp,
  parseWeightToGrams,
  productFormValues,
  productSchema,
  setProductActive,
  updateProduct,
  type ProductInput,
} from '../../src/domain/catalog.js';
import { testDb } from '../helper.js';
import { seedCoop } from '../helper.js';
import { addProducer, categoryId } from '../fixtures/catalog.js';

const choices = { categoryIds: new Set([1, 2]), vatRatesBp: new Set([0, 210, 550, 1000, 2000]) };
const schema = productSchema(choices);

const base = {
  name: 'Carottes',
  description: '',
  categoryId: '1',
  unit: 'bunch',
  unitLabel: '',
  price: '2,50',
  vatRate: '5.5',
  maxPerOrder: '',
  estimatedWeight: '',
};

const expected: ProductInput = {
  name: 'Carottes',
  description: '',
  categoryId: 1,
  unit: 'bunch',
  unitLabel: null,
  priceCents: 250,
  vatRateBp: 550,
  maxPerOrder: null,
  weighed: false,
  estimatedWeightGrams: null,
};

t.test('product rules: accepted forms', async (t) => {
  const table: Array<[string, Record<string, string>, Partial<ProductInput>]> = [
    ['a plain product', {}, {}],
    ['a French decimal price', { price: '2,50' }, { priceCents: 250 }],
    ['a dotted price', { price: '2.50' }, { priceCents: 250 }],
    ['a price with €', { price: '3 €' }, { priceCents: 300 }],
    ['the highest price', { price: '100000' }, { priceCents: 10_000_000 }],
    ['a name is trimmed', { name: '  Poireaux  ' }, { name: 'Poireaux' }],
    ['hostile HTML is just text', { name: '<b>Choux</b>' }, { name: '<b>Choux</b>' }],
    ['a description keeps its lines', { description: 'Bio\nde saison' }, { description: 'Bio\nde saison' }],
    ['VAT with a comma', { vatRate: '5,5' }, { vatRateBp: 550 }],
    ['VAT with a percent sign', { vatRate: '20 %' }, { vatRateBp: 2000 }],
    ['VAT zero', { vatRate: '0' }, { vatRateBp: 0 }],
    ['a maximum per order', { maxPerOrder: '6' }, { maxPerOrder: 6 }],
    ['the largest maximum', { maxPerOrder: '100000' }, { maxPerOrder: 100_000 }],
    ['500 g unit', { unit: 'g500' }, { unit: 'g500' }],
    ['a custom unit with its label', { unit: 'custom', unitLabel: 'barquette de 6' }, { unit: 'custom', unitLabel: 'barquette de 6' }],
    ['a label without the custom unit is dropped', { unit: 'jar', unitLabel: 'ignored' }, { unit: 'jar', unitLabel: null }],
    ['a weight without weighed is dropped', { estimatedWeight: '800' }, { estimatedWeightGrams: null }],
    ['weighed in grams', { weighed: 'on', estimatedWeight: '1600' }, { weighed: true, unit: 'piece', estimatedWeightGrams: 1600 }],
    ['weighed in kg with a comma', { weighed: 'on', estimatedWeight: '1,6 kg' }, { weighed: true, unit: 'piece', estimatedWeightGrams: 1600 }],
    ['weighed with "g"', { weighed: 'on', estimatedWeight: '800g' }, { weighed: true, unit: 'piece', estimatedWeightGrams: 800 }],
    ['weighed forces the piece', { weighed: 'on', unit: 'kg', estimatedWeight: '1.6kg' }, { weighed: true, unit: 'piece', estimatedWeightGrams: 1600 }],
    ['weighed, 100 kg at most', { weighed: 'on', estimatedWeight: '100 kg' }, { weighed: true, unit: 'piece', estimatedWeightGrams: 100_000 }],
  ];
  for (const [label, over, want] of table) {
    const r = schema.safeParse({ ...base, ...over });
    t.ok(r.success, `${label}: accepted`);
    if (r.success) t.same(r.data, { ...expected, ...want }, label);
  }
});

t.test('product rules: refused forms', async (t) => {
  const table: Array<[string, Record<string, unknown>, string, string]> = [
    ['no name', { name: '' }, 'name', 'error.required'],
    ['a blank name', { name: '   ' }, 'name', 'error.required'],
    ['a name too long', { name: 'x'.repeat(101) }, 'name', ''],
    ['a name with a newline', { name: 'Ca\nrottes' }, 'name', 'error.catalog.invalid_text'],
    ['a description too long', { description: 'x'.repeat(2001) }, 'description', ''],
    ['a NUL in the description', { description: 'a\u0000b' }, 'description', 'error.catalog.invalid_text'],
    ['no category', { categoryId: '' }, 'categoryId', 'error.required'],
    ['an unknown category', { categoryId: '99' }, 'categoryId', 'error.invalid_choice'],
    ['a category that is not a number', { categoryId: 'abc' }, 'categoryId', 'error.invalid_choice'],
    ['an unknown unit', { unit: 'ton' }, 'unit', 'error.invalid_choice'],
    ['no unit', { unit: '' }, 'unit', 'error.required'],
    ['a custom unit without label', { unit: 'custom', unitLabel: '' }, 'unitLabel', 'error.catalog.unit_label_required'],
    ['a custom label too long', { unit: 'custom', unitLabel: 'x'.repeat(31) }, 'unitLabel', ''],
    ['no price', { price: '' }, 'price', 'error.required'],
    ['a zero price', { price: '0' }, 'price', 'error.price_range'],
    ['a zero price with decimals', { price: '0,00' }, 'price', 'error.price_range'],
    ['a negative price', { price: '-2,50' }, 'price', 'error.price_range'],
    ['an absurd price', { price: '100000,01' }, 'price', 'error.price_range'],
    ['a price that is text', { price: 'cheap' }, 'price', 'error.invalid_price'],
    ['a price with three decimals', { price: '2,505' }, 'price', 'error.invalid_price'],
    ['a price of the wrong type', { price: ['1', '2'] }, 'price', ''],
    ['no VAT', { vatRate: '' }, 'vatRate', 'error.required'],
    ['a VAT rate the coop does not use', { vatRate: '7' }, 'vatRate', 'error.catalog.invalid_vat'],
    ['a VAT rate that is text', { vatRate: 'lots' }, 'vatRate', 'error.catalog.invalid_vat'],
    ['a maximum of zero', { maxPerOrder: '0' }, 'maxPerOrder', 'error.catalog.max_range'],
    ['a negative maximum', { maxPerOrder: '-3' }, 'maxPerOrder', 'error.catalog.max_range'],
    ['an absurd maximum', { maxPerOrder: '100001' }, 'maxPerOrder', 'error.catalog.max_range'],
    ['a decimal maximum', { maxPerOrder: '2,5' }, 'maxPerOrder', 'error.invalid_quantity'],
    ['weighed without weight', { weighed: 'on', estimatedWeight: '' }, 'estimatedWeight', 'error.catalog.weight_required'],
    ['weighed with a zero weight', { weighed: 'on', estimatedWeight: '0' }, 'estimatedWeight', 'error.catalog.weight_range'],
    ['weighed with a negative weight', { weighed: 'on', estimatedWeight: '-5' }, 'estimatedWeight', 'error.catalog.weight_range'],
    ['weighed over 100 kg', { weighed: 'on', estimatedWeight: '100,001 kg' }, 'estimatedWeight', 'error.catalog.weight_range'],
    ['weighed with text', { weighed: 'on', estimatedWeight: 'heavy' }, 'estimatedWeight', 'error.catalog.invalid_weight'],
    ['weighed with decimal grams', { weighed: 'on', estimatedWeight: '1,5 g' }, 'estimatedWeight', 'error.catalog.invalid_weight'],
  ];
  for (const [label, over, field, message] of table) {
    const r = schema.safeParse({ ...base, ...over });
    t.notOk(r.success, `${label}: refused`);
    if (r.success) continue;
    const issue = r.error.issues.find((i) => i.path[0] === field);
    t.ok(issue, `${label}: the issue is on ${field}`);
    if (message && issue) t.equal(issue.message, message, `${label}: ${message}`);
  }
});

t.test('several problems are all reported at once', async (t) => {
  const r = schema.safeParse({ ...base, name: '', price: '-1', weighed: 'on', estimatedWeight: '' });
  t.notOk(r.success);
  if (!r.success) t.same([...new Set(r.error.issues.map((i) => i.path[0]))].sort(), ['estimatedWeight', 'name', 'price']);
});

t.test('weights and VAT rates typed by people', async (t) => {
  const weights: Array<[string, number | null]> = [
    ['1600', 1600],
    ['1600 g', 1600],
    ['1,6 kg', 1600],
    ['1.6kg', 1600],
    ['1,25 KG', 1250],
    ['0,8 kg', 800],
    ['2 kg', 2000],
    ['1,6', null],
    ['abc', null],
    ['1,2345 kg', null],
    ['', null],
  ];
  for (const [input, want] of weights) t.equal(parseWeightToGrams(input), want, `weight ${JSON.stringify(input)}`);
  const rates: Array<[string, number | null]> = [
    ['5,5', 550],
    ['5.5', 550],
    ['5.5 %', 550],
    ['2,1%', 210],
    ['20', 2000],
    ['0', 0],
    ['x', null],
    ['5,555', null],
  ];
  for (const [input, want] of rates) t.equal(parsePercentToBp(input), want, `rate ${JSON.stringify(input)}`);
  t.equal(formatVatRate(550, 'fr'), '5,5 %');
  t.equal(formatVatRate(550, 'en'), '5.5%');
  t.equal(formatWeight(1600, 'fr'), '1,6 kg');
  t.equal(formatWeight(800, 'en'), '800 g');
});

t.test('products are scoped by producer', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const a = addProducer(db, 'Ferme A');
  const b = addProducer(db, 'Verger B');
  const veg = categoryId(db, 'Légumes');
  const input: ProductInput = { ...expected, categoryId: veg };
  const carrots = createProduct(db, a, input, 1000);
  const apples = createProduct(db, b, { ...input, name: 'Pommes' }, 1000);
  const old = createProduct(db, a, { ...input, name: 'Anciennes' }, 1000);
  setProductActive(db, a, old.id, false);

  t.ok(findProduct(db, a, carrots.id), 'A finds its product');
  t.equal(findProduct(db, a, apples.id), undefined, 'A does not find B’s product');
  t.same(updateProduct(db, a, apples.id, { ...input, name: 'Volées' }), { ok: false, reason: 'not_found' }, 'A cannot update B’s product');
  t.equal(findProduct(db, b, apples.id)!.name, 'Pommes', 'B’s product is untouched');
  t.equal(setProductActive(db, a, apples.id, false), false, 'A cannot archive B’s product');
  t.equal(findProduct(db, b, apples.id)!.active, true);

  t.same(
    listProducts(db, a).map((p) => p.name),
    ['Carottes', 'Anciennes'],
    'active first, then archived; only A’s',
  );
  t.same(listProducts(db, a, 'active').map((p) => p.name), ['Carottes']);
  t.same(listProducts(db, a, 'archived').map((p) => p.name), ['Anciennes']);
  t.equal(listProducts(db, a)[0]!.categoryFr, 'Légumes');

  // The form shows a stored product as it was typed, and that parses back to the same values.
  const weighed = createProduct(db, a, { ...input, name: 'Poulet', weighed: true, unit: 'piece', estimatedWeightGrams: 1600, priceCents: 1290 });
  const values = productFormValues(weighed, 'fr');
  t.equal(values.price, '12,90');
  const again = productSchema(catalogChoices(db, weighed)).safeParse(values);
  t.ok(again.success);
  if (again.success) t.match(again.data, { weighed: true, estimatedWeightGrams: 1600, priceCents: 1290 });
});

t.test('a retired category or VAT rate stays allowed for the product that uses it', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const a = addProducer(db, 'Ferme A');
  const veg = categoryId(db, 'Légumes');
  const p = createProduct(db, a, { ...expected, categoryId: veg, vatRateBp: 210 });
  db.$client.prepare('update categories set active = 0 where id = ?').run(veg);
  db.$client.prepare('update vat_rates set active = 0 where rate_bp = 210').run();
  t.notOk(catalogChoices(db).categoryIds.has(veg), 'not offered to new products');
  t.notOk(catalogChoices(db).vatRatesBp.has(210));
  t.ok(catalogChoices(db, p).categoryIds.has(veg), 'still allowed for its product');
  t.ok(catalogChoices(db, p).vatRatesBp.has(210));
});
