import t, { type Test } from 'tap';
import { build, createAccount, loggedIn, text } from '../helper.js';
import { accountId, clientFor, count, createCast, decode, escapeHtml, snapshot } from './route-helper.js';
import { basketQuantity, buildShopFixture } from './shop-fixture.js';

/*
 * The basket: adding, changing and removing with plain forms (303) and with htmx (fragments),
 * refused quantities (422, nothing stored), the basket page with its totals, problems and
 * distribution choice, and member B never reaching member A's basket.
 */

const HTMX = (target: string) => ({ 'hx-request': 'true', 'hx-target': target });
/** What htmx sends when a line's button in the shop is pressed (its name is "offer"). */
const HTMX_LINE = { 'hx-request': 'true', 'hx-trigger-name': 'offer' };
/** The shop's one form as a browser sends it when a line's button is pressed: the button, and every line's field. */
const shopForm = (offer: number, quantity: string | string[], others: Record<string, string> = {}, extra: Record<string, string> = {}) => ({
  ...others,
  [`qty[${offer}]`]: quantity,
  offer: String(offer),
  ...extra,
});
const field = (offer: number) => `name="qty\\[${offer}\\]"`;

/** A fresh app with the cast and the shop fixture, and the member's client. */
async function memberInShop(t: Test, headers: Record<string, string> = {}) {
  const { app, db } = await build(t);
  const ids = await createCast(db);
  const f = buildShopFixture(db);
  const c = await clientFor(app, 'member', headers);
  return { app, db, ids, f, c, shop: `/shop/${f.open}` };
}

t.test('without JavaScript: add, change, remove, and back to where the form was', async (t) => {
  const { db, ids, f, c, shop } = await memberInShop(t);
  let res = await c.get(shop);
  // One form around every line, with one CSRF token for the page.
  const form = res.body.slice(res.body.indexOf(`<form method="post" action="${shop}/basket"`));
  t.ok(form.length < res.body.length, 'the page form');
  t.equal(form.slice(0, form.indexOf('</form>')).split('name="_csrf"').length - 1, 1, 'one token, not one per line');
  // The form holds every line's field: only the pressed button's offer changes.
  const everyLine = { [`qty[${f.offers.leeks}]`]: '5', [`qty[${f.offers.tomme}]`]: '3', [`qty[${f.offers.eggs}]`]: '1' };
  res = await c.post(`${shop}/basket`, shopForm(f.offers.carrots, '2', everyLine));
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, shop);
  t.equal(basketQuantity(db, ids.member, f.offers.carrots), 2);
  for (const other of [f.offers.leeks, f.offers.tomme, f.offers.eggs]) t.equal(basketQuantity(db, ids.member, other), undefined, 'the other lines’ fields are ignored');
  res = await c.get(shop);
  t.match(text(res.body), 'Carottes : 2 dans votre panier.', 'a flash says so');
  t.match(res.body, new RegExp(`${field(f.offers.carrots)}[^>]*value="2"`), 'the field shows the quantity in the basket');

  res = await c.post(`${shop}/basket`, shopForm(f.offers.carrots, '3', everyLine, { next: `${shop}?q=car` }));
  t.equal(res.headers.location, `${shop}?q=car`, 'back to the filtered page');
  t.equal(basketQuantity(db, ids.member, f.offers.carrots), 3);
  for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
    res = await c.post(`${shop}/basket`, shopForm(f.offers.leeks, '1', {}, { next }));
    t.equal(res.headers.location, shop, `${next}: only a same-site path`);
  }
  t.equal(basketQuantity(db, ids.member, f.offers.leeks), 1);

  // No offer named (Enter in a field, or a hand-made request): 422, nothing stored.
  await c.get(shop);
  let before = snapshot(db);
  for (const offer of [undefined, '', 'abc', '0']) {
    const body: Record<string, string> = { [`qty[${f.offers.eggs}]`]: '1' };
    if (offer !== undefined) body.offer = offer;
    res = await c.post(`${shop}/basket`, body);
    t.equal(res.statusCode, 422, `offer=${offer}: 422`);
    t.match(text(res.body), 'Ce produit n’est plus proposé dans cette vente.');
  }
  t.equal(snapshot(db), before, 'nothing stored');
  // Without the page's token: 403, nothing stored.
  before = snapshot(db);
  res = await c.post(`${shop}/basket`, shopForm(f.offers.eggs, '1', {}, { _csrf: '' }));
  t.equal(res.statusCode, 403, 'no token: 403');
  res = await c.post(`${shop}/basket`, shopForm(f.offers.eggs, '1', {}, { _csrf: 'x'.repeat(43) }));
  t.equal(res.statusCode, 403, 'a wrong token: 403');
  t.equal(snapshot(db), before, 'nothing stored');

  // The basket page's forms post a line's quantity to the offer's own URL.
  res = await c.post(`${shop}/basket/${f.offers.carrots}`, { quantity: '0', next: `${shop}/basket` });
  t.equal(res.headers.location, `${shop}/basket`);
  t.equal(basketQuantity(db, ids.member, f.offers.carrots), undefined, '0 removes');
  res = await c.get(`${shop}/basket`);
  t.match(text(res.body), 'Carottes retiré de votre panier.');
});

t.test('with htmx: the line and the basket total are swapped in place', async (t) => {
  const { db, ids, f, c, shop } = await memberInShop(t);
  let res = await c.get(shop);
  // The form sets the target and swap once; each line's button posts to its offer's own URL.
  t.match(res.body, new RegExp(`<form method="post" action="${shop}/basket" novalidate hx-boost="false" hx-target="closest li" hx-swap="outerHTML">`));
  t.match(res.body, `<button name="offer" value="${f.offers.tomme}" hx-post="${shop}/basket/${f.offers.tomme}" aria-describedby="n${f.offers.tomme}">Ajouter</button>`);
  t.match(res.body, '<script src="/static/js/shop.js" defer></script>', 'the script that sends only the line’s own field');
  // htmx sends the page's token in a header (set on <main>), and with static/js/shop.js only the line's field.
  const token = { _csrf: '' };
  const header = () => ({ ...HTMX_LINE, 'x-csrf-token': c.csrf });
  res = await c.post(`${shop}/basket/${f.offers.tomme}`, { ...token, [`qty[${f.offers.tomme}]`]: '2' }, header());
  t.equal(res.statusCode, 200);
  t.equal(res.headers['hx-push-url'], 'false', 'the address bar keeps the shop');
  t.notMatch(res.body, '<html', 'a fragment, not a page');
  t.match(res.body, /^\s*<li><a href=/, 'the line');
  t.match(res.body, new RegExp(`${field(f.offers.tomme)}[^>]*value="2"`));
  t.match(text(res.body), '2 dans mon panier');
  t.match(res.body, '<aside id="basket-summary" class="basket-summary" aria-live="polite" hx-swap-oob="true">');
  t.match(text(res.body), 'Mon panier : 2 articles, 36,80 €', 'weighed: 2 × ≈ 18,40 €');
  t.match(res.body, /<span id="nav-basket-count" hx-swap-oob="true"> <span class="badge">2/);
  t.equal(basketQuantity(db, ids.member, f.offers.tomme), 2);

  // Without shop.js htmx sends the whole form: the URL's offer and its field only count.
  res = await c.post(`${shop}/basket/${f.offers.eggs}`, { ...token, ...shopForm(f.offers.eggs, '2', { [`qty[${f.offers.leeks}]`]: '4' }) }, header());
  t.equal(res.statusCode, 200);
  t.equal(basketQuantity(db, ids.member, f.offers.eggs), 2);
  t.equal(basketQuantity(db, ids.member, f.offers.leeks), undefined, 'another line’s field is ignored');

  // Refused: 422 with the line and its message, nothing stored.
  const before = snapshot(db);
  res = await c.post(`${shop}/basket/${f.offers.carrots}`, { ...token, [`qty[${f.offers.carrots}]`]: '5' }, header());
  t.equal(res.statusCode, 422);
  t.equal(snapshot(db), before);
  t.match(text(res.body), 'Il n’en reste que 3.');
  t.match(res.body, new RegExp(`${field(f.offers.carrots)}[^>]*value="5"[^>]*aria-invalid="true" aria-describedby="e${f.offers.carrots}"`));
  t.match(res.body, `<small id="e${f.offers.carrots}" class="field-error" role="alert">`);
  // Without the token (neither header nor field): 403, nothing stored.
  res = await c.post(`${shop}/basket/${f.offers.tomme}`, { ...token, [`qty[${f.offers.tomme}]`]: '1' }, HTMX_LINE);
  t.equal(res.statusCode, 403);
  t.equal(snapshot(db), before);

  // From the basket page, the basket section is the fragment.
  res = await c.post(`${shop}/basket/${f.offers.tomme}`, { quantity: '1', next: `${shop}/basket` }, HTMX('basket'));
  t.equal(res.statusCode, 200);
  t.match(res.body, /^\s*<div id="basket">/);
  t.match(text(res.body), 'Total TTC 22,60 €', 'Tomme 18,40 € and the eggs added above');
  t.match(res.body, 'hx-swap-oob="true"');
  t.notMatch(res.body, '<html');
  res = await c.post(`${shop}/basket/${f.offers.tomme}`, { quantity: 'x', next: `${shop}/basket` }, HTMX('basket'));
  t.equal(res.statusCode, 422);
  t.match(text(res.body), 'Indiquez un nombre entier');
  await c.post(`${shop}/basket/${f.offers.eggs}`, { quantity: '0' }, HTMX('basket'));
  res = await c.post(`${shop}/basket/${f.offers.tomme}`, { quantity: '0' }, HTMX('basket'));
  t.match(text(res.body), 'Votre panier est vide.', 'the last line removed: the empty state');

  // A boosted form (htmx aiming at the whole page) gets the plain answer.
  res = await c.post(`${shop}/basket/${f.offers.leeks}`, { quantity: '1' }, { 'hx-request': 'true', 'hx-boosted': 'true' });
  t.equal(res.statusCode, 303);
});

t.test('refused quantities: 422, the same page with the message, nothing stored', async (t) => {
  const { db, f, c, shop } = await memberInShop(t, { 'accept-language': 'fr' });
  const cases: Array<{ label: string; offer: number; quantity: string | string[]; message: string }> = [
    { label: 'empty', offer: f.offers.leeks, quantity: '', message: 'Ce champ est obligatoire.' },
    { label: 'letters', offer: f.offers.leeks, quantity: 'abc', message: 'Indiquez un nombre entier d’unités (0 retire le produit).' },
    { label: 'negative', offer: f.offers.leeks, quantity: '-1', message: 'Indiquez un nombre entier d’unités' },
    { label: 'a decimal', offer: f.offers.leeks, quantity: '1.5', message: 'Indiquez un nombre entier d’unités' },
    { label: 'a comma decimal', offer: f.offers.leeks, quantity: '2,5', message: 'Indiquez un nombre entier d’unités' },
    { label: 'absurd', offer: f.offers.leeks, quantity: '99999999', message: 'Indiquez un nombre entier d’unités' },
    { label: 'above what is unlimited allows', offer: f.offers.leeks, quantity: '100001', message: 'Indiquez un nombre entier d’unités' },
    { label: 'sent twice', offer: f.offers.leeks, quantity: ['1', '2'], message: 'Indiquez un nombre entier d’unités' },
    { label: 'hostile', offer: f.offers.leeks, quantity: '<script>alert(1)</script>', message: 'Indiquez un nombre entier d’unités' },
    { label: 'more than is left', offer: f.offers.carrots, quantity: '4', message: 'Il n’en reste que 3.' },
    { label: 'sold out', offer: f.offers.asparagus, quantity: '1', message: 'Épuisé : il n’en reste plus.' },
    { label: 'above the maximum per order', offer: f.offers.eggs, quantity: '3', message: '2 au maximum par commande.' },
    { label: 'a draft offer', offer: f.offers.draft, quantity: '1', message: 'Ce produit n’est plus proposé dans cette vente.' },
    { label: 'another sale’s offer', offer: f.offers.closedOffer, quantity: '1', message: 'Ce produit n’est plus proposé dans cette vente.' },
  ];
  for (const bad of cases) {
    await c.get(shop);
    const before = snapshot(db);
    // Sent by the shop's one form, as a browser without JavaScript does.
    const res = await c.post(`${shop}/basket`, shopForm(bad.offer, bad.quantity, { [`qty[${f.offers.tomme}]`]: '1' }));
    t.equal(res.statusCode, 422, `${bad.label}: 422`);
    t.equal(snapshot(db), before, `${bad.label}: nothing stored`);
    t.ok(decode(res.body).includes(bad.message), `${bad.label}: says "${bad.message}"`);
    t.match(res.body, '<h1>Vente de la semaine</h1>', `${bad.label}: the shop page again`);
    t.notMatch(res.body, '<script>alert(1)</script>', `${bad.label}: no raw markup`);
    if (typeof bad.quantity === 'string' && bad.quantity && ![f.offers.draft, f.offers.closedOffer, f.offers.asparagus].includes(bad.offer)) {
      t.ok(res.body.includes(`value="${escapeHtml(bad.quantity)}"`), `${bad.label}: the value is echoed, escaped`);
    }
  }
  // From the basket page, the basket page comes back with the message.
  await c.post(`${shop}/basket/${f.offers.carrots}`, { quantity: '1' });
  await c.get(`${shop}/basket`);
  let res = await c.post(`${shop}/basket/${f.offers.carrots}`, { quantity: '9', next: `${shop}/basket` });
  t.equal(res.statusCode, 422);
  t.match(res.body, '<div id="basket">');
  t.match(text(res.body), 'Il n’en reste que 3.');
  t.match(res.body, new RegExp(`id="bq-${f.offers.carrots}"[^>]*value="9"[^>]*aria-invalid="true"`));
  // From the detail page, the detail page.
  res = await c.post(`${shop}/basket/${f.offers.eggs}`, { quantity: '5', next: `${shop}/offers/${f.offers.eggs}` });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), 'De Chèvrerie du Marais');
  t.match(text(res.body), '2 au maximum par commande.');
  // A filtered shop keeps its filter.
  res = await c.post(`${shop}/basket/${f.offers.eggs}`, { quantity: '5', next: `${shop}?producer=${f.producers.dairy}` });
  t.equal(res.statusCode, 422);
  t.notMatch(res.body, '>Carottes</a>');
  t.match(res.body, '>Œufs</a>');
});

t.test('the basket page: lines, totals, VAT, problems, distribution, the place-order form', async (t) => {
  const { app, db, ids, f, c, shop } = await memberInShop(t);
  let res = await c.get(`${shop}/basket`);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Votre panier est vide.');
  t.match(res.body, `<a href="${shop}" role="button">Aller à la boutique</a>`);
  t.notMatch(res.body, `action="${shop}/order"`, 'nothing to order');

  await c.post(`${shop}/basket/${f.offers.carrots}`, { quantity: '2' });
  await c.post(`${shop}/basket/${f.offers.tomme}`, { quantity: '1' });
  await c.post(`${shop}/basket/${f.offers.eggs}`, { quantity: '2' });
  res = await c.get(`${shop}/basket`);
  t.equal(res.statusCode, 200);
  let page = text(res.body);
  t.match(page, 'Carottes Ferme des Épis 2,40 € le kg');
  t.match(page, 'Tomme Chèvrerie du Marais ≈ 18,40 € la pièce ≈ 1,6 kg, 11,50 €/kg');
  t.match(page, 'Total TTC 27,40 €');
  t.match(page, 'dont TVA 5,5 % sur 27,40 € 1,43 €');
  t.match(page, 'Estimé : les produits pesés sont facturés au poids réel, au retrait.');
  t.match(page, 'Halle Nord');
  t.match(page, '3 place du Marché');
  t.match(page, 'Sonnez deux fois');
  t.match(page, /Marché du port — \d+ \S+ \d{4}, \d\d:\d\d–\d\d:\d\d/);
  // The place-order form (views/orders/_place-form.eta) with a fresh token.
  t.match(res.body, `<form method="post" action="${shop}/order"`);
  t.match(res.body, /name="token" value="[A-Za-z0-9_-]{16,}"/);
  t.match(res.body, /<select id="place-distribution" name="distributionId"/, 'no distribution chosen yet: the form asks');

  res = await c.post(`${shop}/distribution`, { distributionId: String(f.dists.market) });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `${shop}/basket`);
  res = await c.get(res.headers.location as string);
  t.match(res.body, new RegExp(`<input type="radio" name="distributionId" value="${f.dists.market}" checked`));
  t.match(res.body, `<input type="hidden" name="distributionId" value="${f.dists.market}">`, 'the place-order form sends the chosen one');
  t.match(text(res.body), 'Retrait choisi : Marché du port.');

  // Another sale's distribution, or nonsense: 422, nothing stored.
  for (const bad of [String(f.dists.closedDist), '999999', 'abc', '']) {
    const before = snapshot(db);
    res = await c.post(`${shop}/distribution`, { distributionId: bad });
    t.equal(res.statusCode, 422, `distribution ${bad || '(empty)'}: 422`);
    t.equal(snapshot(db), before);
    t.match(text(res.body), 'Choisissez l’un des retraits de cette vente.');
  }
  res = await c.post(`${shop}/distribution`, { distributionId: String(f.dists.halle) }, HTMX('basket'));
  t.equal(res.statusCode, 200);
  t.match(res.body, /^\s*<div id="basket">/);
  t.match(text(res.body), 'Retrait choisi : Halle Nord.');

  // Stock taken by others since: the page warns, line by line.
  db.$client.prepare('update offers set quantity_taken = 9 where id = ?').run(f.offers.carrots);
  db.$client.prepare('update offers set published = 0 where id = ?').run(f.offers.eggs);
  res = await c.get(`${shop}/basket`);
  page = text(res.body);
  t.match(page, 'Des produits ont changé depuis votre ajout');
  t.match(page, 'Il n’en reste que 1 : baissez la quantité.');
  t.match(page, 'N’est plus proposé : cette ligne ne sera pas commandée. Retirez-la.');
  db.$client.prepare('update offers set quantity_taken = 10 where id = ?').run(f.offers.carrots);
  t.match(text((await c.get(`${shop}/basket`)).body), 'Épuisé depuis votre ajout');
  // It can still be lowered and removed.
  res = await c.post(`${shop}/basket/${f.offers.eggs}`, { quantity: '0', next: `${shop}/basket` });
  t.equal(res.statusCode, 303);
  t.equal(basketQuantity(db, ids.member, f.offers.eggs), undefined);

  // The basket is in the database: another device (a new login) finds it.
  const phone = await loggedIn(app, 'member@carnet.test');
  t.match(text((await phone.get(`${shop}/basket`)).body), 'Tomme');
});

t.test('member B can neither see nor change member A’s basket', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  await createAccount(db, { email: 'ana@carnet.test', name: 'Ana' });
  await createAccount(db, { email: 'bob@carnet.test', name: 'Bob' });
  const ana = accountId(db, 'ana@carnet.test');
  const bob = accountId(db, 'bob@carnet.test');
  const a = await loggedIn(app, 'ana@carnet.test');
  const b = await loggedIn(app, 'bob@carnet.test');
  const shop = `/shop/${f.open}`;
  await a.get(shop);
  await a.post(`${shop}/basket/${f.offers.carrots}`, { quantity: '2' });
  await a.post(`${shop}/basket/${f.offers.tomme}`, { quantity: '1' });
  await a.post(`${shop}/distribution`, { distributionId: String(f.dists.halle) });
  const anaRows = () => db.$client.prepare('select * from basket_items where account_id = ? order by offer_id').all(ana);
  const anaBasket = () => db.$client.prepare('select * from baskets where account_id = ?').all(ana);
  const before = [JSON.stringify(anaRows()), JSON.stringify(anaBasket())];

  // Bob's basket page shows Bob's basket: there is no basket id to guess.
  await b.get(shop);
  let res = await b.get(`${shop}/basket`);
  t.match(text(res.body), 'Votre panier est vide.');
  t.notMatch(text(res.body), 'Tomme');
  res = await b.get(`${shop}/basket?account=${ana}&accountId=${ana}`);
  t.match(text(res.body), 'Votre panier est vide.', 'an account in the query is ignored');

  // Posting to the offers Ana has in her basket changes Bob's basket only, whatever the form says.
  res = await b.post(`${shop}/basket/${f.offers.carrots}`, { quantity: '0', accountId: String(ana) });
  t.equal(res.statusCode, 303);
  res = await b.post(`${shop}/basket/${f.offers.tomme}`, { quantity: '3', accountId: String(ana), account: String(ana) });
  t.equal(res.statusCode, 303);
  res = await b.post(`${shop}/distribution`, { distributionId: String(f.dists.market), accountId: String(ana) });
  t.equal(res.statusCode, 303);
  t.same([JSON.stringify(anaRows()), JSON.stringify(anaBasket())], before, 'Ana’s basket is untouched');
  t.equal(basketQuantity(db, bob, f.offers.tomme), 3, 'Bob’s basket changed');
  t.equal(basketQuantity(db, bob, f.offers.carrots), undefined);
  t.equal(count(db, 'baskets', 'account_id = ? and distribution_id = ?', bob, f.dists.market), 1);

  res = await a.get(`${shop}/basket`);
  t.match(text(res.body), 'Carottes');
  t.match(text(res.body), 'Retrait choisi : Halle Nord.');
  t.notMatch(res.body, /id="bq-\d+"[^>]*value="3"/, 'Ana does not see Bob’s quantity');
});

t.test('who may fill a basket, and a sale that closed', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const shop = `/shop/${f.open}`;
  const pending = await clientFor(app, 'pending');
  await pending.get(shop);
  for (const [url, form] of [
    [`${shop}/basket/${f.offers.leeks}`, { quantity: '1' }],
    [`${shop}/distribution`, { distributionId: String(f.dists.halle) }],
  ] as const) {
    const before = snapshot(db);
    const res = await pending.post(url, form);
    t.equal(res.statusCode, 403, `pending: ${url}`);
    t.equal(snapshot(db), before);
  }
  await createAccount(db, { email: 'grower@carnet.test', roles: ['producer'] });
  const grower = await loggedIn(app, 'grower@carnet.test');
  await grower.get(shop);
  t.equal((await grower.post(`${shop}/basket/${f.offers.leeks}`, { quantity: '1' })).statusCode, 403, 'not a member');

  const c = await clientFor(app, 'member');
  await c.get(shop);
  await c.post(`${shop}/basket/${f.offers.leeks}`, { quantity: '1' });
  db.$client.prepare("update cycles set status = 'closed' where id = ?").run(f.open);
  const before = snapshot(db);
  for (const [url, form] of [
    [`${shop}/basket/${f.offers.leeks}`, { quantity: '2' }],
    [`${shop}/distribution`, { distributionId: String(f.dists.halle) }],
    [`/shop/${f.closed}/basket/${f.offers.closedOffer}`, { quantity: '1' }],
  ] as const) {
    const res = await c.post(url, form);
    t.equal(res.statusCode, 404, `closed: ${url}`);
  }
  const after = JSON.parse(snapshot(db));
  const was = JSON.parse(before);
  for (const table of Object.keys(after)) if (table !== 'sessions') t.same(after[table], was[table], `${table} unchanged`);
  t.equal((await c.get(`${shop}/basket`)).statusCode, 404, 'a closed sale’s basket: the order is under /orders');
  t.equal(count(db, 'basket_items', 'cycle_id = ?', f.open), 1);
});
