import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { nameField, newPasswordField, PASSWORD_MIN } from '../../domain/fields.js';
import { hashPassword } from '../../domain/passwords.js';
import { acceptInvitation, findInvitation, INVITATION_TTL_DAYS, signUpFromInvitation, type OpenInvitation } from '../../domain/producers.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { HttpError } from '../guards.js';

const tokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
const signupSchema = z
  .object({ name: nameField, password: newPasswordField, passwordConfirm: z.string({ error: 'error.required' }).min(1, 'error.required') })
  .refine((v) => v.password === v.passwordConfirm, { path: ['passwordConfirm'], message: 'error.password_mismatch' });

/**
 * The link in a producer invitation: accept it as the logged-in account, log in first when the
 * invited email has an account, or create an account from it.
 */
const invitations: FastifyPluginAsync = async (app) => {
  // The token is in the path: keep it out of the Referer of any link on these pages.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Referrer-Policy', 'no-referrer');
  });

  /** The token and its open invitation, or null when the link is malformed, used, revoked or expired. */
  const invitationOf = (request: FastifyRequest): { token: string; invitation: OpenInvitation } | null => {
    const params = tokenParams.safeParse(request.params);
    if (!params.success) return null;
    const invitation = findInvitation(app.db, params.data.token);
    return invitation ? { token: params.data.token, invitation } : null;
  };

  const showInvalid = (request: FastifyRequest, reply: FastifyReply) =>
    reply.page('invitations/invalid', { title: request.t('invitations.invalid_title'), days: INVITATION_TTL_DAYS }, 404);

  const showInvitation = (
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    invitation: OpenInvitation,
    values: Record<string, string> = {},
    errors: FieldErrors = {},
    status = 200,
  ) => {
    const me = request.account;
    // Which form the page shows: accept as the current account, log in first, or sign up.
    const mode = me ? 'accept' : invitation.accountId !== null ? 'login' : 'signup';
    return reply.page(
      'invitations/show',
      {
        title: request.t('invitations.title', { producer: invitation.producerName }),
        token,
        invitation,
        mode,
        loginUrl: '/login?next=' + encodeURIComponent(`/invitations/${token}`),
        passwordMin: PASSWORD_MIN,
        values,
        errors,
      },
      status,
    );
  };

  app.get('/invitations/:token', async function showInvitationPage(request, reply) {
    const found = invitationOf(request);
    if (!found) return showInvalid(request, reply);
    return showInvitation(request, reply, found.token, found.invitation);
  });

  app.post('/invitations/:token/accept', { config: { rateLimit: app.rateLimits.signup } }, async function acceptAsMe(request, reply) {
    if (!request.account) throw new HttpError(403);
    const found = invitationOf(request);
    if (!found) return showInvalid(request, reply);
    const result = acceptInvitation(app.db, found.token, request.account.id);
    if (!result.ok) return showInvalid(request, reply);
    reply.flash('success', 'invitations.flash.accepted', { producer: result.producerName });
    return reply.seeOther('/producer');
  });

  app.post('/invitations/:token/signup', { config: { rateLimit: app.rateLimits.signup } }, async function signUpAndAccept(request, reply) {
    // Someone logged in accepts as themselves, with the other form; a stale page is sent back to it.
    const found = invitationOf(request);
    if (!found) return showInvalid(request, reply);
    if (request.account) return reply.seeOther(`/invitations/${found.token}`);
    const { token, invitation } = found;
    if (invitation.accountId !== null) return showInvitation(request, reply, token, invitation, {}, {}, 422);
    const form = parseForm(request.t, signupSchema, request.body);
    if (!form.ok) return showInvitation(request, reply, token, invitation, echo(request.body, ['email']), form.errors, 422);
    const result = signUpFromInvitation(app.db, token, {
      name: form.data.name,
      locale: request.locale,
      passwordHash: await hashPassword(form.data.password, app.scrypt),
    });
    if (!result.ok) {
      if (result.reason === 'invalid_token') return showInvalid(request, reply);
      // The address got an account while this form was open: that account must log in to accept.
      const again = findInvitation(app.db, token);
      if (!again) return showInvalid(request, reply);
      return showInvitation(request, reply, token, again, {}, { _form: request.t('invitations.email_now_taken') }, 422);
    }
    reply.logIn(result.accountId);
    reply.flash('success', 'invitations.flash.welcome', { name: form.data.name, producer: result.producerName });
    return reply.seeOther('/producer');
  });
};

export default invitations;
