import t from 'tap';
import { pickupPointChoices } from '../../src/domain/cycles.js';
import {
  createPickupPoint,
  deletePickupPoint,
  findPickupPoint,
  listPickupPoints,
  pickupPointSchema,
  updatePickupPoint,
  type PickupPointInput,
} from '../../src/domain/pickup-points.js';
import { seedCoop, testDb } from '../helper.js';

const T0 = Date.UTC(2025, 5, 1, 12);
const HOUR = 3600_000;
const point = (name: string, active = true): PickupPointInput => ({ name, address: '1 place de la Mairie\n44000 Nantes', instructions: '', active });

t.test('the pickup point form rules', async (t) => {
  const accepted: Array<[Record<string, unknown>, Partial<PickupPointInput>]> = [
    [{ name: 'Mairie', address: '1 place' }, { name: 'Mairie', address: '1 place', instructions: '', active: false }],
    [{ name: ' Mairie ', address: ' 1 place\r\n44000 Nantes ', instructions: 'Code 1234', active: 'on' }, { name: 'Mairie', address: '1 place\n44000 Nantes', instructions: 'Code 1234', active: true }],
  ];
  for (const [form, expected] of accepted) {
    const r = pickupPointSchema.safeParse(form);
    t.ok(r.success, `accepts ${JSON.stringify(form)}`);
    if (r.success) t.match(r.data, expected);
  }
  const refused: Array<[Record<string, unknown>, string, string]> = [
    [{ address: '1 place' }, 'name', 'error.required'],
    [{ name: 'Mairie', address: '   ' }, 'address', 'error.required'],
    [{ name: 'Mairie' }, 'address', 'error.required'],
    [{ name: 'Mairie', address: 'x'.repeat(501) }, 'address', ''],
    [{ name: 'Mairie', address: '1 place', instructions: 'nul\u0000' }, 'instructions', 'error.invalid_text'],
    [{ name: 'Mairie', address: '1 place', instructions: ['a', 'b'] }, 'instructions', ''],
    [{ name: '<b>', address: '1 place' }, 'name', 'error.invalid_name'],
  ];
  for (const [form, field, message] of refused) {
    const r = pickupPointSchema.safeParse(form);
    t.notOk(r.success, `refuses ${JSON.stringify(form).slice(0, 60)}`);
    if (!r.success) {
      const issue = r.error.issues.find((i) => i.path[0] === field);
      t.ok(issue, `an issue on ${field}`);
      if (message) t.equal(issue?.message, message);
    }
  }
});

t.test('create, edit, deactivate; the list puts active points first', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const halles = createPickupPoint(db, point('Marché des Halles'), T0);
  const mairie = createPickupPoint(db, point('Mairie'), T0);
  const ecole = createPickupPoint(db, point('école Jules Verne', false), T0);
  t.same(listPickupPoints(db).map((p) => p.name), ['Mairie', 'Marché des Halles', 'école Jules Verne']);
  t.same(pickupPointChoices(db).map((p) => p.id), [mairie.id, halles.id]);
  const saved = updatePickupPoint(db, mairie.id, { ...point('Mairie annexe'), instructions: 'Porte B', active: false }, T0 + HOUR);
  t.match(saved, { name: 'Mairie annexe', instructions: 'Porte B', active: false, createdAt: T0, updatedAt: T0 + HOUR });
  t.same(pickupPointChoices(db).map((p) => p.id), [halles.id]);
  t.equal(updatePickupPoint(db, 9999, point('Nowhere')), undefined);
  t.ok(findPickupPoint(db, ecole.id));
});

t.test('a pickup point used by a distribution cannot be deleted', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const used = createPickupPoint(db, point('Mairie'), T0);
  const unused = createPickupPoint(db, point('Halles'), T0);
  const cycle = db.$client
    .prepare("insert into cycles (name, opens_at, closes_at, status, created_at, updated_at) values ('Semaine 23', ?, ?, 'draft', ?, ?)")
    .run(T0, T0 + 48 * HOUR, T0, T0).lastInsertRowid;
  for (const day of [3, 10]) {
    db.$client
      .prepare('insert into distributions (cycle_id, pickup_point_id, starts_at, ends_at) values (?, ?, ?, ?)')
      .run(cycle, used.id, T0 + day * 24 * HOUR, T0 + day * 24 * HOUR + 2 * HOUR);
  }
  const cases: Array<[string, number, object]> = [
    ['used by two distributions', used.id, { ok: false, reason: 'in_use', distributionCount: 2 }],
    ['unknown', 9999, { ok: false, reason: 'not_found' }],
    ['unused', unused.id, { ok: true, point: { id: unused.id, name: 'Halles' } }],
    ['already deleted', unused.id, { ok: false, reason: 'not_found' }],
  ];
  for (const [label, id, expected] of cases) t.match(deletePickupPoint(db, id), expected, label);
  t.ok(findPickupPoint(db, used.id), 'the used point is still there');
  t.equal(findPickupPoint(db, unused.id), undefined);
  t.match(listPickupPoints(db), [{ id: used.id, distributionCount: 2 }]);
});
