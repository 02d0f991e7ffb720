import t from 'tap';
import { placeOrder } from '../../src/domain/orders.js';
import { translator } from '../../src/i18n/index.js';
import { buildShop, setBasket } from '../domain/orders-fixture.js';
import { build, Client, createAccount, loggedIn, PASSWORD, text } from '../helper.js';
import { accountRow, count, decode, escapeHtml, snapshot } from './route-helper.js';

/*
 * The privacy page (public, built from the coop's settings, linked from every page), the legal
 * notice in the settings, and a member's own data rights: the "my data" page and its download,
 * and deleting one's account (password required, the last admin refused, logged out after).
 */

const fr = translator('fr');
const en = translator('en');

/** An admin client reading English. */
async function englishAdmin(app: Parameters<typeof loggedIn>[0]): Promise<Client> {
  const c = await loggedIn(app, 'admin@carnet.test');
  await c.post('/lang', { locale: 'en', next: '/' });
  await c.get('/');
  return c;
}

/** The settings form as the page would post it, with some fields changed. */
function settingsForm(changes: Record<string, string> = {}): Record<string, string | string[]> {
  return {
    name: 'Coop Test',
    contactEmail: 'contact@carnet.test',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    allowAnonymousBrowsing: 'off',
    producerReminderHours: '48',
    paymentMethodsShown: '1',
    paymentMethods: ['cash', 'cheque'],
    bankDetails: '',
    closingReminderHours: '24',
    legalNotice: '',
    ...changes,
  };
}

t.test('the privacy page is public, in both languages, built from the coop’s settings', async (t) => {
  const { app, db } = await build(t);
  db.$client.prepare('update coop set legal_notice = ? where id = 1').run('SCIC Les Paniers <b>du Marais</b>\n12 rue des Lilas\n44000 Nantes');

  for (const [lang, tr] of [
    ['fr', fr],
    ['en', en],
  ] as const) {
    const visitor = new Client(app, { 'accept-language': lang });
    const res = await visitor.get('/privacy');
    t.equal(res.statusCode, 200, `${lang}: open to visitors`);
    t.match(res.body, new RegExp(`<html lang="${lang}">`));
    const page = text(res.body);
    t.match(page, tr('privacy.title'));
    t.match(page, tr('privacy.who.body', { coop: 'Coop Test' }));
    t.ok(res.body.includes(escapeHtml('SCIC Les Paniers <b>du Marais</b>\n12 rue des Lilas\n44000 Nantes')), `${lang}: the legal notice, escaped, line breaks kept`);
    t.match(res.body, /<p class="pre-line">SCIC/, 'shown with its line breaks');
    t.notOk(res.body.includes('<b>du Marais</b>'), 'never as HTML');
    t.match(res.body, /<a href="mailto:contact@carnet.test">contact@carnet.test<\/a>/, 'the contact email, as a link');
    t.match(page, tr('privacy.how_long.sessions', { days: 30, hours: 1 }), 'session lifetime from sessions.ts');
    t.match(page, tr('privacy.how_long.emails', { days: 90 }));
    t.match(page, tr('privacy.how_long.backups', { days: 14, count: 14 }), 'backups: 14 a day by default');
    t.match(page, tr('privacy.cookies.session', { cookie: 'carnet_session' }));
    t.match(page, tr('privacy.hosts.body'));
    t.match(page, tr('privacy.rights.log_in'), 'a visitor is told to log in for their data');
    // No request to any other host: every src and stylesheet is local.
    const external = [...res.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => /^(https?:)?\/\//.test(u));
    t.same(external, [], `${lang}: nothing loaded from another host`);
    const cookies = (res.cookies as Array<{ name: string }>).map((c) => c.name);
    t.same(cookies, ['carnet_session'], 'one cookie, the session');
  }

  // Logged in: links to download and delete.
  const member = await createAccount(db, { email: 'mia@carnet.test', name: 'Mia' });
  t.ok(member);
  const c = await loggedIn(app, 'mia@carnet.test');
  const res = await c.get('/privacy');
  t.match(res.body, /href="\/account\/data"/);
  t.match(res.body, /href="\/account\/delete"/);

  // Without a legal notice the page says so; BACKUP_* settings change the promise.
  db.$client.prepare("update coop set legal_notice = '' where id = 1").run();
  const page = text((await new Client(app, { 'accept-language': 'en' }).get('/privacy')).body);
  t.match(page, en('privacy.who.no_notice'));
});

t.test('the privacy page follows the backup settings', async (t) => {
  const { app } = await build(t, { env: { BACKUP_KEEP: '7', BACKUP_INTERVAL_HOURS: '12' } });
  let page = text((await new Client(app, { 'accept-language': 'en' }).get('/privacy')).body);
  t.match(page, en('privacy.how_long.backups', { days: 4, count: 7 }), '7 backups 12 hours apart: 4 days');
  // Only the automatic ones go after so many days: manual and pre-upgrade backups are kept by count.
  t.match(page, 'Automatic backups are deleted after 4 days', 'the time limit is promised for automatic backups only');
  t.match(page, 'Backups made by hand or before an upgrade are kept the same way, the last 7 of each kind, whatever their age.');
  const off = await build(t, { env: { BACKUP_KEEP: '5', BACKUP_INTERVAL_HOURS: '0' } });
  page = text((await new Client(off.app, { 'accept-language': 'en' }).get('/privacy')).body);
  t.match(page, en('privacy.how_long.backups_count', { count: 5 }), 'no automatic backups: only a count');
});

t.test('every page links to the privacy page in its footer', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'mia@carnet.test', name: 'Mia' });
  const visitor = new Client(app);
  for (const url of ['/', '/login', '/signup', '/privacy', '/password/forgot', '/no-such-page']) {
    const res = await visitor.get(url);
    t.match(res.body, /<footer[^>]*>[\s\S]*href="\/privacy"[\s\S]*<\/footer>/, `${url} links to /privacy`);
  }
  const admin = await loggedIn(app, 'admin@carnet.test');
  for (const url of ['/account', '/account/data', '/account/delete', '/admin', '/admin/audit', '/admin/settings']) {
    const res = await admin.get(url);
    t.equal(res.statusCode, 200, url);
    t.match(res.body, /<footer[^>]*>[\s\S]*href="\/privacy"[\s\S]*<\/footer>/, `${url} links to /privacy`);
  }
});

t.test('before first-run setup the privacy page leads to setup, like every page', async (t) => {
  const { app } = await build(t, { setup: false });
  const res = await new Client(app).get('/privacy');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/setup');
});

t.test('the legal notice is an optional setting of at most 2000 characters, recorded in the audit log', async (t) => {
  const { app, db } = await build(t);
  const c = await englishAdmin(app);
  let res = await c.get('/admin/settings');
  t.match(res.body, /<textarea id="f-legalNotice" name="legalNotice"/);

  // Too long (counted as the browser counts line breaks), or with control characters: refused.
  const long = 'a'.repeat(1000) + '\r\n' + 'b'.repeat(1000);
  t.equal(long.replace(/\r\n/g, '\n').length, 2001);
  for (const [label, value, message] of [
    ['2001 characters', long, en('error.too_long', { max: 2000 })],
    ['a control character', 'SCIC\u0007Marais', en('error.invalid_text')],
  ] as const) {
    await c.get('/admin/settings');
    const before = snapshot(db);
    res = await c.post('/admin/settings', settingsForm({ legalNotice: value }));
    t.equal(res.statusCode, 422, label);
    t.match(text(res.body), message, label);
    t.equal(snapshot(db), before, `${label}: nothing saved, nothing recorded`);
  }
  t.match(res.body, /aria-invalid="true"[^>]*>SCIC/, 'the typed text comes back in the field');

  // Exactly 2000 characters with Windows line breaks fits; markup is stored as typed, trimmed.
  const fits = 'x'.repeat(999) + '\r\n' + 'y'.repeat(1000);
  await c.get('/admin/settings');
  res = await c.post('/admin/settings', settingsForm({ legalNotice: fits }));
  t.equal(res.statusCode, 303);
  t.equal((db.$client.prepare('select legal_notice from coop').get() as { legal_notice: string }).legal_notice.length, 2000);
  await c.get('/admin/settings');
  res = await c.post('/admin/settings', settingsForm({ legalNotice: '  SCIC <i>Marais</i>\r\nNantes  ' }));
  t.equal(res.statusCode, 303);
  t.equal((db.$client.prepare('select legal_notice from coop').get() as { legal_notice: string }).legal_notice, 'SCIC <i>Marais</i>\nNantes');
  res = await c.get('/admin/settings');
  t.ok(res.body.includes('>SCIC &lt;i&gt;Marais&lt;/i&gt;\nNantes</textarea>'), 'shown escaped in the form');
  const entries = db.$client.prepare("select details from audit_log where action = 'coop.settings_changed' order by id").all() as Array<{ details: string }>;
  t.same(
    entries.map((e) => JSON.parse(e.details)),
    [{ settings: ['legalNotice'] }, { settings: ['legalNotice'] }],
    'each change recorded by setting name, never its text',
  );

  // An older form without the field keeps the saved notice.
  const { legalNotice: _dropped, ...older } = settingsForm();
  await c.get('/admin/settings');
  res = await c.post('/admin/settings', older);
  t.equal(res.statusCode, 303);
  t.equal((db.$client.prepare('select legal_notice from coop').get() as { legal_notice: string }).legal_notice, 'SCIC <i>Marais</i>\nNantes');
});

t.test('my data: a page that explains, and a download of everything', async (t) => {
  const { app, db } = await build(t);
  const shop = buildShop(db, Date.now(), { accounts: false });
  const mia = await createAccount(db, { email: 'mia@carnet.test', name: 'Mia Martin', phone: '06 11 22 33 44', locale: 'en' });
  await createAccount(db, { email: 'bob@carnet.test', name: 'Bob Brun' });
  setBasket(db, mia, shop.cycle, { [shop.offers.carrots]: 2 }, shop.dists.halle);
  const placed = placeOrder(db, app.mailer, { accountId: mia, cycleId: shop.cycle, distributionId: shop.dists.halle, token: 'privacy-route-token-01' });
  t.ok(placed.ok);

  const visitor = new Client(app);
  let res = await visitor.get('/account/data.json');
  t.equal(res.statusCode, 303, 'a visitor logs in first');
  t.equal(res.headers.location, '/login?next=' + encodeURIComponent('/account/data.json'));

  const c = await loggedIn(app, 'mia@carnet.test');
  res = await c.get('/account');
  t.match(res.body, /href="\/account\/data"/, 'the account page links to my data');
  t.match(res.body, /href="\/account\/delete"/, 'and to deleting the account');
  res = await c.get('/account/data');
  t.equal(res.statusCode, 200);
  const page = text(res.body);
  t.match(page, en('data.title'));
  t.match(page, en('data.part.orders') + ' 1');
  t.match(page, en('data.part.sessions') + ' 1');
  t.match(res.body, /<a href="\/account\/data.json" role="button" download hx-boost="false">/, 'a plain download link, not swapped by htmx');

  res = await c.get('/account/data.json');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json; charset=utf-8/);
  t.match(res.headers['content-disposition'], /^attachment; filename="carnet-my-data-\d{4}-\d{2}-\d{2}\.json"$/);
  t.equal(res.headers['cache-control'], 'no-store');
  const data = res.json();
  t.match(data, { account: { id: mia, name: 'Mia Martin', email: 'mia@carnet.test', phone: '06 11 22 33 44' }, preferences: { language: 'en' } });
  t.equal(data.orders.length, 1);
  t.equal(data.orders[0].lines[0].product, 'Carottes');
  t.same(
    data.emails.map((e: { kind: string }) => e.kind),
    ['orderPlaced'],
  );
  t.same(data.sessions.map((s: { current: boolean }) => s.current), [true]);
  t.notMatch(res.body, /passwordHash|password_hash|idHash|tokenHash|bob@carnet\.test|Bob Brun/, 'no secret, nobody else');
  t.equal(count(db, 'audit_log'), 0, 'a member’s own download is not an admin action');
});

t.test('deleting my account: password required, orders kept under a replaced name, logged out', async (t) => {
  const { app, db } = await build(t);
  const shop = buildShop(db, Date.now(), { accounts: false });
  const mia = await createAccount(db, { email: 'mia@carnet.test', name: 'Mia Martin', phone: '06 11 22 33 44', locale: 'en' });
  setBasket(db, mia, shop.cycle, { [shop.offers.carrots]: 3 }, shop.dists.halle);
  const placed = placeOrder(db, app.mailer, { accountId: mia, cycleId: shop.cycle, distributionId: shop.dists.halle, token: 'privacy-route-token-02' });
  if (!placed.ok) throw new Error('placing failed');
  const taken = () => (db.$client.prepare('select quantity_taken as n from offers where id = ?').get(shop.offers.carrots) as { n: number }).n;
  t.equal(taken(), 3);

  // Her browser says French but her account reads English: the pages and the goodbye are in English.
  const c = await loggedIn(app, 'mia@carnet.test', { 'accept-language': 'fr' });
  const other = await loggedIn(app, 'mia@carnet.test', { 'accept-language': 'fr' });
  let res = await c.get('/account/delete');
  t.equal(res.statusCode, 200);
  let page = text(res.body);
  t.match(page, en('data.delete.erased'));
  t.match(page, en('data.delete.orders_kept_one', { name: `Membre supprimé n°${mia}` }), 'the coop’s language names the kept order');
  t.match(page, en('data.delete.to_cancel_one'), 'one order, said in the singular');
  t.match(page, placed.reference);
  t.match(res.body, /<form method="post" action="\/account\/delete" novalidate hx-boost="false">/);

  // Missing or wrong password: 422, nothing changes.
  for (const [label, form, message] of [
    ['no password', {}, en('error.required')],
    ['wrong password', { password: 'not my password' }, en('error.wrong_password')],
  ] as const) {
    await c.get('/account/delete');
    const before = snapshot(db);
    res = await c.post('/account/delete', form);
    t.equal(res.statusCode, 422, label);
    t.match(text(res.body), message, label);
    t.notOk(res.body.includes('not my password'), `${label}: the password is not echoed`);
    t.equal(snapshot(db), before, `${label}: nothing changed`);
  }

  await c.get('/account/delete');
  res = await c.post('/account/delete', { password: PASSWORD });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  t.equal(accountRow(db, 'mia@carnet.test'), undefined, 'the account is gone');
  t.equal(count(db, 'sessions', 'account_id = ?', mia), 0, 'every session is gone');
  t.match(db.$client.prepare('select member_name, account_id, status, total_cents from orders where id = ?').get(placed.orderId), {
    member_name: `Membre supprimé n°${mia}`,
    account_id: null,
    status: 'cancelled',
    total_cents: 750,
  });
  t.equal(taken(), 0, 'the stock of the cancelled order is free again');
  t.equal(count(db, 'outbox', "to_address = 'mia@carnet.test'"), 0, 'no email to her is left');

  res = await c.get('/');
  t.match(res.body, /<html lang="en">/, 'the home page in her language');
  t.match(text(res.body), en('data.flash.deleted'));
  t.notMatch(res.body, /action="\/logout"/, 'logged out');
  // The other device's cookie no longer works either.
  res = await other.get('/account');
  t.equal(res.statusCode, 303);
  t.match(String(res.headers.location), /^\/login/);
  // And she cannot log in again.
  const again = new Client(app);
  await again.get('/login');
  t.equal((await again.post('/login', { email: 'mia@carnet.test', password: PASSWORD })).statusCode, 422);
});

t.test('the last admin cannot delete their own account', async (t) => {
  const { app, db } = await build(t);
  const c = await englishAdmin(app);
  let res = await c.get('/account/delete');
  t.equal(res.statusCode, 200);
  t.match(text(res.body), en('data.delete.last_admin'));
  t.notMatch(res.body, /action="\/account\/delete"/, 'no form to submit');
  const before = snapshot(db);
  res = await c.post('/account/delete', { password: PASSWORD });
  t.equal(res.statusCode, 422);
  t.match(text(res.body), en('data.delete.last_admin'));
  t.equal(snapshot(db), before, 'nothing changed');
  t.equal((await c.get('/account')).statusCode, 200, 'still logged in');

  // With a second admin, the first may leave.
  await createAccount(db, { email: 'second@carnet.test', name: 'Second', roles: ['admin', 'member'] });
  await c.get('/account/delete');
  res = await c.post('/account/delete', { password: PASSWORD });
  t.equal(res.statusCode, 303);
  t.equal(accountRow(db, 'admin@carnet.test'), undefined);
  t.match(decode((await c.get('/')).body), en('data.flash.deleted'));
});

t.test('the clock keeps the 90-day promise: its tick purges old sent emails', async (t) => {
  const { app, db } = await build(t);
  const D = 24 * 3_600_000;
  const now = Date.now();
  const insert = (status: string, sentDaysAgo: number | null, createdDaysAgo: number) =>
    Number(
      db.$client
        .prepare("insert into outbox (to_address, subject, text_body, html_body, status, next_attempt_at, created_at, sent_at) values ('x@example.org', 's', 't', 'h', ?, 0, ?, ?)")
        .run(status, now - createdDaysAgo * D, sentDaysAgo === null ? null : now - sentDaysAgo * D).lastInsertRowid,
    );
  const old = insert('sent', 91, 91);
  const recent = insert('sent', 10, 10);
  const waiting = insert('pending', null, 120);
  app.runScheduler(now);
  const left = (db.$client.prepare('select id from outbox order by id').all() as Array<{ id: number }>).map((r) => r.id);
  t.same(left, [recent, waiting], 'only the email sent over 90 days ago is gone');
  t.notOk(left.includes(old));
});
