import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAccount, setPassword, updateProfile } from '../../domain/accounts.js';
import { checkboxField, emailField, localeField, nameField, newPasswordField, passwordField, phoneField, PASSWORD_MIN } from '../../domain/fields.js';
import { hashPassword, verifyPassword } from '../../domain/passwords.js';
import { countSessions, deleteOtherSessions } from '../../domain/sessions.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { HttpError, requireAccount } from '../guards.js';

const profileSchema = z.object({ name: nameField, email: emailField, phone: phoneField, locale: localeField, notifyCycleOpen: checkboxField });
const passwordSchema = z
  .object({ currentPassword: passwordField, password: newPasswordField, passwordConfirm: z.string().min(1, 'error.required') })
  .refine((v) => v.password === v.passwordConfirm, { path: ['passwordConfirm'], message: 'error.password_mismatch' });

/** The profile form as typed, to show again after an error (the checkbox as a boolean). */
const profileEcho = (body: unknown) => {
  const values = echo(body);
  return { ...values, notifyCycleOpen: values.notifyCycleOpen === 'on' };
};

interface AccountPageState {
  profileValues?: Record<string, string | boolean>;
  profileErrors?: FieldErrors;
  passwordErrors?: FieldErrors;
}

/** A person's own account: details, language, password, and logging out other devices. */
const account: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireAccount);

  const showAccount = (request: FastifyRequest, reply: FastifyReply, state: AccountPageState = {}, status = 200) => {
    const me = findAccount(app.db, request.account!.id);
    if (!me) throw new HttpError(404);
    return reply.page(
      'account/index',
      {
        title: request.t('account.title'),
        me,
        passwordMin: PASSWORD_MIN,
        sessionCount: countSessions(app.db, me.id),
        profileValues: state.profileValues ?? { name: me.name, email: me.email, phone: me.phone ?? '', locale: me.locale, notifyCycleOpen: me.notifyCycleOpen },
        profileErrors: state.profileErrors ?? {},
        passwordErrors: state.passwordErrors ?? {},
      },
      status,
    );
  };

  app.get('/account', async function showAccountPage(request, reply) {
    return showAccount(request, reply);
  });

  app.post('/account/profile', async function saveProfile(request, reply) {
    const form = parseForm(request.t, profileSchema, request.body);
    if (!form.ok) return showAccount(request, reply, { profileValues: profileEcho(request.body), profileErrors: form.errors }, 422);
    const result = updateProfile(app.db, request.account!.id, form.data);
    if (!result.ok) {
      return showAccount(request, reply, { profileValues: profileEcho(request.body), profileErrors: { email: request.t('error.email_taken') } }, 422);
    }
    reply.flash('success', 'flash.profile_saved');
    return reply.seeOther('/account');
  });

  app.post('/account/password', { config: { rateLimit: app.rateLimits.login } }, async function changePassword(request, reply) {
    const form = parseForm(request.t, passwordSchema, request.body);
    if (!form.ok) return showAccount(request, reply, { passwordErrors: form.errors }, 422);
    const me = findAccount(app.db, request.account!.id);
    if (!me) throw new HttpError(404);
    if (!(await verifyPassword(form.data.currentPassword, me.passwordHash))) {
      return showAccount(request, reply, { passwordErrors: { currentPassword: request.t('error.wrong_password') } }, 422);
    }
    setPassword(app.db, app.mailer, me.id, await hashPassword(form.data.password, app.scrypt), request.session.idHash);
    app.wakeOutbox();
    reply.flash('success', 'flash.password_changed');
    return reply.seeOther('/account');
  });

  app.post('/account/sessions/revoke', async function logOutOtherDevices(request, reply) {
    deleteOtherSessions(app.db, request.account!.id, request.session.idHash);
    reply.flash('success', 'flash.sessions_revoked');
    return reply.seeOther('/account');
  });
};

export default account;
