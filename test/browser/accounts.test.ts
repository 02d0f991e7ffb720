import type { Browser, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { translator, type Locale } from '../../src/i18n/index.js';
import { addresses, assertSameOriginAndAudited, launchBrowser, openSession, startServer, startSmtp, type Session } from './browser-helper.js';

/*
 * The account flows in a real browser, once with JavaScript (htmx-boosted forms) and once
 * without: first-run setup, sign-up, log in and out, password reset by email, the language
 * switcher and a form error. Every page is checked with axe-core and at 320 px wide.
 */

const COOP = 'Coop des Champs';
const ADMIN = { name: 'Ada Admin', email: 'ada@coop.test', password: 'une phrase pour ada' };
const MEMBER = { name: 'Marie Membre', email: 'marie@coop.test', password: 'correct horse battery' };
const NEW_PASSWORD = 'une nouvelle phrase secrète';
const tr: Record<Locale, ReturnType<typeof translator>> = { fr: translator('fr'), en: translator('en') };
const fr = tr.fr;

const browser: Browser = await launchBrowser(t);

for (const js of [true, false]) {
  await t.test(js ? 'with JavaScript' : 'without JavaScript', (t) => accountFlows(t, browser, js));
}

async function accountFlows(t: Test, browser: Browser, js: boolean): Promise<void> {
  const smtp = await startSmtp(t);
  const server = await startServer(t, smtp.port);
  const s = await openSession(t, browser, server, { js, locale: 'fr-FR' });
  const { page } = s;
  const base = server.baseUrl;
  const path = () => new URL(page.url()).pathname;

  await t.test('1. first visit leads to setup, which logs the first admin in', async (t) => {
    await page.goto(base + '/');
    await page.waitForURL(base + '/setup');
    t.equal(await htmlLang(page), 'fr', 'French for a French browser');
    t.equal(await heading(page), fr('setup.title'));
    await s.check(t, 'setup form');

    await page.locator('#f-coopName').fill(COOP);
    await page.locator('#f-contactEmail').fill('contact@coop.test');
    await page.locator('#f-adminName').fill(ADMIN.name);
    await page.locator('#f-adminEmail').fill(ADMIN.email);
    await page.locator('#f-password').fill(ADMIN.password);
    await page.locator('#f-passwordConfirm').fill(ADMIN.password);
    await page.getByRole('button', { name: fr('setup.submit') }).click();

    await page.waitForURL(base + '/admin');
    await flash(t, page, 'success', fr('flash.setup_done', { name: ADMIN.name }));
    t.equal(await heading(page), fr('admin.title'));
    await s.check(t, 'admin dashboard');
  });

  await t.test('2. a new member signs up and is greeted by name', async (t) => {
    await logOut(t, s);
    await page.getByRole('link', { name: fr('nav.signup') }).first().click();
    await page.waitForURL(base + '/signup');
    t.equal(await heading(page), fr('signup.title'));
    await s.check(t, 'sign-up form');

    await page.locator('#f-name').fill(MEMBER.name);
    await page.locator('#f-email').fill(MEMBER.email);
    await page.locator('#f-phone').fill('06 12 34 56 78');
    await page.locator('#f-password').fill(MEMBER.password);
    await page.locator('#f-passwordConfirm').fill(MEMBER.password);
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/signup');
    await page.getByRole('button', { name: fr('signup.submit') }).click();
    t.equal((await answer).request().headers()['hx-request'], js ? 'true' : undefined, js ? 'sent by htmx (boosted form)' : 'a plain form post');

    await waitForHeading(page, fr('home.hello', { name: MEMBER.name }));
    t.equal(path(), '/', 'lands on the home page');
    await flash(t, page, 'success', fr('flash.welcome', { name: MEMBER.name }));
    await s.check(t, 'home page of a new member');
    const welcome = await smtp.waitForMail((m) => addresses(m).includes(MEMBER.email));
    t.equal(welcome.subject, fr('email.welcome.subject', { coop: COOP }), 'the welcome email is delivered by SMTP');
  });

  await t.test('3. the member logs out, logs in again and sees the account page', async (t) => {
    await logOut(t, s);
    await logIn(t, s, MEMBER.email, MEMBER.password);
    await flash(t, page, 'success', fr('flash.logged_in'));
    t.equal(path(), '/');
    await s.check(t, 'home page after log in');

    await page.getByRole('link', { name: fr('nav.account'), exact: true }).click();
    await page.waitForURL(base + '/account');
    t.equal(await heading(page), fr('account.title'));
    t.equal(await page.locator('#f-email').inputValue(), MEMBER.email, 'the account page shows the email');
    await s.check(t, 'account page');
  });

  await t.test('4. forgotten password: emailed link, new password, link used up', async (t) => {
    await logOut(t, s);
    await page.getByRole('link', { name: fr('nav.login') }).first().click();
    await page.waitForURL(base + '/login');
    await s.check(t, 'login form');
    await page.getByRole('link', { name: fr('login.forgot') }).click();
    await page.waitForURL(base + '/password/forgot');
    t.equal(await heading(page), fr('forgot.title'));
    await s.check(t, 'forgot password form');

    await page.locator('#f-email').fill(MEMBER.email);
    await page.getByRole('button', { name: fr('forgot.submit') }).click();
    await waitForHeading(page, fr('forgot.sent_title'));
    await s.check(t, 'reset link sent page');

    const mail = await smtp.waitForMail((m) => addresses(m).includes(MEMBER.email) && (m.text ?? '').includes('/password/reset/'));
    t.equal(mail.subject, fr('email.reset.subject', { coop: COOP }), 'reset email subject, in French');
    t.ok(mail.text && mail.text.trim().length > 0, 'the email has a text part');
    t.ok(typeof mail.html === 'string' && mail.html.length > 0, 'the email has an HTML part');
    const link = new RegExp(`${escapeRegExp(base)}/password/reset/[A-Za-z0-9_-]+`).exec(mail.text ?? '')?.[0];
    if (!link) throw new Error(`no reset link in the email text:\n${mail.text}`);
    t.ok(typeof mail.html === 'string' && mail.html.includes(`href="${link}"`), 'the HTML part links to the same address');

    await page.goto(link);
    t.equal(await heading(page), fr('reset.title'));
    await s.check(t, 'choose a new password form');
    await page.locator('#f-password').fill(NEW_PASSWORD);
    await page.locator('#f-passwordConfirm').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: fr('reset.submit') }).click();
    await waitForHeading(page, fr('home.hello', { name: MEMBER.name }));
    t.equal(path(), '/', 'logged in on the home page');
    await flash(t, page, 'success', fr('flash.password_reset_done'));
    await s.check(t, 'home page after reset');

    await logOut(t, s);
    await page.getByRole('link', { name: fr('nav.login') }).first().click();
    await page.waitForURL(base + '/login');
    await page.locator('#f-email').fill(MEMBER.email);
    await page.locator('#f-password').fill(MEMBER.password);
    await page.getByRole('button', { name: fr('login.submit') }).click();
    await page.locator('.form-errors', { hasText: fr('error.login_failed') }).waitFor();
    t.pass('the old password no longer works');
    await s.check(t, 'login form with an error');
    await logIn(t, s, MEMBER.email, NEW_PASSWORD, { fromLoginPage: true });
    t.pass('the new password works');

    const response = await page.goto(link);
    t.equal(response?.status(), 404, 'a used link answers 404');
    t.equal(await heading(page), fr('reset.invalid_title'), 'a used link shows "this link no longer works"');
    await s.check(t, 'used reset link page');
  });

  await t.test('5. the language switcher changes the language both ways', async (t) => {
    await page.getByRole('link', { name: fr('nav.account'), exact: true }).click();
    await page.waitForURL(base + '/account');
    t.equal(await htmlLang(page), 'fr');
    await switchLanguage(t, s, 'en');
    t.equal(path(), '/account', 'stays on the same page');
    t.equal(await heading(page), tr.en('account.title'));
    t.equal(await page.locator('#f-locale').inputValue(), 'en', "the account's language is now English");
    await s.check(t, 'account page in English');

    await page.locator('a.brand').click();
    await waitForHeading(page, tr.en('home.hello', { name: MEMBER.name }));
    t.equal(await htmlLang(page), 'en', 'English is remembered on the next page');
    await s.check(t, 'home page in English');
    await switchLanguage(t, s, 'fr');
    t.equal(path(), '/');
    t.equal(await heading(page), fr('home.hello', { name: MEMBER.name }));
    await s.check(t, 'home page back in French');
  });

  await t.test('6. an invalid email in the sign-up form comes back with a field error', async (t) => {
    await logOut(t, s);
    await page.getByRole('link', { name: fr('nav.signup') }).first().click();
    await page.waitForURL(base + '/signup');
    await page.locator('#f-name').fill('Paul Passant');
    await page.locator('#f-email').fill('paul-at-example');
    await page.locator('#f-password').fill(MEMBER.password);
    await page.locator('#f-passwordConfirm').fill(MEMBER.password);
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/signup');
    await page.getByRole('button', { name: fr('signup.submit') }).click();
    const response = await answer;
    t.equal(response.status(), 422, 'the server answers 422');
    t.equal(response.request().headers()['hx-request'], js ? 'true' : undefined, js ? 'sent by htmx' : 'a plain form post');

    const error = page.locator('#f-email-error');
    await error.waitFor();
    t.equal((await error.textContent())?.trim(), fr('error.invalid_email'), 'the email field says what is wrong');
    t.equal(await page.locator('#f-email').getAttribute('aria-invalid'), 'true');
    t.equal(await page.locator('#f-email').inputValue(), 'paul-at-example', 'the email is echoed');
    t.equal(await page.locator('#f-name').inputValue(), 'Paul Passant', 'the name is echoed');
    t.equal(await page.locator('#f-password').inputValue(), '', 'the password is not echoed');
    t.ok(await page.locator('.form-errors').isVisible(), 'the form says to correct the fields');
    t.equal(path(), '/signup');
    await s.check(t, 'sign-up form with an error');
  });

  await t.test('no request left 127.0.0.1, and every page was checked', async (t) => {
    assertSameOriginAndAudited(t, s, server);
  });
}

// ---------------------------------------------------------------------------------------------

async function heading(page: Page): Promise<string | undefined> {
  return (await page.locator('h1').first().textContent())?.trim();
}

async function waitForHeading(page: Page, text: string): Promise<void> {
  await page.locator('h1', { hasText: text }).waitFor();
}

async function htmlLang(page: Page): Promise<string | null> {
  return page.locator('html').getAttribute('lang');
}

async function flash(t: Test, page: Page, kind: 'success' | 'info' | 'error', text: string): Promise<void> {
  const box = page.locator(`.flash-${kind}`);
  await box.waitFor();
  t.equal((await box.textContent())?.trim(), text, `${kind} message: ${text}`);
}

/** Logs out with the header's button and lands on the guest home page. */
async function logOut(t: Test, s: Session): Promise<void> {
  await s.page.getByRole('button', { name: fr('nav.logout') }).click();
  await flash(t, s.page, 'info', fr('flash.logged_out'));
  t.equal(new URL(s.page.url()).pathname, '/', 'logged out, on the home page');
  await s.check(t, 'home page for guests');
}

/** Logs in through the login form (reached from the header link) and waits for the greeting. */
async function logIn(t: Test, s: Session, email: string, password: string, opts: { fromLoginPage?: boolean } = {}): Promise<void> {
  const { page } = s;
  if (!opts.fromLoginPage) {
    await page.getByRole('link', { name: fr('nav.login') }).first().click();
    await page.waitForURL((url) => url.pathname === '/login');
    await s.check(t, 'login form');
  }
  await page.locator('#f-email').fill(email);
  await page.locator('#f-password').fill(password);
  await page.getByRole('button', { name: fr('login.submit') }).click();
  await waitForHeading(page, fr('home.hello', { name: MEMBER.name }));
}

/** Uses the header's language switcher and waits until the whole page is in that language. */
async function switchLanguage(t: Test, s: Session, to: Locale): Promise<void> {
  const { page } = s;
  const from: Locale = to === 'en' ? 'fr' : 'en';
  const button = page.locator('form[action="/lang"] button');
  t.equal((await button.textContent())?.trim().endsWith(tr[from]('lang.switch_to')), true, `the switcher offers ${tr[from]('lang.switch_to')}`);
  await button.click();
  await page.locator(`html[lang="${to}"]`).waitFor({ state: 'attached' });
  t.equal(await htmlLang(page), to, `<html lang="${to}">`);
  await page.locator('form[action="/lang"] button', { hasText: tr[to]('lang.switch_to') }).waitFor();
  t.ok(await page.getByRole('link', { name: tr[to]('nav.account'), exact: true }).isVisible(), `the header is in ${to}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
