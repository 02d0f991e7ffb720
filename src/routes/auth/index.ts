import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAccountByEmail, signUp } from '../../domain/accounts.js';
import { checkboxField, emailField, nameField, newPasswordField, passwordField, phoneField, PASSWORD_MIN } from '../../domain/fields.js';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../../domain/passwords.js';
import { checkResetToken, requestPasswordReset, resetPassword, RESET_TTL_HOURS } from '../../domain/password-reset.js';
import { echo, parseForm, safeNext, type FieldErrors } from '../forms.js';

const confirmField = z.string({ error: 'error.required' }).min(1, 'error.required');
const samePasswords = (v: { password: string; passwordConfirm: string }) => v.password === v.passwordConfirm;
const mismatch = { path: ['passwordConfirm'], message: 'error.password_mismatch' };

const signupSchema = z
  .object({ name: nameField, email: emailField, phone: phoneField, password: newPasswordField, passwordConfirm: confirmField, notifyCycleOpen: checkboxField })
  .refine(samePasswords, mismatch);
const loginSchema = z.object({ email: emailField, password: passwordField, next: z.string().optional() });
const forgotSchema = z.object({ email: emailField });
const resetSchema = z.object({ password: newPasswordField, passwordConfirm: confirmField }).refine(samePasswords, mismatch);
const tokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/) });

export const DEMO_PASSWORD = 'carnet-demo';

/** Sign-up, log in, log out and password reset by emailed link. */
const auth: FastifyPluginAsync = async (app) => {
  const limits = app.rateLimits;

  // ----- sign up -----
  const showSignup = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) =>
    reply.page('auth/signup', { title: request.t('signup.title'), passwordMin: PASSWORD_MIN, values, errors }, status);

  app.get('/signup', async function showSignupPage(request, reply) {
    if (request.account) return reply.seeOther('/');
    return showSignup(request, reply);
  });

  app.post('/signup', { config: { rateLimit: limits.signup } }, async function createAccount(request, reply) {
    // Someone logged in (a double submit, or a second tab) is not signing up again.
    if (request.account) return reply.seeOther('/');
    const form = parseForm(request.t, signupSchema, request.body);
    if (!form.ok) return showSignup(request, reply, echo(request.body), form.errors, 422);
    const { name, email, phone, password, notifyCycleOpen } = form.data;
    const result = signUp(app.db, app.mailer, {
      name,
      email,
      phone,
      notifyCycleOpen,
      locale: request.locale,
      passwordHash: await hashPassword(password, app.scrypt),
    });
    if (!result.ok) return showSignup(request, reply, echo(request.body), { email: request.t('error.email_taken') }, 422);
    app.wakeOutbox();
    reply.logIn(result.account.id);
    if (result.account.status === 'pending') reply.flash('info', 'flash.pending_signup', { name });
    else reply.flash('success', 'flash.welcome', { name });
    return reply.seeOther('/');
  });

  // ----- log in / log out -----
  const showLogin = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) =>
    reply.page(
      'auth/login',
      {
        title: request.t('login.title'),
        values: { next: safeNext((request.query as { next?: string }).next, ''), ...values },
        errors,
        demoAccounts: app.config.demo ? app.demoAccounts : [],
        demoPassword: DEMO_PASSWORD,
      },
      status,
    );

  app.get('/login', async function showLoginPage(request, reply) {
    if (request.account) return reply.seeOther('/');
    return showLogin(request, reply);
  });

  app.post('/login', { config: { rateLimit: limits.login } }, async function logIn(request, reply) {
    const form = parseForm(request.t, loginSchema, request.body);
    if (!form.ok) return showLogin(request, reply, echo(request.body), form.errors, 422);
    const { email, password, next } = form.data;
    const account = findAccountByEmail(app.db, email);
    // The same work and the same answer whether or not the email has an account.
    const ok = account ? await verifyPassword(password, account.passwordHash) : await verifyAgainstDummy(password, app.scrypt);
    if (!account || !ok) {
      return showLogin(request, reply, echo(request.body), { _form: request.t('error.login_failed') }, 422);
    }
    reply.logIn(account.id);
    reply.flash('success', 'flash.logged_in');
    return reply.seeOther(safeNext(next));
  });

  app.post('/logout', async function logOut(_request, reply) {
    reply.logOut({ kind: 'info', key: 'flash.logged_out' });
    return reply.seeOther('/');
  });

  // ----- forgotten password -----
  const showForgot = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) =>
    reply.page('auth/forgot', { title: request.t('forgot.title'), values, errors }, status);

  app.get('/password/forgot', async function showForgotPage(request, reply) {
    return showForgot(request, reply);
  });

  app.post('/password/forgot', { config: { rateLimit: limits.reset } }, async function askReset(request, reply) {
    const form = parseForm(request.t, forgotSchema, request.body);
    if (!form.ok) return showForgot(request, reply, echo(request.body), form.errors, 422);
    requestPasswordReset(app.db, app.mailer, form.data.email);
    app.wakeOutbox();
    // Same page whether or not the email has an account.
    return reply.page('auth/forgot-sent', { title: request.t('forgot.sent_title'), email: form.data.email, hours: RESET_TTL_HOURS });
  });

  const showReset = (request: FastifyRequest, reply: FastifyReply, token: string, errors: FieldErrors = {}, status = 200) =>
    reply.page('auth/reset', { title: request.t('reset.title'), token, passwordMin: PASSWORD_MIN, errors }, status);
  const showInvalid = (request: FastifyRequest, reply: FastifyReply) =>
    reply.page('auth/reset-invalid', { title: request.t('reset.invalid_title'), hours: RESET_TTL_HOURS }, 404);

  app.get('/password/reset/:token', async function showResetPage(request, reply) {
    // The token is in the path: keep it out of the Referer of any link on the page.
    reply.header('Referrer-Policy', 'no-referrer');
    const params = tokenParams.safeParse(request.params);
    if (!params.success || checkResetToken(app.db, params.data.token) === null) return showInvalid(request, reply);
    return showReset(request, reply, params.data.token);
  });

  app.post('/password/reset/:token', { config: { rateLimit: limits.reset } }, async function chooseNewPassword(request, reply) {
    reply.header('Referrer-Policy', 'no-referrer');
    const params = tokenParams.safeParse(request.params);
    if (!params.success || checkResetToken(app.db, params.data.token) === null) return showInvalid(request, reply);
    const form = parseForm(request.t, resetSchema, request.body);
    if (!form.ok) return showReset(request, reply, params.data.token, form.errors, 422);
    const result = resetPassword(app.db, app.mailer, params.data.token, await hashPassword(form.data.password, app.scrypt));
    if (!result.ok) return showInvalid(request, reply);
    app.wakeOutbox();
    reply.logIn(result.accountId);
    reply.flash('success', 'flash.password_reset_done');
    return reply.seeOther('/');
  });
};

export default auth;
