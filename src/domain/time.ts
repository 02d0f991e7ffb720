/*
 * Wall-clock time in the coop's time zone, for forms. People type "3 December, 18:00" meaning
 * Paris time; Carnet stores epoch milliseconds. Only Node's Intl is used: it carries the IANA
 * time zone database, summer time included.
 */

const DAY_MS = 86_400_000;
/** Dates outside these years are typing mistakes, not sales. */
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;

/** A local date and time as typed: year, month (1–12), day, hour, minute. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** What to do with a wall-clock time the clocks skip (spring) or show twice (autumn). */
export type Disambiguation = 'reject' | 'compatible';

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    // h23, so that midnight is 00 and never 24.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock (to the minute) that an instant shows in a time zone. */
export function wallClockAt(ms: number, timeZone: string): WallClock & { second: number } {
  const parts: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at an instant, in ms (Paris in winter: +3,600,000). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClockAt(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

function sameClock(a: WallClock, b: WallClock): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;
}

/**
 * The instant a wall-clock time names in a zone, or null when the clocks skip it (02:30 on the
 * last Sunday of March in Paris) and disambiguation is 'reject'. A time shown twice (02:30 on the
 * last Sunday of October) is its first occurrence. With 'compatible', a skipped time moves
 * forward by the gap (02:30 → 03:30), as Temporal does.
 */
export function fromWallClock(w: WallClock, timeZone: string, disambiguation: Disambiguation = 'reject'): number | null {
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  // The offsets a day either side of the moment cover any one change of the clocks.
  const before = offsetAt(local - DAY_MS, timeZone);
  const after = offsetAt(local + DAY_MS, timeZone);
  const candidates = [...new Set([local - before, local - after])].sort((a, b) => a - b);
  const valid = candidates.filter((c) => sameClock(wallClockAt(c, timeZone), w));
  if (valid.length > 0) return valid[0]!;
  return disambiguation === 'compatible' ? local - before : null;
}

const DATE_INPUT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_INPUT = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?$/;

/** Reads an <input type="date"> value ("2026-12-03"); null unless it is a real calendar day within MIN_YEAR..MAX_YEAR. */
export function parseDateInput(value: string): { year: number; month: number; day: number } | null {
  const m = DATE_INPUT.exec(value.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return null;
  // Day 31 of a 30-day month would roll over into the next month.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  return { year, month, day };
}

/** Reads an <input type="time"> value ("18:00", or "18:00:00" from some browsers); null when it is not a time of day. */
export function parseTimeInput(value: string): { hour: number; minute: number } | null {
  const m = TIME_INPUT.exec(value.trim());
  if (!m) return null;
  const [hour, minute, second] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  return { hour, minute };
}

/** Why a typed date and time was refused. */
export type WallClockError = 'invalid' | 'nonexistent';
export type ParsedInstant = { ok: true; ms: number } | { ok: false; reason: WallClockError };

/** The instant named by an <input type="date"> and an <input type="time"> in a zone. */
export function parseDateAndTime(date: string, time: string, timeZone: string): ParsedInstant {
  const d = parseDateInput(date);
  const h = parseTimeInput(time);
  if (!d || !h) return { ok: false, reason: 'invalid' };
  const ms = fromWallClock({ ...d, ...h }, timeZone);
  return ms === null ? { ok: false, reason: 'nonexistent' } : { ok: true, ms };
}

/** The instant named by an <input type="datetime-local"> value ("2026-12-03T18:00") in a zone. */
export function parseDateTimeLocal(value: string, timeZone: string): ParsedInstant {
  const m = /^([^T ]+)[T ]([^T ]+)$/.exec(value.trim());
  if (!m) return { ok: false, reason: 'invalid' };
  return parseDateAndTime(m[1]!, m[2]!, timeZone);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** An instant as an <input type="date"> value in a zone. */
export function toDateInput(ms: number, timeZone: string): string {
  const w = wallClockAt(ms, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** An instant as an <input type="time"> value in a zone. */
export function toTimeInput(ms: number, timeZone: string): string {
  const w = wallClockAt(ms, timeZone);
  return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** An instant as an <input type="datetime-local"> value in a zone. */
export function toDateTimeLocal(ms: number, timeZone: string): string {
  return `${toDateInput(ms, timeZone)}T${toTimeInput(ms, timeZone)}`;
}

/**
 * The same wall-clock time a number of days later in a zone: 18:00 stays 18:00 across a change of
 * the clocks, so the instant moves by days × 24 h ± 1 h. A time the clocks skip on the new day
 * moves forward by the gap.
 */
export function addDaysInZone(ms: number, days: number, timeZone: string): number {
  const w = wallClockAt(ms, timeZone);
  const shifted = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  const target = { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate(), hour: w.hour, minute: w.minute };
  // Seconds and milliseconds are kept as they were (forms only ever set whole minutes).
  return fromWallClock(target, timeZone, 'compatible')! + (w.second * 1000 + (((ms % 1000) + 1000) % 1000));
}
