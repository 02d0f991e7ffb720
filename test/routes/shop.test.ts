import t from 'tap';
import { build, createAccount, loggedIn, text } from '../helper.js';
import { clientFor, count, createCast, decode, escapeHtml, HOSTILE } from './route-helper.js';
import { buildShopFixture } from './shop-fixture.js';
import { chooseDistribution, setBasketQuantity } from '../../src/domain/basket.js';
import { placeOrder } from '../../src/domain/orders.js';

/*
 * The shop pages: which sale /shop leads to, the shop of an open sale (offers, what is left,
 * prices, search and filters), an offer's detail, who may browse (members, pending members,
 * visitors when the coop allows it) and a sale that is not open.
 */

t.test('/shop leads to the open sale, lists several, or says when the next one opens', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const c = await clientFor(app, 'member');
  let res = await c.get('/shop');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Aucune vente n’est ouverte en ce moment.');
  t.match(text(res.body), 'Aucune vente n’est encore prévue');

  const f = buildShopFixture(db);
  res = await c.get('/shop');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/shop/${f.open}`);

  db.$client.prepare("update cycles set status = 'scheduled' where id = ?").run(f.open);
  res = await c.get('/shop');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), /La prochaine vente, Vente (de la semaine|suivante), ouvre le/);

  db.$client.prepare("update cycles set status = 'open' where id in (?, ?)").run(f.open, f.scheduled);
  res = await c.get('/shop');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Plusieurs ventes sont ouvertes');
  t.match(res.body, `href="/shop/${f.open}"`);
  t.match(res.body, `href="/shop/${f.scheduled}"`);
});

t.test('the shop page: offers by category and producer, prices, what is left', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const c = await clientFor(app, 'member');
  const res = await c.get(`/shop/${f.open}`);
  t.equal(res.statusCode, 200);
  const page = text(res.body);
  // Categories in their order, then producers, then products.
  const order = ['Légumes frais', 'Ferme des Épis', 'Asperges', 'Carottes', 'Poireaux', 'Fromages', 'Chèvrerie du Marais', 'Tomme', 'Œufs'];
  const listed = text(res.body.slice(res.body.indexOf('<section class="shop-category"')));
  const positions = order.map((s) => listed.indexOf(s));
  t.notOk(positions.includes(-1), 'all listed');
  t.same(positions, [...positions].sort((a, b) => a - b), 'grouped by category, then producer, then name');
  t.match(page, 'Carottes 2,40 € le kg Reste 3');
  t.match(page, 'Poireaux 2,90 € la botte');
  t.match(page, 'Asperges 6,50 € la botte Épuisé');
  t.match(page, 'Tomme ≈ 18,40 € la pièce ≈ 1,6 kg, 11,50 €/kg Reste 6');
  t.match(page, 'Œufs 2,10 € la demi-douzaine Reste 30 · max. 2 par commande');
  t.notMatch(page, 'Brouillon', 'a draft offer is not shown');
  t.notMatch(page, 'Ancien', 'nor another sale’s');
  // One form around the offers; each offer that can be ordered has its field and button, a sold-out one neither.
  t.match(res.body, `<form method="post" action="/shop/${f.open}/basket"`);
  t.match(res.body, `<input name="qty[${f.offers.carrots}]" type="number" min="0" max="3" value="1" aria-labelledby="ql n${f.offers.carrots}">`);
  t.match(res.body, `<input name="qty[${f.offers.eggs}]" type="number" min="0" max="2"`, 'the maximum per order caps the field');
  t.match(res.body, `<button name="offer" value="${f.offers.carrots}" hx-post="/shop/${f.open}/basket/${f.offers.carrots}" aria-describedby="n${f.offers.carrots}">Ajouter</button>`);
  t.notMatch(res.body, `name="qty[${f.offers.asparagus}]"`);
  t.notMatch(res.body, `value="${f.offers.asparagus}"`);
  // Each field is labelled "Quantité" and the product's name.
  t.match(res.body, '<span id="ql" hidden>Quantité</span>');
  t.match(res.body, `<a href="/shop/${f.open}/offers/${f.offers.carrots}" id="n${f.offers.carrots}">Carottes</a>`);
  t.match(res.body, /<li class="sold-out"><a [^>]*>Asperges<\/a>/, 'a sold-out line is marked');
  t.match(res.body, 'id="basket-summary"');
  t.match(page, 'Votre panier est vide.');
  t.match(res.body, /href="\/shop"[^>]*aria-current="page">Boutique/, 'the header links to the shop');

  const en = await clientFor(app, 'producer', { 'accept-language': 'en' });
  await en.post('/lang', { locale: 'en', next: '/' });
  const english = text((await en.get(`/shop/${f.open}`)).body);
  t.match(english, 'Fresh vegetables');
  t.match(english, '€2.40 per kg 3 left');
  t.match(english, 'Sold out');
  t.match(english, '≈ €18.40 each ≈ 1.6 kg, €11.50/kg');
});

t.test('search and filters', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const c = await clientFor(app, 'member');
  const names = async (query: string) => {
    const res = await c.get(`/shop/${f.open}${query}`);
    t.equal(res.statusCode, 200, `${query}: 200`);
    return ['Carottes', 'Poireaux', 'Asperges', 'Tomme', 'Œufs'].filter((n) => res.body.includes(`>${n}</a>`));
  };
  const cases: Array<[string, string[]]> = [
    ['', ['Carottes', 'Poireaux', 'Asperges', 'Tomme', 'Œufs']],
    ['?q=carottes', ['Carottes']],
    ['?q=CAROTTES', ['Carottes']],
    ['?q=oeufs', []],
    ['?q=%C5%93ufs', ['Œufs']],
    ['?q=epis', ['Carottes', 'Poireaux', 'Asperges']],
    ['?q=croquantes', ['Carottes']],
    [`?category=${f.categories.cheese}`, ['Tomme', 'Œufs']],
    [`?producer=${f.producers.farm}`, ['Carottes', 'Poireaux', 'Asperges']],
    [`?category=${f.categories.veg}&producer=${f.producers.dairy}`, []],
    [`?q=tomme&category=${f.categories.cheese}`, ['Tomme']],
    ['?category=abc&producer=-1', ['Carottes', 'Poireaux', 'Asperges', 'Tomme', 'Œufs']],
    ['?category=&producer=&q=', ['Carottes', 'Poireaux', 'Asperges', 'Tomme', 'Œufs']],
  ];
  for (const [query, want] of cases) t.same(await names(query), want, query || 'no filter');

  let res = await c.get(`/shop/${f.open}?q=zzz`);
  t.match(text(res.body), 'Aucun produit ne correspond à cette recherche.');
  t.match(text(res.body), '0 produits sur 5');
  res = await c.get(`/shop/${f.open}?category=${f.categories.cheese}`);
  t.match(res.body, new RegExp(`<option value="${f.categories.cheese}" selected>Fromages \\(2\\)</option>`), 'the chosen category stays selected');
  // A filtered page sends members back to it after adding.
  t.match(res.body, `<input type="hidden" name="next" value="/shop/${f.open}?category=${f.categories.cheese}">`);

  res = await c.get(`/shop/${f.open}?q=${encodeURIComponent(HOSTILE.script)}`);
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, '<script>alert(1)</script>');
  t.match(res.body, `value="${escapeHtml(HOSTILE.script)}"`, 'the search is echoed, escaped');
  res = await c.get(`/shop/${f.open}?q=${'x'.repeat(300)}`);
  t.equal(res.statusCode, 200, 'an over-long search is ignored');
});

t.test('an offer’s detail page', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const c = await clientFor(app, 'member');
  let res = await c.get(`/shop/${f.open}/offers/${f.offers.carrots}`);
  t.equal(res.statusCode, 200);
  let page = text(res.body);
  t.match(page, 'Carottes');
  t.match(page, 'De Ferme des Épis · Légumes frais');
  t.match(page, 'Des carottes croquantes');
  t.match(page, 'Maraîchage bio depuis 1990.', 'the producer’s presentation');
  t.match(page, 'Prix TTC (TVA 5,5 %)');
  t.notMatch(res.body, '<img', 'no photo, no image');
  t.match(res.body, `action="/shop/${f.open}/basket"`);
  t.match(res.body, `<button name="offer" value="${f.offers.carrots}" hx-post="/shop/${f.open}/basket/${f.offers.carrots}" aria-describedby="n${f.offers.carrots}">`);
  t.match(res.body, `name="next" value="/shop/${f.open}/offers/${f.offers.carrots}"`);

  db.$client.prepare("update products set photo = 'abc123.webp' where id = (select product_id from offers where id = ?)").run(f.offers.tomme);
  res = await c.get(`/shop/${f.open}/offers/${f.offers.tomme}`);
  page = text(res.body);
  t.match(res.body, '<img src="/photos/abc123.webp" alt="Photo de Tomme"');
  t.match(page, 'Ce·tte producteur·rice n’a pas encore écrit de présentation.');
  t.match(page, '≈ 1,6 kg, 11,50 €/kg — le prix final suit le poids réel, au retrait');

  for (const url of [
    `/shop/${f.open}/offers/${f.offers.draft}`,
    `/shop/${f.open}/offers/${f.offers.closedOffer}`,
    `/shop/${f.closed}/offers/${f.offers.closedOffer}`,
    `/shop/${f.open}/offers/999999`,
    `/shop/${f.open}/offers/abc`,
  ]) {
    t.equal((await c.get(url)).statusCode, 404, url);
  }
});

t.test('a sale that is not open is a 404', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const c = await clientFor(app, 'member');
  for (const id of [f.closed, f.scheduled, 999999, 'abc', '0', '-1', '1.5', '99999999999999999999']) {
    for (const suffix of ['', '/basket']) {
      const res = await c.get(`/shop/${id}${suffix}`);
      t.equal(res.statusCode, 404, `/shop/${id}${suffix}`);
      t.match(text(res.body), 'Page introuvable');
    }
  }
});

t.test('who may browse: pending members, accounts that are not members, visitors', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const url = `/shop/${f.open}`;

  const pending = await clientFor(app, 'pending');
  let res = await pending.get(url);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Votre compte attend la validation de la coop');
  t.notMatch(res.body, `action="${url}/basket"`, 'no add form');
  t.notMatch(res.body, 'name="offer"', 'no add buttons');
  res = await pending.get(`${url}/basket`);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Votre compte attend la validation de la coop');

  await createAccount(db, { email: 'grower@carnet.test', roles: ['producer'] });
  const grower = await loggedIn(app, 'grower@carnet.test');
  res = await grower.get(url);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Ce compte n’a pas le rôle adhérent·e');
  t.notMatch(res.body, `action="${url}/basket"`);
  t.notMatch(res.body, 'name="offer"');
  t.notMatch(res.body, 'href="/shop"', 'no shop link in the menu without the member role');
  t.equal((await grower.get(`${url}/basket`)).statusCode, 403);

  // Anonymous browsing is off by default: visitors log in first and come back.
  const visitor = await clientFor(app, 'anonymous');
  for (const path of ['/shop', url, `${url}/offers/${f.offers.carrots}`, `${url}/basket`]) {
    res = await visitor.get(path);
    t.equal(res.statusCode, 303, `${path}: to login`);
    t.equal(res.headers.location, '/login?next=' + encodeURIComponent(path));
  }

  db.$client.prepare('update coop set allow_anonymous_browsing = 1').run();
  res = await visitor.get('/');
  t.match(res.body, 'href="/shop"', 'the menu shows the shop to visitors');
  res = await visitor.get('/shop');
  t.equal(res.headers.location, url);
  res = await visitor.get(url);
  t.equal(res.statusCode, 200);
  t.match(text(res.body), 'Vous visitez la boutique sans être connecté·e.');
  t.notMatch(res.body, `action="${url}/basket"`, 'no add form');
  t.notMatch(res.body, 'name="offer"', 'no add buttons');
  t.notMatch(res.body, 'id="basket-summary"');
  t.match(res.body, `href="/login?next=${encodeURIComponent(url)}"`, '"log in to order" links come back here');
  t.match(text(res.body), 'Se connecter pour commander');
  res = await visitor.get(`${url}/offers/${f.offers.tomme}`);
  t.equal(res.statusCode, 200);
  t.match(res.body, `href="/login?next=${encodeURIComponent(`${url}/offers/${f.offers.tomme}`)}"`);
  res = await visitor.get(`${url}/basket`);
  t.equal(res.statusCode, 303, 'the basket still needs an account');
  res = await visitor.post(`${url}/basket/${f.offers.carrots}`, { quantity: '1' });
  t.equal(res.statusCode, 403);
  t.equal(count(db, 'basket_items'), 0);
});

t.test('the admin setting for anonymous browsing', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const admin = await clientFor(app, 'admin');
  const base = { name: 'Coop Test', contactEmail: 'contact@carnet.test', defaultLocale: 'fr', timeZone: 'Europe/Paris' };
  const flag = () => (db.$client.prepare('select allow_anonymous_browsing as v from coop').get() as { v: number }).v;
  let res = await admin.get('/admin/settings');
  t.match(res.body, 'name="allowAnonymousBrowsing" value="on"');
  t.notMatch(res.body, /name="allowAnonymousBrowsing" value="on"[^>]*checked/);
  // The form sends a hidden "off" then the box: ticked, both arrive.
  res = await admin.post('/admin/settings', { ...base, allowAnonymousBrowsing: ['off', 'on'] });
  t.equal(res.statusCode, 303);
  t.equal(flag(), 1);
  res = await admin.get('/admin/settings');
  t.match(res.body, /name="allowAnonymousBrowsing" value="on"[^>]*checked/);
  res = await admin.post('/admin/settings', { ...base });
  t.equal(flag(), 1, 'a form without the field keeps the setting');
  res = await admin.post('/admin/settings', { ...base, allowAnonymousBrowsing: 'off' });
  t.equal(flag(), 0, 'unticked');
  res = await admin.post('/admin/settings', { ...base, name: '', allowAnonymousBrowsing: ['off', 'on'] });
  t.equal(res.statusCode, 422);
  t.match(res.body, /name="allowAnonymousBrowsing" value="on"[^>]*checked/, 'a refused form keeps the box as it was sent');
  t.equal(flag(), 0);
});

t.test('the header counts what is in the basket', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const c = await clientFor(app, 'member');
  await c.get(`/shop/${f.open}`);
  await c.post(`/shop/${f.open}/basket/${f.offers.leeks}`, { quantity: '4' });
  const res = await c.get(`/shop/${f.open}`);
  t.match(decode(res.body), /id="nav-basket-count"> <span class="badge">4<span class="visually-hidden"> articles dans votre panier/);
  t.match(text(res.body), 'Mon panier : 4 articles, 11,60 €');
  t.match(text(res.body), '4 dans mon panier');
});

t.test('kept lines never go stale: stock, renames, prices, and each session’s own form token', async (t) => {
  const { app, db } = await build(t);
  await createCast(db);
  const f = buildShopFixture(db);
  const url = `/shop/${f.open}`;
  const a = await clientFor(app, 'member');
  const b = await clientFor(app, 'producer');
  let res = await a.get(url);
  t.match(text(res.body), 'Carottes 2,40 € le kg Reste 3');
  // Another member's order takes two: the next page says so.
  db.$client.prepare('update offers set quantity_taken = 9 where id = ?').run(f.offers.carrots);
  res = await a.get(url);
  t.match(text(res.body), 'Carottes 2,40 € le kg Reste 1');
  db.$client.prepare('update offers set quantity_taken = 10 where id = ?').run(f.offers.carrots);
  t.match(text((await a.get(url)).body), 'Carottes 2,40 € le kg Épuisé');
  db.$client.prepare("update products set name = 'Carottes nouvelles' where id = (select product_id from offers where id = ?)").run(f.offers.carrots);
  db.$client.prepare('update offers set price_cents = 260 where id = ?').run(f.offers.leeks);
  res = await a.get(url);
  t.match(text(res.body), 'Carottes nouvelles 2,40 € le kg Épuisé');
  t.match(text(res.body), 'Poireaux 2,60 € la botte');
  // The same lines for two sessions: the page's one form carries each one's own token.
  const tokenIn = (html: string) => new RegExp(`action="${url}/basket"[^>]*>\\n<input type="hidden" name="_csrf" value="([^"]+)"`).exec(html)?.[1];
  const pa = (await a.get(url)).body;
  const pb = (await b.get(url)).body;
  const ta = tokenIn(pa);
  const tb = tokenIn(pb);
  t.ok(ta && tb && ta !== tb, 'different sessions, different tokens');
  t.equal(ta, a.csrf);
  t.equal(tb, b.csrf);
  const lines = (html: string) => html.slice(html.indexOf('<section class="shop-category"'), html.lastIndexOf('</section>'));
  t.equal(lines(pa), lines(pb), 'the lines hold nothing of the session');
  res = await b.post(`${url}/basket`, { offer: String(f.offers.leeks), [`qty[${f.offers.leeks}]`]: '1', _csrf: a.csrf });
  t.equal(res.statusCode, 403, 'another session’s token is refused');
  res = await b.post(`${url}/basket`, { offer: String(f.offers.leeks), [`qty[${f.offers.leeks}]`]: '1', _csrf: tb! });
  t.equal(res.statusCode, 303, 'the page’s token is accepted');
});

t.test('the kept offer list follows every change: an order, prices, renames, categories, withdrawals', async (t) => {
  const { app, db } = await build(t);
  const cast = await createCast(db);
  const f = buildShopFixture(db);
  const url = `/shop/${f.open}`;
  const a = await clientFor(app, 'member');
  const page = async () => text((await a.get(url)).body);
  t.match(await page(), 'Tomme ≈ 18,40 € la pièce');
  t.match(await page(), /Reste 6/);
  // Another member's order takes stock (through the domain, as the order route does).
  setBasketQuantity(db, cast.producer, f.open, f.offers.tomme, 2);
  chooseDistribution(db, cast.producer, f.open, f.dists.halle);
  const placed = placeOrder(db, app.mailer, { accountId: cast.producer, cycleId: f.open, distributionId: f.dists.halle, token: 'kept-list-order-0001' });
  t.ok(placed.ok, 'the other member placed');
  t.match(await page(), /Tomme[^]*Reste 4/, 'stock taken by an order shows');
  // What was kept for one filter is not shown for another, nor kept stale.
  t.notMatch(text((await a.get(`${url}?category=${f.categories.veg}`)).body), 'Tomme');
  db.$client.prepare('update offers set price_cents = 310 where id = ?').run(f.offers.leeks);
  t.match(await page(), 'Poireaux 3,10 € la botte', 'a price change shows');
  db.$client.prepare("update producers set name = 'Ferme des Blés' where id = ?").run(f.producers.farm);
  t.match(await page(), 'Ferme des Blés', 'a producer renamed shows');
  db.$client.prepare("update categories set name_fr = 'Légumes du jour' where id = ?").run(f.categories.veg);
  let body = await page();
  t.match(body, 'Légumes du jour', 'a category renamed shows');
  t.notMatch(body, 'Légumes frais');
  db.$client.prepare('update offers set published = 0 where id = ?').run(f.offers.leeks);
  t.notMatch(await page(), 'Poireaux', 'an unpublished offer goes');
  db.$client.prepare('update products set active = 0 where id = (select product_id from offers where id = ?)').run(f.offers.eggs);
  t.notMatch(await page(), 'Œufs', 'a deactivated product goes');
  db.$client.prepare('update producers set active = 0 where id = ?').run(f.producers.dairy);
  body = await page();
  t.notMatch(body, 'Tomme', 'a deactivated producer’s offers go');
  t.notMatch(body, 'Fromages', 'and their category with them');
  // A member's own line is theirs: the kept list holds no one's quantity.
  await a.post(`${url}/basket`, { offer: String(f.offers.carrots), [`qty[${f.offers.carrots}]`]: '0', _csrf: a.csrf });
  setBasketQuantity(db, cast.member, f.open, f.offers.asparagus, 0);
  db.$client.prepare('update offers set quantity_taken = 0 where id = ?').run(f.offers.asparagus);
  setBasketQuantity(db, cast.member, f.open, f.offers.asparagus, 3);
  const mine = await a.get(url);
  t.match(text(mine.body), /Asperges[^]*3 dans mon panier/);
  const other = await clientFor(app, 'producer');
  t.notMatch(text((await other.get(url)).body), /Asperges[^]*3 dans mon panier/, 'another member does not see it');
});
