import t from 'tap';
import {
  ACCOUNT_SESSION_MS,
  countSessions,
  createSession,
  deleteOtherSessions,
  deleteSession,
  findSession,
  hashToken,
  newToken,
  purgeExpiredSessions,
  setFlash,
  VISITOR_SESSION_MS,
} from '../../src/domain/sessions.js';
import type { Db } from '../../src/db/index.js';
import { createAccount, testDb } from '../helper.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.UTC(2025, 0, 1);

const row = (db: Db, idHash: string) =>
  db.$client.prepare('select last_seen_at lastSeenAt, expires_at expiresAt from sessions where id_hash = ?').get(idHash) as
    | { lastSeenAt: number; expiresAt: number }
    | undefined;

t.test('tokens are random and only their hash is stored', async (t) => {
  const { db } = testDb(t);
  const id = await createAccount(db, { email: 'ana@carnet.test' });
  const a = newToken();
  const b = newToken();
  t.not(a, b);
  t.match(a, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  const idHash = createSession(db, a, id, T0);
  t.equal(idHash, hashToken(a));
  t.match(idHash, /^[0-9a-f]{64}$/);
  t.equal(db.$client.prepare('select count(*) from sessions where id_hash = ?').pluck().get(a), 0, 'the token itself is not in the database');
});

t.test('an account session finds its account and roles until it expires', async (t) => {
  const { db } = testDb(t);
  const id = await createAccount(db, { email: 'ana@carnet.test', name: 'Ana', locale: 'en', roles: ['producer', 'member'] });
  const token = newToken();
  const idHash = createSession(db, token, id, T0);
  t.same(row(db, idHash), { lastSeenAt: T0, expiresAt: T0 + ACCOUNT_SESSION_MS });
  t.same(findSession(db, token, T0 + MIN), {
    idHash,
    flash: null,
    account: { id, email: 'ana@carnet.test', name: 'Ana', locale: 'en', status: 'active', roles: ['member', 'producer'] },
  });
  t.equal(findSession(db, 'not-a-token', T0), null, 'unknown token');
  t.equal(findSession(db, token, T0 + ACCOUNT_SESSION_MS), null, 'expired at expires_at');
  t.equal(findSession(db, token, T0 + ACCOUNT_SESSION_MS + 1), null);
});

t.test('a busy session slides; a quiet one is not written on every request', async (t) => {
  const { db } = testDb(t);
  const id = await createAccount(db, { email: 'ana@carnet.test' });
  const token = newToken();
  const idHash = createSession(db, token, id, T0);
  t.ok(findSession(db, token, T0 + 9 * MIN));
  t.same(row(db, idHash), { lastSeenAt: T0, expiresAt: T0 + ACCOUNT_SESSION_MS }, 'no write within 10 minutes');
  t.ok(findSession(db, token, T0 + 11 * MIN));
  t.same(row(db, idHash), { lastSeenAt: T0 + 11 * MIN, expiresAt: T0 + 11 * MIN + ACCOUNT_SESSION_MS }, 'refreshed');
  // used every 29 days, it never ends
  let now = T0 + 11 * MIN;
  for (let i = 0; i < 4; i++) {
    now += 29 * DAY;
    t.ok(findSession(db, token, now), `still alive on day ${Math.round((now - T0) / DAY)}`);
  }
  t.equal(findSession(db, token, now + ACCOUNT_SESSION_MS + 1), null, 'a month of silence ends it');
});

t.test('visitor sessions carry a flash for an hour and do not slide', async (t) => {
  const { db } = testDb(t);
  const token = newToken();
  const idHash = createSession(db, token, null, T0, { kind: 'info', key: 'flash.logged_out' });
  t.same(row(db, idHash), { lastSeenAt: T0, expiresAt: T0 + VISITOR_SESSION_MS });
  t.same(findSession(db, token, T0 + 30 * MIN), { idHash, account: null, flash: { kind: 'info', key: 'flash.logged_out' } });
  t.same(row(db, idHash), { lastSeenAt: T0, expiresAt: T0 + VISITOR_SESSION_MS }, 'not refreshed');
  t.equal(findSession(db, token, T0 + VISITOR_SESSION_MS), null);
});

t.test('flash messages are stored, replaced and cleared', async (t) => {
  const { db } = testDb(t);
  const id = await createAccount(db, { email: 'ana@carnet.test' });
  const token = newToken();
  const idHash = createSession(db, token, id, T0, { kind: 'success', key: 'flash.welcome', params: { name: 'Zoë "<b>"' } });
  t.same(findSession(db, token, T0)!.flash, { kind: 'success', key: 'flash.welcome', params: { name: 'Zoë "<b>"' } });
  setFlash(db, idHash, { kind: 'error', key: 'flash.x' });
  t.same(findSession(db, token, T0)!.flash, { kind: 'error', key: 'flash.x' });
  setFlash(db, idHash, null);
  t.equal(findSession(db, token, T0)!.flash, null);
  // creating a session again for the same token only replaces its flash
  createSession(db, token, null, T0 + DAY, { kind: 'info', key: 'again' });
  const again = findSession(db, token, T0 + DAY)!;
  t.same(again.flash, { kind: 'info', key: 'again' });
  t.equal(again.account?.id, id, 'still the account session');
});

t.test('ending sessions: one, all but this one, all', async (t) => {
  const { db } = testDb(t);
  const ana = await createAccount(db, { email: 'ana@carnet.test' });
  const bob = await createAccount(db, { email: 'bob@carnet.test' });
  const tokens = [newToken(), newToken(), newToken()];
  const hashes = tokens.map((tok) => createSession(db, tok, ana, T0));
  const bobToken = newToken();
  createSession(db, bobToken, bob, T0);
  createSession(db, newToken(), null, T0);
  t.equal(countSessions(db, ana, T0), 3);

  deleteSession(db, hashes[2]!);
  t.equal(findSession(db, tokens[2]!, T0), null);
  t.equal(countSessions(db, ana, T0), 2);

  t.equal(deleteOtherSessions(db, ana, hashes[0]!), 1);
  t.ok(findSession(db, tokens[0]!, T0), 'this one stays');
  t.equal(findSession(db, tokens[1]!, T0), null);

  createSession(db, tokens[1]!, ana, T0);
  t.equal(deleteOtherSessions(db, ana, null), 2, 'null keeps none');
  t.equal(countSessions(db, ana, T0), 0);
  t.ok(findSession(db, bobToken, T0), 'other accounts are untouched');
  t.equal(db.$client.prepare('select count(*) from sessions where account_id is null').pluck().get(), 1, 'visitor sessions untouched');
});

t.test('counting ignores expired sessions; purging removes only them', async (t) => {
  const { db } = testDb(t);
  const ana = await createAccount(db, { email: 'ana@carnet.test' });
  const old = newToken();
  const recent = newToken();
  const visitor = newToken();
  createSession(db, old, ana, T0);
  createSession(db, recent, ana, T0 + 20 * DAY);
  createSession(db, visitor, null, T0 + 20 * DAY);
  const now = T0 + ACCOUNT_SESSION_MS + DAY;
  t.equal(countSessions(db, ana, now), 1);
  t.equal(purgeExpiredSessions(db, now), 2, 'the old account session and the visitor session');
  t.ok(findSession(db, recent, now));
  t.equal(db.$client.prepare('select count(*) from sessions').pluck().get(), 1);
  t.equal(purgeExpiredSessions(db, now), 0);
});

t.test('deleting an account ends its sessions', async (t) => {
  const { db } = testDb(t);
  const ana = await createAccount(db, { email: 'ana@carnet.test' });
  const token = newToken();
  createSession(db, token, ana, T0);
  db.$client.prepare('delete from accounts where id = ?').run(ana);
  t.equal(findSession(db, token, T0), null);
});
