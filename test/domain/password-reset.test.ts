import t from 'tap';
import { findAccount } from '../../src/domain/accounts.js';
import { checkResetToken, requestPasswordReset, resetPassword, RESET_TTL_HOURS } from '../../src/domain/password-reset.js';
import { createSession, findSession, newToken } from '../../src/domain/sessions.js';
import type { Db } from '../../src/db/index.js';
import { Mailer } from '../../src/mail/mailer.js';
import { createAccount, seedCoop, testDb } from '../helper.js';
import { outboxEmails, type OutboxEmail } from '../support/outbox.js';

const mailer = new Mailer('http://carnet.test');
const T0 = Date.UTC(2025, 5, 1, 12);
const HOUR = 3600_000;

type Mail = OutboxEmail;
const outbox = (db: Db): Mail[] => outboxEmails(db);
/** The token from the last reset email. */
const lastToken = (db: Db): string => {
  const mails = outbox(db);
  const m = /http:\/\/carnet\.test\/password\/reset\/([A-Za-z0-9_-]+)/.exec(mails[mails.length - 1]!.text_body);
  if (!m) throw new Error('no reset link in the last email');
  return m[1]!;
};

async function setup(t: Parameters<typeof testDb>[0]) {
  const { db } = testDb(t);
  await seedCoop(db);
  const ana = await createAccount(db, { email: 'ana@carnet.test', name: 'Ana', locale: 'en' });
  return { db, ana };
}

t.test('a request emails a link that works once', async (t) => {
  const { db, ana } = await setup(t);
  requestPasswordReset(db, mailer, 'ana@carnet.test', T0);
  const mails = outbox(db);
  t.equal(mails.length, 1);
  t.match(mails[0], { to_address: 'ana@carnet.test', subject: 'Choose a new password for Coop Test' });
  t.match(mails[0]!.text_body, `for ${RESET_TTL_HOURS} hours`);
  const token = lastToken(db);
  t.equal(db.$client.prepare('select count(*) from password_resets where token_hash = ?').pluck().get(token), 0, 'only the hash is stored');
  t.equal(checkResetToken(db, token, T0 + HOUR), ana);

  t.same(resetPassword(db, mailer, token, 'scrypt$new', T0 + HOUR), { ok: true, accountId: ana });
  t.equal(findAccount(db, ana)!.passwordHash, 'scrypt$new');
  t.equal(checkResetToken(db, token, T0 + HOUR), null, 'used');
  t.same(resetPassword(db, mailer, token, 'scrypt$again', T0 + HOUR), { ok: false, reason: 'invalid_token' }, 'single use');
  t.equal(findAccount(db, ana)!.passwordHash, 'scrypt$new');
});

t.test('a link expires', async (t) => {
  const { db, ana } = await setup(t);
  requestPasswordReset(db, mailer, 'ana@carnet.test', T0);
  const token = lastToken(db);
  const end = T0 + RESET_TTL_HOURS * HOUR;
  t.ok(checkResetToken(db, token, end - 1));
  t.equal(checkResetToken(db, token, end), null);
  t.same(resetPassword(db, mailer, token, 'scrypt$new', end), { ok: false, reason: 'invalid_token' });
  t.not(findAccount(db, ana)!.passwordHash, 'scrypt$new');
});

t.test('a newer request replaces the older link', async (t) => {
  const { db, ana } = await setup(t);
  requestPasswordReset(db, mailer, 'ana@carnet.test', T0);
  const first = lastToken(db);
  requestPasswordReset(db, mailer, 'ana@carnet.test', T0 + 60_000);
  const second = lastToken(db);
  t.not(first, second);
  t.equal(checkResetToken(db, first, T0 + 120_000), null);
  t.equal(checkResetToken(db, second, T0 + 120_000), ana);
  t.equal(db.$client.prepare('select count(*) from password_resets where account_id = ?').pluck().get(ana), 1);
});

t.test('an unknown email queues nothing and stores nothing', async (t) => {
  const { db } = await setup(t);
  requestPasswordReset(db, mailer, 'nobody@carnet.test', T0);
  t.equal(outbox(db).length, 0);
  t.equal(db.$client.prepare('select count(*) from password_resets').pluck().get(), 0);
});

t.test('unknown and malformed tokens are refused', async (t) => {
  const { db } = await setup(t);
  requestPasswordReset(db, mailer, 'ana@carnet.test', T0);
  for (const token of ['', 'x', newToken(), lastToken(db) + 'x', lastToken(db).toUpperCase()]) {
    t.equal(checkResetToken(db, token, T0), null, JSON.stringify(token).slice(0, 20));
    t.same(resetPassword(db, mailer, token, 'scrypt$new', T0), { ok: false, reason: 'invalid_token' });
  }
});

t.test('a reset logs every device out and tells the owner', async (t) => {
  const { db, ana } = await setup(t);
  const phone = newToken();
  const laptop = newToken();
  createSession(db, phone, ana, T0);
  createSession(db, laptop, ana, T0);
  const admin = newToken();
  createSession(db, admin, 1, T0);
  requestPasswordReset(db, mailer, 'ana@carnet.test', T0);
  const token = lastToken(db);
  t.ok(resetPassword(db, mailer, token, 'scrypt$new', T0 + 1000).ok);
  t.equal(findSession(db, phone, T0 + 2000), null);
  t.equal(findSession(db, laptop, T0 + 2000), null);
  t.ok(findSession(db, admin, T0 + 2000), 'other accounts stay logged in');
  const mails = outbox(db);
  t.equal(mails.length, 2);
  t.match(mails[1], { to_address: 'ana@carnet.test', subject: 'Your password for Coop Test was changed' });
});

t.test('a refused reset changes nothing and emails nothing', async (t) => {
  const { db, ana } = await setup(t);
  const phone = newToken();
  createSession(db, phone, ana, T0);
  const before = findAccount(db, ana)!.passwordHash;
  t.notOk(resetPassword(db, mailer, newToken(), 'scrypt$new', T0).ok);
  t.equal(findAccount(db, ana)!.passwordHash, before);
  t.ok(findSession(db, phone, T0));
  t.equal(outbox(db).length, 0);
});
