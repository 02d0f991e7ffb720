import type { Browser, Locator, Page, Response } from 'playwright-core';
import t, { type Test } from 'tap';
import { applyDueTransitions, getCycle } from '../../src/domain/cycles.js';
import { translator } from '../../src/i18n/index.js';
import { addresses, assertSameOriginAndAudited, launchBrowser, openSession, startServer, startSmtp } from './browser-helper.js';
import {
  ADMIN,
  catalogCsv,
  CSV_PRODUCTS,
  cycleForm,
  PRODUCER_A,
  PRODUCER_B,
  seedWorld,
  storedOffers,
  storedProducts,
} from './producers-fixtures.js';

/*
 * A week's sale in a real browser, once with JavaScript (htmx: boosted pages, inline row saves)
 * and once without (plain forms): an admin sets up two pickup points, creates a producer and
 * invites its manager by email, creates and schedules a cycle with two distributions; the invited
 * producer fills a catalog and publishes the week's stock; a second producer imports its catalog
 * from a CSV and publishes too, then copies its offers into the next week's cycle; a producer
 * cannot open another's pages; and the clock opens the cycle. Every page is checked with axe-core
 * and at 320 px wide, on a phone-size viewport.
 */

const fr = translator('fr');
const COOP = 'Coop Test';
const POINTS = [
  { name: 'Mairie', address: '1 place de la Mairie\n35000 Rennes', instructions: 'Salle du rez-de-chaussée, entrée à gauche.' },
  { name: 'Marché des Lices', address: 'Place des Lices\n35000 Rennes', instructions: '' },
];
// Producer A's catalog, typed in the product form.
const CARROTS = 'Carottes';
const CHICKEN = 'Poulet fermier';
const EGGS = 'Œufs plein air';

const browser: Browser = await launchBrowser(t);

for (const js of [true, false]) {
  await t.test(js ? 'with JavaScript' : 'without JavaScript', (t) => saleWeek(t, browser, js));
}

async function saleWeek(t: Test, browser: Browser, js: boolean): Promise<void> {
  const started = Date.now();
  const smtp = await startSmtp(t);
  const server = await startServer(t, smtp.port);
  const { producerB } = await seedWorld(server.db);
  const { db } = server;
  const base = server.baseUrl;
  const admin = await openSession(t, browser, server, { js });
  const prodA = await openSession(t, browser, server, { js });
  const prodB = await openSession(t, browser, server, { js });
  const cycle = cycleForm(js ? 'Semaine 12' : 'Semaine 13');
  let producerA = 0;
  let cycleId = 0;
  let offersUrlA = '';
  let offersUrlB = '';

  await t.test('1. admin: pickup points, a producer and its invitation, a scheduled cycle', async (t) => {
    const { page } = admin;
    await page.goto(base + '/login');
    await admin.check(t, 'login form');
    await page.locator('#f-email').fill(ADMIN.email);
    await page.locator('#f-password').fill(ADMIN.password);
    await page.getByRole('button', { name: fr('login.submit') }).click();
    await flash(t, page, 'success', fr('flash.logged_in'));
    await admin.check(t, 'home page of an admin');
    await page.getByRole('navigation', { name: fr('nav.main') }).getByRole('link', { name: fr('nav.admin') }).click();
    await page.waitForURL(base + '/admin');
    await admin.check(t, 'admin dashboard');

    // pickup points
    await adminNav(page, fr('pickup_points.title'));
    await page.waitForURL(base + '/admin/pickup-points');
    t.ok(await page.getByText(fr('pickup_points.empty')).isVisible(), 'no pickup point yet');
    await admin.check(t, 'pickup points, none yet');
    for (const [i, point] of POINTS.entries()) {
      await page.getByRole('button', { name: fr('pickup_points.new') }).click();
      await page.waitForURL(base + '/admin/pickup-points/new');
      if (i === 0) await admin.check(t, 'new pickup point form');
      await page.locator('#f-name').fill(point.name);
      await page.locator('#f-address').fill(point.address);
      await page.locator('#f-instructions').fill(point.instructions);
      await page.getByRole('button', { name: fr('pickup_points.create') }).click();
      await page.waitForURL(base + '/admin/pickup-points');
      await flash(t, page, 'success', fr('pickup_points.flash.created', { name: point.name }));
    }
    t.equal(await page.locator('table tbody tr').count(), 2, 'both pickup points are listed');
    await admin.check(t, 'pickup points list');
    const points = db.$client.prepare('select name, address, instructions, active from pickup_points order by id').all();
    t.same(
      points,
      POINTS.map((p) => ({ ...p, active: 1 })),
      'the pickup points are stored as typed, active',
    );

    // a producer, and an invitation for the person who will manage it
    await adminNav(page, fr('producers.title'));
    await page.waitForURL(base + '/admin/producers');
    await admin.check(t, 'producers list');
    await page.getByRole('button', { name: fr('producers.new') }).click();
    await page.waitForURL(base + '/admin/producers/new');
    await admin.check(t, 'new producer form');
    await page.locator('#f-name').fill(PRODUCER_A.farm);
    await page.locator('#f-description').fill('Légumes de saison et volailles élevées en plein air.');
    await page.locator('#f-contactName').fill(PRODUCER_A.name);
    await page.locator('#f-email').fill(PRODUCER_A.email);
    await page.locator('#f-phone').fill('02 99 00 00 00');
    await page.locator('#f-address').fill('Lieu-dit les Alouettes\n35310 Mordelles');
    await page.getByRole('button', { name: fr('producers.create') }).click();
    await page.waitForURL(/\/admin\/producers\/\d+$/);
    producerA = Number(/\/admin\/producers\/(\d+)$/.exec(page.url())![1]);
    await flash(t, page, 'success', fr('producers.flash.created', { name: PRODUCER_A.farm }));
    t.equal(await heading(page), PRODUCER_A.farm);
    await admin.check(t, 'producer page, no manager yet');

    await page.locator('#f-email').fill(PRODUCER_A.email);
    await page.getByRole('button', { name: fr('producers.invite_submit') }).click();
    await flash(t, page, 'success', fr('producers.flash.invited', { email: PRODUCER_A.email }));
    t.ok(await page.getByRole('cell', { name: PRODUCER_A.email, exact: true }).isVisible(), 'the invitation is listed as pending');
    await admin.check(t, 'producer page with a pending invitation');

    // the invited person opens the emailed link and creates an account from it
    const subject = fr('email.producer_invitation.subject', { inviter: ADMIN.name, producer: PRODUCER_A.farm, coop: COOP });
    const mail = await smtp.waitForMail((m) => addresses(m).includes(PRODUCER_A.email) && m.subject === subject);
    const link = new RegExp(`${escapeRegExp(base)}/invitations/[A-Za-z0-9_-]{43}`).exec(mail.text ?? '')?.[0];
    if (!link) throw new Error(`no invitation link in the email text:\n${mail.text}`);
    const pa = prodA.page;
    await pa.goto(link);
    t.equal(await heading(pa), fr('invitations.title', { producer: PRODUCER_A.farm }));
    await prodA.check(t, 'invitation: sign-up form');
    await pa.locator('#f-name').fill(PRODUCER_A.name);
    await pa.locator('#f-password').fill(PRODUCER_A.password);
    await pa.locator('#f-passwordConfirm').fill(PRODUCER_A.password);
    await pa.getByRole('button', { name: fr('invitations.signup_submit') }).click();
    await pa.waitForURL(`${base}/producer/${producerA}/products`);
    await flash(t, pa, 'success', fr('invitations.flash.welcome', { name: PRODUCER_A.name, producer: PRODUCER_A.farm }));
    t.equal(await heading(pa), fr('catalog.title_of', { producer: PRODUCER_A.farm }), 'lands in the producer area, on its catalog');
    await prodA.check(t, 'producer catalog, empty');

    await page.reload();
    t.ok(await page.getByRole('link', { name: PRODUCER_A.name }).isVisible(), 'the admin sees the new manager of the producer');

    // the cycle: two distributions, one per pickup point, after it closes
    await adminNav(page, fr('cycles.nav'));
    await page.waitForURL(base + '/admin/cycles');
    await admin.check(t, 'cycles list, empty');
    await page.getByRole('button', { name: fr('cycles.new_button') }).click();
    await page.waitForURL(base + '/admin/cycles/new');
    await admin.check(t, 'new cycle form');
    await page.locator('#f-name').fill(cycle.name);
    await page.locator('#f-opensAt').fill(cycle.opensAt);
    await page.locator('#f-closesAt').fill(cycle.closesAt);
    for (const [i, d] of cycle.distributions.entries()) {
      await page.locator(`#f-dist-${i}-point`).selectOption({ label: POINTS[i]!.name });
      await page.locator(`#f-dist-${i}-date`).fill(d.date);
      await page.locator(`#f-dist-${i}-start`).fill(d.start);
      await page.locator(`#f-dist-${i}-end`).fill(d.end);
    }
    t.equal(await page.locator('fieldset.distribution-row').count(), 3, 'the form offers three distribution rows');
    await page.getByRole('button', { name: fr('cycles.add_distribution') }).click();
    await page.locator('#row-3').waitFor();
    t.equal(await page.locator('fieldset.distribution-row').count(), 4, '"add a distribution" adds a fourth row');
    t.equal(await page.locator('#f-name').inputValue(), cycle.name, 'what was typed is still there');
    t.equal(await page.locator('#f-dist-1-end').inputValue(), cycle.distributions[1]!.end);
    await admin.check(t, 'new cycle form with a fourth row');
    await page.getByRole('button', { name: fr('form.save'), exact: true }).click();
    await page.waitForURL(/\/admin\/cycles\/\d+$/);
    cycleId = Number(/\/admin\/cycles\/(\d+)$/.exec(page.url())![1]);
    await flash(t, page, 'success', fr('cycles.flash.created'));
    t.equal(getCycle(db, cycleId)?.status, 'draft', 'the cycle is a draft');
    await admin.check(t, 'cycle page, draft');
    const saved = getCycle(db, cycleId)!;
    t.same(
      { name: saved.name, opensAt: saved.opensAt, closesAt: saved.closesAt },
      { name: cycle.name, opensAt: cycle.opensAtMs, closesAt: cycle.closesAtMs },
      'name, opening and closing are stored in the coop time zone',
    );
    t.same(
      saved.distributions.map((d) => d.pickupPointName).sort(),
      POINTS.map((p) => p.name).sort(),
      'one distribution at each pickup point (the blank rows are ignored)',
    );

    await page.getByRole('button', { name: fr('cycles.action.schedule') }).click();
    await flash(t, page, 'success', fr('cycles.flash.schedule', { name: cycle.name, emails: 2 }));
    t.equal(getCycle(db, cycleId)?.status, 'scheduled', 'the cycle is scheduled');
    await admin.check(t, 'cycle page, scheduled');
    offersUrlA = `${base}/producer/${producerA}/cycles/${cycleId}/offers`;
    offersUrlB = `${base}/producer/${producerB}/cycles/${cycleId}/offers`;
    const notice = await smtp.waitForMail((m) => addresses(m).includes(PRODUCER_A.email) && m.subject === fr('cycles.email.scheduled.subject', { cycle: cycle.name }));
    t.ok((notice.text ?? '').includes(offersUrlA), 'producer A is emailed a link to its offers page for the cycle');
    await smtp.waitForMail((m) => addresses(m).includes(PRODUCER_B.email) && m.subject === fr('cycles.email.scheduled.subject', { cycle: cycle.name }));
    t.pass('producer B is told too');
  });

  await t.test('2. producer A fills its catalog and publishes the week’s stock', async (t) => {
    const { page } = prodA;
    const products = `${base}/producer/${producerA}/products`;
    await page.getByRole('button', { name: fr('catalog.new') }).click();
    await page.waitForURL(products + '/new');
    await prodA.check(t, 'new product form');
    await page.locator('#f-name').fill(CARROTS);
    await page.locator('#f-categoryId').selectOption({ label: 'Légumes' });
    await page.locator('#f-unit').selectOption({ label: fr('catalog.unit.bunch') });
    await page.locator('#f-price').fill('2,50');
    await page.getByRole('button', { name: fr('catalog.f_create') }).click();
    await page.waitForURL(products);
    await flash(t, page, 'success', fr('catalog.flash_created', { name: CARROTS }));

    // a weighed product, first without its estimated weight
    await page.getByRole('button', { name: fr('catalog.new') }).click();
    await page.waitForURL(products + '/new');
    await page.locator('#f-name').fill(CHICKEN);
    await page.locator('#f-categoryId').selectOption({ label: 'Volaille' });
    await page.locator('#f-price').fill('12,90');
    await page.getByLabel(fr('catalog.f_weighed')).check();
    const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/producer/${producerA}/products`);
    await page.getByRole('button', { name: fr('catalog.f_create') }).click();
    t.equal((await refused).status(), 422, 'a weighed product without its weight is refused');
    await page.locator('#f-estimatedWeight-error').waitFor();
    t.equal((await page.locator('#f-estimatedWeight-error').textContent())?.trim(), fr('error.catalog.weight_required'));
    t.equal(await page.locator('#f-price').inputValue(), '12,90', 'the price is echoed');
    await prodA.check(t, 'product form with an error');
    await page.locator('#f-estimatedWeight').fill('1,6 kg');
    await page.getByRole('button', { name: fr('catalog.f_create') }).click();
    await page.waitForURL(products);
    await flash(t, page, 'success', fr('catalog.flash_created', { name: CHICKEN }));

    await page.getByRole('button', { name: fr('catalog.new') }).click();
    await page.waitForURL(products + '/new');
    await page.locator('#f-name').fill(EGGS);
    await page.locator('#f-categoryId').selectOption({ label: 'Œufs' });
    await page.locator('#f-unit').selectOption({ label: fr('catalog.unit.box') });
    await page.locator('#f-price').fill('3,20');
    await page.getByRole('button', { name: fr('catalog.f_create') }).click();
    await page.waitForURL(products);
    await flash(t, page, 'success', fr('catalog.flash_created', { name: EGGS }));
    t.equal(await page.locator('table tbody tr').count(), 3, 'three products in the catalog');
    t.ok(await page.getByText(fr('catalog.about_weight', { weight: '1,6 kg' })).isVisible(), 'the weighed product shows its estimated weight');
    await prodA.check(t, 'catalog with three products');

    const stored = storedProducts(db, producerA);
    t.match(stored[CARROTS], { priceCents: 250, unit: 'bunch', weighed: false, vatRateBp: 550, category: 'Légumes' }, '"2,50" is stored as 250 cents');
    t.match(stored[CHICKEN], { priceCents: 1290, unit: 'piece', weighed: true, estimatedWeightGrams: 1600, category: 'Volaille' }, 'the weighed product: per kg, about 1600 g');
    t.match(stored[EGGS], { priceCents: 320, unit: 'box', weighed: false });

    // the week's stock
    await producerNav(page, fr('catalog.nav_stock'));
    await page.waitForURL(`${base}/producer/${producerA}/cycles`);
    t.ok(await page.getByText(fr('offers.not_published')).isVisible(), 'nothing published yet');
    await prodA.check(t, 'producer cycles list');
    await page.getByRole('link', { name: `${fr('offers.publish_stock')} — ${cycle.name}` }).click();
    await page.waitForURL(offersUrlA);
    t.equal(await heading(page), `${fr('offers.sheet_heading', { cycle: cycle.name })} ${PRODUCER_A.farm}`);
    t.equal(await page.getByRole('columnheader', { name: fr('offers.col_ordered') }).count(), 0, 'no "ordered" column before the sale opens');
    await prodA.check(t, 'offers page, nothing offered');

    const ids = { carrots: stored[CARROTS]!.id, chicken: stored[CHICKEN]!.id, eggs: stored[EGGS]!.id };
    if (js) {
      const path = new URL(offersUrlA).pathname;
      // Carrots: ticked first, so the row asks for a quantity, then the quantity and this week's price.
      let r = await rowChange(page, path, ids.carrots, () => offered(page, CARROTS).check());
      t.equal(r.status(), 422, 'ticking a product without a quantity is refused on its row');
      t.equal((await page.locator(`#quantity-${ids.carrots}-error`).textContent())?.trim(), fr('error.required'), 'the row says the quantity is missing');
      t.equal(await offered(page, CARROTS).isChecked(), true, 'the row stays ticked');
      await prodA.check(t, 'offers page with a row error');
      r = await rowChange(page, path, ids.carrots, () => fillAndLeave(quantity(page, CARROTS), '20'));
      t.equal(r.status(), 200);
      await rowSaved(t, page, ids.carrots);
      r = await rowChange(page, path, ids.carrots, () => fillAndLeave(price(page, CARROTS), '2,30'));
      t.equal(r.status(), 200);
      await rowSaved(t, page, ids.carrots);
      t.equal(await price(page, CARROTS).inputValue(), '2,30', 'the row shows this week’s price');

      // Chicken: a quantity typed first, then ticked.
      r = await rowChange(page, path, ids.chicken, () => fillAndLeave(quantity(page, CHICKEN), '5'));
      t.equal(r.status(), 200, 'a quantity typed in an unticked row is accepted');
      t.equal(await quantity(page, CHICKEN).inputValue(), '5', 'the typed quantity stays in the unticked row');
      r = await rowChange(page, path, ids.chicken, () => offered(page, CHICKEN).check());
      t.equal(r.status(), 200);
      await rowSaved(t, page, ids.chicken);

      // Eggs: "unlimited" ticked first, then offered.
      r = await rowChange(page, path, ids.eggs, () => unlimited(page, EGGS).check());
      t.equal(r.status(), 200);
      t.equal(await unlimited(page, EGGS).isChecked(), true, '"unlimited" stays ticked in the unticked row');
      r = await rowChange(page, path, ids.eggs, () => offered(page, EGGS).check());
      t.equal(r.status(), 200);
      await rowSaved(t, page, ids.eggs);
      await prodA.check(t, 'offers page after inline saves');

      await page.reload();
      t.equal(await offered(page, CARROTS).isChecked(), true, 'after a reload: carrots offered');
      t.equal(await quantity(page, CARROTS).inputValue(), '20');
      t.equal(await price(page, CARROTS).inputValue(), '2,30');
      t.equal(await unlimited(page, EGGS).isChecked(), true, 'eggs unlimited');
      t.ok(await page.getByText(fr('offers.published_count', { count: '3' })).isVisible(), 'the page counts three published offers');
      await prodA.check(t, 'offers page reloaded');
    } else {
      // One form for the whole page: first with a mistake, which saves nothing.
      await offered(page, CARROTS).check();
      await quantity(page, CARROTS).fill('-3');
      await price(page, CARROTS).fill('2,30');
      await offered(page, CHICKEN).check();
      await quantity(page, CHICKEN).fill('5');
      await offered(page, EGGS).check();
      await unlimited(page, EGGS).check();
      const refusedSheet = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === new URL(offersUrlA).pathname);
      await page.getByRole('button', { name: fr('offers.save_all') }).click();
      t.equal((await refusedSheet).status(), 422, 'a negative quantity is refused');
      await page.locator(`#quantity-${ids.carrots}-error`).waitFor();
      t.equal((await page.locator(`#quantity-${ids.carrots}-error`).textContent())?.trim(), fr('error.invalid_quantity'));
      t.ok(await page.locator('.form-errors', { hasText: fr('offers.error.rows', { count: 1 }) }).isVisible(), 'the page says nothing was saved');
      t.same(storedOffers(db, cycleId, producerA), {}, 'nothing is stored');
      t.equal(await quantity(page, CHICKEN).inputValue(), '5', 'the other rows are echoed');
      t.equal(await unlimited(page, EGGS).isChecked(), true);
      await prodA.check(t, 'offers page with a row error');
      await quantity(page, CARROTS).fill('20');
      await page.getByRole('button', { name: fr('offers.save_all') }).click();
      await flash(t, page, 'success', fr('offers.flash.published', { count: 3 }));
      t.equal(page.url(), offersUrlA, 'back on the offers page');
      await prodA.check(t, 'offers page after saving');
    }

    t.same(
      storedOffers(db, cycleId, producerA),
      {
        [CARROTS]: { published: true, quantityAvailable: 20, quantityTaken: 0, priceCents: 230 },
        [CHICKEN]: { published: true, quantityAvailable: 5, quantityTaken: 0, priceCents: 1290 },
        [EGGS]: { published: true, quantityAvailable: null, quantityTaken: 0, priceCents: 320 },
      },
      'the stored offers are what was typed: quantities (or unlimited) and prices in cents',
    );
  });

  await t.test('3. producer B imports its catalog from a CSV and publishes', async (t) => {
    const { page } = prodB;
    await page.goto(base + '/login');
    await prodB.check(t, 'login form');
    await page.locator('#f-email').fill(PRODUCER_B.email);
    await page.locator('#f-password').fill(PRODUCER_B.password);
    await page.getByRole('button', { name: fr('login.submit') }).click();
    await flash(t, page, 'success', fr('flash.logged_in'));
    await prodB.check(t, 'home page of a producer');
    await page.getByRole('navigation', { name: fr('nav.main') }).getByRole('link', { name: fr('nav.producer') }).click();
    const products = `${base}/producer/${producerB}/products`;
    await page.waitForURL(products);
    await prodB.check(t, 'producer B catalog, empty');

    await page.getByRole('link', { name: fr('catalog.import') }).click();
    await page.waitForURL(products + '/import');
    await prodB.check(t, 'CSV import form');
    await page.locator('#f-file').setInputFiles({ name: 'catalogue.csv', mimeType: 'text/csv', buffer: catalogCsv() });
    await page.getByRole('button', { name: fr('catalog.import_submit') }).click();
    await page.getByRole('heading', { name: fr('catalog.preview_title') }).waitFor();
    t.ok(await page.getByText(fr('catalog.preview_creates', { count: '3' })).first().isVisible(), 'the preview adds three products');
    for (const p of CSV_PRODUCTS) t.ok(await page.getByRole('cell', { name: p.name, exact: true }).isVisible(), `the preview lists ${p.name}`);
    t.same(storedProducts(db, producerB), {}, 'nothing is imported before the confirmation');
    await prodB.check(t, 'CSV import preview');
    await page.getByRole('button', { name: fr('catalog.confirm') }).click();
    await page.waitForURL(products);
    await flash(t, page, 'success', fr('catalog.flash_imported', { created: 3, updated: 0 }));
    await prodB.check(t, 'producer B catalog after the import');
    const stored = storedProducts(db, producerB);
    for (const p of CSV_PRODUCTS) t.match(stored[p.name], { priceCents: p.cents, category: p.category }, `${p.name}: "${p.price}" is ${p.cents} cents`);
    t.equal(stored['Pain d’épices']?.unit, 'piece');
    t.equal(stored['Hydromel; cuvée "Béa"']?.vatRateBp, 2000);

    await producerNav(page, fr('catalog.nav_stock'));
    await page.waitForURL(`${base}/producer/${producerB}/cycles`);
    await prodB.check(t, 'producer B cycles list');
    await page.getByRole('link', { name: `${fr('offers.publish_stock')} — ${cycle.name}` }).click();
    await page.waitForURL(offersUrlB);
    await prodB.check(t, 'producer B offers page');
    const [honey, gingerbread] = [CSV_PRODUCTS[0]!.name, CSV_PRODUCTS[1]!.name];
    if (js) {
      const path = new URL(offersUrlB).pathname;
      let r = await rowChange(page, path, stored[honey]!.id, () => fillAndLeave(quantity(page, honey), '10'));
      t.equal(r.status(), 200, 'the quantity is kept in the unticked row');
      t.equal(await quantity(page, honey).inputValue(), '10');
      r = await rowChange(page, path, stored[honey]!.id, () => offered(page, honey).check());
      t.equal(r.status(), 200);
      await rowSaved(t, page, stored[honey]!.id);
      r = await rowChange(page, path, stored[gingerbread]!.id, () => offered(page, gingerbread).check());
      t.equal(r.status(), 422, 'no quantity yet');
      r = await rowChange(page, path, stored[gingerbread]!.id, () => unlimited(page, gingerbread).check());
      t.equal(r.status(), 200);
      await rowSaved(t, page, stored[gingerbread]!.id);
      await prodB.check(t, 'producer B offers after inline saves');
    } else {
      await offered(page, honey).check();
      await quantity(page, honey).fill('10');
      await offered(page, gingerbread).check();
      await unlimited(page, gingerbread).check();
      await page.getByRole('button', { name: fr('offers.save_all') }).click();
      await flash(t, page, 'success', fr('offers.flash.published', { count: 2 }));
      await prodB.check(t, 'producer B offers after saving');
    }
    const expected = {
      [honey]: { published: true, quantityAvailable: 10, quantityTaken: 0, priceCents: 850 },
      [gingerbread]: { published: true, quantityAvailable: null, quantityTaken: 0, priceCents: 250 },
    };
    t.same(storedOffers(db, cycleId, producerB), expected, 'producer B’s offers are stored, at the catalog price');

    // Next week's cycle: the admin duplicates this one and schedules the copy; B copies its offers.
    const a = admin.page;
    await a.goto(`${base}/admin/cycles/${cycleId}`);
    await admin.check(t, 'cycle page with offers');
    await a.getByRole('button', { name: fr('cycles.action.duplicate') }).click();
    await a.waitForURL((url) => /^\/admin\/cycles\/\d+$/.test(url.pathname) && url.pathname !== `/admin/cycles/${cycleId}`);
    const copyId = Number(/\/admin\/cycles\/(\d+)$/.exec(a.url())![1]);
    await flash(t, a, 'success', fr('cycles.flash.duplicated', { offers: 5 }));
    const copy = getCycle(db, copyId)!;
    t.equal(copy.status, 'draft');
    await a.getByRole('button', { name: fr('cycles.action.schedule') }).click();
    await flash(t, a, 'success', fr('cycles.flash.schedule', { name: copy.name, emails: 2 }));
    await admin.check(t, 'copied cycle, scheduled');

    await producerNav(page, fr('catalog.nav_stock'));
    await page.waitForURL(`${base}/producer/${producerB}/cycles`);
    await prodB.check(t, 'producer B cycles list with two cycles');
    await page.getByRole('link', { name: `${fr('offers.publish_stock')} — ${copy.name}` }).click();
    const copyUrl = `${base}/producer/${producerB}/cycles/${copyId}/offers`;
    await page.waitForURL(copyUrl);
    t.ok(await page.getByText(fr('offers.draft_note')).first().isVisible(), 'the duplicated offers are drafts');
    await prodB.check(t, 'producer B offers for next week, drafts');
    await page.getByRole('button', { name: fr('offers.copy_last') }).click();
    await flash(t, page, 'success', fr('offers.flash.copied', { count: 2, cycle: cycle.name }));
    t.equal(page.url(), copyUrl);
    await prodB.check(t, 'producer B offers for next week, copied');
    t.same(storedOffers(db, copyId, producerB), expected, 'next week’s offers are copied and published');
  });

  await t.test('4. a producer cannot open another producer’s pages', async (t) => {
    const { page } = prodB;
    const before = storedOffers(db, cycleId, producerA);
    let response = await page.goto(offersUrlA);
    t.equal(response?.status(), 404, 'producer A’s offers page is a 404 for producer B');
    t.equal(await heading(page), fr('errors.title.404'), 'the 404 page, in French');
    t.equal(await page.locator('html').getAttribute('lang'), 'fr');
    t.notOk(await page.getByText(CARROTS).count(), 'nothing of producer A shows');
    await prodB.check(t, '404 page');
    const carrots = storedProducts(db, producerA)[CARROTS]!.id;
    response = await page.goto(`${base}/producer/${producerB}/products/${carrots}/edit`);
    t.equal(response?.status(), 404, 'producer A’s product under producer B’s address is a 404');
    t.equal(await heading(page), fr('errors.title.404'));
    await prodB.check(t, '404 page for another producer’s product');
    t.same(storedOffers(db, cycleId, producerA), before, 'nothing changed');
  });

  await t.test('5. the clock opens the cycle, and the offers page shows what is ordered and left', async (t) => {
    const report = applyDueTransitions(db, server.app.mailer, cycle.opensAtMs + 60_000);
    t.match(report.transitions, [{ cycleId, from: 'scheduled', to: 'open', event: 'opens_at_reached' }], 'the cycle opens at its opening time');
    t.equal(getCycle(db, cycleId)?.status, 'open');

    const { page } = prodA;
    await page.goto(offersUrlA);
    t.ok(await page.getByText(fr('offers.open_notice')).isVisible(), 'the page says the sale is open');
    t.ok(await page.getByRole('columnheader', { name: fr('offers.col_ordered') }).first().isVisible(), 'an "ordered" column');
    t.ok(await page.getByRole('columnheader', { name: fr('offers.col_left') }).first().isVisible(), 'a "left" column');
    const cells = async (name: string) => (await page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp('^' + escapeRegExp(name)) }) }).getByRole('cell').allTextContents()).map((s) => s.trim());
    const carrots = await cells(CARROTS);
    t.equal(carrots[3], '0', 'carrots: nothing ordered yet');
    t.equal(carrots[4], '20', 'carrots: 20 left');
    t.equal((await cells(EGGS))[4], fr('offers.unlimited'), 'eggs: unlimited left');
    await prodA.check(t, 'offers page of an open cycle');

    const a = admin.page;
    await a.goto(`${base}/admin/cycles/${cycleId}`);
    t.ok(await a.getByText(fr('cycles.published_summary', { published: '2', total: '2' })).isVisible(), 'the admin sees that both producers published');
    await admin.check(t, 'open cycle page with its producers');
    await a.getByRole('link', { name: PRODUCER_A.farm }).click();
    await a.waitForURL(`${base}/admin/cycles/${cycleId}/producers/${producerA}`);
    t.equal(await a.locator('table tbody tr').count(), 3, 'the admin sees producer A’s three offers');
    await admin.check(t, 'producer offers for the admin');
  });

  await t.test('no request left 127.0.0.1, and every page was checked', async (t) => {
    for (const s of [admin, prodA, prodB]) assertSameOriginAndAudited(t, s, server);
    t.comment(`${js ? 'with' : 'without'} JavaScript: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

// ---------------------------------------------------------------------------------------------

async function heading(page: Page): Promise<string | undefined> {
  return (await page.locator('h1').first().textContent())?.replace(/\s+/g, ' ').trim();
}

async function flash(t: Test, page: Page, kind: 'success' | 'info' | 'error', text: string): Promise<void> {
  await page.locator(`.flash-${kind}`, { hasText: text }).waitFor();
  t.equal((await page.locator(`.flash-${kind}`).textContent())?.trim(), text, `${kind} message: ${text}`);
}

/** Follows a link of the admin menu. */
async function adminNav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: fr('admin.nav') }).getByRole('link', { name, exact: true }).click();
}

/** Follows a link of the producer menu. */
async function producerNav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: fr('catalog.nav') }).getByRole('link', { name, exact: true }).click();
}

// The inputs of a product's row on the offers page, by their accessible names.
function offered(page: Page, name: string): Locator {
  return page.getByRole('checkbox', { name: fr('offers.label_offered', { name }), exact: true });
}
function unlimited(page: Page, name: string): Locator {
  return page.getByRole('checkbox', { name: `${fr('offers.unlimited')} (${name})`, exact: true });
}
function quantity(page: Page, name: string): Locator {
  return page.getByRole('textbox', { name: fr('offers.label_quantity', { name }), exact: true });
}
function price(page: Page, name: string): Locator {
  return page.getByRole('textbox', { name: fr('offers.label_price', { name }), exact: true });
}

/** Types in a text field and leaves it, as a person does: the change event fires on leaving. */
async function fillAndLeave(input: Locator, value: string): Promise<void> {
  await input.fill(value);
  await input.blur();
}

/**
 * Does something to a row of the offers page (with htmx) and waits for the row's own save: the
 * POST to the row's URL, then the row swapped for the answer.
 */
async function rowChange(page: Page, pagePath: string, productId: number, action: () => Promise<void>): Promise<Response> {
  const row = page.locator(`#offer-${productId}`);
  await row.evaluate((el) => el.setAttribute('data-before-save', ''));
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${pagePath}/${productId}`);
  await action();
  const response = await answer;
  await page.locator(`#offer-${productId}:not([data-before-save])`).waitFor();
  return response;
}

/** The row says it is saved, in its status cell. */
async function rowSaved(t: Test, page: Page, productId: number): Promise<void> {
  const status = page.locator(`#offer-${productId} [role="status"]`);
  t.equal((await status.textContent())?.trim(), fr('offers.status.saved'), `row ${productId}: ${fr('offers.status.saved')}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
