import t from 'tap';
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../src/db/index.js';
import { placeOrder } from '../../src/domain/orders.js';
import { build, createAccount, loggedIn, text, type Client } from '../helper.js';
import { buildShop, checkStock, one, orderState, rows, run, setBasket, type Shop } from '../domain/orders-fixture.js';
import { count, decode, expectRejected, HOSTILE, outboxFor, snapshot } from './route-helper.js';

/*
 * The order routes over HTTP, like a browser without JavaScript: placing from the basket (and a
 * double click), my orders, the printable order, changing and cancelling, the 409 page when
 * stock changed, read-only after closing, member B guessing member A's ids, visitors, producers
 * and pending members refused; the payment settings and the "sale is open" opt-in.
 */

interface Ctx {
  app: FastifyInstance;
  db: Db;
  s: Shop;
  ana: number;
  bob: number;
}

async function setUp(t: Test): Promise<Ctx> {
  const { app, db } = await build(t);
  const s = buildShop(db, Date.now(), { accounts: false });
  const ana = await createAccount(db, { email: 'ana@carnet.test', name: 'Ana', locale: 'fr' });
  const bob = await createAccount(db, { email: 'bob@carnet.test', name: 'Bob', locale: 'en' });
  await createAccount(db, { email: 'pia@carnet.test', name: 'Pia', status: 'pending' });
  await createAccount(db, { email: 'fred@carnet.test', name: 'Fred', roles: ['producer'] });
  return { app, db, s, ana, bob };
}

let tokens = 0;
const token = () => `route-token-${String(++tokens).padStart(8, '0')}`;
/** Page text with the no-break spaces Intl puts in French amounts turned into plain spaces. */
const plain = (html: string) => text(html).replace(/[\u00a0\u202f]/g, ' ');

async function placeVia(c: Client, ctx: Ctx, form: Record<string, string> = {}) {
  await c.get('/orders');
  return c.post(`/shop/${ctx.s.cycle}/order`, { token: token(), distributionId: String(ctx.s.dists.halle), ...form });
}

t.test('a member places, sees, prints, changes and cancels an order', async (t) => {
  const ctx = await setUp(t);
  const { db, s } = ctx;
  const ana = await loggedIn(ctx.app, 'ana@carnet.test');
  let res = await ana.get('/orders');
  t.equal(res.statusCode, 200);
  t.match(plain(res.body), 'Vous n’avez pas encore de commande', 'the empty state');
  t.match(res.body, 'href="/shop"', 'with the next action');

  setBasket(db, ctx.ana, s.cycle, { [s.offers.carrots]: 2, [s.offers.jam]: 1, [s.offers.chicken]: 1 });
  const tok = token();
  res = await ana.post(`/shop/${s.cycle}/order`, { token: tok, distributionId: String(s.dists.halle) });
  t.equal(res.statusCode, 303);
  const orderId = one<{ id: number }>(db, 'select id from orders where account_id = ?', ctx.ana).id;
  t.equal(res.headers.location, `/orders/${orderId}`);
  // The double click: the same token again answers with the same order, nothing new.
  const afterFirst = orderState(db);
  res = await ana.post(`/shop/${s.cycle}/order`, { token: tok, distributionId: String(s.dists.halle) });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/orders/${orderId}`);
  t.equal(orderState(db), afterFirst, 'one order, one email, stock taken once');

  res = await ana.get(`/orders/${orderId}`);
  t.equal(res.statusCode, 200);
  const page = plain(res.body);
  const ref = `V${s.cycle}-0001`;
  t.match(page, `Votre commande ${ref} est enregistrée`, 'the flash');
  for (const said of ['Carottes (botte) — Ferme des Saules', 'Poulet (environ 1,5 kg pièce)', '12,00 €/kg', 'Total TTC', '27,50 €', 'dont TVA 5,5 % sur 23,00 €', 'dont TVA 20 % sur 4,50 €', 'Halle du marché', '44000 Nantes', 'Entrée par la porte verte.', 'Montant à régler : 27,50 €', 'Paiement au retrait : espèces, chèque.']) {
    t.match(page, said, `the order page says "${said}"`);
  }
  t.match(res.body, `action="/orders/${orderId}/edit"`);
  t.match(res.body, `action="/orders/${orderId}/cancel"`);
  t.match(res.body, `href="/orders/${orderId}?print=1"`, 'a print link that works without JS');
  t.match(res.body, 'class="table-scroll"');

  res = await ana.get(`/orders/${orderId}?print=1`);
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, 'site-header', 'the printable page has no menu');
  t.match(plain(res.body), `Commande ${ref}`);
  t.match(plain(res.body), 'Coop Test');

  res = await ana.get('/orders');
  t.match(plain(res.body), 'Commandes en cours');
  t.match(res.body, `href="/orders/${orderId}"`);
  t.match(plain(res.body), '27,50 €');

  // Change: the order goes back into the basket, placing again replaces it.
  res = await ana.post(`/orders/${orderId}/edit`);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/shop/${s.cycle}/basket`);
  t.same(rows(db, 'select offer_id, quantity from basket_items where account_id = ? order by offer_id', ctx.ana), [
    { offer_id: s.offers.carrots, quantity: 2 },
    { offer_id: s.offers.jam, quantity: 1 },
    { offer_id: s.offers.chicken, quantity: 1 },
  ]);
  setBasket(db, ctx.ana, s.cycle, { [s.offers.carrots]: 1 });
  res = await placeVia(ana, ctx, { distributionId: String(s.dists.ecole) });
  t.equal(res.headers.location, `/orders/${orderId}`, 'the same order');
  res = await ana.get(`/orders/${orderId}`);
  t.match(plain(res.body), `Votre commande ${ref} est modifiée`);
  t.match(plain(res.body), 'École Jules-Verne');
  t.same([count(db, 'orders'), one<{ n: number }>(db, 'select quantity_taken as n from offers where id = ?', s.offers.chicken).n], [1, 0]);
  checkStock(t, db);

  res = await ana.post(`/orders/${orderId}/cancel`);
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/orders/${orderId}`);
  t.equal(one<{ status: string }>(db, 'select status from orders where id = ?', orderId).status, 'cancelled');
  res = await ana.get(`/orders/${orderId}`);
  t.match(plain(res.body), 'Votre commande est annulée');
  t.match(plain(res.body), 'Annulée');
  t.match(plain(res.body), 'Commander à nouveau');
  t.notMatch(res.body, `action="/orders/${orderId}/cancel"`);
  checkStock(t, db);
  t.same(
    outboxFor(db, 'ana@carnet.test').map((e) => e.subject),
    [`Votre commande ${ref} est enregistrée`, `Votre commande ${ref} est modifiée`, `Votre commande ${ref} est annulée`],
    'an email for each step',
  );
});

t.test('in English', async (t) => {
  const ctx = await setUp(t);
  const bob = await loggedIn(ctx.app, 'bob@carnet.test');
  setBasket(ctx.db, ctx.bob, ctx.s.cycle, { [ctx.s.offers.eggs]: 2 });
  const res = await placeVia(bob, ctx);
  t.equal(res.statusCode, 303);
  const page = plain((await bob.get(String(res.headers.location))).body);
  for (const said of [`Your order V${ctx.s.cycle}-0001 is placed`, 'Œufs (boîte de 6)', '€6.40', 'Total (VAT included)', 'including VAT 5.5% on €6.40', 'Amount due: €6.40', 'Pay at pickup: cash, cheque.', 'Print']) {
    t.match(page, said, `says "${said}"`);
  }
  t.match(outboxFor(ctx.db, 'bob@carnet.test')[0]!.subject, 'Your order');
});

t.test('member B can neither see nor change member A’s order by guessing ids', async (t) => {
  const ctx = await setUp(t);
  const { db, s } = ctx;
  setBasket(db, ctx.ana, s.cycle, { [s.offers.eggs]: 1 });
  const placed = placeOrder(db, ctx.app.mailer, { accountId: ctx.ana, cycleId: s.cycle, distributionId: s.dists.halle, token: token() });
  if (!placed.ok) throw new Error('not placed');
  const bob = await loggedIn(ctx.app, 'bob@carnet.test');
  const before = snapshot(db);
  for (const id of [String(placed.orderId), '99999', 'abc', '0', '-1', '1.5', '99999999999999999999']) {
    let res = await bob.get(`/orders/${id}`);
    t.equal(res.statusCode, 404, `GET /orders/${id}`);
    t.notMatch(res.body, 'Œufs', 'none of A’s data');
    res = await bob.get(`/orders/${id}?print=1`);
    t.equal(res.statusCode, 404, `GET /orders/${id}?print=1`);
    await bob.get('/orders');
    res = await bob.post(`/orders/${id}/edit`);
    t.equal(res.statusCode, 404, `POST /orders/${id}/edit`);
    res = await bob.post(`/orders/${id}/cancel`);
    t.equal(res.statusCode, 404, `POST /orders/${id}/cancel`);
  }
  t.equal(snapshot(db), before, 'nothing changed');
  const res = await bob.get('/orders');
  t.notMatch(res.body, placed.reference, 'A’s order is not in B’s list');
  // A's form token replayed by B places nothing of A's and reveals nothing.
  const tok = one<{ token: string }>(db, 'select token from order_submissions').token;
  setBasket(db, ctx.bob, s.cycle, { [s.offers.jam]: 1 });
  const beforeReplay = snapshot(db);
  const replay = await bob.post(`/shop/${s.cycle}/order`, { token: tok, distributionId: String(s.dists.halle) });
  t.equal(replay.statusCode, 422);
  t.notMatch(replay.headers.location ?? '', String(placed.orderId));
  t.equal(snapshot(db), beforeReplay);
});

t.test('visitors, accounts without the member role and pending members cannot order', async (t) => {
  const ctx = await setUp(t);
  const { db, s } = ctx;
  const visitor = await (async () => {
    const { Client } = await import('../helper.js');
    const c = new Client(ctx.app);
    await c.get('/');
    return c;
  })();
  let res = await visitor.get('/orders');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/login?next=%2Forders');
  const cases: Array<[string, Client | null, number, string]> = [
    ['a visitor', visitor, 403, 'Accès refusé'],
    ['a producer without the member role', await loggedIn(ctx.app, 'fred@carnet.test'), 403, 'Accès refusé'],
    ['a pending member', await loggedIn(ctx.app, 'pia@carnet.test'), 403, 'Votre compte attend la validation de la coopérative'],
  ];
  for (const [label, c, status, says] of cases) {
    const id = one<{ id: number }>(db, "select id from accounts where email in ('fred@carnet.test', 'pia@carnet.test') order by id limit 1").id;
    setBasket(db, id, s.cycle, { [s.offers.jam]: 1 });
    await c!.get('/');
    const before = snapshot(db);
    res = await c!.post(`/shop/${s.cycle}/order`, { token: token(), distributionId: String(s.dists.halle) });
    t.equal(res.statusCode, status, label);
    t.match(plain(res.body), says, label);
    t.equal(snapshot(db), before, `${label}: nothing changed`);
  }
  const fred = await loggedIn(ctx.app, 'fred@carnet.test');
  t.equal((await fred.get('/orders')).statusCode, 403, 'no "my orders" without the member role');
});

t.test('when stock changed: 409 with exactly the lines that changed and what is left', async (t) => {
  const ctx = await setUp(t);
  const { db, s } = ctx;
  setBasket(db, ctx.bob, s.cycle, { [s.offers.eggs]: 2, [s.offers.chicken]: 3 });
  placeOrder(db, ctx.app.mailer, { accountId: ctx.bob, cycleId: s.cycle, distributionId: s.dists.halle, token: token() });
  setBasket(db, ctx.ana, s.cycle, { [s.offers.eggs]: 1, [s.offers.chicken]: 2, [s.offers.carrots]: 6, [s.offers.jam]: 2 });
  const ana = await loggedIn(ctx.app, 'ana@carnet.test');
  const before = snapshot(db);
  const res = await placeVia(ana, ctx);
  t.equal(res.statusCode, 409);
  const page = plain(res.body);
  t.match(page, 'Certains produits ont changé');
  t.match(page, /Œufs 1 0 Épuisé/);
  t.match(page, /Poulet 2 1 Plus que 1 disponible/);
  t.match(page, /Carottes 6 5 Au plus 5 par commande/);
  t.notMatch(page, 'Confiture', 'the lines that fit are not listed');
  t.match(res.body, `href="/shop/${s.cycle}/basket"`, 'a way back to the basket');
  t.equal(snapshot(db), before, 'nothing placed, the basket kept');
  checkStock(t, db);
});

t.test('bad place-order requests change nothing', async (t) => {
  const ctx = await setUp(t);
  const { db, s } = ctx;
  const ana = await loggedIn(ctx.app, 'ana@carnet.test');
  setBasket(db, ctx.ana, s.cycle, { [s.offers.jam]: 1 });
  const cases: Array<[string, string, Record<string, string>, number, string | null]> = [
    ['no token', `/shop/${s.cycle}/order`, { distributionId: String(s.dists.halle) }, 422, 'Ce formulaire a expiré'],
    ['a hostile token', `/shop/${s.cycle}/order`, { token: HOSTILE.script, distributionId: String(s.dists.halle) }, 422, 'Ce formulaire a expiré'],
    ['no distribution', `/shop/${s.cycle}/order`, { token: token() }, 422, 'Choisissez où et quand'],
    ['a distribution that is not a number', `/shop/${s.cycle}/order`, { token: token(), distributionId: '1; drop table orders' }, 422, 'Choisissez où et quand'],
    ['a distribution of another sale', `/shop/${s.cycle}/order`, { token: token(), distributionId: String(s.dists.other) }, 422, 'Choisissez où et quand'],
    ['a closed sale', `/shop/${s.closed}/order`, { token: token(), distributionId: String(s.dists.closed) }, 409, 'Cette vente est close'],
    ['a draft sale', `/shop/${s.draft}/order`, { token: token(), distributionId: String(s.dists.halle) }, 404, null],
    ['an unknown sale', '/shop/99999/order', { token: token(), distributionId: String(s.dists.halle) }, 404, null],
    ['a malformed sale id', '/shop/abc/order', { token: token(), distributionId: String(s.dists.halle) }, 404, null],
    ['an empty basket', `/shop/${s.other}/order`, { token: token(), distributionId: String(s.dists.other) }, 422, 'Votre panier est vide'],
  ];
  for (const [label, url, form, status, says] of cases) {
    await ana.get('/orders');
    const before = snapshot(db);
    const res = await ana.post(url, form);
    t.equal(res.statusCode, status, label);
    if (says) t.match(plain(res.body), says, label);
    t.notMatch(res.body, '<script>alert(1)</script>', `${label}: nothing raw`);
    t.equal(snapshot(db), before, `${label}: nothing changed`);
  }
  // Without a CSRF token nothing is placed either.
  const before = snapshot(db);
  const res = await ana.post(`/shop/${s.cycle}/order`, { _csrf: 'forged', token: token(), distributionId: String(s.dists.halle) });
  t.equal(res.statusCode, 403);
  t.equal(snapshot(db), before);
});

t.test('after closing, the order is read-only', async (t) => {
  const ctx = await setUp(t);
  const { db, s } = ctx;
  setBasket(db, ctx.ana, s.cycle, { [s.offers.jam]: 1 });
  const placed = placeOrder(db, ctx.app.mailer, { accountId: ctx.ana, cycleId: s.cycle, distributionId: s.dists.halle, token: token() });
  if (!placed.ok) throw new Error('not placed');
  run(db, "update cycles set status = 'closed', closes_at = ? where id = ?", Date.now() - 1000, s.cycle);
  const ana = await loggedIn(ctx.app, 'ana@carnet.test');
  let res = await ana.get(`/orders/${placed.orderId}`);
  t.equal(res.statusCode, 200);
  t.match(plain(res.body), 'Cette vente est close : la commande ne peut plus être modifiée.');
  t.notMatch(res.body, `/orders/${placed.orderId}/edit`);
  t.notMatch(res.body, `/orders/${placed.orderId}/cancel`);
  res = await ana.get('/orders');
  t.match(plain(res.body), 'Commandes passées');
  for (const action of ['edit', 'cancel']) {
    await ana.get('/orders');
    const before = snapshot(db);
    res = await ana.post(`/orders/${placed.orderId}/${action}`);
    t.equal(res.statusCode, 409, action);
    t.match(plain(res.body), 'Cette vente est close : la commande ne peut plus être modifiée ni annulée.');
    t.equal(snapshot(db), before, `${action}: nothing changed`);
  }
});

// ----- payment settings (admin) -----

t.test('payment settings', async (t) => {
  const ctx = await setUp(t);
  const { db } = ctx;
  const admin = await loggedIn(ctx.app, 'admin@carnet.test');
  let res = await admin.get('/admin/settings');
  t.match(res.body, 'name="paymentMethods" value="cash" checked');
  t.match(res.body, 'name="paymentMethods" value="cheque" checked');
  t.match(res.body, 'name="paymentMethods" value="transfer">');
  t.match(res.body, 'name="closingReminderHours"');
  const base = { name: 'Coop Test', contactEmail: 'contact@carnet.test', defaultLocale: 'fr', timeZone: 'Europe/Paris', producerReminderHours: '48', paymentMethodsShown: '1' };
  const bank = 'Coop Test\nIBAN : FR76 3000 6000 0112 3456 7890 189\nBIC : AGRIFRPP';
  res = await admin.post('/admin/settings', { ...base, paymentMethods: ['cash', 'transfer', 'card'], bankDetails: bank, closingReminderHours: '12' });
  t.equal(res.statusCode, 303);
  t.match(one(db, 'select payment_methods, bank_details, closing_reminder_hours from coop'), { payment_methods: 'cash,transfer,card', bank_details: bank, closing_reminder_hours: 12 });
  res = await admin.get('/admin/settings');
  t.match(res.body, 'name="paymentMethods" value="transfer" checked');
  t.match(decode(res.body), 'IBAN : FR76 3000 6000 0112 3456 7890 189');

  const bad: Array<{ label: string; form: Record<string, string | string[]>; message: string; echo?: string }> = [
    { label: 'no method', form: { ...base, bankDetails: '', closingReminderHours: '24' }, message: 'Acceptez au moins un moyen de paiement.' },
    { label: 'an unknown method', form: { ...base, paymentMethods: ['cash', 'bitcoin'], closingReminderHours: '24' }, message: 'Choisissez l’une des options proposées.' },
    { label: 'transfer without bank details', form: { ...base, paymentMethods: 'transfer', bankDetails: '  ', closingReminderHours: '24' }, message: 'Indiquez les coordonnées bancaires' },
    { label: 'a wrong IBAN', form: { ...base, paymentMethods: 'transfer', bankDetails: 'IBAN FR76 3000 6000 0112 3456 7890 188', closingReminderHours: '24' }, message: 'Cet IBAN n’est pas valide', echo: 'IBAN FR76 3000 6000 0112 3456 7890 188' },
    { label: 'hostile bank details', form: { ...base, paymentMethods: 'transfer', bankDetails: `${HOSTILE.script}\nIBAN: nope`, closingReminderHours: '24' }, message: 'Cet IBAN n’est pas valide', echo: HOSTILE.script },
    { label: 'bank details too long', form: { ...base, paymentMethods: 'cash', bankDetails: 'x'.repeat(501), closingReminderHours: '24' }, message: 'Au plus 500 caractères' },
    { label: 'zero hours', form: { ...base, paymentMethods: 'cash', closingReminderHours: '0' }, message: 'Indiquez un nombre entier d’heures entre 1 et 168.' },
    { label: 'comma hours', form: { ...base, paymentMethods: 'cash', closingReminderHours: '2,5' }, message: 'Indiquez un nombre entier d’heures entre 1 et 168.', echo: '2,5' },
    { label: 'too many hours', form: { ...base, paymentMethods: 'cash', closingReminderHours: '169' }, message: 'Indiquez un nombre entier d’heures entre 1 et 168.' },
    { label: 'negative hours', form: { ...base, paymentMethods: 'cash', closingReminderHours: '-1' }, message: 'Indiquez un nombre entier d’heures entre 1 et 168.' },
  ];
  for (const b of bad) {
    const r = await expectRejected(t, db, admin, '/admin/settings', b, '/admin/settings');
    if (b.form.paymentMethods === 'transfer') t.match(r.body, 'name="paymentMethods" value="transfer" checked', `${b.label}: the ticked box stays ticked`);
  }
  // A form without the payment fields (an older page) keeps them as they are.
  res = await admin.post('/admin/settings', { name: 'Coop Test', contactEmail: 'contact@carnet.test', defaultLocale: 'fr', timeZone: 'Europe/Paris' });
  t.equal(res.statusCode, 303);
  t.match(one(db, 'select payment_methods, bank_details, closing_reminder_hours from coop'), { payment_methods: 'cash,transfer,card', bank_details: bank, closing_reminder_hours: 12 });
  // The order page then shows the transfer instructions with the order's reference.
  setBasket(db, ctx.ana, ctx.s.cycle, { [ctx.s.offers.jam]: 1 });
  const placed = placeOrder(db, ctx.app.mailer, { accountId: ctx.ana, cycleId: ctx.s.cycle, distributionId: ctx.s.dists.halle, token: token() });
  if (!placed.ok) throw new Error('not placed');
  const ana = await loggedIn(ctx.app, 'ana@carnet.test');
  const page = plain((await ana.get(`/orders/${placed.orderId}`)).body);
  t.match(page, `Pour un virement, indiquez la référence ${placed.reference}`);
  t.match(page, 'IBAN : FR76 3000 6000 0112 3456 7890 189');
  t.match(page, 'espèces, virement, carte bancaire au retrait');
});

// ----- "email me when a sale opens" -----

t.test('the "sale is open" opt-in on sign-up and on the account page', async (t) => {
  const ctx = await setUp(t);
  const { db } = ctx;
  const { Client, PASSWORD } = await import('../helper.js');
  const visitor = new Client(ctx.app);
  let res = await visitor.get('/signup');
  t.match(res.body, /<input type="checkbox" name="notifyCycleOpen" aria-describedby="notify-open-hint">/, 'unticked by default');
  res = await visitor.post('/signup', { name: 'Zoé', email: 'zoe@carnet.test', password: PASSWORD, passwordConfirm: PASSWORD, notifyCycleOpen: 'on' });
  t.equal(res.statusCode, 303);
  t.equal(one<{ n: number }>(db, "select notify_cycle_open as n from accounts where email = 'zoe@carnet.test'").n, 1);
  const other = new Client(ctx.app);
  await other.get('/signup');
  await other.post('/signup', { name: 'Yann', email: 'yann@carnet.test', password: PASSWORD, passwordConfirm: PASSWORD });
  t.equal(one<{ n: number }>(db, "select notify_cycle_open as n from accounts where email = 'yann@carnet.test'").n, 0);
  // A failed sign-up keeps the box as it was.
  const third = new Client(ctx.app);
  await third.get('/signup');
  res = await third.post('/signup', { name: '', email: 'x@carnet.test', password: PASSWORD, passwordConfirm: PASSWORD, notifyCycleOpen: 'on' });
  t.equal(res.statusCode, 422);
  t.match(res.body, 'name="notifyCycleOpen" aria-describedby="notify-open-hint" checked');

  const ana = await loggedIn(ctx.app, 'ana@carnet.test');
  res = await ana.get('/account');
  t.match(res.body, /name="notifyCycleOpen" aria-describedby="notify-open-hint">/);
  res = await ana.post('/account/profile', { name: 'Ana', email: 'ana@carnet.test', phone: '', locale: 'fr', notifyCycleOpen: 'on' });
  t.equal(res.statusCode, 303);
  t.equal(one<{ n: number }>(db, "select notify_cycle_open as n from accounts where email = 'ana@carnet.test'").n, 1);
  res = await ana.get('/account');
  t.match(res.body, 'name="notifyCycleOpen" aria-describedby="notify-open-hint" checked');
  res = await ana.post('/account/profile', { name: '', email: 'ana@carnet.test', phone: '', locale: 'fr', notifyCycleOpen: 'on' });
  t.equal(res.statusCode, 422);
  t.match(res.body, 'aria-describedby="notify-open-hint" checked', 'kept ticked after an error');
  res = await ana.post('/account/profile', { name: 'Ana', email: 'ana@carnet.test', phone: '', locale: 'fr' });
  t.equal(one<{ n: number }>(db, "select notify_cycle_open as n from accounts where email = 'ana@carnet.test'").n, 0, 'unticking stops it');
});
