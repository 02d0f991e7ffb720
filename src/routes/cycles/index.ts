import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  actionsFor,
  createCycle,
  duplicateCycle,
  editableParts,
  getCycle,
  listCycles,
  MAX_DISTRIBUTIONS,
  performCycleAction,
  pickupPointChoices,
  producerOffers,
  producerSummaries,
  updateCycle,
  type ActionResult,
  type CycleAction,
  type CycleErrors,
  type CycleFormInput,
  type CycleWithDistributions,
  type DistributionRowInput,
} from '../../domain/cycles.js';
import { toDateInput, toDateTimeLocal, toTimeInput } from '../../domain/time.js';
import type { Translate } from '../../i18n/index.js';
import { echo, type FieldErrors } from '../forms.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

/** Past cycles shown per page of the list. */
export const PAST_PER_PAGE = 20;
/** Distribution rows a new cycle form offers without JavaScript. */
export const BLANK_ROWS = 3;

const ROW_FIELD = /^dist-(\d{1,3})-(point|date|start|end|id|remove)$/;
const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const idParams = z.object({ id: idParam });
const producerParams = z.object({ id: idParam, producerId: idParam });
const listQuery = z.object({ page: z.coerce.number().int().min(1).max(100000).optional().catch(1) });
const rowQuery = z.object({ index: z.coerce.number().int().min(0).max(MAX_DISTRIBUTIONS * 2).catch(0) });

/** Parses an :id route parameter; anything that is not a positive integer is a 404. */
function idOf(request: FastifyRequest): number {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data.id;
}

/** The coop's time zone, in which every date of the forms is typed. */
function zoneOf(request: FastifyRequest): string {
  return request.coop?.timeZone ?? 'Europe/Paris';
}

/** A form value as a string (a repeated field keeps its first value). */
function str(v: unknown): string | undefined {
  if (Array.isArray(v)) return str(v[0]);
  return typeof v === 'string' ? v : undefined;
}

/** Reads the cycle form: the cycle's fields and the numbered distribution rows (dist-N-point, ...). */
export function readCycleForm(body: unknown): CycleFormInput & { rowIndexes: number[] } {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const rows = new Map<number, DistributionRowInput>();
  for (const [key, raw] of Object.entries(b)) {
    const m = ROW_FIELD.exec(key);
    if (!m) continue;
    const index = Number(m[1]);
    const row = rows.get(index) ?? { index };
    const value = str(raw);
    if (m[2] === 'point') row.pickupPointId = value;
    else if (m[2] === 'date') row.date = value;
    else if (m[2] === 'start') row.start = value;
    else if (m[2] === 'end') row.end = value;
    else if (m[2] === 'id') row.id = value;
    else row.remove = value === 'on' || value === '1';
    rows.set(index, row);
  }
  const sorted = [...rows.values()].sort((a, b) => a.index - b.index);
  return { name: str(b.name), opensAt: str(b.opensAt), closesAt: str(b.closesAt), rows: sorted, rowIndexes: sorted.map((r) => r.index) };
}

/** Translates the domain's field messages. */
function translateErrors(t: Translate, errors: CycleErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, m] of Object.entries(errors)) out[field] = t(m.key, m.params);
  return out;
}

/** The form values of a saved cycle, in the coop's time zone. */
function valuesOf(cycle: CycleWithDistributions, timeZone: string): Record<string, string> {
  const values: Record<string, string> = {
    name: cycle.name,
    opensAt: toDateTimeLocal(cycle.opensAt, timeZone),
    closesAt: toDateTimeLocal(cycle.closesAt, timeZone),
  };
  // An open cycle's saved distributions are shown read-only, not as rows of the form.
  if (cycle.status !== 'open') {
    cycle.distributions.forEach((d, i) => {
      values[`dist-${i}-id`] = String(d.id);
      values[`dist-${i}-point`] = String(d.pickupPointId);
      values[`dist-${i}-date`] = toDateInput(d.startsAt, timeZone);
      values[`dist-${i}-start`] = toTimeInput(d.startsAt, timeZone);
      values[`dist-${i}-end`] = toTimeInput(d.endsAt, timeZone);
    });
  }
  return values;
}

/** Sale cycles for admins: list, create and edit, status actions, duplicate, and the producers' overview. */
const cyclesAdmin: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  app.addHook('preHandler', adminMenuCount(app.db));

  app.get('/admin/cycles', async function showCycles(request, reply) {
    const page = listQuery.parse(request.query ?? {}).page ?? 1;
    const { current, past, pastTotal } = listCycles(app.db, { page, perPage: PAST_PER_PAGE });
    const pages = Math.max(1, Math.ceil(pastTotal / PAST_PER_PAGE));
    return reply.page('cycles/index', { title: request.t('cycles.title'), current, past, pastTotal, page, pages });
  });

  /**
   * Renders the cycle form. `rowIndexes` are the distribution rows to show (the saved ones first,
   * then spare blank ones); without JavaScript, "add a distribution" posts the form back for one more.
   */
  const showForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    cycle: CycleWithDistributions | null,
    values: Record<string, string>,
    rowIndexes: number[],
    errors: FieldErrors = {},
    status = 200,
  ) => {
    const points = pickupPointChoices(app.db, cycle?.id);
    const nextIndex = rowIndexes.length ? Math.max(...rowIndexes) + 1 : 0;
    return reply.page(
      'cycles/form',
      {
        title: cycle ? request.t('cycles.edit_title', { name: cycle.name }) : request.t('cycles.new_title'),
        cycle,
        mode: cycle ? editableParts(cycle.status) : 'all',
        points,
        rowIndexes,
        nextIndex,
        canAddRow: rowIndexes.length < MAX_DISTRIBUTIONS,
        action: cycle ? `/admin/cycles/${cycle.id}/edit` : '/admin/cycles',
        values,
        errors,
      },
      status,
    );
  };

  /** Rows for a form shown again: those submitted, plus one more if "add a distribution" was pressed. */
  const rowsAfterPost = (form: ReturnType<typeof readCycleForm>, addRow: boolean) => {
    const indexes = form.rowIndexes.slice(0, MAX_DISTRIBUTIONS);
    if (addRow && indexes.length < MAX_DISTRIBUTIONS) indexes.push(indexes.length ? Math.max(...indexes) + 1 : 0);
    return indexes.length ? indexes : [0];
  };

  const spareRows = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

  app.get('/admin/cycles/new', async function showNewCycle(request, reply) {
    return showForm(request, reply, null, {}, spareRows(0, BLANK_ROWS));
  });

  app.post('/admin/cycles', async function saveNewCycle(request, reply) {
    const form = readCycleForm(request.body);
    const body = request.body as Record<string, unknown> | undefined;
    if (body?.addRow !== undefined) return showForm(request, reply, null, echo(request.body), rowsAfterPost(form, true));
    const result = createCycle(app.db, form, { timeZone: zoneOf(request), actor: request.account! });
    if (!result.ok) return showForm(request, reply, null, echo(request.body), rowsAfterPost(form, false), translateErrors(request.t, result.errors), 422);
    reply.flash('success', 'cycles.flash.created');
    return reply.seeOther(`/admin/cycles/${result.cycleId}`);
  });

  // htmx "add a distribution": one more blank row, and the button moved on to the next index.
  app.get('/admin/cycles/distribution-row', async function showDistributionRow(request, reply) {
    const { index } = rowQuery.parse(request.query ?? {});
    return reply.page('cycles/_distribution-row', {
      row: { index, saved: false },
      points: pickupPointChoices(app.db),
      nextIndex: index + 1,
      canAddRow: index + 1 < MAX_DISTRIBUTIONS,
      oob: true,
    });
  });

  const loadCycle = (request: FastifyRequest) => {
    const cycle = getCycle(app.db, idOf(request));
    if (!cycle) throw new HttpError(404);
    return cycle;
  };

  app.get('/admin/cycles/:id', async function showCycle(request, reply) {
    const cycle = loadCycle(request);
    return reply.page('cycles/show', {
      title: cycle.name,
      cycle,
      actions: actionsFor(cycle.status),
      editable: editableParts(cycle.status) !== 'none',
      producers: producerSummaries(app.db, cycle.id),
    });
  });

  app.get('/admin/cycles/:id/edit', async function showEditCycle(request, reply) {
    const cycle = loadCycle(request);
    if (editableParts(cycle.status) === 'none') {
      reply.flash('error', 'cycles.flash.not_editable');
      return reply.seeOther(`/admin/cycles/${cycle.id}`);
    }
    const saved = cycle.status === 'open' ? 0 : cycle.distributions.length;
    return showForm(request, reply, cycle, valuesOf(cycle, zoneOf(request)), spareRows(0, Math.max(saved + 1, BLANK_ROWS)));
  });

  app.post('/admin/cycles/:id/edit', async function saveCycle(request, reply) {
    const cycle = loadCycle(request);
    const form = readCycleForm(request.body);
    const body = request.body as Record<string, unknown> | undefined;
    if (editableParts(cycle.status) !== 'none' && body?.addRow !== undefined) {
      return showForm(request, reply, cycle, echo(request.body), rowsAfterPost(form, true));
    }
    const result = updateCycle(app.db, cycle.id, form, { timeZone: zoneOf(request), actor: request.account! });
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      if (result.reason === 'not_editable') {
        reply.flash('error', 'cycles.flash.not_editable');
        return reply.seeOther(`/admin/cycles/${cycle.id}`);
      }
      // Shown with the status as it is now: the clock may have opened the cycle meanwhile.
      const now = getCycle(app.db, cycle.id)!;
      return showForm(request, reply, now, echo(request.body), rowsAfterPost(form, false), translateErrors(request.t, result.errors), 422);
    }
    reply.flash('success', 'cycles.flash.saved');
    return reply.seeOther(`/admin/cycles/${cycle.id}`);
  });

  /** Runs an admin status action and says what happened. */
  const act = (request: FastifyRequest, reply: FastifyReply, action: CycleAction) => {
    const id = idOf(request);
    const result: ActionResult = performCycleAction(app.db, app.mailer, id, action, Date.now(), request.account!);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      reply.flash('error', `cycles.refused.${result.reason}`);
      return reply.seeOther(`/admin/cycles/${id}`);
    }
    if (result.emails > 0) app.wakeOutbox();
    reply.flash('success', `cycles.flash.${action}`, { name: result.transition.name, emails: result.emails });
    return reply.seeOther(`/admin/cycles/${id}`);
  };

  app.post('/admin/cycles/:id/schedule', async function scheduleCycle(request, reply) {
    return act(request, reply, 'schedule');
  });
  app.post('/admin/cycles/:id/unschedule', async function unscheduleCycle(request, reply) {
    return act(request, reply, 'unschedule');
  });
  app.post('/admin/cycles/:id/close', async function closeCycle(request, reply) {
    return act(request, reply, 'close');
  });
  app.post('/admin/cycles/:id/finish', async function finishCycle(request, reply) {
    return act(request, reply, 'finish');
  });

  app.post('/admin/cycles/:id/duplicate', async function duplicate(request, reply) {
    const result = duplicateCycle(app.db, idOf(request), { timeZone: zoneOf(request), suffix: request.t('cycles.copy_suffix'), actor: request.account! });
    if (!result.ok) throw new HttpError(404);
    reply.flash('success', 'cycles.flash.duplicated', { offers: result.offers });
    return reply.seeOther(`/admin/cycles/${result.cycleId}`);
  });

  app.get('/admin/cycles/:id/producers/:producerId', async function showProducerOffers(request, reply) {
    const parsed = producerParams.safeParse(request.params);
    if (!parsed.success) throw new HttpError(404);
    const cycle = getCycle(app.db, parsed.data.id);
    const found = cycle && producerOffers(app.db, cycle.id, parsed.data.producerId);
    if (!cycle || !found) throw new HttpError(404);
    return reply.page('cycles/producer-offers', {
      title: request.t('cycles.producer_offers_title', { producer: found.producer.name, cycle: cycle.name }),
      cycle,
      producer: found.producer,
      offers: found.offers,
    });
  });
};

export default cyclesAdmin;
