import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { hasAdmin, setupCoop } from '../../domain/coop.js';
import { emailField, localeField, nameField, newPasswordField, timeZoneField, PASSWORD_MIN } from '../../domain/fields.js';
import { hashPassword } from '../../domain/passwords.js';
import { TIME_ZONES } from '../../i18n/index.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { HttpError } from '../guards.js';

const setupSchema = z
  .object({
    coopName: nameField,
    contactEmail: emailField,
    defaultLocale: localeField,
    timeZone: timeZoneField,
    adminName: nameField,
    adminEmail: emailField,
    password: newPasswordField,
    passwordConfirm: z.string({ error: 'error.required' }).min(1, 'error.required'),
  })
  .refine((v) => v.password === v.passwordConfirm, { path: ['passwordConfirm'], message: 'error.password_mismatch' });

/** First-run setup: creates the coop and its first admin; exists only while no admin does. */
const setup: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', async () => {
    if (hasAdmin(app.db)) throw new HttpError(404);
  });

  const showForm = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string>, errors: FieldErrors = {}, status = 200) =>
    reply.page(
      'setup/index',
      {
        title: request.t('setup.title'),
        timeZones: TIME_ZONES,
        passwordMin: PASSWORD_MIN,
        values: { defaultLocale: request.locale, timeZone: 'Europe/Paris', ...values },
        errors,
      },
      status,
    );

  app.get('/setup', async function showSetup(request, reply) {
    return showForm(request, reply, {});
  });

  app.post('/setup', async function createCoop(request, reply) {
    const form = parseForm(request.t, setupSchema, request.body);
    if (!form.ok) return showForm(request, reply, echo(request.body), form.errors, 422);
    const input = form.data;
    const result = setupCoop(app.db, {
      coopName: input.coopName,
      contactEmail: input.contactEmail,
      defaultLocale: input.defaultLocale,
      timeZone: input.timeZone,
      adminName: input.adminName,
      adminEmail: input.adminEmail,
      adminLocale: request.locale,
      passwordHash: await hashPassword(input.password, app.scrypt),
    });
    if (!result.ok) {
      if (result.reason === 'email_taken') {
        return showForm(request, reply, echo(request.body), { adminEmail: request.t('error.email_taken') }, 422);
      }
      throw new HttpError(404);
    }
    reply.logIn(result.accountId);
    reply.flash('success', 'flash.setup_done', { name: input.adminName });
    return reply.seeOther('/admin');
  });
};

export default setup;
