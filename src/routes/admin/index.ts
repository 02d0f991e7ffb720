import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROLES } from '../../db/schema/index.js';
import { approveAccount, countPending, findAccount, listAccounts, listPending, rejectAccount, rolesOf, setRoles } from '../../domain/accounts.js';
import { recordAudit } from '../../domain/audit.js';
import { getCoop, LEGAL_NOTICE_MAX, updateCoopSettings } from '../../domain/coop.js';
import { reminderHoursField } from '../../domain/cycles.js';
import { closingReminderHoursField } from '../../domain/member-notices.js';
import { acceptedPaymentMethods, BANK_DETAILS_MAX, bankDetailsIbansValid, PAYMENT_METHODS } from '../../domain/orders.js';
import { checkboxField, emailField, localeField, nameField, timeZoneField } from '../../domain/fields.js';
import { TIME_ZONES } from '../../i18n/index.js';
import { listOutbox, outboxCounts, retryEmail } from '../../mail/outbox.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

export const ACCOUNTS_PER_PAGE = 25;

const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const listQuery = z.object({
  q: z.string().max(100).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100000).optional().catch(1),
});
// A checkbox list arrives as a string (one box), an array (several) or nothing (none). A role sent
// twice (hand-made or replayed form) counts once, or setRoles would insert it twice.
const rolesSchema = z.object({
  roles: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? [...new Set(v)] : [v]), z.array(z.enum(ROLES, { error: 'error.invalid_choice' })).max(3)),
});
const settingsSchema = z.object({
  name: nameField,
  contactEmail: emailField,
  defaultLocale: localeField,
  timeZone: timeZoneField,
  requireApproval: checkboxField,
  // Absent from an older form: the saved value is kept.
  producerReminderHours: reminderHoursField.optional(),
  // Shop: a hidden "off" comes before the checkbox, so an unticked box still says "off" while a
  // form without the field (an older one) keeps the saved value.
  allowAnonymousBrowsing: z.preprocess((v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).includes('on')), z.boolean().optional()),
  // Payment at pickup: only read when the form shows it (paymentMethodsShown), since no box
  // ticked and an older form without the boxes look alike.
  paymentMethodsShown: z.string().optional(),
  paymentMethods: z.preprocess(
    (v) => (v === undefined ? [] : Array.isArray(v) ? [...new Set(v)] : [v]),
    z.array(z.enum(PAYMENT_METHODS, { error: 'error.invalid_choice' })).max(PAYMENT_METHODS.length),
  ),
  bankDetails: z
    .string()
    .max(BANK_DETAILS_MAX)
    .refine((v) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v), 'error.invalid_value')
    .optional(),
  closingReminderHours: closingReminderHoursField.optional(),
  // Who runs this Carnet, for the privacy page; absent from an older form: the saved text is kept.
  // Line breaks are counted as browsers count them (one character), so the length is checked after.
  legalNotice: z
    .string()
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .pipe(z.string().max(LEGAL_NOTICE_MAX).refine((v) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v), 'error.invalid_text'))
    .optional(),
}).superRefine((v, ctx) => {
  if (!v.paymentMethodsShown) return;
  if (v.paymentMethods.length === 0) ctx.addIssue({ code: 'custom', path: ['paymentMethods'], message: 'error.orders.methods_required' });
  const bank = (v.bankDetails ?? '').trim();
  if (v.paymentMethods.includes('transfer') && bank === '') ctx.addIssue({ code: 'custom', path: ['bankDetails'], message: 'error.orders.bank_required' });
  else if (!bankDetailsIbansValid(bank)) ctx.addIssue({ code: 'custom', path: ['bankDetails'], message: 'error.orders.iban' });
});
const testEmailSchema = z.object({ to: emailField });
const outboxQuery = z.object({ status: z.enum(['pending', 'sent', 'failed']).optional().catch(undefined) });

/** Parses an :id route parameter; anything that is not a positive integer is a 404. */
function idOf(request: FastifyRequest): number {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data.id;
}

/** Administration: accounts and roles, sign-up approvals, coop settings, the email outbox. */
const admin: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  // The admin menu shows how many sign-ups wait, on every admin page.
  app.addHook('preHandler', adminMenuCount(app.db));

  app.get('/admin', async function showDashboard(request, reply) {
    const counts = outboxCounts(app.db);
    return reply.page('admin/index', {
      title: request.t('admin.title'),
      accountTotal: listAccounts(app.db, { page: 1, perPage: 1 }).total,
      pendingTotal: countPending(app.db),
      outbox: counts,
    });
  });

  // ----- accounts and roles -----
  app.get('/admin/accounts', async function showAccounts(request, reply) {
    const query = listQuery.parse(request.query ?? {});
    const page = query.page ?? 1;
    const { rows, total } = listAccounts(app.db, { q: query.q, page, perPage: ACCOUNTS_PER_PAGE });
    const pages = Math.max(1, Math.ceil(total / ACCOUNTS_PER_PAGE));
    const data = { title: request.t('admin.accounts'), rows, total, page, pages, q: query.q ?? '' };
    // Search-as-you-type asks for the results table only.
    if (request.isHtmx && request.headers['hx-target'] === 'account-results') return reply.page('admin/_account-results', data);
    return reply.page('admin/accounts', data);
  });

  const showAccount = (request: FastifyRequest, reply: FastifyReply, id: number, errors: FieldErrors = {}, status = 200) => {
    const account = findAccount(app.db, id);
    if (!account) throw new HttpError(404);
    return reply.page(
      'admin/account',
      { title: request.t('admin.account_title', { name: account.name }), target: account, roles: rolesOf(app.db, id), allRoles: ROLES, errors },
      status,
    );
  };

  app.get('/admin/accounts/:id', async function showAccountPage(request, reply) {
    return showAccount(request, reply, idOf(request));
  });

  app.post('/admin/accounts/:id/roles', async function saveRoles(request, reply) {
    const id = idOf(request);
    const form = parseForm(request.t, rolesSchema, request.body);
    if (!form.ok) return showAccount(request, reply, id, form.errors, 422);
    const result = setRoles(app.db, id, form.data.roles, Date.now(), request.account!);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return showAccount(request, reply, id, { roles: request.t('error.last_admin') }, 422);
    }
    reply.flash('success', 'flash.roles_saved', { name: findAccount(app.db, id)!.name });
    return reply.seeOther(`/admin/accounts/${id}`);
  });

  // ----- approvals -----
  app.get('/admin/approvals', async function showApprovals(request, reply) {
    return reply.page('admin/approvals', { title: request.t('admin.approvals'), pending: listPending(app.db) });
  });

  app.post('/admin/approvals/:id/approve', async function approve(request, reply) {
    const result = approveAccount(app.db, app.mailer, idOf(request), Date.now(), request.account!);
    if (!result.ok) throw new HttpError(404);
    app.wakeOutbox();
    reply.flash('success', 'flash.approved', { name: result.account.name });
    return reply.seeOther('/admin/approvals');
  });

  app.post('/admin/approvals/:id/reject', async function reject(request, reply) {
    const result = rejectAccount(app.db, app.mailer, idOf(request), Date.now(), request.account!);
    if (!result.ok) throw new HttpError(404);
    app.wakeOutbox();
    reply.flash('success', 'flash.rejected', { name: result.account.name });
    return reply.seeOther('/admin/approvals');
  });

  // ----- coop settings -----
  const showSettings = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string | boolean | string[]>, errors: FieldErrors = {}, status = 200) =>
    reply.page('admin/settings', { title: request.t('admin.settings'), timeZones: TIME_ZONES, paymentMethodChoices: PAYMENT_METHODS, values, errors }, status);

  app.get('/admin/settings', async function showSettingsPage(request, reply) {
    const c = getCoop(app.db)!;
    return showSettings(request, reply, {
      name: c.name,
      contactEmail: c.contactEmail,
      defaultLocale: c.defaultLocale,
      timeZone: c.timeZone,
      requireApproval: c.requireApproval,
      producerReminderHours: String(c.producerReminderHours),
      allowAnonymousBrowsing: c.allowAnonymousBrowsing,
      paymentMethods: acceptedPaymentMethods(c),
      bankDetails: c.bankDetails,
      closingReminderHours: String(c.closingReminderHours),
      legalNotice: c.legalNotice,
    });
  });

  app.post('/admin/settings', async function saveSettings(request, reply) {
    const form = parseForm(request.t, settingsSchema, request.body);
    if (!form.ok) {
      const values = echo(request.body);
      const methods = (request.body as { paymentMethods?: unknown } | undefined)?.paymentMethods;
      const paymentMethods = (Array.isArray(methods) ? methods : [methods]).filter((m): m is string => typeof m === 'string');
      // echo() keeps 1000 characters; the legal notice may be longer and is given back whole.
      const notice = (request.body as { legalNotice?: unknown } | undefined)?.legalNotice;
      if (typeof notice === 'string') values.legalNotice = notice.slice(0, LEGAL_NOTICE_MAX * 2);
      return showSettings(request, reply, { ...values, requireApproval: values.requireApproval === 'on', paymentMethods, allowAnonymousBrowsing: [(request.body as { allowAnonymousBrowsing?: unknown } | undefined)?.allowAnonymousBrowsing].flat().includes('on') }, form.errors, 422);
    }
    const { paymentMethodsShown, paymentMethods, bankDetails, ...settings } = form.data;
    updateCoopSettings(
      app.db,
      {
        ...settings,
        ...(paymentMethodsShown ? { paymentMethods: paymentMethods.join(','), bankDetails: (bankDetails ?? '').trim().replace(/\r\n/g, '\n') } : {}),
      },
      Date.now(),
      request.account!,
    );
    reply.flash('success', 'flash.settings_saved');
    return reply.seeOther('/admin/settings');
  });

  // ----- email outbox -----
  const showOutbox = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string>, errors: FieldErrors = {}, status = 200) => {
    const { status: filter } = outboxQuery.parse(request.query ?? {});
    return reply.page(
      'admin/outbox',
      {
        title: request.t('admin.outbox'),
        emails: listOutbox(app.db, filter),
        counts: outboxCounts(app.db),
        filter: filter ?? '',
        transport: app.config.smtpUrl ? 'smtp' : 'file',
        mailDir: app.mailDir,
        values,
        errors,
      },
      status,
    );
  };

  app.get('/admin/outbox', async function showOutboxPage(request, reply) {
    return showOutbox(request, reply, { to: request.account!.email });
  });

  app.post('/admin/outbox/test', async function sendTestEmail(request, reply) {
    const form = parseForm(request.t, testEmailSchema, request.body);
    if (!form.ok) return showOutbox(request, reply, echo(request.body), form.errors, 422);
    // The address stays out of the log: the email's id leads to it while the outbox keeps it.
    app.db.transaction(
      (tx) => {
        const id = app.mailer.queue(tx, { to: form.data.to, locale: request.locale, template: 'test' });
        recordAudit(tx, request.account!, 'email.test_sent', { type: 'email', id });
      },
      { behavior: 'immediate' },
    );
    app.wakeOutbox();
    reply.flash('success', 'flash.test_email_queued', { email: form.data.to });
    return reply.seeOther('/admin/outbox');
  });

  app.post('/admin/outbox/:id/retry', async function retry(request, reply) {
    const id = idOf(request);
    const retried = app.db.transaction(
      (tx) => {
        if (!retryEmail(tx, id)) return false;
        recordAudit(tx, request.account!, 'email.retried', { type: 'email', id });
        return true;
      },
      { behavior: 'immediate' },
    );
    if (!retried) throw new HttpError(404);
    app.wakeOutbox();
    reply.flash('success', 'flash.email_retry');
    return reply.seeOther('/admin/outbox');
  });
};

export default admin;
