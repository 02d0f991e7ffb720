import t from 'tap';
import {
  addDaysInZone,
  fromWallClock,
  parseDateAndTime,
  parseDateInput,
  parseDateTimeLocal,
  parseTimeInput,
  toDateInput,
  toDateTimeLocal,
  toTimeInput,
} from '../../src/domain/time.js';

/*
 * Wall-clock conversions in the coop's time zone, around the changes of the clocks in Paris:
 * back one hour on 2026-10-25 at 03:00 (02:00–02:59 happen twice), forward one hour on
 * 2027-03-28 at 02:00 (02:00–02:59 never happen).
 */

const PARIS = 'Europe/Paris';
const iso = (s: string) => Date.parse(s);

t.test('datetime-local values become the right instant, across both changes of the clocks', async (t) => {
  const cases: Array<[string, string, string | null, string]> = [
    // value, zone, expected UTC instant (null = refused), why
    ['2026-12-03T18:00', PARIS, '2026-12-03T17:00:00Z', 'winter: UTC+1'],
    ['2026-07-14T18:00', PARIS, '2026-07-14T16:00:00Z', 'summer: UTC+2'],
    ['2026-10-25T01:59', PARIS, '2026-10-24T23:59:00Z', 'just before the autumn change, summer time'],
    ['2026-10-25T02:30', PARIS, '2026-10-25T00:30:00Z', 'shown twice: the first one (summer time) is taken'],
    ['2026-10-25T03:00', PARIS, '2026-10-25T02:00:00Z', 'after the autumn change, winter time'],
    ['2026-10-26T18:00', PARIS, '2026-10-26T17:00:00Z', 'the day after, winter time'],
    ['2027-03-28T01:59', PARIS, '2027-03-28T00:59:00Z', 'just before the spring change'],
    ['2027-03-28T02:00', PARIS, null, 'skipped by the clocks'],
    ['2027-03-28T02:30', PARIS, null, 'skipped by the clocks'],
    ['2027-03-28T03:00', PARIS, '2027-03-28T01:00:00Z', 'right after the spring change'],
    ['2027-03-27T18:00', PARIS, '2027-03-27T17:00:00Z', 'the day before, winter time'],
    ['2027-03-29T18:00', PARIS, '2027-03-29T16:00:00Z', 'the day after, summer time'],
    ['2026-12-03 18:00', PARIS, '2026-12-03T17:00:00Z', 'a space instead of T'],
    ['2026-12-03T18:00:00', PARIS, '2026-12-03T17:00:00Z', 'with seconds, as some browsers send'],
    ['2026-12-03T18:00', 'UTC', '2026-12-03T18:00:00Z', 'UTC'],
    ['2026-12-03T18:00', 'America/New_York', '2026-12-03T23:00:00Z', 'another zone'],
    ['2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00Z', 'New York autumn change: first occurrence'],
    ['2026-03-08T02:30', 'America/New_York', null, 'New York spring gap'],
    ['2026-12-03T00:00', 'Pacific/Auckland', '2026-12-02T11:00:00Z', 'midnight, southern summer'],
  ];
  for (const [value, zone, expected, why] of cases) {
    const r = parseDateTimeLocal(value, zone);
    if (expected === null) t.same(r, { ok: false, reason: 'nonexistent' }, `${value} ${zone}: ${why}`);
    else t.same(r, { ok: true, ms: iso(expected) }, `${value} ${zone}: ${why}`);
  }
});

t.test('garbage and impossible values are refused, never guessed', async (t) => {
  const garbage = [
    '',
    ' ',
    'garbage',
    '2026-12-03',
    '18:00',
    '2026-12-03T',
    'T18:00',
    '2026-12-03T25:00',
    '2026-12-03T24:00',
    '2026-12-03T18:60',
    '2026-12-03T18:00:61',
    '2026-02-29T10:00',
    '2026-02-30T10:00',
    '2026-04-31T10:00',
    '2026-13-01T10:00',
    '2026-00-10T10:00',
    '2026-12-00T10:00',
    '26-12-03T18:00',
    '03/12/2026 18:00',
    '2026-12-3T18:00',
    '2026-12-03T8:00',
    '1999-12-31T23:00',
    '2101-01-01T00:00',
    '+02026-12-03T18:00',
    '2026-12-03T18:00Z',
    '2026-12-03T18:00+01:00',
    '٢٠٢٦-١٢-٠٣T18:00',
    '2026-12-03T18:00T19:00',
  ];
  for (const value of garbage) t.same(parseDateTimeLocal(value, PARIS), { ok: false, reason: 'invalid' }, JSON.stringify(value));
  t.same(parseDateTimeLocal('2028-02-29T10:00', PARIS), { ok: true, ms: iso('2028-02-29T09:00:00Z') }, 'a real leap day');
});

t.test('date and time inputs, separately', async (t) => {
  const dates: Array<[string, ReturnType<typeof parseDateInput>]> = [
    ['2026-12-03', { year: 2026, month: 12, day: 3 }],
    [' 2026-12-03 ', { year: 2026, month: 12, day: 3 }],
    ['2026-11-31', null],
    ['2026/12/03', null],
    ['20261203', null],
    ['', null],
  ];
  for (const [value, want] of dates) t.same(parseDateInput(value), want, `date ${JSON.stringify(value)}`);
  const times: Array<[string, ReturnType<typeof parseTimeInput>]> = [
    ['00:00', { hour: 0, minute: 0 }],
    ['23:59', { hour: 23, minute: 59 }],
    ['17:30:00', { hour: 17, minute: 30 }],
    ['17:30:00.000', { hour: 17, minute: 30 }],
    ['24:00', null],
    ['7:30', null],
    ['17h30', null],
    ['', null],
  ];
  for (const [value, want] of times) t.same(parseTimeInput(value), want, `time ${JSON.stringify(value)}`);

  t.same(parseDateAndTime('2026-10-25', '02:15', PARIS), { ok: true, ms: iso('2026-10-25T00:15:00Z') });
  t.same(parseDateAndTime('2027-03-28', '02:15', PARIS), { ok: false, reason: 'nonexistent' });
  t.same(parseDateAndTime('2027-03-28', 'noon', PARIS), { ok: false, reason: 'invalid' });
  t.same(parseDateAndTime('nope', '12:00', PARIS), { ok: false, reason: 'invalid' });
});

t.test('instants come back as the values the inputs show', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['2026-12-03T17:00:00Z', PARIS, '2026-12-03T18:00'],
    ['2026-10-25T00:30:00Z', PARIS, '2026-10-25T02:30'],
    ['2026-10-25T01:30:00Z', PARIS, '2026-10-25T02:30'],
    ['2026-10-25T02:00:00Z', PARIS, '2026-10-25T03:00'],
    ['2027-03-28T00:59:00Z', PARIS, '2027-03-28T01:59'],
    ['2027-03-28T01:00:00Z', PARIS, '2027-03-28T03:00'],
    ['2026-12-31T23:30:00Z', PARIS, '2027-01-01T00:30'],
    ['2026-12-31T23:30:00Z', 'UTC', '2026-12-31T23:30'],
    ['2026-12-02T11:00:00Z', 'Pacific/Auckland', '2026-12-03T00:00'],
  ];
  for (const [instant, zone, want] of cases) {
    const ms = iso(instant);
    t.equal(toDateTimeLocal(ms, zone), want, `${instant} in ${zone}`);
    t.equal(`${toDateInput(ms, zone)}T${toTimeInput(ms, zone)}`, want);
  }
  // Every value that exists comes back unchanged (round trip), every 20 minutes over both changes.
  for (const day of ['2026-10-24', '2026-10-25', '2026-10-26', '2027-03-27', '2027-03-28', '2027-03-29']) {
    for (let minutes = 0; minutes < 24 * 60; minutes += 20) {
      const value = `${day}T${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      const r = parseDateTimeLocal(value, PARIS);
      if (r.ok) t.equal(toDateTimeLocal(r.ms, PARIS), value, `round trip ${value}`);
      else t.ok(day === '2027-03-28' && value >= `${day}T02:00` && value < `${day}T03:00`, `only the spring gap is refused (${value})`);
    }
  }
});

t.test('adding days keeps the wall clock across a change of the clocks', async (t) => {
  const cases: Array<[string, number, string, string, number]> = [
    // from (Paris wall clock), days, zone, expected wall clock, hours elapsed
    ['2026-10-20T18:00', 7, PARIS, '2026-10-27T18:00', 7 * 24 + 1],
    ['2026-10-24T09:30', 1, PARIS, '2026-10-25T09:30', 25],
    ['2027-03-23T18:00', 7, PARIS, '2027-03-30T18:00', 7 * 24 - 1],
    ['2026-12-03T18:00', 7, PARIS, '2026-12-10T18:00', 7 * 24],
    ['2026-12-28T18:00', 7, PARIS, '2027-01-04T18:00', 7 * 24],
    ['2027-03-21T02:30', 7, PARIS, '2027-03-28T03:30', 7 * 24], // lands in the gap: moved forward by it
    ['2026-10-18T02:30', 7, PARIS, '2026-10-25T02:30', 7 * 24], // lands twice: the first one
    ['2026-10-20T18:00', 7, 'UTC', '2026-10-27T18:00', 7 * 24],
  ];
  for (const [from, days, zone, want, hours] of cases) {
    const start = parseDateTimeLocal(from, zone);
    if (!start.ok) {
      t.fail(`${from} should parse`);
      continue;
    }
    const moved = addDaysInZone(start.ms, days, zone);
    t.equal(toDateTimeLocal(moved, zone), want, `${from} + ${days} days in ${zone}`);
    t.equal((moved - start.ms) / 3_600_000, hours, `${from} + ${days} days: ${hours} h later`);
  }
  t.equal(addDaysInZone(iso('2026-12-03T17:00:42.123Z'), 7, PARIS), iso('2026-12-10T17:00:42.123Z'), 'seconds are kept');
});

t.test('fromWallClock disambiguation', async (t) => {
  const gap = { year: 2027, month: 3, day: 28, hour: 2, minute: 30 };
  t.equal(fromWallClock(gap, PARIS), null);
  t.equal(fromWallClock(gap, PARIS, 'reject'), null);
  t.equal(fromWallClock(gap, PARIS, 'compatible'), iso('2027-03-28T01:30:00Z'));
  const twice = { year: 2026, month: 10, day: 25, hour: 2, minute: 30 };
  t.equal(fromWallClock(twice, PARIS), iso('2026-10-25T00:30:00Z'));
  t.equal(fromWallClock(twice, PARIS, 'compatible'), iso('2026-10-25T00:30:00Z'));
});
