import t, { type Test } from 'tap';
import { translator } from '../../src/i18n/index.js';
import { build, createAccount, loggedIn, text } from '../helper.js';
import { clientFor, count, createCast, decode, escapeHtml, expectRejected, HOSTILE, snapshot, unchanged, type Actor } from './route-helper.js';
import { addProducer, addProduct, categoryId, createProducers, PRODUCER_A, PRODUCER_B, productForm, productRow } from '../fixtures/catalog.js';

/*
 * The producer's catalog pages: who may see and change what (anonymous, member, producer A,
 * producer B, admin), the product form's rules and messages, archive, and the producer home.
 */

const fr = translator('fr');
const en = translator('en');

async function setUp(t: Test) {
  const built = await build(t);
  const ids = await createCast(built.db);
  const cast = await createProducers(built.db);
  const product = addProduct(built.db, cast.producerA, { name: 'Carottes de A' });
  return { ...built, ids, ...cast, product };
}

type Who = Actor | 'producerA' | 'producerB';

async function as(app: Parameters<typeof clientFor>[0], who: Who) {
  if (who === 'producerA') return loggedIn(app, PRODUCER_A).then(async (c) => (await c.get('/'), c));
  if (who === 'producerB') return loggedIn(app, PRODUCER_B).then(async (c) => (await c.get('/'), c));
  return clientFor(app, who);
}

t.test('every catalog route as anonymous, member, producer A, producer B and admin', async (t) => {
  const ctx = await setUp(t);
  const A = `/producer/${ctx.producerA}`;
  const P = `${A}/products/${ctx.product}`;
  const gets = [`${A}/products`, `${A}/products?show=archived`, `${A}/products/new`, `${P}/edit`, `${A}/products.csv`, `${A}/products/import`];
  const posts: Array<[string, Record<string, string>]> = [
    [`${A}/products`, productForm(ctx.db, { name: 'Intrus' })],
    [P, productForm(ctx.db, { name: 'Volé' })],
    [`${P}/archive`, {}],
    [`${P}/unarchive`, {}],
    [`${A}/products/import/confirm`, { csv: Buffer.from('name,category,unit,price,vat_rate\nIntrus,Légumes,bunch,2,5.5\n').toString('base64') }],
  ];
  const refused: Record<Who, number> = { anonymous: 403, pending: 403, member: 403, producer: 404, admin: 403, producerB: 404, producerA: 0 };
  for (const who of ['anonymous', 'member', 'producer', 'producerB', 'admin'] as Who[]) {
    const c = await as(ctx.app, who);
    for (const url of gets) {
      const res = await c.get(url);
      if (who === 'anonymous') t.equal(res.statusCode, 303, `${who} GET ${url}: log in first`);
      else t.equal(res.statusCode, refused[who], `${who} GET ${url}`);
      t.notMatch(res.body, 'Carottes de A', `${who} never sees A’s product`);
    }
    // A visitor sent to log in has a flash waiting; show it now so that it is not counted as a change.
    await c.get('/');
    for (const [url, form] of posts) {
      const before = snapshot(ctx.db);
      const res = await c.post(url, form);
      t.equal(res.statusCode, refused[who], `${who} POST ${url}`);
      t.equal(snapshot(ctx.db), before, `${who} POST ${url}: nothing changed`);
    }
  }
  // Producer A gets every page of its own catalog.
  const a = await as(ctx.app, 'producerA');
  for (const url of gets) t.equal((await a.get(url)).statusCode, 200, `A GET ${url}`);
});

t.test('producer B cannot reach A’s products through B’s own producer either', async (t) => {
  const ctx = await setUp(t);
  const b = await as(ctx.app, 'producerB');
  const B = `/producer/${ctx.producerB}`;
  const mine = addProduct(ctx.db, ctx.producerB, { name: 'Pommes de B' });
  t.equal((await b.get(`${B}/products`)).statusCode, 200);
  for (const url of [`${B}/products/${ctx.product}/edit`, `${B}/products/99999/edit`, `${B}/products/abc/edit`, `${B}/products/0/edit`]) {
    t.equal((await b.get(url)).statusCode, 404, `GET ${url}`);
  }
  await b.get(`${B}/products`);
  for (const url of [`${B}/products/${ctx.product}`, `${B}/products/${ctx.product}/archive`, `${B}/products/${ctx.product}/unarchive`]) {
    await unchanged(t, ctx.db, async () => t.equal((await b.post(url, productForm(ctx.db, { name: 'Volé' }))).statusCode, 404, `POST ${url}`));
  }
  // B's own product works, and a productId field in the form is ignored.
  const res = await b.post(`${B}/products/${mine}`, productForm(ctx.db, { name: 'Pommes reinettes', productId: String(ctx.product), producerId: String(ctx.producerA) }));
  t.equal(res.statusCode, 303);
  t.equal(productRow(ctx.db, mine)!.name, 'Pommes reinettes');
  t.equal(productRow(ctx.db, ctx.product)!.name, 'Carottes de A', 'A’s product is untouched');
  t.equal(count(ctx.db, 'products', 'producer_id = ?', ctx.producerA), 1);
});

t.test('an admin who is not linked to the producer is refused', async (t) => {
  const ctx = await setUp(t);
  // An admin who also holds the producer role still only sees the producers they manage.
  ctx.db.$client.prepare("insert into account_roles (account_id, role, granted_at) values (?, 'producer', 0)").run(ctx.ids.admin);
  const admin = await as(ctx.app, 'admin');
  t.equal((await admin.get(`/producer/${ctx.producerA}/products`)).statusCode, 404);
  await unchanged(t, ctx.db, async () => t.equal((await admin.post(`/producer/${ctx.producerA}/products/${ctx.product}/archive`)).statusCode, 404));
});

t.test('the producer home', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'none@carnet.test', roles: ['producer'] });
  const two = await createAccount(db, { email: 'two@carnet.test', roles: ['producer'], locale: 'en' });
  const one = await createAccount(db, { email: 'one@carnet.test', roles: ['producer'] });
  const solo = addProducer(db, 'Ferme Solo', one);
  addProducer(db, 'Ferme Une', two);
  const deux = addProducer(db, 'Ferme <Deux>', two);
  addProduct(db, deux, { name: 'X' });

  let c = await loggedIn(app, 'none@carnet.test');
  let res = await c.get('/producer');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), fr('catalog.none_title'), 'none: an admin must invite them');

  c = await loggedIn(app, 'one@carnet.test');
  res = await c.get('/producer');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/producer/${solo}/products`, 'one: straight to its catalogue');

  c = await loggedIn(app, 'two@carnet.test');
  res = await c.get('/producer');
  t.equal(res.statusCode, 200);
  t.match(res.body, `href="/producer/${deux}/products"`);
  t.match(res.body, `href="/producer/${deux}/cycles"`);
  t.match(res.body, escapeHtml('Ferme <Deux>'), 'names are escaped');
  t.match(text(res.body), en('catalog.counts', { active: '1', archived: '0' }));
});

t.test('listing, filters and the empty state', async (t) => {
  const ctx = await setUp(t);
  const a = await as(ctx.app, 'producerA');
  const B = `/producer/${ctx.producerB}/products`;
  const b = await as(ctx.app, 'producerB');
  let res = await b.get(B);
  t.match(text(res.body), fr('catalog.empty'), 'an empty catalogue says so');
  t.match(res.body, `href="${B}/new"`, 'with the next action');
  t.match(res.body, `href="${B}/import"`);
  t.match(res.body, `href="/producer/${ctx.producerB}/cycles"`, 'the producer menu links the weekly stock');

  addProduct(ctx.db, ctx.producerA, { name: 'Poulet fermier', weighed: 1, unit: 'piece', estimated_weight_grams: 1600, price_cents: 1290 });
  addProduct(ctx.db, ctx.producerA, { name: 'Ancien produit', active: 0 });
  addProduct(ctx.db, ctx.producerA, { name: 'Barquette', unit: 'custom', unit_label: 'barquette de 6', vat_rate_bp: 2000 });
  const A = `/producer/${ctx.producerA}/products`;
  res = await a.get(A);
  const body = text(res.body);
  t.ok(body.indexOf('Barquette') < body.indexOf('Ancien produit') && body.indexOf('Poulet') < body.indexOf('Ancien produit'), 'active first, archived last');
  t.match(body, '12,90 € / kg');
  t.match(body, 'environ 1,6 kg la pièce');
  t.match(body, 'barquette de 6');
  t.match(body, '20 %');
  t.match(body, '5,5 %');
  t.match(body, 'Légumes');
  t.match(res.body, 'class="table-scroll"');
  res = await a.get(`${A}?show=archived`);
  t.match(text(res.body), 'Ancien produit');
  t.notMatch(text(res.body), 'Barquette');
  res = await a.get(`${A}?show=active`);
  t.notMatch(text(res.body), 'Ancien produit');
  res = await a.get(`${A}?show=nonsense`);
  t.equal(res.statusCode, 200, 'an unknown filter shows everything');
  t.match(text(res.body), 'Ancien produit');
});

t.test('adding and editing a product, without JavaScript', async (t) => {
  const ctx = await setUp(t);
  const a = await as(ctx.app, 'producerA');
  const A = `/producer/${ctx.producerA}/products`;
  let res = await a.get(`${A}/new`);
  t.match(res.body, 'enctype="multipart/form-data"');
  t.match(res.body, '<option value="5.5" selected>5,5 %</option>', 'VAT rates as percentages, 5.5 % by default');
  t.match(res.body, '500 g');
  t.match(res.body, 'Légumes');

  res = await a.post(A, productForm(ctx.db, { name: 'Poulet fermier', price: '12,90', weighed: 'on', estimatedWeight: '1,6 kg', unit: 'kg', maxPerOrder: '2' }));
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, A);
  const id = (ctx.db.$client.prepare("select id from products where name = 'Poulet fermier'").get() as { id: number }).id;
  t.match(productRow(ctx.db, id), { producer_id: ctx.producerA, price_cents: 1290, weighed: 1, unit: 'piece', estimated_weight_grams: 1600, max_per_order: 2, vat_rate_bp: 550, active: 1 });
  res = await a.get(A);
  t.match(text(res.body), 'Produit « Poulet fermier » ajouté.');

  // The edit form shows the price back in French, and saving it unchanged changes nothing else.
  res = await a.get(`${A}/${id}/edit`);
  t.match(res.body, 'value="12,90"');
  t.match(res.body, 'value="1600"');
  t.match(res.body, /name="weighed"[^>]*checked/);
  res = await a.post(`${A}/${id}`, productForm(ctx.db, { name: 'Poulet fermier', price: '13.50', weighed: 'on', estimatedWeight: '1800', maxPerOrder: '' }));
  t.equal(res.statusCode, 303);
  t.match(productRow(ctx.db, id), { price_cents: 1350, estimated_weight_grams: 1800, max_per_order: null });

  // Archive and bring back.
  await a.get(A);
  res = await a.post(`${A}/${id}/archive`);
  t.equal(res.statusCode, 303);
  t.equal(productRow(ctx.db, id)!.active, 0);
  await a.get(A);
  res = await a.post(`${A}/${id}/unarchive`);
  t.equal(productRow(ctx.db, id)!.active, 1);

  // In English the price comes back with a dot.
  const en = await loggedIn(ctx.app, PRODUCER_A, { 'accept-language': 'en' });
  await en.post('/lang', { locale: 'en', next: '/' });
  res = await en.get(`${A}/${id}/edit`);
  t.match(res.body, 'value="13.50"');
});

t.test('bad input is refused with clear messages, nothing stored, values echoed escaped', async (t) => {
  const ctx = await setUp(t);
  const a = await as(ctx.app, 'producerA');
  const A = `/producer/${ctx.producerA}/products`;
  const form = (o: Record<string, string>) => productForm(ctx.db, o);
  const cases = [
    { label: 'empty name', form: form({ name: '' }), message: fr('error.required') },
    { label: 'name too long', form: form({ name: 'x'.repeat(101) }), message: fr('error.too_long', { max: 100 }) },
    { label: 'hostile name', form: form({ name: 'ok', price: HOSTILE.script }), message: fr('error.too_long', { max: 20 }), echo: HOSTILE.script },
    { label: 'zero price', form: form({ price: '0' }), message: fr('error.price_range'), echo: '0' },
    { label: 'negative price', form: form({ price: '-2,50' }), message: fr('error.price_range'), echo: '-2,50' },
    { label: 'absurd price', form: form({ price: '100 000,01' }), message: fr('error.price_range') },
    { label: 'text price', form: form({ price: 'deux euros' }), message: fr('error.invalid_price'), echo: 'deux euros' },
    { label: 'unknown category', form: form({ categoryId: '99999' }), message: fr('error.invalid_choice') },
    { label: 'unknown unit', form: form({ unit: 'tonne' }), message: fr('error.invalid_choice') },
    { label: 'custom unit without label', form: form({ unit: 'custom' }), message: fr('error.catalog.unit_label_required') },
    { label: 'unit label too long', form: form({ unit: 'custom', unitLabel: 'x'.repeat(31) }), message: fr('error.too_long', { max: 30 }) },
    { label: 'VAT not in the list', form: form({ vatRate: '7' }), message: fr('error.catalog.invalid_vat') },
    { label: 'max per order zero', form: form({ maxPerOrder: '0' }), message: fr('error.catalog.max_range') },
    { label: 'max per order negative', form: form({ maxPerOrder: '-1' }), message: fr('error.catalog.max_range') },
    { label: 'max per order absurd', form: form({ maxPerOrder: '100001' }), message: fr('error.catalog.max_range') },
    { label: 'weighed without weight', form: form({ weighed: 'on' }), message: fr('error.catalog.weight_required') },
    { label: 'weighed zero weight', form: form({ weighed: 'on', estimatedWeight: '0' }), message: fr('error.catalog.weight_range') },
    { label: 'weighed over 100 kg', form: form({ weighed: 'on', estimatedWeight: '150 kg' }), message: fr('error.catalog.weight_range'), echo: '150 kg' },
    { label: 'attribute injection in description', form: form({ name: '', description: HOSTILE.attr }), message: fr('error.required'), echo: HOSTILE.attr },
    { label: 'a price sent twice', form: { ...form({}), price: ['1', '2'] }, message: fr('error.invalid_value') },
  ];
  for (const bad of cases) {
    await expectRejected(t, ctx.db, a, A, bad, `${A}/new`);
    await expectRejected(t, ctx.db, a, `${A}/${ctx.product}`, bad, `${A}/${ctx.product}/edit`);
  }
  // The error page keeps the form usable: aria-invalid on the field, the field's message next to it.
  const res = await a.post(A, form({ price: '0' }));
  t.match(res.body, /id="f-price"[^>]*aria-invalid="true"/);
  t.match(decode(res.body), fr('form.errors_title'));
});

t.test('a category or VAT rate retired by an admin stays on the product until changed', async (t) => {
  const ctx = await setUp(t);
  const a = await as(ctx.app, 'producerA');
  const veg = categoryId(ctx.db, 'Légumes');
  ctx.db.$client.prepare('update categories set active = 0 where id = ?').run(veg);
  const A = `/producer/${ctx.producerA}/products`;
  let res = await a.get(`${A}/${ctx.product}/edit`);
  t.match(res.body, `<option value="${veg}" selected>Légumes</option>`);
  res = await a.post(`${A}/${ctx.product}`, productForm(ctx.db, { name: 'Carottes de A' }));
  t.equal(res.statusCode, 303, 'saving an old product keeps working');
  res = await a.get(`${A}/new`);
  t.notMatch(res.body, `<option value="${veg}"`, 'a new product cannot pick it');
  await expectRejected(t, ctx.db, a, A, { label: 'retired category', form: productForm(ctx.db, { name: 'Neuf' }), message: fr('error.invalid_choice') }, `${A}/new`);
});
