import t from 'tap';
import { findAccountByEmail, rolesOf } from '../../src/domain/accounts.js';
import { getCoop, hasAdmin, setupCoop, updateCoopSettings, type SetupInput } from '../../src/domain/coop.js';
import { createAccount, testDb } from '../helper.js';

const input: SetupInput = {
  coopName: 'La Coop du Marais',
  contactEmail: 'contact@marais.test',
  defaultLocale: 'fr',
  timeZone: 'Europe/Paris',
  adminName: 'Camille Martin',
  adminEmail: 'camille@marais.test',
  passwordHash: 'scrypt$1$1$1$x$y',
  adminLocale: 'en',
};

t.test('first-run setup creates the coop and an admin who is also a member', async (t) => {
  const { db } = testDb(t);
  t.equal(getCoop(db), undefined);
  t.equal(hasAdmin(db), false);
  const result = setupCoop(db, input, 1000);
  t.ok(result.ok);
  if (!result.ok) return;
  t.match(getCoop(db), {
    id: 1,
    name: 'La Coop du Marais',
    contactEmail: 'contact@marais.test',
    defaultLocale: 'fr',
    currency: 'EUR',
    timeZone: 'Europe/Paris',
    requireApproval: false,
    createdAt: 1000,
    updatedAt: 1000,
  });
  t.equal(hasAdmin(db), true);
  const admin = findAccountByEmail(db, 'camille@marais.test');
  t.match(admin, { id: result.accountId, name: 'Camille Martin', locale: 'en', status: 'active', passwordHash: input.passwordHash });
  t.same(rolesOf(db, result.accountId), ['admin', 'member']);
});

t.test('setup is refused once an admin exists, and changes nothing', async (t) => {
  const { db } = testDb(t);
  t.ok(setupCoop(db, input, 1000).ok);
  const again = setupCoop(db, { ...input, coopName: 'Hijacked', adminEmail: 'mallory@evil.test' }, 2000);
  t.same(again, { ok: false, reason: 'already_set_up' });
  t.equal(getCoop(db)!.name, 'La Coop du Marais');
  t.equal(findAccountByEmail(db, 'mallory@evil.test'), undefined);
  t.equal(db.$client.prepare('select count(*) n from accounts').pluck().get(), 1);
});

t.test('setup with the email of an existing (non-admin) account is refused and leaves no coop behind', async (t) => {
  const { db } = testDb(t);
  await createAccount(db, { email: 'camille@marais.test', roles: ['member'] });
  const result = setupCoop(db, input, 1000);
  t.same(result, { ok: false, reason: 'email_taken' });
  t.equal(hasAdmin(db), false);
  t.equal(getCoop(db), undefined, 'no half-done setup');
  // with another email it then works
  t.ok(setupCoop(db, { ...input, adminEmail: 'other@marais.test' }, 1000).ok);
});

t.test('an admin role granted some other way also closes setup', async (t) => {
  const { db } = testDb(t);
  await createAccount(db, { email: 'root@marais.test', roles: ['admin'] });
  t.equal(hasAdmin(db), true);
  t.same(setupCoop(db, input), { ok: false, reason: 'already_set_up' });
});

t.test('settings are saved', async (t) => {
  const { db } = testDb(t);
  setupCoop(db, input, 1000);
  updateCoopSettings(db, { name: 'Coop 2', contactEmail: 'c2@marais.test', defaultLocale: 'en', timeZone: 'America/Cayenne', requireApproval: true }, 5000);
  t.match(getCoop(db), { name: 'Coop 2', contactEmail: 'c2@marais.test', defaultLocale: 'en', timeZone: 'America/Cayenne', requireApproval: true, createdAt: 1000, updatedAt: 5000 });
});

t.test('the coop table holds one row at most', async (t) => {
  const { db } = testDb(t);
  setupCoop(db, input, 1000);
  t.throws(() =>
    db.$client
      .prepare("insert into coop (id, name, contact_email, default_locale, time_zone, created_at, updated_at) values (2, 'x', 'x', 'fr', 'UTC', 0, 0)")
      .run(),
  );
});
