import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAccount } from '../../domain/accounts.js';
import { passwordField } from '../../domain/fields.js';
import { INVITATION_TTL_DAYS } from '../../domain/producers.js';
import { RESET_TTL_HOURS } from '../../domain/password-reset.js';
import { verifyPassword } from '../../domain/passwords.js';
import { eraseOwnAccount, erasurePreview, exportFileName, exportPersonalData, type PersonalData } from '../../domain/personal-data.js';
import { ACCOUNT_SESSION_MS, VISITOR_SESSION_MS } from '../../domain/sessions.js';
import { SENT_EMAIL_RETENTION_DAYS } from '../../mail/outbox.js';
import { LANG_COOKIE } from '../../plugins/i18n.js';
import { SESSION_COOKIE } from '../../plugins/session.js';
import { parseForm, type FieldErrors } from '../forms.js';
import { HttpError, requireAccount } from '../guards.js';

const DAY_MS = 24 * 3600 * 1000;

const deleteSchema = z.object({ password: passwordField });

/** How many entries each part of the download holds, for the "your data" page. */
function dataCounts(data: PersonalData): Record<string, number> {
  return {
    roles: data.roles.length,
    sessions: data.sessions.length,
    baskets: data.baskets.length,
    orders: data.orders.length,
    producers: data.producersManaged.length,
    invitations: data.invitations.received.length + data.invitations.sent.length,
    emails: data.emails.length,
    admin_actions: data.adminActions.length,
  };
}

/**
 * How long backups last, from the backup settings: BACKUP_KEEP backups are kept, one made every
 * BACKUP_INTERVAL_HOURS hours (0: none made automatically, so only a count can be promised).
 */
function backupRetention(config: { backupKeep: number; backupIntervalHours: number }): { count: number; days: number | null } {
  const days = config.backupIntervalHours > 0 ? Math.max(1, Math.ceil((config.backupKeep * config.backupIntervalHours) / 24)) : null;
  return { count: config.backupKeep, days };
}

/** Sends a JSON download with the no-store header every page of personal data gets. */
function sendJson(reply: FastifyReply, data: unknown, fileName: string) {
  return reply
    .header('Content-Type', 'application/json; charset=utf-8')
    .header('Content-Disposition', `attachment; filename="${fileName}"`)
    .header('Cache-Control', 'no-store')
    .send(JSON.stringify(data, null, 2) + '\n');
}

/**
 * The privacy page (public, built from the coop's settings) and a member's own data rights:
 * what Carnet keeps about them and its download, and the erasure of their account.
 */
const privacy: FastifyPluginAsync = async (app) => {
  app.get('/privacy', async function showPrivacy(request, reply) {
    return reply.page('privacy/index', {
      title: request.t('privacy.title'),
      legalNotice: request.coop?.legalNotice ?? '',
      contactEmail: request.coop?.contactEmail ?? '',
      sessionDays: Math.round(ACCOUNT_SESSION_MS / DAY_MS),
      visitorSessionHours: Math.round(VISITOR_SESSION_MS / 3600_000),
      resetHours: RESET_TTL_HOURS,
      invitationDays: INVITATION_TTL_DAYS,
      emailDays: SENT_EMAIL_RETENTION_DAYS,
      backups: backupRetention(app.config),
      sessionCookie: SESSION_COOKIE,
      langCookie: LANG_COOKIE,
    });
  });

  // ----- the member's own data -----
  app.get('/account/data', { preHandler: requireAccount }, async function showMyData(request, reply) {
    const data = exportPersonalData(app.db, request.account!.id, Date.now(), request.session.idHash);
    if (!data) throw new HttpError(404);
    return reply.page('privacy/data', { title: request.t('data.title'), counts: dataCounts(data), data });
  });

  app.get('/account/data.json', { preHandler: requireAccount }, async function downloadMyData(request, reply) {
    const now = Date.now();
    const data = exportPersonalData(app.db, request.account!.id, now, request.session.idHash);
    if (!data) throw new HttpError(404);
    return sendJson(reply, data, exportFileName('carnet-my-data', now, request.coop?.timeZone ?? 'Europe/Paris'));
  });

  // ----- erasure by the member -----
  const showDelete = (request: FastifyRequest, reply: FastifyReply, errors: FieldErrors = {}, status = 200) =>
    reply.page('privacy/delete', { title: request.t('data.delete.title'), preview: erasurePreview(app.db, request.account!.id), errors }, status);

  app.get('/account/delete', { preHandler: requireAccount }, async function showDeleteAccount(request, reply) {
    return showDelete(request, reply);
  });

  app.post('/account/delete', { preHandler: requireAccount, config: { rateLimit: app.rateLimits.login } }, async function deleteAccount(request, reply) {
    const form = parseForm(request.t, deleteSchema, request.body);
    if (!form.ok) return showDelete(request, reply, form.errors, 422);
    const me = findAccount(app.db, request.account!.id);
    if (!me) throw new HttpError(404);
    if (!(await verifyPassword(form.data.password, me.passwordHash))) {
      return showDelete(request, reply, { password: request.t('error.wrong_password') }, 422);
    }
    const result = eraseOwnAccount(app.db, me.id);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return showDelete(request, reply, { _form: request.t('data.error.last_admin') }, 422);
    }
    // The goodbye is read after logging out, so the language cookie keeps it in theirs.
    reply.rememberLocale(me.locale);
    reply.logOut({ kind: 'success', key: 'data.flash.deleted' });
    return reply.seeOther('/');
  });
};

export default privacy;
