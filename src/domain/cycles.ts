import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { accounts, cycles, distributions, offers, orders, pickupPoints, producerAccounts, producers, products, type CycleStatus } from '../db/schema/index.js';
import { formatters, type Locale, type MessageKey, type Params } from '../i18n/index.js';
import type { Mailer } from '../mail/mailer.js';
import { recordAudit, type AuditActor } from './audit.js';
import { getCoop } from './coop.js';
import { addDaysInZone, fromWallClock, parseDateInput, parseDateTimeLocal, parseTimeInput, type ParsedInstant } from './time.js';

export type Cycle = typeof cycles.$inferSelect;
export type Distribution = typeof distributions.$inferSelect;
export type PickupPoint = typeof pickupPoints.$inferSelect;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A closed cycle is done by itself this long after its last distribution ends. */
export const DONE_AFTER_MS = 3 * DAY_MS;
/** More distributions than this in one sale is a mistake (or an attack), not a sale. */
export const MAX_DISTRIBUTIONS = 50;
export const CYCLE_NAME_MAX = 100;
/** The bounds of the coop setting "remind producers N hours before opening". */
export const REMINDER_HOURS_MIN = 1;
export const REMINDER_HOURS_MAX = 336;

/** The coop setting "remind producers N hours before opening": a whole number from 1 to 336 (two weeks). */
export const reminderHoursField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .refine((v) => /^\d{1,3}$/.test(v), 'error.reminder_hours')
  .transform(Number)
  .refine((n) => n >= REMINDER_HOURS_MIN && n <= REMINDER_HOURS_MAX, 'error.reminder_hours');

// ----- the state machine, as data -----

/** What an admin can do to a cycle's status. */
export const CYCLE_ACTIONS = ['schedule', 'unschedule', 'close', 'finish'] as const;
export type CycleAction = (typeof CYCLE_ACTIONS)[number];
/** What the clock does: opens_at reached, closes_at reached, three days after the last distribution. */
export const CLOCK_EVENTS = ['opens_at_reached', 'closes_at_reached', 'done_delay_passed'] as const;
export type ClockEvent = (typeof CLOCK_EVENTS)[number];
export type CycleEvent = CycleAction | ClockEvent;

/** Every allowed move; anything not listed (reopening, going back from open or closed) is refused. */
export const TRANSITIONS: ReadonlyArray<{ from: CycleStatus; event: CycleEvent; to: CycleStatus }> = [
  { from: 'draft', event: 'schedule', to: 'scheduled' },
  { from: 'scheduled', event: 'unschedule', to: 'draft' },
  { from: 'scheduled', event: 'opens_at_reached', to: 'open' },
  { from: 'open', event: 'closes_at_reached', to: 'closed' },
  { from: 'open', event: 'close', to: 'closed' },
  { from: 'closed', event: 'finish', to: 'done' },
  { from: 'closed', event: 'done_delay_passed', to: 'done' },
];

/** The status an event leads to from a status, or null when the state machine does not allow it. */
export function nextStatus(from: CycleStatus, event: CycleEvent): CycleStatus | null {
  return TRANSITIONS.find((t) => t.from === from && t.event === event)?.to ?? null;
}

/** The admin actions the state machine offers for a status (the buttons on the overview). */
export function actionsFor(status: CycleStatus): CycleAction[] {
  return CYCLE_ACTIONS.filter((a) => nextStatus(status, a) !== null);
}

/** Which parts of a cycle an admin may still change in each status. */
export function editableParts(status: CycleStatus): 'all' | 'open' | 'none' {
  return status === 'draft' || status === 'scheduled' ? 'all' : status === 'open' ? 'open' : 'none';
}

/** The clock event that is due for a cycle now, if any. */
export function dueClockEvent(cycle: Pick<Cycle, 'status' | 'opensAt' | 'closesAt'>, lastDistributionEnd: number | null, now: number): ClockEvent | null {
  if (cycle.status === 'scheduled' && cycle.opensAt <= now) return 'opens_at_reached';
  if (cycle.status === 'open' && cycle.closesAt <= now) return 'closes_at_reached';
  if (cycle.status === 'closed' && (lastDistributionEnd ?? cycle.closesAt) + DONE_AFTER_MS <= now) return 'done_delay_passed';
  return null;
}

// ----- reading -----

/** A distribution with its pickup point's name. */
export interface DistributionRow extends Distribution {
  pickupPointName: string;
  pickupPointActive: boolean;
}

/** A cycle with its distributions, earliest first. */
export interface CycleWithDistributions extends Cycle {
  distributions: DistributionRow[];
}

/** The cycle with this id and its distributions, if it exists. */
export function getCycle(db: Db | Tx, id: number): CycleWithDistributions | undefined {
  const cycle = db.select().from(cycles).where(eq(cycles.id, id)).get();
  if (!cycle) return undefined;
  const rows = db
    .select({ d: distributions, pickupPointName: pickupPoints.name, pickupPointActive: pickupPoints.active })
    .from(distributions)
    .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
    .where(eq(distributions.cycleId, id))
    .orderBy(asc(distributions.startsAt), asc(distributions.id))
    .all();
  return { ...cycle, distributions: rows.map((r) => ({ ...r.d, pickupPointName: r.pickupPointName, pickupPointActive: r.pickupPointActive })) };
}

/** One row of the cycle list. */
export interface CycleListRow {
  id: number;
  name: string;
  status: CycleStatus;
  opensAt: number;
  closesAt: number;
  distributionCount: number;
}

// Written out: drizzle leaves the columns of a one-table select unqualified, and "id" would mean the distribution's.
const distributionCount = sql<number>`(select count(*) from "distributions" d where d."cycle_id" = "cycles"."id")`;
const listColumns = { id: cycles.id, name: cycles.name, status: cycles.status, opensAt: cycles.opensAt, closesAt: cycles.closesAt, distributionCount };

/**
 * The cycle list: every cycle still to come or open (soonest first), then a page of past ones
 * (closed or done, most recent first).
 */
export function listCycles(db: Db, opts: { page: number; perPage: number }): { current: CycleListRow[]; past: CycleListRow[]; pastTotal: number } {
  const isPast = inArray(cycles.status, ['closed', 'done']);
  const current = db
    .select(listColumns)
    .from(cycles)
    .where(inArray(cycles.status, ['draft', 'scheduled', 'open']))
    .orderBy(sql`case ${cycles.status} when 'open' then 0 else 1 end`, asc(cycles.opensAt), asc(cycles.id))
    .all();
  const pastTotal = db.select({ n: sql<number>`count(*)` }).from(cycles).where(isPast).get()!.n;
  const past = db
    .select(listColumns)
    .from(cycles)
    .where(isPast)
    .orderBy(desc(cycles.opensAt), desc(cycles.id))
    .limit(opts.perPage)
    .offset((opts.page - 1) * opts.perPage)
    .all();
  return { current, past, pastTotal };
}

/** The pickup points a distribution may use: the active ones, plus those already used by this cycle. */
export function pickupPointChoices(db: Db | Tx, cycleId?: number): PickupPoint[] {
  const used = cycleId === undefined ? [] : db.select({ id: distributions.pickupPointId }).from(distributions).where(eq(distributions.cycleId, cycleId)).all().map((r) => r.id);
  return db
    .select()
    .from(pickupPoints)
    .where(used.length ? sql`${pickupPoints.active} = 1 or ${inArray(pickupPoints.id, used)}` : eq(pickupPoints.active, true))
    .orderBy(asc(pickupPoints.name), asc(pickupPoints.id))
    .all();
}

// ----- the cycle form -----

/** One distribution row as typed in the form. `id` is set for a distribution already saved. */
export interface DistributionRowInput {
  index: number;
  id?: string | undefined;
  pickupPointId?: string | undefined;
  date?: string | undefined;
  start?: string | undefined;
  end?: string | undefined;
  remove?: boolean | undefined;
}

/** The cycle form as typed; every value is a string from the form, possibly missing. */
export interface CycleFormInput {
  name?: string | undefined;
  opensAt?: string | undefined;
  closesAt?: string | undefined;
  rows: DistributionRowInput[];
}

/** A validated distribution; id null for a new one. */
export interface DistributionValue {
  id: number | null;
  pickupPointId: number;
  startsAt: number;
  endsAt: number;
}

/** A validated cycle, ready to store. */
export interface CycleValue {
  name: string;
  opensAt: number;
  closesAt: number;
  /** What the cycle's distributions will be once saved (kept, changed and new ones). */
  distributions: DistributionValue[];
  /** Ids of saved distributions to delete. */
  removed: number[];
}

/** A message for one form field. */
export interface FieldMessage {
  key: MessageKey;
  params?: Params;
}
/** Messages by form field name (name, opensAt, closesAt, distributions, dist-N-point, ...). */
export type CycleErrors = Record<string, FieldMessage>;

export type ValidateResult = { ok: true; value: CycleValue } | { ok: false; errors: CycleErrors };

/** The form field name of one part of distribution row N. */
export const rowField = (index: number, part: 'point' | 'date' | 'start' | 'end' | 'remove' | 'id') => `dist-${index}-${part}`;

// Control characters (including newlines) never belong in a one-line name.
const CONTROL = /\p{Cc}/u;
const blank = (v: string | undefined) => v === undefined || v.trim() === '';

function instantError(parsed: ParsedInstant, missing: boolean): FieldMessage | null {
  if (missing) return { key: 'error.required' };
  if (parsed.ok) return null;
  return { key: parsed.reason === 'nonexistent' ? 'cycles.error.nonexistent_time' : 'cycles.error.invalid_datetime' };
}

/**
 * Checks the cycle form against the rules: a name, closing after opening, at least one
 * distribution, each at a known pickup point, ending after it starts and starting once the sale
 * has closed, no exact duplicates. With `existing`, the rules of its status apply too: a
 * scheduled cycle must still open in the future; an open cycle may only close later and gain
 * distributions (its name, opening and saved distributions are kept as they are).
 */
export function validateCycleForm(
  db: Db | Tx,
  input: CycleFormInput,
  opts: { timeZone: string; now: number; existing?: CycleWithDistributions | undefined },
): ValidateResult {
  const { timeZone, now, existing } = opts;
  const errors: CycleErrors = {};
  const openCycle = existing?.status === 'open';

  // name and opening: fixed once the sale is open
  let name = existing?.name ?? '';
  let opensAt = existing?.opensAt ?? NaN;
  if (!openCycle) {
    name = (input.name ?? '').trim();
    if (name === '') errors.name = { key: 'error.required' };
    else if (name.length > CYCLE_NAME_MAX) errors.name = { key: 'error.too_long', params: { max: CYCLE_NAME_MAX } };
    else if (CONTROL.test(name)) errors.name = { key: 'cycles.error.invalid_name' };
    const opens = parseDateTimeLocal(input.opensAt ?? '', timeZone);
    const err = instantError(opens, blank(input.opensAt));
    if (err) errors.opensAt = err;
    else if (opens.ok) {
      opensAt = opens.ms;
      if (existing?.status === 'scheduled' && opensAt <= now) errors.opensAt = { key: 'cycles.error.scheduled_opens_past' };
    }
  }

  let closesAt = NaN;
  const closes = parseDateTimeLocal(input.closesAt ?? '', timeZone);
  const closeErr = instantError(closes, blank(input.closesAt));
  if (closeErr) errors.closesAt = closeErr;
  else if (closes.ok) {
    closesAt = closes.ms;
    if (openCycle && closesAt < existing.closesAt) errors.closesAt = { key: 'cycles.error.open_close_earlier' };
    else if (!Number.isNaN(opensAt) && closesAt <= opensAt) errors.closesAt = { key: 'cycles.error.closes_before_opens' };
  }

  const allowedPoints = new Set(pickupPointChoices(db, existing?.id).map((p) => p.id));
  const saved = new Map((existing?.distributions ?? []).map((d) => [d.id, d]));
  const kept: DistributionValue[] = [];
  const removed: number[] = [];
  const seen = new Set<string>();

  if (openCycle) {
    // An open sale keeps every distribution it has: members may have chosen them.
    for (const d of existing.distributions) {
      kept.push({ id: d.id, pickupPointId: d.pickupPointId, startsAt: d.startsAt, endsAt: d.endsAt });
      seen.add(`${d.pickupPointId}|${d.startsAt}|${d.endsAt}`);
      if (!Number.isNaN(closesAt) && !errors.closesAt && d.startsAt < closesAt) {
        errors.closesAt = { key: 'cycles.error.close_after_distribution', params: { point: d.pickupPointName } };
      }
    }
  }

  if (input.rows.length > MAX_DISTRIBUTIONS) errors.distributions = { key: 'cycles.error.too_many_distributions', params: { max: MAX_DISTRIBUTIONS } };

  for (const row of input.rows.slice(0, MAX_DISTRIBUTIONS)) {
    const savedId = blank(row.id) ? null : Number(row.id);
    const existingRow = savedId === null ? undefined : saved.get(savedId);
    if (savedId !== null && !existingRow) {
      // A saved distribution of another cycle (or none): the form was tampered with.
      errors[rowField(row.index, 'point')] = { key: 'cycles.error.unknown_distribution' };
      continue;
    }
    if (openCycle && existingRow) {
      if (row.remove) errors[rowField(row.index, 'point')] = { key: 'cycles.error.cannot_remove_open' };
      continue; // already kept above, unchanged
    }
    if (existingRow && row.remove) {
      // Orders point at their distribution: removing it would strand them (and the foreign key refuses).
      if (db.select({ id: orders.id }).from(orders).where(eq(orders.distributionId, existingRow.id)).limit(1).get()) {
        errors[rowField(row.index, 'point')] = { key: 'error.orders.distribution_has_orders' };
      } else removed.push(existingRow.id);
      continue;
    }
    const isBlank = [row.pickupPointId, row.date, row.start, row.end].every(blank);
    if (isBlank && !existingRow) continue; // an unused spare row
    let ok = true;
    const pointId = Number(row.pickupPointId);
    if (blank(row.pickupPointId)) {
      errors[rowField(row.index, 'point')] = { key: 'error.required' };
      ok = false;
    } else if (!/^\d{1,15}$/.test(row.pickupPointId!.trim()) || !allowedPoints.has(pointId)) {
      errors[rowField(row.index, 'point')] = { key: 'cycles.error.unknown_pickup_point' };
      ok = false;
    }
    const day = blank(row.date) ? null : parseDateInput(row.date!);
    if (blank(row.date)) errors[rowField(row.index, 'date')] = { key: 'error.required' };
    else if (!day) errors[rowField(row.index, 'date')] = { key: 'cycles.error.invalid_date' };
    const instants: Array<number | null> = [];
    for (const [part, value] of [['start', row.start], ['end', row.end]] as const) {
      const clock = blank(value) ? null : parseTimeInput(value!);
      const ms = day && clock ? fromWallClock({ ...day, ...clock }, timeZone) : null;
      if (blank(value)) errors[rowField(row.index, part)] = { key: 'error.required' };
      else if (!clock) errors[rowField(row.index, part)] = { key: 'cycles.error.invalid_time' };
      else if (day && ms === null) errors[rowField(row.index, part)] = { key: 'cycles.error.nonexistent_time' };
      instants.push(ms);
    }
    const [startsAt, endsAt] = instants;
    if (!ok || !day || startsAt == null || endsAt == null) continue;
    if (endsAt <= startsAt) {
      errors[rowField(row.index, 'end')] = { key: 'cycles.error.ends_before_starts' };
      continue;
    }
    if (!Number.isNaN(closesAt) && startsAt < closesAt) {
      errors[rowField(row.index, 'date')] = { key: 'cycles.error.distribution_before_close' };
      continue;
    }
    const key = `${pointId}|${startsAt}|${endsAt}`;
    if (seen.has(key)) {
      errors[rowField(row.index, 'point')] = { key: 'cycles.error.duplicate_distribution' };
      continue;
    }
    seen.add(key);
    kept.push({ id: existingRow?.id ?? null, pickupPointId: pointId, startsAt, endsAt });
  }

  // Saved distributions missing from the form stay as they are (a hand-made form cannot delete by omission).
  if (!openCycle) {
    const mentioned = new Set(input.rows.map((r) => (blank(r.id) ? NaN : Number(r.id))));
    for (const d of existing?.distributions ?? []) {
      if (mentioned.has(d.id)) continue;
      kept.push({ id: d.id, pickupPointId: d.pickupPointId, startsAt: d.startsAt, endsAt: d.endsAt });
      if (!Number.isNaN(closesAt) && d.startsAt < closesAt && !errors.closesAt) {
        errors.closesAt = { key: 'cycles.error.close_after_distribution', params: { point: d.pickupPointName } };
      }
    }
  }

  if (kept.length === 0 && !errors.distributions && !Object.keys(errors).some((k) => k.startsWith('dist-'))) {
    errors.distributions = { key: 'cycles.error.no_distribution' };
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { name, opensAt, closesAt, distributions: kept, removed } };
}

export type CreateCycleResult = { ok: true; cycleId: number } | { ok: false; reason: 'invalid'; errors: CycleErrors };

/** Creates a draft cycle and its distributions from the form; with an actor, records it in the audit log. */
export function createCycle(db: Db, input: CycleFormInput, opts: { timeZone: string; now?: number; actor?: AuditActor }): CreateCycleResult {
  const now = opts.now ?? Date.now();
  return db.transaction(
    (tx) => {
      const checked = validateCycleForm(tx, input, { timeZone: opts.timeZone, now });
      if (!checked.ok) return { ok: false, reason: 'invalid', errors: checked.errors } as const;
      const v = checked.value;
      const { id } = tx
        .insert(cycles)
        .values({ name: v.name, opensAt: v.opensAt, closesAt: v.closesAt, status: 'draft', createdAt: now, updatedAt: now })
        .returning({ id: cycles.id })
        .get();
      tx.insert(distributions)
        .values(v.distributions.map((d) => ({ cycleId: id, pickupPointId: d.pickupPointId, startsAt: d.startsAt, endsAt: d.endsAt })))
        .run();
      if (opts.actor) recordAudit(tx, opts.actor, 'cycle.created', { type: 'cycle', id }, {}, now);
      return { ok: true, cycleId: id } as const;
    },
    { behavior: 'immediate' },
  );
}

export type UpdateCycleResult =
  | { ok: true }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'not_editable' }
  | { ok: false; reason: 'invalid'; errors: CycleErrors };

/**
 * Saves the cycle form over a cycle, under the rules of its status at the moment of saving (the
 * clock may have opened it since the form was shown). A distribution can be removed only while the
 * cycle is a draft or scheduled.
 */
export function updateCycle(db: Db, cycleId: number, input: CycleFormInput, opts: { timeZone: string; now?: number; actor?: AuditActor }): UpdateCycleResult {
  const now = opts.now ?? Date.now();
  return db.transaction(
    (tx) => {
      const existing = getCycle(tx, cycleId);
      if (!existing) return { ok: false, reason: 'not_found' } as const;
      if (editableParts(existing.status) === 'none') return { ok: false, reason: 'not_editable' } as const;
      const checked = validateCycleForm(tx, input, { timeZone: opts.timeZone, now, existing });
      if (!checked.ok) return { ok: false, reason: 'invalid', errors: checked.errors } as const;
      const v = checked.value;
      const changed = tx
        .update(cycles)
        .set({ name: v.name, opensAt: v.opensAt, closesAt: v.closesAt, updatedAt: now })
        .where(and(eq(cycles.id, cycleId), eq(cycles.status, existing.status)))
        .run().changes;
      if (changed !== 1) return { ok: false, reason: 'not_editable' } as const;
      if (v.removed.length) tx.delete(distributions).where(and(eq(distributions.cycleId, cycleId), inArray(distributions.id, v.removed))).run();
      for (const d of v.distributions) {
        if (d.id === null) {
          tx.insert(distributions).values({ cycleId, pickupPointId: d.pickupPointId, startsAt: d.startsAt, endsAt: d.endsAt }).run();
        } else {
          tx.update(distributions)
            .set({ pickupPointId: d.pickupPointId, startsAt: d.startsAt, endsAt: d.endsAt })
            .where(and(eq(distributions.id, d.id), eq(distributions.cycleId, cycleId)))
            .run();
        }
      }
      if (opts.actor) recordAudit(tx, opts.actor, 'cycle.updated', { type: 'cycle', id: cycleId }, {}, now);
      return { ok: true } as const;
    },
    { behavior: 'immediate' },
  );
}

// ----- admin actions and the clock -----

/** One status change that happened. */
export interface CycleTransition {
  cycleId: number;
  name: string;
  from: CycleStatus;
  to: CycleStatus;
  event: CycleEvent;
}

export type ActionResult =
  | { ok: true; transition: CycleTransition; emails: number }
  | { ok: false; reason: 'not_found' | 'not_allowed' | 'opens_in_past' | 'no_distribution' | 'already_opening' };

/**
 * An admin action on a cycle: schedule (needs an opening in the future and a distribution; tells
 * the producers by email, once per cycle), unschedule (only before it opens), close now, mark as
 * done. The status is changed with a guarded UPDATE, so a click racing the clock changes nothing.
 * With an actor (an admin), the change is recorded in the audit log.
 */
export function performCycleAction(db: Db, mailer: Mailer, cycleId: number, action: CycleAction, now = Date.now(), actor?: AuditActor): ActionResult {
  return db.transaction(
    (tx) => {
      const cycle = getCycle(tx, cycleId);
      if (!cycle) return { ok: false, reason: 'not_found' } as const;
      const to = nextStatus(cycle.status, action);
      // A scheduled cycle whose opening has come is the clock's to open, not the admin's to draft.
      if (!to || dueClockEvent(cycle, null, now) === 'opens_at_reached') {
        return { ok: false, reason: action === 'unschedule' && to ? 'already_opening' : 'not_allowed' } as const;
      }
      const set: Partial<Cycle> = { status: to, updatedAt: now };
      if (action === 'schedule') {
        if (cycle.opensAt <= now) return { ok: false, reason: 'opens_in_past' } as const;
        if (cycle.distributions.length === 0) return { ok: false, reason: 'no_distribution' } as const;
      }
      // Closing early records when the sale really closed.
      if (action === 'close' && now < cycle.closesAt) set.closesAt = Math.max(now, cycle.opensAt + 1);
      const changed = tx
        .update(cycles)
        .set(set)
        .where(and(eq(cycles.id, cycleId), eq(cycles.status, cycle.status)))
        .run().changes;
      if (changed !== 1) return { ok: false, reason: 'not_allowed' } as const;
      let emails = 0;
      if (action === 'schedule' && cycle.scheduledNoticeAt === null) {
        emails = notifyProducers(tx, mailer, { ...cycle, ...set } as Cycle, 'cycleScheduled', now);
        tx.update(cycles).set({ scheduledNoticeAt: now }).where(eq(cycles.id, cycleId)).run();
      }
      if (actor) recordAudit(tx, actor, 'cycle.status_changed', { type: 'cycle', id: cycleId }, { from: cycle.status, to }, now);
      return { ok: true, transition: { cycleId, name: cycle.name, from: cycle.status, to, event: action }, emails } as const;
    },
    { behavior: 'immediate' },
  );
}

/** What the clock changed in one pass. */
export interface DueReport {
  transitions: CycleTransition[];
  /** Reminders sent: one entry per cycle, with the number of emails queued. */
  reminders: Array<{ cycleId: number; emails: number }>;
}

/**
 * Applies every transition that fell due by `now`, several steps at once when the server was
 * down (scheduled → open → closed), each in its own transaction with a guarded UPDATE, then sends
 * the producer reminders that are due. Returns what changed.
 */
export function applyDueTransitions(db: Db, mailer: Mailer, now = Date.now()): DueReport {
  const transitions: CycleTransition[] = [];
  // Each pass moves a cycle at most one step; three passes cover scheduled → open → closed → done.
  for (let pass = 0; pass < CLOCK_EVENTS.length; pass++) {
    const candidates = db
      .select({ id: cycles.id })
      .from(cycles)
      .where(
        sql`(${cycles.status} = 'scheduled' and ${cycles.opensAt} <= ${now})
          or (${cycles.status} = 'open' and ${cycles.closesAt} <= ${now})
          or (${cycles.status} = 'closed' and coalesce((select max(${distributions.endsAt}) from ${distributions} where ${distributions.cycleId} = ${cycles.id}), ${cycles.closesAt}) <= ${now - DONE_AFTER_MS})`,
      )
      .orderBy(asc(cycles.id))
      .all();
    if (candidates.length === 0) break;
    for (const { id } of candidates) {
      const done = db.transaction(
        (tx) => {
          const cycle = tx.select().from(cycles).where(eq(cycles.id, id)).get();
          if (!cycle) return null;
          const lastEnd = tx.select({ end: sql<number | null>`max(${distributions.endsAt})` }).from(distributions).where(eq(distributions.cycleId, id)).get()?.end ?? null;
          const event = dueClockEvent(cycle, lastEnd, now);
          const to = event && nextStatus(cycle.status, event);
          if (!event || !to) return null;
          const changed = tx
            .update(cycles)
            .set({ status: to, updatedAt: now })
            .where(and(eq(cycles.id, id), eq(cycles.status, cycle.status)))
            .run().changes;
          return changed === 1 ? { cycleId: id, name: cycle.name, from: cycle.status, to, event } : null;
        },
        { behavior: 'immediate' },
      );
      if (done) transitions.push(done);
    }
  }
  return { transitions, reminders: sendDueReminders(db, mailer, now) };
}

/** The hours before opening at which producers that published nothing are reminded. */
export function reminderHours(db: Db | Tx): number {
  return getCoop(db)?.producerReminderHours ?? 48;
}

/**
 * Reminds the producers that have published no offer for a scheduled cycle, producerReminderHours
 * before it opens, once per cycle. When the "scheduled" email itself went out within that window
 * it already asked them to publish, so no reminder follows it minutes later.
 */
export function sendDueReminders(db: Db, mailer: Mailer, now = Date.now()): Array<{ cycleId: number; emails: number }> {
  const windowMs = reminderHours(db) * HOUR_MS;
  const due = db
    .select({ id: cycles.id })
    .from(cycles)
    .where(and(eq(cycles.status, 'scheduled'), isNull(cycles.producerReminderAt), sql`${cycles.opensAt} > ${now}`, sql`${cycles.opensAt} - ${windowMs} <= ${now}`))
    .orderBy(asc(cycles.id))
    .all();
  const sent: Array<{ cycleId: number; emails: number }> = [];
  for (const { id } of due) {
    const emails = db.transaction(
      (tx) => {
        const changed = tx
          .update(cycles)
          .set({ producerReminderAt: now })
          .where(and(eq(cycles.id, id), eq(cycles.status, 'scheduled'), isNull(cycles.producerReminderAt)))
          .run().changes;
        if (changed !== 1) return null;
        const cycle = tx.select().from(cycles).where(eq(cycles.id, id)).get()!;
        if (cycle.scheduledNoticeAt !== null && cycle.scheduledNoticeAt >= cycle.opensAt - windowMs) return 0;
        return notifyProducers(tx, mailer, cycle, 'producerReminder', now);
      },
      { behavior: 'immediate' },
    );
    if (emails !== null) sent.push({ cycleId: id, emails });
  }
  return sent;
}

/** One account managing one active producer, to be emailed about a cycle. */
interface ProducerRecipient {
  email: string;
  name: string;
  locale: Locale;
  producerId: number;
  producerName: string;
}

/** Every active account managing an active producer; for a reminder, only producers with no published offer in the cycle. */
export function producerRecipients(db: Db | Tx, cycleId: number, onlyUnpublished: boolean): ProducerRecipient[] {
  const unpublished = sql`not exists (select 1 from ${offers} where ${offers.cycleId} = ${cycleId} and ${offers.producerId} = ${producers.id} and ${offers.published} = 1)`;
  return db
    .select({ email: accounts.email, name: accounts.name, locale: accounts.locale, producerId: producers.id, producerName: producers.name })
    .from(producers)
    .innerJoin(producerAccounts, eq(producerAccounts.producerId, producers.id))
    .innerJoin(accounts, eq(accounts.id, producerAccounts.accountId))
    .where(and(eq(producers.active, true), eq(accounts.status, 'active'), onlyUnpublished ? unpublished : undefined))
    .orderBy(asc(producers.id), asc(accounts.id))
    .all();
}

/** Queues one email per (account, producer) about a cycle, in each account's language; returns how many. */
function notifyProducers(tx: Db | Tx, mailer: Mailer, cycle: Cycle, template: 'cycleScheduled' | 'producerReminder', now: number): number {
  const theCoop = getCoop(tx);
  const timeZone = theCoop?.timeZone ?? 'Europe/Paris';
  const recipients = producerRecipients(tx, cycle.id, template === 'producerReminder');
  for (const r of recipients) {
    const fmt = formatters(r.locale, timeZone, theCoop?.currency ?? 'EUR');
    mailer.queue(
      tx,
      {
        to: r.email,
        toName: r.name,
        locale: r.locale,
        template,
        data: { offersUrl: mailer.url(`/producer/${r.producerId}/cycles/${cycle.id}/offers`) },
        params: { cycle: cycle.name, producer: r.producerName, opens: fmt.dateTime(cycle.opensAt), closes: fmt.dateTime(cycle.closesAt) },
      },
      now,
    );
  }
  return recipients.length;
}

// ----- duplicate to next week -----

export type DuplicateResult = { ok: true; cycleId: number; offers: number; distributions: number } | { ok: false; reason: 'not_found' };

/**
 * Copies a cycle as a new draft one week later: every date moves by seven days on the coop's wall
 * clock (18:00 stays 18:00 across a change of the clocks), distributions at pickup points still
 * active are kept, and the offers of active products of active producers are copied as drafts
 * (not on sale until their producer publishes them).
 */
export function duplicateCycle(db: Db, cycleId: number, opts: { timeZone: string; suffix: string; now?: number; actor?: AuditActor }): DuplicateResult {
  const now = opts.now ?? Date.now();
  const shift = (ms: number) => addDaysInZone(ms, 7, opts.timeZone);
  return db.transaction(
    (tx) => {
      const source = getCycle(tx, cycleId);
      if (!source) return { ok: false, reason: 'not_found' } as const;
      const suffix = ' ' + opts.suffix;
      const name = source.name.slice(0, CYCLE_NAME_MAX - suffix.length).trimEnd() + suffix;
      const { id } = tx
        .insert(cycles)
        .values({ name, opensAt: shift(source.opensAt), closesAt: shift(source.closesAt), status: 'draft', createdAt: now, updatedAt: now })
        .returning({ id: cycles.id })
        .get();
      const kept = source.distributions.filter((d) => d.pickupPointActive);
      if (kept.length) {
        tx.insert(distributions)
          .values(kept.map((d) => ({ cycleId: id, pickupPointId: d.pickupPointId, startsAt: shift(d.startsAt), endsAt: shift(d.endsAt) })))
          .run();
      }
      const copied = tx
        .select({ productId: offers.productId, producerId: offers.producerId, quantityAvailable: offers.quantityAvailable, priceCents: offers.priceCents })
        .from(offers)
        .innerJoin(products, eq(products.id, offers.productId))
        .innerJoin(producers, eq(producers.id, offers.producerId))
        .where(and(eq(offers.cycleId, cycleId), eq(products.active, true), eq(producers.active, true), eq(products.producerId, offers.producerId)))
        .orderBy(asc(offers.id))
        .all();
      if (copied.length) {
        tx.insert(offers)
          .values(copied.map((o) => ({ ...o, cycleId: id, published: false, quantityTaken: 0, createdAt: now, updatedAt: now })))
          .run();
      }
      if (opts.actor) recordAudit(tx, opts.actor, 'cycle.duplicated', { type: 'cycle', id }, { source: cycleId }, now);
      return { ok: true, cycleId: id, offers: copied.length, distributions: kept.length } as const;
    },
    { behavior: 'immediate' },
  );
}

// ----- the admin overview -----

/** Where one active producer stands in a cycle. */
export interface ProducerSummary {
  producerId: number;
  name: string;
  publishedOffers: number;
  draftOffers: number;
  /** Sum of price × quantity over published offers with a quantity, in cents. */
  valueCents: number;
  /** Some published offers have no quantity limit, so the value is a lower bound. */
  unlimitedOffers: number;
}

/** Every active producer with its published offers, their count and value in a cycle. */
export function producerSummaries(db: Db | Tx, cycleId: number): ProducerSummary[] {
  const published = sql`${offers.published} = 1`;
  return db
    .select({
      producerId: producers.id,
      name: producers.name,
      publishedOffers: sql<number>`coalesce(sum(case when ${published} then 1 else 0 end), 0)`,
      draftOffers: sql<number>`coalesce(sum(case when ${offers.published} = 0 then 1 else 0 end), 0)`,
      valueCents: sql<number>`coalesce(sum(case when ${published} and ${offers.quantityAvailable} is not null then ${offers.priceCents} * ${offers.quantityAvailable} else 0 end), 0)`,
      unlimitedOffers: sql<number>`coalesce(sum(case when ${published} and ${offers.quantityAvailable} is null then 1 else 0 end), 0)`,
    })
    .from(producers)
    .leftJoin(offers, and(eq(offers.producerId, producers.id), eq(offers.cycleId, cycleId)))
    .where(eq(producers.active, true))
    .groupBy(producers.id)
    .orderBy(asc(producers.name), asc(producers.id))
    .all();
}

/** One offer as the admin sees it. */
export interface OfferRow {
  id: number;
  productName: string;
  unit: string;
  unitLabel: string | null;
  weighed: boolean;
  published: boolean;
  quantityAvailable: number | null;
  quantityTaken: number;
  priceCents: number;
}

/** A producer (any, active or not) and its offers in a cycle, by product name; undefined when the producer does not exist. */
export function producerOffers(db: Db | Tx, cycleId: number, producerId: number): { producer: { id: number; name: string; active: boolean }; offers: OfferRow[] } | undefined {
  const producer = db.select({ id: producers.id, name: producers.name, active: producers.active }).from(producers).where(eq(producers.id, producerId)).get();
  if (!producer) return undefined;
  const rows = db
    .select({
      id: offers.id,
      productName: products.name,
      unit: products.unit,
      unitLabel: products.unitLabel,
      weighed: products.weighed,
      published: offers.published,
      quantityAvailable: offers.quantityAvailable,
      quantityTaken: offers.quantityTaken,
      priceCents: offers.priceCents,
    })
    .from(offers)
    .innerJoin(products, eq(products.id, offers.productId))
    .where(and(eq(offers.cycleId, cycleId), eq(offers.producerId, producerId)))
    .orderBy(asc(products.name), asc(offers.id))
    .all();
  return { producer, offers: rows };
}
