import t from 'tap';
import {
  activeCategories,
  activeVatRates,
  addVatRate,
  categoryName,
  categorySchema,
  createCategory,
  formatVatRate,
  listCategories,
  listVatRates,
  newCategorySchema,
  parseVatRateToBp,
  setVatRateActive,
  updateCategory,
  vatRateField,
} from '../../src/domain/categories.js';
import { DEFAULT_CATEGORIES, DEFAULT_VAT_RATES_BP } from '../../src/domain/coop.js';
import { seedCoop, testDb } from '../helper.js';

t.test('VAT rates typed as percentages', async (t) => {
  const cases: Array<[string, number | 'range' | null]> = [
    ['0', 0],
    ['2,1', 210],
    ['2.1', 210],
    ['5,5', 550],
    ['5.5', 550],
    ['5,50', 550],
    ['5,5 %', 550],
    [' 5.5% ', 550],
    ['10', 1000],
    ['20', 2000],
    ['19,6', 1960],
    ['0,01', 1],
    ['100', 10000],
    ['100,01', 'range'],
    ['150', 'range'],
    ['5,555', null],
    ['5,', null],
    [',5', null],
    ['-5', null],
    ['5,5,5', null],
    ['1e2', null],
    ['abc', null],
    ['', null],
    ['1000', 'range'],
    ['12345', null],
  ];
  for (const [input, expected] of cases) t.equal(parseVatRateToBp(input), expected, JSON.stringify(input));
  const messages: Array<[string, string]> = [
    ['', 'error.required'],
    ['abc', 'error.invalid_vat_rate'],
    ['150', 'error.vat_rate_range'],
    ['x'.repeat(21), 'error.invalid_vat_rate'],
  ];
  for (const [input, message] of messages) {
    const r = vatRateField.safeParse(input);
    t.notOk(r.success);
    if (!r.success) t.equal(r.error.issues[0]!.message, message, `${JSON.stringify(input)}: ${message}`);
  }
});

t.test('VAT rates shown as percentages in each language', async (t) => {
  const cases: Array<[number, string, string]> = [
    [0, '0\u00a0%', '0%'],
    [210, '2,1\u00a0%', '2.1%'],
    [550, '5,5\u00a0%', '5.5%'],
    [1000, '10\u00a0%', '10%'],
    [2000, '20\u00a0%', '20%'],
    [1, '0,01\u00a0%', '0.01%'],
    [1960, '19,6\u00a0%', '19.6%'],
    [10000, '100\u00a0%', '100%'],
  ];
  for (const [bp, fr, en] of cases) {
    t.equal(formatVatRate(bp, 'fr'), fr, `${bp} in French`);
    t.equal(formatVatRate(bp, 'en'), en, `${bp} in English`);
  }
});

t.test('the defaults are seeded at setup', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  t.same(listVatRates(db).map((r) => r.rateBp), [0, 210, 550, 1000, 2000]);
  t.same(activeVatRates(db), [...DEFAULT_VAT_RATES_BP]);
  t.same(listCategories(db).map((c) => [c.nameFr, c.nameEn]), DEFAULT_CATEGORIES.map((c) => [c.fr, c.en]));
});

t.test('adding, deactivating and reactivating VAT rates; the last active one stays', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const steps: Array<[string, () => unknown, unknown, number[]]> = [
    ['add 19.6 %', () => addVatRate(db, 1960), { ok: true }, [0, 210, 550, 1000, 1960, 2000]],
    ['add 5.5 % again', () => addVatRate(db, 550), { ok: false, reason: 'exists' }, [0, 210, 550, 1000, 1960, 2000]],
    ['deactivate 19.6 %', () => setVatRateActive(db, 1960, false), { ok: true }, [0, 210, 550, 1000, 2000]],
    ['deactivate it twice', () => setVatRateActive(db, 1960, false), { ok: true }, [0, 210, 550, 1000, 2000]],
    ['reactivate 19.6 %', () => setVatRateActive(db, 1960, true), { ok: true }, [0, 210, 550, 1000, 1960, 2000]],
    ['an unknown rate', () => setVatRateActive(db, 700, false), { ok: false, reason: 'not_found' }, [0, 210, 550, 1000, 1960, 2000]],
  ];
  for (const [label, act, expected, active] of steps) {
    t.same(act(), expected, label);
    t.same(activeVatRates(db), active, `${label}: active rates`);
  }
  for (const bp of [0, 210, 550, 1000, 1960]) t.same(setVatRateActive(db, bp, false), { ok: true });
  t.same(setVatRateActive(db, 2000, false), { ok: false, reason: 'last_active' }, 'the last active rate stays');
  t.same(activeVatRates(db), [2000]);
  t.equal(listVatRates(db).length, 6, 'deactivated rates stay in the list');
});

t.test('categories: add at the end, rename, reorder, deactivate; names stay unique', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const count = DEFAULT_CATEGORIES.length;
  const added = createCategory(db, { nameFr: 'Champignons', nameEn: 'Mushrooms' });
  t.ok(added.ok);
  if (!added.ok) return;
  t.equal(added.category.position, (count + 1) * 10, 'after the last one');
  t.equal(listCategories(db).at(-1)!.nameFr, 'Champignons');

  const refused: Array<[{ nameFr: string; nameEn: string }, string]> = [
    [{ nameFr: 'légumes', nameEn: 'Greens' }, 'French name, any case'],
    [{ nameFr: 'Verdure', nameEn: 'VEGETABLES' }, 'English name, any case'],
  ];
  for (const [input, label] of refused) t.same(createCategory(db, input), { ok: false, reason: 'name_taken' }, label);

  const first = createCategory(db, { nameFr: 'Plats cuisinés', nameEn: 'Ready meals', position: 0 });
  t.ok(first.ok);
  t.equal(listCategories(db)[0]!.nameEn, 'Ready meals', 'position 0 comes first');

  const edits: Array<[string, Parameters<typeof updateCategory>[2], object]> = [
    ['rename and move', { nameFr: 'Champignons sauvages', nameEn: 'Wild mushrooms', position: 5, active: true }, { ok: true, category: { nameFr: 'Champignons sauvages', position: 5 } }],
    ['keep its own name', { nameFr: 'Champignons sauvages', nameEn: 'Wild mushrooms', position: 5, active: false }, { ok: true, category: { active: false } }],
    ['take another’s name', { nameFr: 'Fruits', nameEn: 'Wild mushrooms', position: 5, active: false }, { ok: false, reason: 'name_taken' }],
  ];
  for (const [label, input, expected] of edits) t.match(updateCategory(db, added.category.id, input), expected, label);
  t.same(updateCategory(db, 9999, { nameFr: 'X', nameEn: 'Y', position: 1, active: true }), { ok: false, reason: 'not_found' });
  t.same(listCategories(db).slice(0, 2).map((c) => c.nameEn), ['Ready meals', 'Wild mushrooms']);
  t.notOk(activeCategories(db).some((c) => c.id === added.category.id), 'a deactivated category is not offered');
  t.equal(categoryName(listCategories(db)[1]!, 'fr'), 'Champignons sauvages');
  t.equal(categoryName(listCategories(db)[1]!, 'en'), 'Wild mushrooms');
});

t.test('the category form rules', async (t) => {
  const accepted: Array<[unknown, Record<string, unknown>, object]> = [
    [newCategorySchema, { nameFr: ' Œufs ', nameEn: 'Eggs', position: '' }, { nameFr: 'Œufs', nameEn: 'Eggs', position: undefined }],
    [newCategorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '25' }, { position: 25 }],
    [categorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '0', active: 'on' }, { position: 0, active: true }],
    [categorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '7' }, { active: false }],
  ];
  for (const [schema, form, expected] of accepted) {
    const r = (schema as typeof categorySchema).safeParse(form);
    t.ok(r.success, `accepts ${JSON.stringify(form)}`);
    if (r.success) t.match(r.data, expected);
  }
  const refused: Array<[unknown, Record<string, unknown>, string]> = [
    [newCategorySchema, { nameFr: '', nameEn: 'Eggs' }, 'nameFr'],
    [newCategorySchema, { nameFr: 'Œufs', nameEn: 'x'.repeat(61) }, 'nameEn'],
    [newCategorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '-1' }, 'position'],
    [newCategorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '1,5' }, 'position'],
    [newCategorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '100001' }, 'position'],
    [categorySchema, { nameFr: 'Œufs', nameEn: 'Eggs', position: '' }, 'position'],
    [categorySchema, { nameFr: '<script>', nameEn: 'Eggs', position: '1' }, 'nameFr'],
  ];
  for (const [schema, form, field] of refused) {
    const r = (schema as typeof categorySchema).safeParse(form);
    t.notOk(r.success, `refuses ${JSON.stringify(form).slice(0, 60)}`);
    if (!r.success) t.ok(r.error.issues.some((i) => i.path[0] === field), `on ${field}`);
  }
});
