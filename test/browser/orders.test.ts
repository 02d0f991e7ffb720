import type { Browser, Locator, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { lineTotalCents, windowText } from '../../src/domain/orders.js';
import { formatters, translator } from '../../src/i18n/index.js';
import { addresses, assertSameOriginAndAudited, launchBrowser, openSession, startServer, startSmtp, type Server, type Session } from './browser-helper.js';
import { BANK_DETAILS, MEMBER_A, MEMBER_B, OFFERS, POINTS, PRODUCERS, seedOrderWorld, storedOrders, taken, type OfferKey, type OrderWorld } from './orders-fixtures.js';

/*
 * A member orders on a phone, once with JavaScript (htmx: the shop's lines and the basket change
 * in place) and once without (plain forms and redirects): log in, find products with the search
 * and the category filter, fill the basket, change and remove lines, choose a pickup, place the
 * order (a double submission makes one order), get the confirmation email; change the order and
 * cancel it; then two members want the last unit of an offer: the first takes it, the second sees
 * it sold out and is told, without anything placed, when placing. My orders lists the order, and
 * its printable page has no site header. Every page is checked with axe-core and at 320 px wide.
 */

const fr = translator('fr');
const fmt = formatters('fr', 'Europe/Paris', 'EUR');
const money = (cents: number) => fmt.money(cents);
/** Table cells are read with their spaces normalised (the formatter puts a no-break space before €). */
const spaced = (s: string) => s.replace(/\s+/g, ' ');
const TOMME_PIECE = Math.round((OFFERS.tomme.priceCents * OFFERS.tomme.weighedGrams) / 1000);

const browser: Browser = await launchBrowser(t);

for (const js of [true, false]) {
  await t.test(js ? 'with JavaScript' : 'without JavaScript', (t) => orderFlows(t, browser, js));
}

async function orderFlows(t: Test, browser: Browser, js: boolean): Promise<void> {
  const started = Date.now();
  const smtp = await startSmtp(t);
  const server = await startServer(t, smtp.port);
  const { db } = server;
  const w = await seedOrderWorld(db);
  const base = server.baseUrl;
  const shopUrl = `${base}/shop/${w.cycleId}`;
  const basketUrl = `${shopUrl}/basket`;
  const alice = await openSession(t, browser, server, { js });
  const bruno = await openSession(t, browser, server, { js });
  let orderId = 0;
  let reference = '';

  await t.test('1. a member finds products, fills the basket, chooses a pickup and places the order', async (t) => {
    const { page } = alice;
    await logIn(t, alice, base, MEMBER_A.email, MEMBER_A.password);
    await headerLink(page, fr('shop.nav')).click();
    await page.waitForURL(shopUrl);
    t.equal(await heading(page), w.cycleName, 'the header’s "Boutique" leads to the one open sale');
    t.equal(await line(page, w, 'crottin').locator('small').first().textContent(), fr('shop.left', { count: '1' }), 'the scarce offer says one is left');
    t.equal(await line(page, w, 'leeks').getByText(fr('shop.left', { count: '1' })).count(), 0, 'an unlimited offer says nothing of what is left');
    t.ok(await line(page, w, 'tomme').getByText(fr('shop.price_estimated', { price: money(TOMME_PIECE), unit: fr('shop.unit.piece') })).isVisible(), 'the weighed product shows its estimated price a piece');
    await alice.check(t, 'shop, empty basket');

    // search
    await page.locator('#f-q').fill('carottes');
    await page.getByRole('button', { name: fr('shop.filter') }).click();
    await page.waitForURL((u) => u.pathname === `/shop/${w.cycleId}` && u.searchParams.get('q') === 'carottes');
    await page.getByRole('status').filter({ hasText: fr('shop.shown', { shown: '1', total: '6' }) }).waitFor();
    t.equal(await page.locator('ul.offer-list > li').count(), 1, 'the search finds the carrots only');
    await alice.check(t, 'shop, searched');
    await addToBasket(t, alice, w, 'carrots', 2, 2);
    t.equal(new URL(page.url()).searchParams.get('q'), 'carottes', 'still on the searched page');

    // category filter
    await page.locator('#f-q').fill('');
    await page.locator('#f-category').selectOption(String(w.categories['Légumes']));
    await page.getByRole('button', { name: fr('shop.filter') }).click();
    await page.waitForURL((u) => u.searchParams.get('category') === String(w.categories['Légumes']));
    await page.getByRole('status').filter({ hasText: fr('shop.shown', { shown: '3', total: '6' }) }).waitFor();
    t.same(await offerNames(page), [OFFERS.carrots.name, OFFERS.leeks.name, OFFERS.salad.name].sort(), 'the category shows its three vegetables');
    t.ok(await line(page, w, 'carrots').getByText(fr('shop.in_basket', { count: 2 })).isVisible(), 'the carrots say they are in the basket');
    await alice.check(t, 'shop, one category');
    await addToBasket(t, alice, w, 'leeks', 1, 3);

    await page.getByRole('link', { name: fr('shop.reset') }).first().click();
    await page.waitForURL(shopUrl);
    await addToBasket(t, alice, w, 'tomme', 1, 4);
    await alice.check(t, 'shop with a filled basket');

    // the basket
    await page.locator('#basket-summary').getByRole('button', { name: fr('shop.see_basket') }).click();
    await page.waitForURL(basketUrl);
    t.equal(await heading(page), fr('shop.basket.heading', { cycle: w.cycleName }));
    t.equal(await page.locator('.basket-table tbody tr').count(), 3, 'three lines in the basket');
    await alice.check(t, 'basket with three lines');

    await basketChange(t, alice, page.locator(`#bq-${w.offers.carrots}`), '3', page.getByRole('button', { name: `${fr('shop.update')} — ${OFFERS.carrots.name}` }), 'basket, quantity changed');
    await page.locator(`#line-${w.offers.carrots} td`).last().filter({ hasText: money(3 * OFFERS.carrots.priceCents) }).waitFor();
    if (!js) await flash(t, page, 'success', fr('shop.flash.updated', { name: OFFERS.carrots.name, quantity: '3' }));
    t.pass('the carrots line says 3 bunches');
    await basketClick(t, alice, page.getByRole('button', { name: `${fr('shop.remove')} — ${OFFERS.leeks.name}` }), 'basket, line removed');
    await page.locator(`#line-${w.offers.leeks}`).waitFor({ state: 'detached' });
    if (!js) await flash(t, page, 'success', fr('shop.flash.removed', { name: OFFERS.leeks.name }));
    const total = 3 * OFFERS.carrots.priceCents + TOMME_PIECE;
    t.equal(await page.locator('.basket-table tfoot tr').first().locator('td').textContent(), money(total), 'the basket total follows the lines');
    t.equal(await navCount(page), `4 ${fr('shop.nav_count')}`, 'the header counts 4 items');

    const point = POINTS[1]!;
    await page.getByRole('radio', { name: new RegExp(point.name) }).check();
    await basketClick(t, alice, page.getByRole('button', { name: fr('shop.basket.save_distribution') }), 'basket, pickup chosen');
    await page.getByRole('status').filter({ hasText: fr('shop.basket.chosen', { point: point.name }) }).waitFor();
    if (!js) await flash(t, page, 'success', fr('shop.flash.distribution'));
    const window = windowText(fr, fmt, w.windows[1]!.startsAt, w.windows[1]!.endsAt);
    t.ok(await page.locator('.place-order').getByText(fr('orders.place.pickup_at', { point: point.name, date: fmt.date(w.windows[1]!.startsAt), start: fmt.time(w.windows[1]!.startsAt), end: fmt.time(w.windows[1]!.endsAt) })).isVisible(), 'the place form names the chosen pickup');
    t.ok(await page.locator('.place-order').getByText(fr('orders.amount_due', { amount: money(total) })).isVisible(), 'and the amount due');

    // place it with a double click: one order
    const form = await placeFormFields(page);
    const posts = countPosts(page, `/shop/${w.cycleId}/order`);
    await page.getByRole('button', { name: fr('orders.place.submit') }).dblclick();
    await page.waitForURL(/\/orders\/\d+$/);
    orderId = Number(/\/orders\/(\d+)$/.exec(page.url())![1]);
    let orders = storedOrders(db, w.memberA);
    t.equal(orders.length, 1, `a double click placed one order (${posts.count()} POSTs sent)`);
    reference = orders[0]!.reference;
    t.match(orders[0], { id: orderId, status: 'placed', distributionId: w.dists[1], totalCents: total, lines: { [w.offers.carrots]: 3, [w.offers.tomme]: 1 } }, 'the order holds the basket');
    // and the same form sent once more (a reload, a retry after a timeout) changes nothing
    const again = await page.request.post(`${shopUrl}/order`, { form });
    t.equal(again.status(), 200);
    t.equal(new URL(again.url()).pathname, `/orders/${orderId}`, 'the same token sent again leads to the same order');
    orders = storedOrders(db, w.memberA);
    t.equal(orders.length, 1, 'still one order');
    t.equal(countRows(server, 'select count(*) as n from order_submissions where account_id = ?', w.memberA), 1, 'one submission recorded');
    t.equal(taken(db, w.offers.carrots), 3, 'the carrots are taken once');

    // the order page
    t.equal(await heading(page), fr('orders.order_title', { reference }), 'the order page shows the reference');
    t.ok(await page.locator('.order-meta').getByText(fr('orders.status.placed')).isVisible(), 'status: placed');
    const rows = await tableRows(page.locator('table.order-lines tbody tr'));
    t.equal(rows.length, 2, 'two lines');
    rows.sort((x, y) => (x[0]!.startsWith(OFFERS.carrots.name) ? -1 : y[0]!.startsWith(OFFERS.carrots.name) ? 1 : 0));
    t.match(rows[0], [new RegExp(`^${OFFERS.carrots.name} \\(botte\\) — ${PRODUCERS.farm}$`), '3', spaced(money(OFFERS.carrots.priceCents)), spaced(money(3 * OFFERS.carrots.priceCents))], 'the carrots line');
    t.match(rows[1], [new RegExp(`^${OFFERS.tomme.name}`), '1', spaced(fr('orders.price_per_kg', { price: money(OFFERS.tomme.priceCents) })), spaced(fr('orders.estimated', { amount: money(weighedTotal(1)) }))], 'the weighed line, estimated');
    t.equal(await page.locator('tr.order-total td').textContent(), money(total), 'the total');
    const pickup = page.locator('section[aria-labelledby="pickup-title"]');
    for (const text of [point.name, ...point.address.split('\n'), window, point.instructions]) t.ok(await pickup.getByText(text, { exact: false }).first().isVisible(), `pickup: ${text}`);
    const payment = page.locator('section[aria-labelledby="payment-title"]');
    for (const text of [
      fr('orders.amount_due', { amount: money(total) }),
      fr('orders.pay_at_pickup', { methods: [fr('orders.method.cash'), fr('orders.method.cheque'), fr('orders.method.transfer')].join(', ') }),
      fr('orders.transfer_reference', { reference }),
      BANK_DETAILS.split('\n')[1]!,
    ]) {
      t.ok(await payment.getByText(text, { exact: false }).isVisible(), `payment: ${text}`);
    }
    await alice.check(t, 'order page, placed');

    const mail = await smtp.waitForMail((m) => addresses(m).includes(MEMBER_A.email) && m.subject === fr('orders.email.placed.subject', { reference }));
    const text = mail.text ?? '';
    for (const s of [reference, point.name, point.address.split('\n')[0]!, window, OFFERS.carrots.name, money(total)]) t.ok(text.includes(s), `the confirmation email says ${s}`);
    t.equal(smtp.mails.filter((m) => m.subject === fr('orders.email.placed.subject', { reference })).length, 1, 'one confirmation email');
  });

  await t.test('2. the member changes the order, then cancels it', async (t) => {
    const { page } = alice;
    await page.getByRole('button', { name: fr('orders.change') }).click();
    await page.waitForURL(basketUrl);
    await flash(t, page, 'info', fr('orders.flash.editing'));
    t.equal(await page.locator(`#bq-${w.offers.carrots}`).inputValue(), '3', 'the basket holds the order: 3 carrots');
    t.equal(await page.locator(`#bq-${w.offers.tomme}`).inputValue(), '1', 'and the tomme');
    t.ok(await page.getByText(fr('orders.place.replaces', { reference })).isVisible(), 'placing it will replace the order');
    await alice.check(t, 'basket of an order being changed');

    await basketChange(t, alice, page.locator(`#bq-${w.offers.carrots}`), '1', page.getByRole('button', { name: `${fr('shop.update')} — ${OFFERS.carrots.name}` }), 'changed order’s basket, quantity changed');
    const total = OFFERS.carrots.priceCents + TOMME_PIECE;
    await page.locator('.place-order').getByText(fr('orders.amount_due', { amount: money(total) })).waitFor();
    await page.getByRole('button', { name: fr('orders.place.submit_replace') }).click();
    await page.waitForURL(`${base}/orders/${orderId}`);
    await flash(t, page, 'success', fr('orders.flash.changed', { reference }));
    t.equal(await heading(page), fr('orders.order_title', { reference }), 'the same reference');
    const rows = await tableRows(page.locator('table.order-lines tbody tr'));
    t.equal(rows.find((r) => r[0]!.startsWith(OFFERS.carrots.name))?.[1], '1', 'the carrots line now says 1');
    t.equal(await page.locator('tr.order-total td').textContent(), money(total));
    t.match(storedOrders(db, w.memberA), [{ id: orderId, reference, status: 'placed', totalCents: total, lines: { [w.offers.carrots]: 1, [w.offers.tomme]: 1 } }], 'one order, with the new lines');
    t.equal(taken(db, w.offers.carrots), 1, 'two carrots are back in stock');
    await alice.check(t, 'order page, changed');
    await smtp.waitForMail((m) => addresses(m).includes(MEMBER_A.email) && m.subject === fr('orders.email.changed.subject', { reference }));
    t.pass('an email confirms the change');

    await page.getByRole('button', { name: fr('orders.cancel') }).click();
    await flash(t, page, 'success', fr('orders.flash.cancelled'));
    t.ok(await page.locator('.order-meta').getByText(fr('orders.status.cancelled')).isVisible(), 'status: cancelled');
    t.ok(await page.getByRole('button', { name: fr('orders.order_again') }).isVisible(), 'it may be ordered again');
    t.equal(storedOrders(db, w.memberA)[0]?.status, 'cancelled', 'cancelled in the database');
    t.equal(taken(db, w.offers.carrots), 0, 'the carrots are freed');
    t.equal(taken(db, w.offers.tomme), 0, 'the tomme is freed');
    await alice.check(t, 'order page, cancelled');
    await smtp.waitForMail((m) => addresses(m).includes(MEMBER_A.email) && m.subject === fr('orders.email.cancelled.subject', { reference }));
    t.pass('an email confirms the cancellation');
  });

  await t.test('3. two members want the last unit: the first takes it, the second is told', async (t) => {
    // B sees one left and puts it in the basket, with a jar of honey
    const b = bruno.page;
    await logIn(t, bruno, base, MEMBER_B.email, MEMBER_B.password);
    await headerLink(b, fr('shop.nav')).click();
    await b.waitForURL(shopUrl);
    await addToBasket(t, bruno, w, 'crottin', 1, 1);
    await addToBasket(t, bruno, w, 'honey', 1, 2);
    await bruno.check(t, 'shop of member B');

    // A takes it first
    const a = alice.page;
    await headerLink(a, fr('shop.nav')).click();
    await a.waitForURL(shopUrl);
    t.equal(await line(a, w, 'crottin').locator('small').first().textContent(), fr('shop.left', { count: '1' }), 'A sees one left too');
    await addToBasket(t, alice, w, 'crottin', 1, 1);
    await a.locator('#basket-summary').getByRole('button', { name: fr('shop.see_basket') }).click();
    await a.waitForURL(basketUrl);
    t.ok(await a.locator('.place-order').getByText(POINTS[1]!.name).isVisible(), 'the pickup chosen for the first order is kept');
    await a.getByRole('button', { name: fr('orders.place.submit') }).click();
    await a.waitForURL(`${base}/orders/${orderId}`);
    await flash(t, a, 'success', fr('orders.flash.placed', { reference }));
    t.match(storedOrders(db, w.memberA), [{ id: orderId, status: 'placed', lines: { [w.offers.crottin]: 1 } }], 'A’s order holds the last unit');
    t.equal(taken(db, w.offers.crottin), 1);

    // B opens the shop: sold out, nothing to add
    await headerLink(b, fr('shop.nav')).click();
    await b.waitForURL(shopUrl);
    const crottin = line(b, w, 'crottin');
    await crottin.locator('b', { hasText: fr('shop.sold_out') }).waitFor();
    t.equal(await crottin.getAttribute('class'), 'sold-out', 'the line is marked sold out');
    t.equal(await crottin.getByRole('button', { name: fr('shop.add') }).count(), 0, 'no add button on it');
    t.equal(await line(b, w, 'carrots').getByRole('button', { name: fr('shop.add') }).count(), 1, 'other lines still have one');
    await bruno.check(t, 'shop with a sold-out offer');

    await b.locator('#basket-summary').getByRole('button', { name: fr('shop.see_basket') }).click();
    await b.waitForURL(basketUrl);
    t.ok(await b.getByText(fr('shop.problem.sold_out')).isVisible(), 'the basket flags the line');
    await bruno.check(t, 'basket with a sold-out line');
    await b.locator('#place-distribution').selectOption(String(w.dists[0]));
    const answer = b.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/shop/${w.cycleId}/order`);
    await b.getByRole('button', { name: fr('orders.place.submit') }).click();
    t.equal((await answer).status(), 409, 'placing it is a 409');
    await b.getByRole('heading', { name: fr('orders.changed_title'), level: 1 }).waitFor();
    const rows = await tableRows(b.locator('table tbody tr'));
    t.same(rows, [[OFFERS.crottin.name, '1', '0', fr('orders.problem.sold_out')]], 'the page names the line, what was wanted and what is left');
    t.ok(await b.getByText(fr('orders.changed_nothing_placed')).isVisible(), 'and says nothing was placed');
    await bruno.check(t, 'order not placed (409)');
    t.same(storedOrders(db, w.memberB), [], 'nothing is placed for B');
    t.equal(taken(db, w.offers.crottin), 1, 'the last unit stays A’s');
    t.equal(taken(db, w.offers.honey), 0, 'B’s other line took nothing');
    await b.getByRole('button', { name: fr('orders.back_to_basket') }).click();
    await b.waitForURL(basketUrl);
    t.equal(await b.locator('.basket-table tbody tr').count(), 2, 'B’s basket is as it was');
  });

  await t.test('4. my orders lists the order, and it prints without the site header', async (t) => {
    const { page } = alice;
    await headerLink(page, fr('orders.nav')).click();
    await page.waitForURL(`${base}/orders`);
    const rows = await tableRows(page.locator('section[aria-labelledby="current-title"] tbody tr'));
    t.equal(rows.length, 1, 'one current order');
    t.equal(rows[0]?.[0], reference, 'with its reference');
    t.match(rows[0]?.[2], POINTS[1]!.name, 'its pickup');
    t.match(rows[0]?.[3], fr('orders.status.placed'), 'its status');
    t.equal(rows[0]?.[4], spaced(money(OFFERS.crottin.priceCents)), 'its total');
    await alice.check(t, 'my orders');
    await page.getByRole('link', { name: reference }).click();
    await page.waitForURL(`${base}/orders/${orderId}`);
    await alice.check(t, 'order page from my orders');

    if (js) {
      // With JavaScript the link opens the print dialog on this page; its address is the printable page.
      t.equal(await page.getByRole('button', { name: fr('orders.print') }).getAttribute('href'), `/orders/${orderId}?print=1`);
      await page.goto(`${base}/orders/${orderId}?print=1`);
    } else {
      await page.getByRole('button', { name: fr('orders.print') }).click();
      await page.waitForURL(`${base}/orders/${orderId}?print=1`);
    }
    t.equal(await heading(page), `Coop Test — ${fr('orders.order_title', { reference })}`);
    t.equal(await page.locator('header, nav, footer').count(), 0, 'no site header, menu or footer');
    t.equal(await page.getByRole('link', { name: fr('shop.nav') }).count(), 0, 'no shop link');
    t.equal(await page.locator('table.order-lines tbody tr').count(), 1, 'the order’s line');
    await alice.check(t, 'printable order');
  });

  await t.test('no request left 127.0.0.1, and every page was checked', async (t) => {
    for (const s of [alice, bruno]) assertSameOriginAndAudited(t, s, server);
    t.comment(`${js ? 'with' : 'without'} JavaScript: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

// ---------------------------------------------------------------------------------------------

function weighedTotal(quantity: number): number {
  return lineTotalCents({ unitPriceCents: OFFERS.tomme.priceCents, quantity, weighed: true, estimatedWeightGrams: OFFERS.tomme.weighedGrams });
}

async function logIn(t: Test, s: Session, base: string, email: string, password: string): Promise<void> {
  const { page } = s;
  await page.goto(base + '/login');
  await s.check(t, 'login form');
  await page.locator('#f-email').fill(email);
  await page.locator('#f-password').fill(password);
  await page.getByRole('button', { name: fr('login.submit') }).click();
  await flash(t, page, 'success', fr('flash.logged_in'));
  await s.check(t, 'home page of a member');
}

function headerLink(page: Page, name: string): Locator {
  return page.getByRole('navigation', { name: fr('nav.main') }).getByRole('link', { name: new RegExp('^' + name) });
}

/** An offer's line in the shop. */
function line(page: Page, w: OrderWorld, key: OfferKey): Locator {
  return page.locator('ul.offer-list > li').filter({ has: page.locator(`#n${w.offers[key]}`) });
}

async function offerNames(page: Page): Promise<string[]> {
  return (await page.locator('ul.offer-list > li > a[id^="n"]').allTextContents()).sort();
}

/** The header's basket count, as read. */
async function navCount(page: Page): Promise<string> {
  return ((await page.locator('#nav-basket-count').textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * Puts a quantity of an offer in the basket from the shop page. With JavaScript the line is
 * swapped in place (the page itself stays: its heading keeps a mark) and the header count
 * follows; without, the form reloads the page with a message and the line's new state.
 */
async function addToBasket(t: Test, s: Session, w: OrderWorld, key: OfferKey, quantity: number, count: number): Promise<void> {
  const { page } = s;
  const name = OFFERS[key].name;
  const row = line(page, w, key);
  const url = page.url();
  await row.getByRole('spinbutton', { name: `${fr('shop.quantity')} ${name}` }).fill(String(quantity));
  if (s.js) {
    await page.locator('h1').evaluate((el) => el.setAttribute('data-kept', ''));
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/shop/${w.cycleId}/basket/${w.offers[key]}`);
    await row.getByRole('button', { name: fr('shop.add') }).click();
    t.equal((await answer).status(), 200, `${name}: added with htmx`);
    await row.getByText(fr('shop.in_basket', { count: quantity })).waitFor();
    await page.locator('#nav-basket-count').filter({ hasText: `${count} ${fr('shop.nav_count')}` }).waitFor();
    t.equal(await page.locator('h1[data-kept]').count(), 1, `${name}: the line changed in place, not the page`);
    t.equal(page.url(), url, 'the address stays');
    t.equal(await row.getByRole('button', { name: fr('shop.update') }).count(), 1, `${name}: the line's button now says "${fr('shop.update')}"`);
    t.ok(await page.locator('#basket-summary').getByText(fr('shop.summary', { count: String(count), total: '§' }).split(',')[0]!, { exact: false }).isVisible(), 'the basket summary follows');
  } else {
    await row.getByRole('button', { name: fr('shop.add') }).click();
    await flash(t, page, 'success', fr('shop.flash.updated', { name, quantity: String(quantity) }));
    t.equal(page.url(), url, `${name}: back on the same shop page`);
    t.ok(await row.getByText(fr('shop.in_basket', { count: quantity })).isVisible(), `${name}: the line says it is in the basket`);
    t.equal(await navCount(page), `${count} ${fr('shop.nav_count')}`, `the header counts ${count}`);
  }
  await s.check(t, `shop after adding ${name}`);
}

/** Types a quantity on the basket page and sends its line's form (htmx swaps the basket; without JS the page reloads). */
async function basketChange(t: Test, s: Session, input: Locator, value: string, button: Locator, label: string): Promise<void> {
  await input.fill(value);
  await basketClick(t, s, button, label);
}

/**
 * Presses a button of the basket page. With htmx the answer is the basket section, swapped into
 * the page (boosted, so the session records its path as a page received): the page with the
 * swapped section is audited, which audits that fragment. Without JavaScript the page reloads.
 */
async function basketClick(t: Test, s: Session, button: Locator, label: string): Promise<void> {
  const { page } = s;
  if (s.js) {
    await page.locator('#basket').evaluate((el) => el.setAttribute('data-before', ''));
    const answer = page.waitForResponse((r) => r.request().method() === 'POST');
    await button.click();
    const fragment = new URL((await answer).url()).pathname;
    await page.locator('#basket:not([data-before])').waitFor();
    await s.check(t, label);
    s.pagesChecked.add(fragment);
  } else {
    const loaded = page.waitForEvent('load');
    await button.click();
    await loaded;
    await s.check(t, label);
  }
}

/** The place-order form's fields, to send them again. */
async function placeFormFields(page: Page): Promise<Record<string, string>> {
  const form = page.locator('.place-order form');
  const fields: Record<string, string> = {};
  for (const input of await form.locator('input[name], select[name]').all()) fields[(await input.getAttribute('name'))!] = await input.inputValue();
  return fields;
}

/** Counts the POST requests to a path from now on. */
function countPosts(page: Page, path: string): { count(): number } {
  let n = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === path) n++;
  });
  return { count: () => n };
}

function countRows(server: Server, sql: string, ...params: unknown[]): number {
  return (server.db.$client.prepare(sql).get(...params) as { n: number }).n;
}

async function tableRows(rows: Locator): Promise<string[][]> {
  const out: string[][] = [];
  for (const row of await rows.all()) out.push((await row.locator('th, td').allTextContents()).map((s) => s.replace(/\s+/g, ' ').trim()));
  return out;
}

async function heading(page: Page): Promise<string | undefined> {
  return (await page.locator('h1').first().textContent())?.replace(/\s+/g, ' ').trim();
}

async function flash(t: Test, page: Page, kind: 'success' | 'info' | 'error', text: string): Promise<void> {
  await page.locator(`.flash-${kind}`, { hasText: text }).waitFor();
  t.equal((await page.locator(`.flash-${kind}`).textContent())?.trim(), text, `${kind} message: ${text}`);
}
