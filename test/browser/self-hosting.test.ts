import { readFileSync } from 'node:fs';
import type { Browser, Download, Locator, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { dictionaries, translator, type Locale, type MessageKey } from '../../src/i18n/index.js';
import { createAccount, PASSWORD, seedCoop } from '../helper.js';
import { assertSameOriginAndAudited, launchBrowser, openSession, startServer, startSmtp, type Server, type Session } from './browser-helper.js';

/*
 * The self-hosting and data-rights pages in a real browser, once with JavaScript (htmx-boosted
 * links and forms) and once without: a visitor reads the privacy page from the footer in both
 * languages; a member downloads their data and deletes their account; an admin reads the audit
 * log, makes and downloads a backup, downloads a member's data and erases their account. Every
 * page is checked with axe-core and at 320 px wide, in French and in English, and a page in one
 * language must not show a sentence of the other's dictionary.
 */

const tr: Record<Locale, ReturnType<typeof translator>> = { fr: translator('fr'), en: translator('en') };
const fr = tr.fr;
const ADMIN = { name: 'Ada Admin', email: 'admin@carnet.test', password: PASSWORD };
const MEMBER = { name: 'Marie Membre', email: 'marie@carnet.test', password: PASSWORD };
const OTHER = { name: 'Paul Passant', email: 'paul@carnet.test', password: PASSWORD };
const CONTACT = 'donnees@coop-des-champs.fr';
const LEGAL_NOTICE = 'Coop des Champs, SAS coopérative à capital variable\n12 rue des Lilas, 79000 Niort\nRCS Niort 123 456 789, représentée par sa présidente';

/*
 * Sentences that only one language has, to catch a string left untranslated: the literal parts
 * (between placeholders) of the other language's messages, long enough not to be a shared word.
 * The erased name is stored in the coop's language (it replaces a name in the records), so it
 * shows as recorded in both.
 */
const STORED_AS_TEXT = new Set(['data.erased_name']);
const FOREIGN: Record<Locale, string[]> = { fr: onlyIn('en', 'fr'), en: onlyIn('fr', 'en') };

const browser: Browser = await launchBrowser(t);

for (const js of [true, false]) {
  await t.test(js ? 'with JavaScript' : 'without JavaScript', (t) => selfHostingFlows(t, browser, js));
}

async function selfHostingFlows(t: Test, browser: Browser, js: boolean): Promise<void> {
  const smtp = await startSmtp(t);
  const server = await startServer(t, smtp.port);
  const { db } = server;
  await seedCoop(db);
  db.$client.prepare('update coop set contact_email = ?, legal_notice = ?').run(CONTACT, LEGAL_NOTICE);
  const memberId = await createAccount(db, { email: MEMBER.email, name: MEMBER.name, phone: '06 12 34 56 78' });
  const otherId = await createAccount(db, { email: OTHER.email, name: OTHER.name });
  const s = await openSession(t, browser, server, { js, locale: 'fr-FR' });
  const { page } = s;
  const base = server.baseUrl;
  const path = () => new URL(page.url()).pathname;

  await t.test('1. a visitor reads the privacy page from the footer, in French and in English', async (t) => {
    await page.goto(base + '/');
    await s.check(t, 'home page for guests');
    await page.locator('footer').getByRole('link', { name: fr('privacy.footer_link') }).click();
    await page.waitForURL(base + '/privacy');
    t.equal(await heading(page), fr('privacy.title'));
    t.equal(await htmlLang(page), 'fr');
    t.ok(await page.getByText('RCS Niort 123 456 789').isVisible(), "the coop's legal notice is shown");
    t.equal(await page.locator(`main a[href="mailto:${CONTACT}"]`).count(), 2, 'the contact address is a link, to reach the coop and to ask for one’s data');
    t.equal(await page.getByRole('link', { name: fr('privacy.rights.log_in') }).getAttribute('href'), '/login?next=%2Faccount%2Fdata', 'a visitor is offered to log in to reach their data');
    await audit(t, s, 'fr', 'privacy page');

    await switchLanguage(t, s, 'en');
    t.equal(path(), '/privacy', 'stays on the privacy page');
    t.equal(await heading(page), tr.en('privacy.title'));
    t.ok(await page.locator('footer').getByRole('link', { name: tr.en('privacy.footer_link') }).isVisible(), 'the footer link is in English');
    await audit(t, s, 'en', 'privacy page in English');
    await switchLanguage(t, s, 'fr');
    t.equal(await heading(page), fr('privacy.title'));
  });

  await t.test('2. a member downloads their data, then deletes their account', async (t) => {
    const hash = (db.$client.prepare('select password_hash from accounts where id = ?').get(memberId) as { password_hash: string }).password_hash;

    // From the privacy page, through the log in, straight to "My data".
    await page.getByRole('link', { name: fr('privacy.rights.log_in') }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    await s.check(t, 'login form');
    await page.locator('#f-email').fill(MEMBER.email);
    await page.locator('#f-password').fill(MEMBER.password);
    await page.getByRole('button', { name: fr('login.submit') }).click();
    await page.waitForURL(base + '/account/data');
    t.equal(await heading(page), fr('data.title'), 'after logging in, the member lands on their data');
    await audit(t, s, 'fr', 'my data');

    // The same page is reached from the account page.
    await page.getByRole('link', { name: fr('nav.account'), exact: true }).click();
    await page.waitForURL(base + '/account');
    await audit(t, s, 'fr', 'account page');
    await page.getByRole('link', { name: fr('data.section_see') }).click();
    await page.waitForURL(base + '/account/data');
    await bothLanguages(t, s, 'my data', 'data.title');

    const download = await downloadFrom(page, page.getByRole('button', { name: fr('data.download') }));
    t.equal(path(), '/account/data', 'the page stays as it was');
    t.match(download.suggestedFilename(), /^carnet-my-data-\d{4}-\d{2}-\d{2}\.json$/, 'a dated JSON file');
    const text = await downloaded(download).then((b) => b.toString('utf8'));
    const data = JSON.parse(text) as { format: string; account: { id: number; email: string; name: string; phone: string } };
    t.equal(data.format, 'carnet-personal-data');
    t.has(data.account, { id: memberId, email: MEMBER.email, name: MEMBER.name, phone: '06 12 34 56 78' }, 'it holds the account: email, name and phone');
    t.notOk(text.includes(hash), 'it does not hold the password hash');
    t.notOk(/password_?hash/i.test(text), 'nor any password hash field');

    // Delete: first with a wrong password.
    await page.getByRole('link', { name: fr('data.delete_link') }).click();
    await page.waitForURL(base + '/account/delete');
    await bothLanguages(t, s, 'delete my account', 'data.delete.title');
    await page.locator('#f-password').fill('not my password');
    const wrong = await submit(page, page.getByRole('button', { name: fr('data.delete.submit') }), '/account/delete');
    t.equal(wrong.status, 422, 'a wrong password answers 422');
    t.equal(wrong.htmx, undefined, 'deleting is a plain form post, even with JavaScript (the session ends)');
    await page.locator('#f-password-error').waitFor();
    t.equal((await page.locator('#f-password-error').textContent())?.trim(), fr('error.wrong_password'), 'the password field says it is wrong');
    t.equal(await page.locator('#f-password').getAttribute('aria-invalid'), 'true');
    t.equal(await page.locator('#f-password').inputValue(), '', 'the password is not echoed');
    t.ok(await page.locator('.form-errors').isVisible(), 'the form says to correct the fields');
    await audit(t, s, 'fr', 'delete my account with an error');
    t.equal(accountIdByEmail(server, MEMBER.email), memberId, 'the account is still there');
    t.equal(sessionCount(server, memberId), 1, 'and still logged in');

    // Then with the right one.
    await page.locator('#f-password').fill(MEMBER.password);
    const right = await submit(page, page.getByRole('button', { name: fr('data.delete.submit') }), '/account/delete');
    t.equal(right.status, 303, 'the right password deletes, and redirects');
    await flash(t, page, 'success', fr('data.flash.deleted'));
    t.equal(path(), '/', 'the goodbye is on the home page');
    t.ok(await page.getByRole('link', { name: fr('nav.login') }).first().isVisible(), 'logged out: the header offers to log in');
    await audit(t, s, 'fr', 'home page after deleting the account');
    t.equal(accountIdByEmail(server, MEMBER.email), undefined, 'no account has that email any more');
    t.equal(sessionCount(server, memberId), 0, 'no session is left');

    await page.getByRole('link', { name: fr('nav.login') }).first().click();
    await page.waitForURL(base + '/login');
    await page.locator('#f-email').fill(MEMBER.email);
    await page.locator('#f-password').fill(MEMBER.password);
    await page.getByRole('button', { name: fr('login.submit') }).click();
    await page.locator('.form-errors', { hasText: fr('error.login_failed') }).waitFor();
    t.equal(path(), '/login', 'logging in again with the old email and password fails');
    await audit(t, s, 'fr', 'login form with an error');
  });

  await t.test('3. an admin reads the audit log, backs up, downloads a backup and erases a member', async (t) => {
    await page.locator('#f-email').fill(ADMIN.email);
    await page.locator('#f-password').fill(ADMIN.password);
    await page.getByRole('button', { name: fr('login.submit') }).click();
    await flash(t, page, 'success', fr('flash.logged_in'));
    await page.getByRole('navigation', { name: fr('nav.main') }).getByRole('link', { name: fr('nav.admin') }).click();
    await page.waitForURL(base + '/admin');
    await audit(t, s, 'fr', 'admin dashboard');

    // Something for the log: Paul is made a producer too.
    await adminNav(page, fr('admin.accounts')).click();
    await page.waitForURL(base + '/admin/accounts');
    await audit(t, s, 'fr', 'accounts');
    await page.getByRole('link', { name: OTHER.name }).click();
    await page.waitForURL(`${base}/admin/accounts/${otherId}`);
    await audit(t, s, 'fr', "Paul's account");
    await page.getByLabel(fr('role.producer')).check();
    await page.getByRole('button', { name: fr('admin.roles_submit') }).click();
    await flash(t, page, 'success', fr('flash.roles_saved', { name: OTHER.name }));
    await audit(t, s, 'fr', "Paul's account, roles saved");

    // The audit log: the role given, and Marie's own erasure under her replaced name.
    await adminNav(page, fr('audit.nav')).click();
    await page.waitForURL(base + '/admin/audit');
    t.equal(await heading(page), fr('audit.title'));
    const granted = auditRow(page, fr('audit.action.account.role_granted'));
    t.equal(await granted.count(), 1, 'the role change is in the log');
    t.equal(await cells(granted), [ADMIN.name, fr('audit.action.account.role_granted'), fr('audit.subject', { type: fr('audit.type.account'), id: otherId }), detail('fr', 'audit.detail.roles', fr('role.producer'))].join(' | '), 'who gave which role to which account');
    t.equal(await granted.getByRole('link', { name: fr('audit.subject', { type: fr('audit.type.account'), id: otherId }) }).getAttribute('href'), `/admin/accounts/${otherId}`, "the subject links to Paul's account");
    const erased = auditRow(page, fr('audit.action.account.erased'));
    t.equal(await erased.count(), 1, "Marie's erasure is in the log");
    t.equal(await cells(erased), [fr('data.erased_name', { id: memberId }), fr('audit.action.account.erased'), fr('audit.subject', { type: fr('audit.type.account'), id: memberId }), detail('fr', 'audit.detail.self', fr('audit.yes'))].join(' | '), 'by the person themselves, under the replaced name');
    t.notOk((await page.locator('main').textContent())?.includes(MEMBER.name), "Marie's name is nowhere in the log");
    t.equal(await erased.getByRole('link').count(), 0, 'an erased account is not a link');
    await bothLanguages(t, s, 'audit log', 'audit.title');

    // Backups: back up now, see it listed, download it.
    await adminNav(page, fr('backups.title')).click();
    await page.waitForURL(base + '/admin/backups');
    await bothLanguages(t, s, 'backups', 'backups.title');
    const before = await page.locator('main tbody tr').count();
    await page.getByRole('button', { name: fr('backups.create') }).click();
    const made = page.locator('.flash-success');
    await made.waitFor();
    const file = /carnet-[0-9TZ-]+-manual\.db/.exec((await made.textContent()) ?? '')?.[0];
    if (!file) throw new Error(`no backup file name in the message: ${await made.textContent()}`);
    t.equal((await made.textContent())?.trim(), fr('backups.created', { file }), 'the message names the new backup');
    t.equal(path(), '/admin/backups', 'back on the backups page');
    const row = page.locator('main tbody tr').filter({ has: page.locator(`a[href="/admin/backups/${file}"]`) });
    t.equal(await row.count(), 1, 'the new backup is in the list');
    t.equal(await page.locator('main tbody tr').count(), before + 1, 'one more backup than before');
    t.equal((await row.locator('td').nth(1).textContent())?.trim(), fr('backups.kind.manual'), 'made by hand');
    await audit(t, s, 'fr', 'backups with a new backup');

    const backup = await downloadFrom(page, row.getByRole('link', { name: `${fr('backups.download')} ${file}` }));
    t.equal(path(), '/admin/backups', 'the page stays as it was');
    t.equal(backup.suggestedFilename(), file, 'the file keeps its name');
    const bytes = await downloaded(backup);
    t.equal(bytes.subarray(0, 16).toString('latin1'), 'SQLite format 3\0', 'the download is an SQLite database');
    t.ok(bytes.length >= 4096, 'with its pages');

    // Paul's data, then his erasure, from his account page.
    await adminNav(page, fr('admin.accounts')).click();
    await page.waitForURL(base + '/admin/accounts');
    await page.getByRole('link', { name: OTHER.name }).click();
    await page.waitForURL(`${base}/admin/accounts/${otherId}`);
    const export_ = await downloadFrom(page, page.getByRole('link', { name: fr('data.admin.export') }));
    t.match(export_.suggestedFilename(), new RegExp(`^carnet-account-${otherId}-data-\\d{4}-\\d{2}-\\d{2}\\.json$`));
    const paul = JSON.parse((await downloaded(export_)).toString('utf8')) as { account: { email: string } };
    t.equal(paul.account.email, OTHER.email, "the admin's download holds Paul's email");
    t.equal(path(), `/admin/accounts/${otherId}`, 'the page stays as it was');

    await page.getByRole('link', { name: fr('data.admin.erase_link') }).click();
    await page.waitForURL(`${base}/admin/accounts/${otherId}/erase`);
    await bothLanguages(t, s, 'erase an account', 'data.admin.title', { name: OTHER.name });
    t.equal(await page.getByLabel(fr('data.admin.confirm_email', { email: OTHER.email })).count(), 1, 'the field asks for the email, which it shows');

    await page.locator('#f-confirmEmail').fill(ADMIN.email);
    const wrong = await submit(page, page.getByRole('button', { name: fr('data.admin.submit') }), `/admin/accounts/${otherId}/erase`);
    t.equal(wrong.status, 422, 'another email answers 422');
    t.equal(wrong.htmx, js ? 'true' : undefined, js ? 'sent by htmx (boosted form)' : 'a plain form post');
    const error = page.locator('#f-confirmEmail-error');
    await error.waitFor();
    t.equal((await error.textContent())?.trim(), fr('data.error.email_mismatch'), 'the field says it is not this account’s email');
    t.equal(await page.locator('#f-confirmEmail').getAttribute('aria-invalid'), 'true');
    t.equal(await page.locator('#f-confirmEmail').inputValue(), ADMIN.email, 'what was typed is echoed');
    t.equal(path(), `/admin/accounts/${otherId}/erase`);
    await audit(t, s, 'fr', 'erase an account with an error');
    t.equal(accountIdByEmail(server, OTHER.email), otherId, 'Paul is still there');

    await page.locator('#f-confirmEmail').fill(OTHER.email.toUpperCase());
    const right = await submit(page, page.getByRole('button', { name: fr('data.admin.submit') }), `/admin/accounts/${otherId}/erase`);
    t.equal(right.status, 303, 'the email (in any case) erases, and redirects');
    await flash(t, page, 'success', fr('data.flash.erased_by_admin', { id: otherId }));
    t.equal(path(), '/admin/accounts', 'back on the accounts');
    t.equal(await page.getByRole('link', { name: OTHER.name }).count(), 0, 'Paul is no longer listed');
    await audit(t, s, 'fr', 'accounts after an erasure');
    t.equal(accountIdByEmail(server, OTHER.email), undefined, 'no account has his email any more');

    await adminNav(page, fr('audit.nav')).click();
    await page.waitForURL(base + '/admin/audit');
    const actions = await page.locator('main tbody tr td:nth-child(3)').allTextContents();
    t.same(
      actions.slice(0, 5).map((a) => a.trim()),
      ['audit.action.account.erased', 'audit.action.account.exported', 'audit.action.backup.downloaded', 'audit.action.backup.created', 'audit.action.account.role_granted'].map((k) => fr(k as MessageKey)),
      "the admin's last actions are logged, newest first",
    );
    t.notOk((await page.locator('main').textContent())?.includes(OTHER.name), "Paul's name is nowhere in the log");
    await audit(t, s, 'fr', 'audit log after the erasure');
  });

  await t.test('no request left 127.0.0.1, and every page was checked', async (t) => {
    assertSameOriginAndAudited(t, s, server);
  });
}

// ---------------------------------------------------------------------------------------------

function onlyIn(from: Locale, other: Locale): string[] {
  const otherTexts = Object.values(dictionaries[other]).join('\n');
  const pieces = Object.entries(dictionaries[from])
    .filter(([key]) => !STORED_AS_TEXT.has(key))
    .flatMap(([, text]) => text.split(/\{[^}]+\}/).map((p) => p.trim()))
    .filter((p) => p.length >= 15 && !otherTexts.includes(p));
  return [...new Set(pieces)];
}

/** The session's check (axe, 320 px), and no sentence of the other language on the page. */
async function audit(t: Test, s: Session, locale: Locale, label: string): Promise<void> {
  t.equal(await htmlLang(s.page), locale, `${label}: <html lang="${locale}">`);
  const text = ((await s.page.locator('body').innerText()) ?? '').replace(/\s+/g, ' ');
  const foreign = FOREIGN[locale].filter((p) => text.includes(p.replace(/\s+/g, ' ')));
  t.same(foreign, [], `${label}: no sentence in the other language`);
  await s.check(t, label);
}

/** Audits the page in French, then in English (with the header's switcher), and comes back to French. */
async function bothLanguages(t: Test, s: Session, label: string, title: MessageKey, params?: Record<string, string>): Promise<void> {
  t.equal(await heading(s.page), fr(title, params), `${label}: the heading`);
  await audit(t, s, 'fr', label);
  await switchLanguage(t, s, 'en');
  t.equal(await heading(s.page), tr.en(title, params), `${label}: the heading in English`);
  await audit(t, s, 'en', `${label} in English`);
  await switchLanguage(t, s, 'fr');
  t.equal(await heading(s.page), fr(title, params), `${label}: back in French`);
}

/** Clicks a download link and waits for the download; the page does not change. */
async function downloadFrom(page: Page, link: Locator): Promise<Download> {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  return download;
}

async function downloaded(download: Download): Promise<Buffer> {
  const failure = await download.failure();
  if (failure) throw new Error(`download of ${download.url()} failed: ${failure}`);
  return readFileSync(await download.path());
}

/** Presses a form's button and returns the POST's status (before any redirect) and whether htmx sent it. */
async function submit(page: Page, button: Locator, path: string): Promise<{ status: number; htmx: string | undefined }> {
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path);
  await button.click();
  const response = await answer;
  return { status: response.status(), htmx: response.request().headers()['hx-request'] };
}

function auditRow(page: Page, action: string): Locator {
  return page.locator('main tbody tr').filter({ has: page.locator('td:nth-child(3)', { hasText: new RegExp(`^\\s*${escapeRegExp(action)}\\s*$`) }) });
}

/** An audit row's cells after the date, as "who | what | about | details". */
async function cells(row: Locator): Promise<string> {
  const texts = await row.locator('td').allTextContents();
  return texts
    .slice(1)
    .map((c) => c.replace(/\s+/g, ' ').trim())
    .join(' | ');
}

function detail(locale: Locale, label: MessageKey, value: string): string {
  return tr[locale]('audit.detail_line', { label: tr[locale](label), value });
}

function adminNav(page: Page, name: string): Locator {
  return page.getByRole('navigation', { name: fr('admin.nav') }).getByRole('link', { name: new RegExp('^' + escapeRegExp(name)) });
}

function accountIdByEmail(server: Server, email: string): number | undefined {
  return (server.db.$client.prepare('select id from accounts where email = ?').get(email) as { id: number } | undefined)?.id;
}

function sessionCount(server: Server, accountId: number): number {
  return (server.db.$client.prepare('select count(*) as n from sessions where account_id = ?').get(accountId) as { n: number }).n;
}

async function heading(page: Page): Promise<string | undefined> {
  return (await page.locator('h1').first().textContent())?.trim();
}

async function htmlLang(page: Page): Promise<string | null> {
  return page.locator('html').getAttribute('lang');
}

async function flash(t: Test, page: Page, kind: 'success' | 'info' | 'error', text: string): Promise<void> {
  const box = page.locator(`.flash-${kind}`);
  await box.waitFor();
  t.equal((await box.textContent())?.trim(), text, `${kind} message: ${text}`);
}

/** Uses the header's language switcher and waits until the whole page is in that language. */
async function switchLanguage(t: Test, s: Session, to: Locale): Promise<void> {
  const { page } = s;
  const from: Locale = to === 'en' ? 'fr' : 'en';
  const button = page.locator('form[action="/lang"] button');
  t.equal((await button.textContent())?.trim().endsWith(tr[from]('lang.switch_to')), true, `the switcher offers ${tr[from]('lang.switch_to')}`);
  await button.click();
  await page.locator(`html[lang="${to}"]`).waitFor({ state: 'attached' });
  await page.locator('form[action="/lang"] button', { hasText: tr[to]('lang.switch_to') }).waitFor();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
