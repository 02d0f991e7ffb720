import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAccount, rolesOf } from '../../domain/accounts.js';
import { accountNames, listAudit, type AuditDetails, type AuditEntry } from '../../domain/audit.js';
import { findCategory, formatVatRate } from '../../domain/categories.js';
import { getCycle } from '../../domain/cycles.js';
import { emailField } from '../../domain/fields.js';
import { eraseAccountByAdmin, erasurePreview, exportFileName, exportForAdmin } from '../../domain/personal-data.js';
import { findPickupPoint } from '../../domain/pickup-points.js';
import { findProducer } from '../../domain/producers.js';
import type { Locale, MessageKey, Translate } from '../../i18n/index.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

/** Entries per page of the audit log. */
export const AUDIT_PER_PAGE = 50;

const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const pageQuery = z.object({ page: z.coerce.number().int().min(1).max(100000).optional().catch(1) });
const eraseSchema = z.object({ confirmEmail: emailField });

/** Parses an :id route parameter; anything that is not a positive integer is a 404. */
function idOf(request: FastifyRequest): number {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data.id;
}

// What an entry was about, and where its page is while it exists.
const SUBJECT_PAGES: Record<string, (id: number) => string> = {
  account: (id) => `/admin/accounts/${id}`,
  cycle: (id) => `/admin/cycles/${id}`,
  producer: (id) => `/admin/producers/${id}`,
  pickup_point: (id) => `/admin/pickup-points/${id}`,
  category: (id) => `/admin/categories/${id}`,
};
const SUBJECT_TYPES = new Set(['account', 'cycle', 'producer', 'pickup_point', 'category', 'email', 'coop', 'backup', 'export']);
// Details whose labels and values Carnet knows how to word; others are shown as recorded.
const DETAIL_KEYS = new Set(['roles', 'settings', 'from', 'to', 'source', 'accountId', 'roleRemoved', 'self', 'file', 'promoted', 'rate']);
const SETTING_KEYS = new Set([
  'name',
  'contactEmail',
  'defaultLocale',
  'timeZone',
  'requireApproval',
  'producerReminderHours',
  'allowAnonymousBrowsing',
  'closingReminderHours',
  'paymentMethods',
  'bankDetails',
  'legalNotice',
]);
const CYCLE_STATUSES = new Set(['draft', 'scheduled', 'open', 'closed', 'done']);

/** One line of the audit page, ready to show. */
interface AuditRow {
  id: number;
  at: number;
  actorName: string;
  actorHref: string | null;
  action: string;
  subject: string | null;
  subjectHref: string | null;
  details: Array<{ label: string; value: string }>;
}

/** What an entry was about, in words: "Sale #12", "Coop settings"; a type Carnet does not know is shown as recorded. */
function subjectText(t: Translate, type: string | null, id: number | null): string | null {
  if (type === null) return null;
  if (type === 'coop') return t('audit.type.coop');
  const noun = SUBJECT_TYPES.has(type) ? t(`audit.type.${type}` as MessageKey) : type;
  return id === null ? noun : t('audit.subject', { type: noun, id });
}

/** A recorded detail in words: role, setting and status names translated, lists joined. */
function detailRows(t: Translate, locale: Locale, details: AuditDetails): Array<{ label: string; value: string }> {
  return Object.entries(details).map(([key, raw]) => {
    const label = DETAIL_KEYS.has(key) ? t(`audit.detail.${key}` as MessageKey) : key;
    const list = Array.isArray(raw) ? raw : [raw];
    const word = (v: string | number | boolean | null): string => {
      if (v === null) return '—';
      if (typeof v === 'boolean') return t(v ? 'audit.yes' : 'audit.no');
      if (key === 'roles' && ['admin', 'producer', 'member'].includes(String(v))) return t(`role.${v}` as MessageKey);
      if (key === 'settings' && SETTING_KEYS.has(String(v))) return t(`audit.setting.${v}` as MessageKey);
      if ((key === 'from' || key === 'to') && CYCLE_STATUSES.has(String(v))) return t(`cycles.status.${v}` as MessageKey);
      if (key === 'source') return subjectText(t, 'cycle', Number(v))!;
      if (key === 'accountId') return subjectText(t, 'account', Number(v))!;
      if (key === 'rate' && typeof v === 'number') return formatVatRate(v, locale);
      return String(v);
    };
    return { label, value: list.map(word).join(', ') };
  });
}

/** Administration: the audit log, and a member's data export and erasure done by an admin on their request. */
const audit: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  app.addHook('preHandler', adminMenuCount(app.db));

  /** Which subjects of a page still exist (one lookup per distinct subject, 50 at most). */
  const subjectExists = (entries: AuditEntry[], names: Map<number, string>): Set<string> => {
    const finders: Record<string, (id: number) => unknown> = {
      account: (id) => names.get(id),
      cycle: (id) => getCycle(app.db, id),
      producer: (id) => findProducer(app.db, id),
      pickup_point: (id) => findPickupPoint(app.db, id),
      category: (id) => findCategory(app.db, id),
    };
    const exists = new Set<string>();
    for (const e of entries) {
      if (e.subjectId === null || e.subjectType === null) continue;
      const key = `${e.subjectType}:${e.subjectId}`;
      if (exists.has(key)) continue;
      if (Object.hasOwn(finders, e.subjectType) && finders[e.subjectType]!(e.subjectId) !== undefined) exists.add(key);
    }
    return exists;
  };

  app.get('/admin/audit', async function showAudit(request, reply) {
    const page = pageQuery.parse(request.query ?? {}).page ?? 1;
    const { entries, hasMore } = listAudit(app.db, page, AUDIT_PER_PAGE);
    const t = request.t;
    const ids = new Set<number>();
    for (const e of entries) {
      if (e.actorId !== null) ids.add(e.actorId);
      if (e.subjectType === 'account' && e.subjectId !== null) ids.add(e.subjectId);
    }
    const names = accountNames(app.db, [...ids]);
    const exists = subjectExists(entries, names);
    const rows: AuditRow[] = entries.map((e) => {
      const type = e.subjectType;
      const page = type !== null && e.subjectId !== null && exists.has(`${type}:${e.subjectId}`) ? SUBJECT_PAGES[type] : undefined;
      return {
        id: e.id,
        at: e.at,
        actorName: e.actorName,
        actorHref: e.actorId !== null && names.has(e.actorId) ? `/admin/accounts/${e.actorId}` : null,
        action: t(`audit.action.${e.action}` as MessageKey),
        subject: subjectText(t, type, e.subjectId),
        subjectHref: page ? page(e.subjectId!) : type === 'coop' ? '/admin/settings' : null,
        details: detailRows(t, request.locale, e.details),
      };
    });
    return reply.page('admin/audit', { title: t('audit.title'), rows, page, hasMore });
  });

  // ----- a member's data, on their request -----
  app.get('/admin/accounts/:id/data.json', async function downloadAccountData(request, reply) {
    const id = idOf(request);
    const now = Date.now();
    const data = exportForAdmin(app.db, request.account!, id, now);
    if (!data) throw new HttpError(404);
    return reply
      .header('Content-Type', 'application/json; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${exportFileName(`carnet-account-${id}-data`, now, request.coop?.timeZone ?? 'Europe/Paris')}"`)
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify(data, null, 2) + '\n');
  });

  const showErase = (request: FastifyRequest, reply: FastifyReply, id: number, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) => {
    const target = findAccount(app.db, id);
    if (!target) throw new HttpError(404);
    return reply.page(
      'admin/account-erase',
      {
        title: request.t('data.admin.title', { name: target.name }),
        target,
        roles: rolesOf(app.db, id),
        self: target.id === request.account!.id,
        preview: erasurePreview(app.db, id),
        values,
        errors,
      },
      status,
    );
  };

  app.get('/admin/accounts/:id/erase', async function showEraseAccount(request, reply) {
    return showErase(request, reply, idOf(request));
  });

  app.post('/admin/accounts/:id/erase', async function eraseAccountForMember(request, reply) {
    const id = idOf(request);
    const target = findAccount(app.db, id);
    if (!target) throw new HttpError(404);
    const form = parseForm(request.t, eraseSchema, request.body);
    if (!form.ok) return showErase(request, reply, id, echo(request.body), form.errors, 422);
    if (form.data.confirmEmail !== target.email.toLowerCase()) {
      return showErase(request, reply, id, echo(request.body), { confirmEmail: request.t('data.error.email_mismatch') }, 422);
    }
    const me = request.account!;
    const result = eraseAccountByAdmin(app.db, { id: me.id, name: me.name }, id);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return showErase(request, reply, id, echo(request.body), { _form: request.t('data.error.last_admin') }, 422);
    }
    if (id === me.id) {
      // An admin who erased their own account has no session left: they leave as a visitor.
      reply.rememberLocale(me.locale);
      reply.logOut({ kind: 'success', key: 'data.flash.deleted' });
      return reply.seeOther('/');
    }
    // The flash names the account by number: a session row must not keep the erased name.
    reply.flash('success', 'data.flash.erased_by_admin', { id });
    return reply.seeOther('/admin/accounts');
  });
};

export default audit;
