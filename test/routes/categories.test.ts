import t from 'tap';
import { findCategory } from '../../src/domain/categories.js';
import { translator } from '../../src/i18n/index.js';
import { text } from '../helper.js';
import { adminOnly, clientAs, castApp } from './admin-cast.js';
import { count, expectRejected, HOSTILE, snapshot } from './route-helper.js';

/* The coop-wide lists producers choose from: categories (both languages) and VAT rates. */

const fr = translator('fr');
const en = translator('en');
const activeRates = (db: Parameters<typeof count>[0]) =>
  (db.$client.prepare('select rate_bp from vat_rates where active = 1 order by rate_bp').all() as Array<{ rate_bp: number }>).map((r) => r.rate_bp);

t.test('every category and VAT route: only the admin gets through', async (t) => {
  const routes: Array<Parameters<typeof adminOnly>[1] & { name: string }> = [
    {
      name: 'categories',
      method: 'GET',
      url: () => '/admin/categories',
      admin: { status: 200 },
      after: (t, _c, res) => {
        t.match(text(res.body), /10 Légumes Vegetables active 20 Fruits Fruit active/);
        t.match(res.body, '<td lang="en">Vegetables</td>');
      },
    },
    {
      name: 'add a category',
      method: 'POST',
      url: () => '/admin/categories',
      form: () => ({ nameFr: 'Champignons', nameEn: 'Mushrooms', position: '' }),
      admin: { status: 303, location: '/admin/categories' },
      after: (t, ctx) => t.equal(count(ctx.db, 'categories', "name_fr = 'Champignons' and name_en = 'Mushrooms' and position = 140 and active = 1"), 1),
    },
    { name: 'edit a category', method: 'GET', url: () => '/admin/categories/1', admin: { status: 200 } },
    {
      name: 'rename, move and deactivate',
      method: 'POST',
      url: () => '/admin/categories/1',
      form: () => ({ nameFr: 'Légumes frais', nameEn: 'Fresh vegetables', position: '5' }),
      admin: { status: 303, location: '/admin/categories' },
      after: (t, ctx) => t.match(findCategory(ctx.db, 1), { nameFr: 'Légumes frais', nameEn: 'Fresh vegetables', position: 5, active: false }),
    },
    {
      name: 'VAT rates',
      method: 'GET',
      url: () => '/admin/vat-rates',
      admin: { status: 200 },
      after: (t, _c, res) => t.match(text(res.body), /0 % actif .* 2,1 % actif .* 5,5 % actif .* 10 % actif .* 20 % actif/),
    },
    {
      name: 'add a VAT rate',
      method: 'POST',
      url: () => '/admin/vat-rates',
      form: () => ({ rate: '19,6' }),
      admin: { status: 303, location: '/admin/vat-rates' },
      after: (t, ctx) => t.same(activeRates(ctx.db), [0, 210, 550, 1000, 1960, 2000]),
    },
    {
      name: 'deactivate a VAT rate',
      method: 'POST',
      url: () => '/admin/vat-rates/210',
      form: () => ({ active: 'false' }),
      admin: { status: 303, location: '/admin/vat-rates' },
      after: (t, ctx) => t.same(activeRates(ctx.db), [0, 550, 1000, 2000]),
    },
  ];
  for (const route of routes) await t.test(route.name, (t) => adminOnly(t, route));
});

t.test('VAT rates: typed with a comma or a dot, shown in each language, reactivated', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get('/admin/vat-rates');
  const inputs: Array<[string, number]> = [
    ['8,5', 850],
    ['13.25', 1325],
    [' 7 % ', 700],
  ];
  for (const [rate, bp] of inputs) {
    await admin.get('/admin/vat-rates');
    t.equal((await admin.post('/admin/vat-rates', { rate })).statusCode, 303, rate);
    t.equal(count(ctx.db, 'vat_rates', 'rate_bp = ?', bp), 1, `${rate} is stored as ${bp}`);
  }
  let res = await admin.get('/admin/vat-rates');
  t.match(text(res.body), text(fr('vat.flash.added', { rate: '7\u00a0%' })));
  t.match(text(res.body), '13,25 %');

  await admin.post('/admin/vat-rates/850', { active: 'false' });
  res = await admin.get('/admin/vat-rates');
  t.match(text(res.body), text(fr('vat.flash.deactivated', { rate: '8,5\u00a0%' })));
  t.match(text(res.body), /8,5 % inactif Réactiver/);
  await admin.post('/admin/vat-rates/850', { active: 'true' });
  t.equal(count(ctx.db, 'vat_rates', 'rate_bp = 850 and active = 1'), 1);

  await admin.get('/admin/vat-rates');
  await admin.post('/lang', { locale: 'en', next: '/admin/vat-rates' });
  res = await admin.get('/admin/vat-rates');
  t.match(text(res.body), /5\.5% active .* 13\.25% active/);
});

t.test('bad VAT input: 422 and a clear message, nothing stored', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  const cases = [
    { label: 'empty', form: { rate: '' }, message: fr('error.required') },
    { label: 'words', form: { rate: 'twenty' }, message: fr('error.invalid_vat_rate'), echo: 'twenty' },
    { label: 'negative', form: { rate: '-5' }, message: fr('error.invalid_vat_rate') },
    { label: 'three decimals', form: { rate: '5,555' }, message: fr('error.invalid_vat_rate') },
    { label: 'above 100', form: { rate: '100,5' }, message: fr('error.vat_rate_range') },
    { label: 'absurd', form: { rate: '99999999' }, message: fr('error.invalid_vat_rate') },
    { label: 'hostile', form: { rate: HOSTILE.script }, message: fr('error.invalid_vat_rate'), echo: HOSTILE.script },
    { label: 'already there', form: { rate: '5.5' }, message: fr('error.vat_rate_exists', { rate: '5,5\u00a0%' }) },
    { label: 'two rates', form: { rate: ['5', '6'] }, message: fr('error.invalid_value') },
  ];
  for (const bad of cases) await expectRejected(t, ctx.db, admin, '/admin/vat-rates', bad, '/admin/vat-rates');

  // Toggling: a made-up value or an unknown rate changes nothing; the last active rate stays.
  for (const [url, form, status] of [
    ['/admin/vat-rates/550', { active: 'maybe' }, 422],
    ['/admin/vat-rates/550', {}, 422],
    ['/admin/vat-rates/700', { active: 'false' }, 404],
    ['/admin/vat-rates/10001', { active: 'false' }, 404],
    ['/admin/vat-rates/5.5', { active: 'false' }, 404],
    ['/admin/vat-rates/abc', { active: 'false' }, 404],
  ] as const) {
    await admin.get('/admin/vat-rates');
    const before = snapshot(ctx.db);
    t.equal((await admin.post(url, form)).statusCode, status, `${url} ${JSON.stringify(form)}`);
    t.equal(snapshot(ctx.db), before);
  }
  for (const bp of [0, 210, 550, 1000]) {
    await admin.get('/admin/vat-rates');
    await admin.post(`/admin/vat-rates/${bp}`, { active: 'false' });
  }
  await admin.get('/admin/vat-rates');
  const before = snapshot(ctx.db);
  const res = await admin.post('/admin/vat-rates/2000', { active: 'false' });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), fr('error.last_vat_rate'));
  t.equal(snapshot(ctx.db), before);
});

t.test('bad category input: 422, the same form, nothing stored', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get('/');
  await admin.post('/lang', { locale: 'en', next: '/' });
  const good = { nameFr: 'Champignons', nameEn: 'Mushrooms', position: '15' };
  const cases = [
    { label: 'no French name', form: { ...good, nameFr: '' }, message: en('error.required') },
    { label: 'no English name', form: { ...good, nameEn: ' ' }, message: en('error.required') },
    { label: 'too long', form: { ...good, nameEn: 'M'.repeat(61) }, message: en('error.too_long', { max: 60 }) },
    { label: 'hostile', form: { ...good, nameFr: HOSTILE.attr }, message: en('error.invalid_name'), echo: HOSTILE.attr },
    { label: 'negative position', form: { ...good, position: '-1' }, message: en('error.invalid_quantity'), echo: '-1' },
    { label: 'decimal position', form: { ...good, position: '2,5' }, message: en('error.invalid_quantity') },
    { label: 'absurd position', form: { ...good, position: '99999999' }, message: en('error.quantity_range') },
    { label: 'a French name already used', form: { ...good, nameFr: 'FRUITS' }, message: en('error.category_exists') },
    { label: 'an English name already used', form: { ...good, nameEn: 'eggs' }, message: en('error.category_exists') },
  ];
  for (const bad of cases) {
    await expectRejected(t, ctx.db, admin, '/admin/categories', bad, '/admin/categories');
    await expectRejected(t, ctx.db, admin, '/admin/categories/3', bad, '/admin/categories/3');
  }
  await admin.get('/admin/categories/3');
  t.equal((await admin.post('/admin/categories/3', { ...good, position: '' })).statusCode, 422, 'an edited category needs a position');
  // Unknown or malformed ids.
  for (const id of ['9999', 'abc', '0', '-2', '1.5']) {
    t.equal((await admin.get(`/admin/categories/${id}`)).statusCode, 404, `GET ${id}`);
    await admin.get('/admin/categories');
    const before = snapshot(ctx.db);
    t.equal((await admin.post(`/admin/categories/${id}`, { ...good, nameFr: 'Nouveau', nameEn: 'New' })).statusCode, 404, `POST ${id}`);
    t.equal(snapshot(ctx.db), before);
  }
});

t.test('reordering and deactivating show in the list; the form keeps a category’s own names', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  let res = await admin.get('/admin/categories/4');
  t.match(res.body, 'value="Œufs"');
  t.match(res.body, /name="active"[^>]*checked/);
  res = await admin.post('/admin/categories/4', { nameFr: 'Œufs', nameEn: 'Eggs', position: '1' });
  t.equal(res.statusCode, 303, 'saving with its own names is fine');
  res = await admin.get('/admin/categories');
  t.match(text(res.body), fr('categories.flash.saved', { name: 'Œufs', nameEn: 'Eggs' }));
  t.match(text(res.body), /Position Nom en français Nom en anglais Statut 1 Œufs Eggs inactive 10 Légumes/);
});
