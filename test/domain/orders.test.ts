import t from 'tap';
import type { Db } from '../../src/db/index.js';
import { updateCycle } from '../../src/domain/cycles.js';
import {
  acceptedPaymentMethods,
  bankDetailsIbansValid,
  cancelOrder,
  getOrder,
  ibanIsValid,
  lineTotalCents,
  listOrders,
  loadOrderIntoBasket,
  newOrderToken,
  ORDER_TOKEN_PATTERN,
  placeFormData,
  placeOrder,
  vatByRate,
  type PlaceResult,
} from '../../src/domain/orders.js';
import { includedVatCents } from '../../src/domain/shop.js';
import { toDateTimeLocal } from '../../src/domain/time.js';
import { Mailer } from '../../src/mail/mailer.js';
import { checkStock, fixture, D, NOW, one, orderState, rows, run, setBasket, type Shop } from './orders-fixture.js';
import { outboxEmails } from '../support/outbox.js';

/*
 * Placing, changing and cancelling orders: every refusal leaves every table as it was, stock is
 * exact after every step (taken = sum of placed lines ≤ available), prices are copied, a token
 * replays to the same order, and the confirmation emails say what the member needs in fr and en.
 */

const mailer = new Mailer('http://carnet.test');


let tokens = 0;
const token = () => `test-token-${String(++tokens).padStart(8, '0')}`;

function place(db: Db, s: Shop, accountId: number, o: { cycleId?: number; distributionId?: number; token?: string; now?: number } = {}): PlaceResult {
  return placeOrder(db, mailer, { accountId, cycleId: o.cycleId ?? s.cycle, distributionId: o.distributionId ?? s.dists.halle, token: o.token ?? token() }, o.now ?? NOW);
}
const taken = (db: Db, offerId: number) => one<{ n: number }>(db, 'select quantity_taken as n from offers where id = ?', offerId).n;
const outbox = (db: Db) => outboxEmails(db);

t.test('tokens and payment methods', async (t) => {
  const a = newOrderToken();
  t.match(a, ORDER_TOKEN_PATTERN, 'a token fits the pattern the route accepts');
  t.not(a, newOrderToken(), 'tokens are random');
  const cases: Array<[string, string[]]> = [
    ['cash,cheque', ['cash', 'cheque']],
    ['transfer,cash', ['cash', 'transfer']],
    ['card', ['card']],
    ['bitcoin', ['cash']],
    ['', ['cash']],
  ];
  for (const [stored, want] of cases) t.same(acceptedPaymentMethods({ paymentMethods: stored }), want, `"${stored}"`);
});

t.test('line totals and VAT by rate', async (t) => {
  const lines: Array<[string, Parameters<typeof lineTotalCents>[0], number]> = [
    ['by the unit', { unitPriceCents: 250, quantity: 3, weighed: false, estimatedWeightGrams: null }, 750],
    ['weighed: price per kg × estimated weight, rounded, × pieces', { unitPriceCents: 1200, quantity: 2, weighed: true, estimatedWeightGrams: 1500 }, 3600],
    ['weighed with rounding', { unitPriceCents: 1999, quantity: 3, weighed: true, estimatedWeightGrams: 333 }, 666 * 3],
  ];
  for (const [label, line, want] of lines) t.equal(lineTotalCents(line), want, label);
  const vat: Array<[number, number, number]> = [
    [1055, 550, 55],
    [1000, 2000, 167],
    [999, 0, 0],
    [120, 1000, 11],
  ];
  for (const [total, rate, want] of vat) t.equal(includedVatCents(total, rate), want, `${total} at ${rate} bp`);
  t.same(
    vatByRate([
      { vatRateBp: 2000, lineTotalCents: 450 },
      { vatRateBp: 550, lineTotalCents: 500 },
      { vatRateBp: 550, lineTotalCents: 555 },
    ]),
    [
      { rateBp: 550, totalCents: 1055, vatCents: 55 },
      { rateBp: 2000, totalCents: 450, vatCents: 75 },
    ],
    'grouped by rate, lowest first, VAT computed on each group’s total',
  );
});

t.test('IBAN checks', async (t) => {
  const ibans: Array<[string, boolean]> = [
    ['FR76 3000 6000 0112 3456 7890 189', true],
    ['fr7630006000011234567890189', true],
    ['DE89 3704 0044 0532 0130 00', true],
    ['GB82 WEST 1234 5698 7654 32', true],
    ['FR76 3000 6000 0112 3456 7890 188', false],
    ['FR76', false],
    ['not an iban', false],
    ['', false],
  ];
  for (const [iban, ok] of ibans) t.equal(ibanIsValid(iban), ok, `"${iban}"`);
  const details: Array<[string, boolean]> = [
    ['Coop des Saules\nIBAN : FR76 3000 6000 0112 3456 7890 189\nBIC : AGRIFRPP', true],
    ['Coop des Saules\nFR76 3000 6000 0112 3456 7890 189\nAGRIFRPP', true],
    ['Coop des Saules\nIBAN: FR76 3000 6000 0112 3456 7890 188', false],
    ['Coop des Saules\nFR76 3000 6000 0112 3456 7890 188', false],
    ['IBAN: see the notice board', false],
    ['Ask at the desk', true],
    ['', true],
  ];
  for (const [text, ok] of details) t.equal(bankDetailsIbansValid(text), ok, JSON.stringify(text));
});

t.test('placing an order', async (t) => {
  const { db, shop: s } = fixture(t);
  const a = s.accounts.ana;
  setBasket(db, a, s.cycle, { [s.offers.carrots]: 2, [s.offers.eggs]: 1, [s.offers.jam]: 3, [s.offers.chicken]: 2 });
  const tok = token();
  const r = place(db, s, a, { token: tok });
  if (!r.ok) throw new Error('not placed: ' + JSON.stringify(r));
  t.match(r, { reference: `V${s.cycle}-0001`, replaced: false, replayed: false, cycleId: s.cycle });
  const order = one<Record<string, unknown>>(db, 'select * from orders where id = ?', r.orderId);
  // 2 × 2.50 + 3.20 + 3 × 4.50 + 2 × round(12.00 × 1.5) = 5 + 3.2 + 13.5 + 36 = 57.70
  t.match(order, { status: 'placed', account_id: a, distribution_id: s.dists.halle, member_name: 'Ana', total_cents: 5770, placed_at: NOW, cancelled_at: null });
  const lines = rows(db, 'select product_name, producer_name, unit_label, quantity, unit_price_cents, vat_rate_bp, weighed, estimated_weight_grams, line_total_cents from order_lines where order_id = ? order by product_name', r.orderId);
  t.same(lines, [
    { product_name: 'Carottes', producer_name: 'Ferme des Saules', unit_label: 'bunch', quantity: 2, unit_price_cents: 250, vat_rate_bp: 550, weighed: 0, estimated_weight_grams: null, line_total_cents: 500 },
    { product_name: 'Confiture', producer_name: 'Ferme des Saules', unit_label: 'jar', quantity: 3, unit_price_cents: 450, vat_rate_bp: 2000, weighed: 0, estimated_weight_grams: null, line_total_cents: 1350 },
    { product_name: 'Poulet', producer_name: 'Ferme des Saules', unit_label: 'piece', quantity: 2, unit_price_cents: 1200, vat_rate_bp: 550, weighed: 1, estimated_weight_grams: 1500, line_total_cents: 3600 },
    { product_name: 'Œufs', producer_name: 'Ferme des Saules', unit_label: 'boîte de 6', quantity: 1, unit_price_cents: 320, vat_rate_bp: 550, weighed: 0, estimated_weight_grams: null, line_total_cents: 320 },
  ]);
  t.same([taken(db, s.offers.carrots), taken(db, s.offers.eggs), taken(db, s.offers.jam), taken(db, s.offers.chicken)], [2, 1, 3, 2], 'stock taken');
  t.equal(rows(db, 'select * from basket_items where account_id = ?', a).length, 0, 'the basket is emptied');
  t.same(rows(db, 'select token, account_id, order_id from order_submissions'), [{ token: tok, account_id: a, order_id: r.orderId }], 'the token is recorded');
  t.equal(outbox(db).length, 1, 'one confirmation email');
  checkStock(t, db);

  // Another member's order gets the next reference.
  setBasket(db, s.accounts.bob, s.cycle, { [s.offers.carrots]: 1 });
  const b = place(db, s, s.accounts.bob);
  t.match(b, { ok: true, reference: `V${s.cycle}-0002` });
  checkStock(t, db);
  const list = listOrders(db, a, NOW);
  t.same(list.current.map((o) => o.reference), [`V${s.cycle}-0001`], 'ana sees only her order');
  t.same(listOrders(db, a, NOW + 3 * D).past.map((o) => o.reference), [`V${s.cycle}-0001`], 'after closing it is a past order');
  t.equal(getOrder(db, s.accounts.bob, r.orderId), undefined, 'Bob cannot read Ana’s order');
  t.equal(getOrder(db, a, r.orderId)?.lines.length, 4);
});

interface RefusalCase {
  name: string;
  /** What other members do first (it stays). */
  before?: (db: Db, s: Shop) => void;
  basket: (s: Shop) => Record<number, number>;
  input?: (s: Shop) => { accountId?: number; cycleId?: number; distributionId?: number; now?: number };
  want: (s: Shop) => unknown;
}

const REFUSALS: RefusalCase[] = [
  {
    name: 'sold out',
    before: (db, s) => {
      setBasket(db, s.accounts.bob, s.cycle, { [s.offers.eggs]: 2 });
      place(db, s, s.accounts.bob);
    },
    basket: (s) => ({ [s.offers.eggs]: 1, [s.offers.carrots]: 1 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.eggs, name: 'Œufs', wanted: 1, left: 0, problem: 'sold_out' }] }),
  },
  {
    name: 'not enough left',
    before: (db, s) => {
      setBasket(db, s.accounts.bob, s.cycle, { [s.offers.chicken]: 3 });
      place(db, s, s.accounts.bob);
    },
    basket: (s) => ({ [s.offers.chicken]: 2 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.chicken, name: 'Poulet', wanted: 2, left: 1, problem: 'not_enough' }] }),
  },
  {
    name: 'over the maximum per order',
    basket: (s) => ({ [s.offers.carrots]: 6 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.carrots, name: 'Carottes', wanted: 6, left: 5, problem: 'max_per_order' }] }),
  },
  {
    name: 'an unpublished offer',
    basket: (s) => ({ [s.offers.leeks]: 1 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.leeks, problem: 'unavailable', left: 0 }] }),
  },
  {
    name: 'an offer of another sale slipped into this basket',
    basket: (s) => ({ [s.offers.otherCarrots]: 1 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.otherCarrots, problem: 'unavailable' }] }),
  },
  {
    name: 'a zero quantity',
    basket: (s) => ({ [s.offers.jam]: 0 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.jam, wanted: 0, problem: 'invalid_quantity' }] }),
  },
  {
    name: 'a negative quantity',
    basket: (s) => ({ [s.offers.carrots]: -2, [s.offers.jam]: 1 }),
    want: (s) => ({ ok: false, reason: 'changed', lines: [{ offerId: s.offers.carrots, wanted: -2, left: 5, problem: 'invalid_quantity' }] }),
  },
  {
    name: 'several lines changed: all are listed, none is taken',
    before: (db, s) => {
      setBasket(db, s.accounts.bob, s.cycle, { [s.offers.eggs]: 2 });
      place(db, s, s.accounts.bob);
    },
    basket: (s) => ({ [s.offers.jam]: 4, [s.offers.eggs]: 1, [s.offers.carrots]: 9 }),
    want: (s) => ({
      ok: false,
      reason: 'changed',
      lines: [
        { offerId: s.offers.carrots, problem: 'max_per_order' },
        { offerId: s.offers.eggs, problem: 'sold_out' },
      ],
    }),
  },
  { name: 'the sale is closed', basket: (s) => ({ [s.offers.honey]: 1 }), input: (s) => ({ cycleId: s.closed, distributionId: s.dists.closed }), want: () => ({ ok: false, reason: 'cycle_closed' }) },
  { name: 'closes_at passed before the clock closed it', basket: (s) => ({ [s.offers.jam]: 1 }), input: () => ({ now: NOW + 2 * D }), want: () => ({ ok: false, reason: 'cycle_closed' }) },
  { name: 'a draft sale', basket: (s) => ({ [s.offers.jam]: 1 }), input: (s) => ({ cycleId: s.draft }), want: () => ({ ok: false, reason: 'not_found' }) },
  { name: 'an unknown sale', basket: (s) => ({ [s.offers.jam]: 1 }), input: () => ({ cycleId: 999 }), want: () => ({ ok: false, reason: 'not_found' }) },
  { name: 'a distribution of another sale', basket: (s) => ({ [s.offers.jam]: 1 }), input: (s) => ({ distributionId: s.dists.other }), want: () => ({ ok: false, reason: 'wrong_distribution' }) },
  { name: 'an unknown distribution', basket: (s) => ({ [s.offers.jam]: 1 }), input: () => ({ distributionId: 99999 }), want: () => ({ ok: false, reason: 'wrong_distribution' }) },
  { name: 'an empty basket', basket: () => ({}), want: () => ({ ok: false, reason: 'empty_basket' }) },
  { name: 'a pending member', basket: (s) => ({ [s.offers.jam]: 1 }), input: (s) => ({ accountId: s.accounts.pending }), want: () => ({ ok: false, reason: 'not_member' }) },
  { name: 'a producer without the member role', basket: (s) => ({ [s.offers.jam]: 1 }), input: (s) => ({ accountId: s.accounts.producerOnly }), want: () => ({ ok: false, reason: 'not_member' }) },
];

for (const c of REFUSALS) {
  t.test(`refused: ${c.name}`, async (t) => {
    const { db, shop: s } = fixture(t);
    c.before?.(db, s);
    const input = c.input?.(s) ?? {};
    const accountId = input.accountId ?? s.accounts.ana;
    // A basket can only exist for a real sale: the unknown sale's case keeps one in the open sale.
    setBasket(db, accountId, input.cycleId === 999 ? s.cycle : (input.cycleId ?? s.cycle), c.basket(s));
    const before = orderState(db);
    const result = place(db, s, accountId, input);
    t.match(result, c.want(s));
    if (!result.ok && result.reason === 'changed') t.equal(result.lines.length, (c.want(s) as { lines: unknown[] }).lines.length, 'exactly the changed lines');
    t.equal(orderState(db), before, 'nothing changed: no order, no stock, basket kept, no email');
    checkStock(t, db);
  });
}

t.test('a repeated token returns the same order; another account’s token is refused', async (t) => {
  const { db, shop: s } = fixture(t);
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.eggs]: 1 });
  const tok = token();
  const first = place(db, s, s.accounts.ana, { token: tok });
  const afterFirst = orderState(db);
  // The double click: same token, the basket is now empty, the answer is the same order.
  const again = place(db, s, s.accounts.ana, { token: tok });
  t.match(again, { ok: true, replayed: true, orderId: first.ok && first.orderId, reference: first.ok && first.reference });
  t.equal(orderState(db), afterFirst, 'nothing new: one order, one email, stock taken once');
  // Even with a new basket, the old token still names the first order and places nothing.
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.eggs]: 1 });
  const withBasket = orderState(db);
  t.match(place(db, s, s.accounts.ana, { token: tok }), { ok: true, replayed: true });
  t.equal(orderState(db), withBasket);
  // Bob replaying Ana's token gets nothing of hers.
  setBasket(db, s.accounts.bob, s.cycle, { [s.offers.eggs]: 1 });
  const beforeBob = orderState(db);
  t.same(place(db, s, s.accounts.bob, { token: tok }), { ok: false, reason: 'token_taken' });
  t.equal(orderState(db), beforeBob);
  t.equal(taken(db, s.offers.eggs), 1);
  checkStock(t, db);
});

t.test('a price, VAT or name changed after placing leaves the placed order unchanged', async (t) => {
  const { db, shop: s } = fixture(t);
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.carrots]: 2, [s.offers.chicken]: 1 });
  const r = place(db, s, s.accounts.ana);
  if (!r.ok) throw new Error('not placed');
  const before = rows(db, 'select * from order_lines where order_id = ? order by id', r.orderId);
  const order = one(db, 'select total_cents from orders where id = ?', r.orderId);
  run(db, 'update offers set price_cents = 999 where id = ?', s.offers.carrots);
  run(db, "update products set name = 'Carottes nouvelles', vat_rate_bp = 2000, price_cents = 999, estimated_weight_grams = 3000 where id in (?, ?)", s.products.carrots, s.products.chicken);
  run(db, "update producers set name = 'Autre nom' where id = ?", s.producer);
  t.same(rows(db, 'select * from order_lines where order_id = ? order by id', r.orderId), before, 'lines keep the copied name, price and VAT');
  t.same(one(db, 'select total_cents from orders where id = ?', r.orderId), order, 'the total is unchanged');
  t.equal(getOrder(db, s.accounts.ana, r.orderId)!.lines[0]!.productName, 'Carottes');
  // Placing again (a change) copies the new prices.
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.carrots]: 2 });
  place(db, s, s.accounts.ana);
  t.same(rows(db, 'select product_name, unit_price_cents, vat_rate_bp from order_lines where order_id = ?', r.orderId), [{ product_name: 'Carottes nouvelles', unit_price_cents: 999, vat_rate_bp: 2000 }]);
  checkStock(t, db);
});

t.test('replacing an order frees its stock, then takes the new quantities', async (t) => {
  const { db, shop: s } = fixture(t);
  const a = s.accounts.ana;
  setBasket(db, a, s.cycle, { [s.offers.eggs]: 2, [s.offers.carrots]: 1 });
  const first = place(db, s, a);
  if (!first.ok) throw new Error('not placed');
  t.equal(taken(db, s.offers.eggs), 2, 'all the eggs are Ana’s');
  // Ana's own eggs count as available to her when she changes the order.
  setBasket(db, a, s.cycle, { [s.offers.eggs]: 2, [s.offers.jam]: 1 });
  const second = place(db, s, a, { distributionId: s.dists.ecole, now: NOW + 1000 });
  t.match(second, { ok: true, replaced: true, orderId: first.orderId, reference: first.reference });
  t.same([taken(db, s.offers.eggs), taken(db, s.offers.carrots), taken(db, s.offers.jam)], [2, 0, 1], 'carrots freed, eggs kept, jam taken');
  t.match(one(db, 'select * from orders where id = ?', first.orderId), { distribution_id: s.dists.ecole, placed_at: NOW, updated_at: NOW + 1000, total_cents: 640 + 450 });
  checkStock(t, db);
  // Fewer eggs: one goes back to the shop.
  setBasket(db, a, s.cycle, { [s.offers.eggs]: 1 });
  place(db, s, a);
  t.equal(taken(db, s.offers.eggs), 1);
  checkStock(t, db);
  // Bob takes the freed egg; Ana then asks for two again: refused, and her order stays as it was.
  setBasket(db, s.accounts.bob, s.cycle, { [s.offers.eggs]: 1 });
  place(db, s, s.accounts.bob);
  setBasket(db, a, s.cycle, { [s.offers.eggs]: 2, [s.offers.jam]: 5 });
  const before = orderState(db);
  t.match(place(db, s, a), { ok: false, reason: 'changed', lines: [{ offerId: s.offers.eggs, wanted: 2, left: 1, problem: 'not_enough' }] });
  t.equal(orderState(db), before, 'the old order keeps its lines and its stock');
  t.equal(rows(db, 'select * from orders where account_id = ?', a).length, 1, 'still one order per member and sale');
  checkStock(t, db);
  const emails = outbox(db).filter((e) => e.to_address === 'ana@carnet.test');
  t.same(
    emails.map((e) => e.subject),
    [`Votre commande ${first.reference} est enregistrée`, `Votre commande ${first.reference} est modifiée`, `Votre commande ${first.reference} est modifiée`],
    'an email confirms each change',
  );
});

t.test('cancelling frees the stock; an order can be placed again while the sale is open', async (t) => {
  const { db, shop: s } = fixture(t);
  const a = s.accounts.ana;
  setBasket(db, a, s.cycle, { [s.offers.eggs]: 2, [s.offers.chicken]: 1 });
  const r = place(db, s, a);
  if (!r.ok) throw new Error('not placed');

  // Bob cannot cancel Ana's order; after closing, Ana cannot either.
  const before = orderState(db);
  const refusals: Array<[string, () => unknown, unknown]> = [
    ['another member', () => cancelOrder(db, mailer, s.accounts.bob, r.orderId, NOW), { ok: false, reason: 'not_found' }],
    ['an unknown order', () => cancelOrder(db, mailer, a, 99999, NOW), { ok: false, reason: 'not_found' }],
    ['after closes_at', () => cancelOrder(db, mailer, a, r.orderId, NOW + 2 * D), { ok: false, reason: 'cycle_closed' }],
    ['edit by another member', () => loadOrderIntoBasket(db, s.accounts.bob, r.orderId, NOW), { ok: false, reason: 'not_found' }],
    ['edit after closes_at', () => loadOrderIntoBasket(db, a, r.orderId, NOW + 2 * D), { ok: false, reason: 'cycle_closed' }],
  ];
  for (const [label, act, want] of refusals) {
    t.same(act(), want, label);
    t.equal(orderState(db), before, `${label}: nothing changed`);
  }

  t.same(cancelOrder(db, mailer, a, r.orderId, NOW + 60_000), { ok: true, orderId: r.orderId, alreadyCancelled: false });
  t.match(one(db, 'select status, cancelled_at from orders where id = ?', r.orderId), { status: 'cancelled', cancelled_at: NOW + 60_000 });
  t.same([taken(db, s.offers.eggs), taken(db, s.offers.chicken)], [0, 0], 'stock freed');
  checkStock(t, db);
  t.match(outbox(db).at(-1), { to_address: 'ana@carnet.test', subject: `Votre commande ${r.reference} est annulée` });
  const afterCancel = orderState(db);
  t.same(cancelOrder(db, mailer, a, r.orderId, NOW + 120_000), { ok: true, orderId: r.orderId, alreadyCancelled: true }, 'cancelling twice');
  t.equal(orderState(db), afterCancel, 'changes nothing and sends nothing');

  // Bob takes the freed eggs; Ana orders again: same order row and reference, placed.
  setBasket(db, s.accounts.bob, s.cycle, { [s.offers.eggs]: 1 });
  place(db, s, s.accounts.bob);
  t.same(loadOrderIntoBasket(db, a, r.orderId, NOW), { ok: true, cycleId: s.cycle });
  t.same(rows(db, 'select offer_id, quantity from basket_items where account_id = ? order by offer_id', a), [
    { offer_id: s.offers.eggs, quantity: 2 },
    { offer_id: s.offers.chicken, quantity: 1 },
  ]);
  t.match(place(db, s, a), { ok: false, reason: 'changed', lines: [{ offerId: s.offers.eggs, left: 1, problem: 'not_enough' }] });
  setBasket(db, a, s.cycle, { [s.offers.eggs]: 1 });
  const again = place(db, s, a, { now: NOW + 180_000 });
  t.match(again, { ok: true, orderId: r.orderId, reference: r.reference, replaced: false });
  t.match(one(db, 'select status, cancelled_at, placed_at from orders where id = ?', r.orderId), { status: 'placed', cancelled_at: null, placed_at: NOW + 180_000 });
  checkStock(t, db);
});

t.test('loading an order into the basket keeps its distribution', async (t) => {
  const { db, shop: s } = fixture(t);
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.jam]: 2 });
  const r = place(db, s, s.accounts.ana, { distributionId: s.dists.ecole });
  if (!r.ok) throw new Error('not placed');
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.carrots]: 1 });
  t.same(loadOrderIntoBasket(db, s.accounts.ana, r.orderId, NOW), { ok: true, cycleId: s.cycle });
  t.same(rows(db, 'select offer_id, quantity from basket_items where account_id = ?', s.accounts.ana), [{ offer_id: s.offers.jam, quantity: 2 }], 'the basket holds the order’s lines only');
  t.equal(one<{ d: number }>(db, 'select distribution_id as d from baskets where account_id = ? and cycle_id = ?', s.accounts.ana, s.cycle).d, s.dists.ecole);
  t.equal(taken(db, s.offers.jam), 2, 'the order still holds its stock until it is placed again');
  const form = placeFormData(db, s.accounts.ana, s.cycle);
  t.match(form, { existingOrder: { id: r.orderId, reference: r.reference, status: 'placed' }, paymentMethods: ['cash', 'cheque'] });
  t.match(form.orderToken, ORDER_TOKEN_PATTERN);
  checkStock(t, db);
});

t.test('a distribution with orders cannot be removed from its sale', async (t) => {
  const { db, shop: s } = fixture(t);
  // A scheduled sale (distributions can be removed) that somehow has an order on one of them.
  const opensAt = NOW + 5 * D;
  const cycle = run(db, "insert into cycles (name, status, opens_at, closes_at, created_at, updated_at) values ('Plus tard', 'scheduled', ?, ?, 0, 0)", opensAt, opensAt + 2 * D);
  const point = one<{ id: number }>(db, 'select id from pickup_points limit 1').id;
  const keep = run(db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycle, point, opensAt + 3 * D, opensAt + 3 * D + 7_200_000);
  const ordered = run(db, 'insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)', cycle, point, opensAt + 4 * D, opensAt + 4 * D + 7_200_000);
  run(db, "insert into orders (cycle_id, account_id, distribution_id, reference, member_name, total_cents, placed_at, updated_at) values (?, ?, ?, 'V9-0001', 'Ana', 0, 0, 0)", cycle, s.accounts.ana, ordered);
  const tz = 'Europe/Paris';
  const input = {
    name: 'Plus tard',
    opensAt: toDateTimeLocal(opensAt, tz),
    closesAt: toDateTimeLocal(opensAt + 2 * D, tz),
    // Saved distributions missing from the form stay as they are.
    rows: [{ index: 1, id: String(ordered), remove: true }],
  };
  const result = updateCycle(db, cycle, input, { timeZone: tz, now: NOW });
  t.match(result, { ok: false, reason: 'invalid', errors: { 'dist-1-point': { key: 'error.orders.distribution_has_orders' } } });
  t.equal(rows(db, 'select id from distributions where cycle_id = ?', cycle).length, 2, 'both distributions stay');
  // Without orders it can go.
  const free = updateCycle(db, cycle, { ...input, rows: [{ index: 0, id: String(keep), remove: true }] }, { timeZone: tz, now: NOW });
  t.same(free, { ok: true });
});

// ----- the confirmation email, in both languages -----

const EMAIL_CASES = [
  {
    locale: 'fr' as const,
    account: (s: Shop) => s.accounts.ana,
    subject: /^Votre commande V\d+-0001 est enregistrée$/,
    says: [
      'Merci ! Votre commande V',
      'Carottes (botte) — Ferme des Saules',
      'Œufs (boîte de 6) — Ferme des Saules',
      'Poulet (environ 1,5 kg pièce) — Ferme des Saules',
      '12,00 €/kg',
      'environ 36,00 €',
      'Confiture (pot)',
      'Total TTC',
      '57,70 €',
      'dont TVA 5,5 % sur 44,20 €',
      '2,30 €',
      'dont TVA 20 % sur 13,50 €',
      '2,25 €',
      'Halle du marché',
      '3 place du Marché',
      '44000 Nantes',
      '23 octobre 2026, 17:00–19:00',
      'Entrée par la porte verte.',
      'Montant à régler : 57,70 €',
      'Paiement au retrait : espèces, virement.',
      'indiquez la référence V',
      'IBAN : FR76 3000 6000 0112 3456 7890 189',
      'http://carnet.test/orders/',
    ],
  },
  {
    locale: 'en' as const,
    account: (s: Shop) => s.accounts.bob,
    subject: /^Your order V\d+-0001 is placed$/,
    says: [
      'Thank you! Your order V',
      'Carottes (bunch) — Ferme des Saules',
      'Poulet (about 1.5 kg each)',
      '€12.00/kg',
      'about €36.00',
      'Total (VAT included)',
      '€57.70',
      'including VAT 5.5% on €44.20',
      '€2.30',
      'including VAT 20% on €13.50',
      '€2.25',
      'Halle du marché',
      '44000 Nantes',
      '23 October 2026, 17:00–19:00',
      'Amount due: €57.70',
      'Pay at pickup: cash, bank transfer.',
      'give the reference V',
      'BIC : AGRIFRPP',
    ],
  },
];

for (const c of EMAIL_CASES) {
  t.test(`the confirmation email (${c.locale})`, async (t) => {
    const { db, shop: s } = fixture(t);
    run(db, "update coop set payment_methods = 'transfer,cash', bank_details = ?", 'Coop des Saules\nIBAN : FR76 3000 6000 0112 3456 7890 189\nBIC : AGRIFRPP');
    const who = c.account(s);
    setBasket(db, who, s.cycle, { [s.offers.carrots]: 2, [s.offers.eggs]: 1, [s.offers.jam]: 3, [s.offers.chicken]: 2 });
    const r = place(db, s, who);
    if (!r.ok) throw new Error('not placed');
    const [email] = outbox(db);
    t.match(email!.subject, c.subject);
    // Intl writes a narrow no-break space before € in French: compare with plain spaces.
    const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
    const html = plain(email!.html_body.replace(/&#39;/g, "'").replace(/&amp;/g, '&'));
    const text = plain(email!.text_body);
    for (const said of c.says) {
      t.ok(text.includes(said), `text part says "${said}"`);
      t.ok(html.includes(said), `HTML part says "${said}"`);
    }
    t.match(email!.text_body, r.reference, 'the reference, for the transfer');
    t.notMatch(email!.html_body, /<script|onerror/i);
  });
}

t.test('hostile names are escaped in the HTML email', async (t) => {
  const { db, shop: s } = fixture(t);
  run(db, "update products set name = '<img src=x onerror=alert(1)>' where id = ?", s.products.jam);
  setBasket(db, s.accounts.ana, s.cycle, { [s.offers.jam]: 1 });
  t.match(place(db, s, s.accounts.ana), { ok: true });
  const [email] = outbox(db);
  t.notMatch(email!.html_body, '<img src=x');
  t.match(email!.html_body, '&lt;img src=x onerror=alert(1)&gt;');
  t.match(email!.text_body, '<img src=x onerror=alert(1)>', 'the text part is plain text');
});

t.test('existing emails are unchanged by the table and blocks', async (t) => {
  const { db } = fixture(t);
  const email = mailer.render(db, { to: 'x@carnet.test', toName: 'Xavier', locale: 'en', template: 'welcome', data: { loginUrl: 'http://carnet.test/login' } });
  t.notMatch(email.html, '<th');
  t.equal(email.text.split('\n\n').length, 5, 'greeting, body, link, then signature with footer, as before');
});
