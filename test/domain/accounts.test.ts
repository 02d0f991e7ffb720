import t from 'tap';
import {
  approveAccount,
  findAccount,
  findAccountByEmail,
  listAccounts,
  listAdmins,
  listPending,
  rejectAccount,
  rolesOf,
  setLocale,
  setPassword,
  setRoles,
  signUp,
  updateProfile,
  type SignUpInput,
} from '../../src/domain/accounts.js';
import { createSession, findSession, newToken } from '../../src/domain/sessions.js';
import type { Db } from '../../src/db/index.js';
import { Mailer } from '../../src/mail/mailer.js';
import { createAccount, seedCoop, testDb } from '../helper.js';
import { outboxEmails, type OutboxEmail } from '../support/outbox.js';

const mailer = new Mailer('http://carnet.test');

type Mail = OutboxEmail;
const outbox = (db: Db): Mail[] => outboxEmails(db);

const zoe: SignUpInput = { name: 'Zoë Ñandú', email: 'zoe@example.org', phone: '+33 6 12 34 56 78', passwordHash: 'scrypt$h', locale: 'en' };

t.test('sign-up without approval: an active member, welcomed by email in their language', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const result = signUp(db, mailer, zoe, 5000);
  t.ok(result.ok);
  if (!result.ok) return;
  t.match(result.account, { email: 'zoe@example.org', name: 'Zoë Ñandú', phone: '+33 6 12 34 56 78', status: 'active', locale: 'en', createdAt: 5000 });
  t.same(rolesOf(db, result.account.id), ['member']);
  const mails = outbox(db);
  t.equal(mails.length, 1);
  t.match(mails[0], { to_address: 'zoe@example.org', to_name: 'Zoë Ñandú', subject: 'Welcome to Coop Test', status: 'pending' });
  t.match(mails[0]!.text_body, 'Hello Zoë Ñandú,');
  t.match(mails[0]!.text_body, 'http://carnet.test/login');
});

t.test('sign-up with approval: a pending member, told to wait, and one email per admin', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db, { requireApproval: true });
  await createAccount(db, { email: 'bob@carnet.test', name: 'Bob Admin', roles: ['admin'], locale: 'en' });
  await createAccount(db, { email: 'producer@carnet.test', roles: ['producer'] });
  const result = signUp(db, mailer, zoe, 5000);
  t.ok(result.ok);
  if (!result.ok) return;
  t.equal(result.account.status, 'pending');
  t.same(listPending(db).map((a) => a.email), ['zoe@example.org']);
  const mails = outbox(db);
  t.same(
    mails.map((m) => [m.to_address, m.subject]),
    [
      ['zoe@example.org', 'Your sign-up to Coop Test is received'],
      ['admin@carnet.test', 'Nouvelle inscription à valider : Zoë Ñandú'],
      ['bob@carnet.test', 'New sign-up to approve: Zoë Ñandú'],
    ],
  );
  const toAda = mails[1]!;
  t.match(toAda.text_body, 'Zoë Ñandú (zoe@example.org)');
  t.match(toAda.text_body, 'http://carnet.test/admin/approvals');
  // each admin is greeted by their own name, not by the name of the person who signed up
  t.match(toAda.text_body, /^Bonjour Ada Admin,/);
  t.match(mails[2]!.text_body, /^Hello Bob Admin,/);
  t.equal(mails[2]!.to_name, 'Bob Admin');
});

t.test('an email already used is refused, and nothing is written', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  t.ok(signUp(db, mailer, zoe).ok);
  const again = signUp(db, mailer, { ...zoe, name: 'Other' });
  t.same(again, { ok: false, reason: 'email_taken' });
  t.same(signUp(db, mailer, { ...zoe, email: 'admin@carnet.test' }), { ok: false, reason: 'email_taken' });
  t.equal(outbox(db).length, 1);
  t.equal(db.$client.prepare('select count(*) from accounts').pluck().get(), 2);
});

t.test('the email is written in the same transaction as the account', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  class BrokenMailer extends Mailer {
    override queue(): number {
      throw new Error('disk full');
    }
  }
  t.throws(() => signUp(db, new BrokenMailer('http://carnet.test'), zoe), /disk full/);
  t.equal(findAccountByEmail(db, 'zoe@example.org'), undefined, 'no account without its email');
  t.equal(db.$client.prepare('select count(*) from account_roles where account_id not in (select id from accounts)').pluck().get(), 0);
  // and the other way round: a failed sign-up leaves no email
  const before = outbox(db).length;
  signUp(db, mailer, { ...zoe, email: 'admin@carnet.test' });
  t.equal(outbox(db).length, before);
});

t.test('approving and declining sign-ups', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db, { requireApproval: true });
  const a = signUp(db, mailer, zoe, 1000);
  const b = signUp(db, mailer, { ...zoe, email: 'yann@example.org', name: 'Yann', locale: 'fr' }, 2000);
  if (!a.ok || !b.ok) throw new Error('sign-up failed');
  t.same(listPending(db).map((x) => x.name), ['Zoë Ñandú', 'Yann'], 'oldest first');
  db.$client.exec('delete from outbox');

  const ok = approveAccount(db, mailer, a.account.id, 3000);
  t.ok(ok.ok);
  t.match(findAccount(db, a.account.id), { status: 'active', updatedAt: 3000 });
  t.same(approveAccount(db, mailer, a.account.id), { ok: false, reason: 'not_found' }, 'not twice');
  t.same(rejectAccount(db, mailer, a.account.id), { ok: false, reason: 'not_found' }, 'an active account cannot be declined');
  t.same(approveAccount(db, mailer, 9999), { ok: false, reason: 'not_found' });

  createSession(db, newToken(), b.account.id);
  const token = newToken();
  createSession(db, token, b.account.id);
  const no = rejectAccount(db, mailer, b.account.id, 4000);
  t.ok(no.ok);
  t.equal(findAccount(db, b.account.id), undefined);
  t.equal(findSession(db, token), null, 'its sessions are gone');
  t.equal(db.$client.prepare('select count(*) from account_roles where account_id = ?').pluck().get(b.account.id), 0);
  t.same(listPending(db), []);

  t.same(
    outbox(db).map((m) => [m.to_address, m.subject]),
    [
      ['zoe@example.org', 'Your account with Coop Test is approved'],
      ['yann@example.org', 'Votre inscription à Coop Test'],
    ],
  );
});

t.test('roles: adding, removing, and the last admin', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const ada = findAccountByEmail(db, 'admin@carnet.test')!.id;
  const bob = await createAccount(db, { email: 'bob@carnet.test' });

  const cases: Array<{ who: number; roles: Parameters<typeof setRoles>[2]; expect: ReturnType<typeof setRoles>; then: Record<number, string[]> }> = [
    { who: ada, roles: ['member'], expect: { ok: false, reason: 'last_admin' }, then: { [ada]: ['admin', 'member'] } },
    { who: ada, roles: [], expect: { ok: false, reason: 'last_admin' }, then: { [ada]: ['admin', 'member'] } },
    { who: bob, roles: ['producer', 'member'], expect: { ok: true }, then: { [bob]: ['producer', 'member'] } },
    { who: bob, roles: ['admin'], expect: { ok: true }, then: { [bob]: ['admin'] } },
    { who: ada, roles: ['member'], expect: { ok: true }, then: { [ada]: ['member'], [bob]: ['admin'] } },
    { who: bob, roles: ['producer'], expect: { ok: false, reason: 'last_admin' }, then: { [bob]: ['admin'] } },
    { who: bob, roles: ['admin', 'admin', 'member'], expect: { ok: true }, then: { [bob]: ['admin', 'member'] } },
    { who: 9999, roles: ['member'], expect: { ok: false, reason: 'not_found' }, then: {} },
  ];
  for (const c of cases) {
    t.same(setRoles(db, c.who, c.roles), c.expect, `${c.who} → ${c.roles.join(',')}`);
    for (const [id, roles] of Object.entries(c.then)) t.same(rolesOf(db, Number(id)), roles);
  }
  t.same(listAdmins(db).map((a) => a.email), ['bob@carnet.test']);
});

t.test('profile, language and password changes', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db);
  const bob = await createAccount(db, { email: 'bob@carnet.test', name: 'Bob' });
  t.same(updateProfile(db, bob, { name: 'Bob B', email: 'admin@carnet.test', locale: 'fr' }), { ok: false, reason: 'email_taken' });
  t.same(updateProfile(db, bob, { name: 'Bob B', email: 'bob@carnet.test', phone: '0612345678', locale: 'en' }, 7000), { ok: true });
  t.match(findAccount(db, bob), { name: 'Bob B', phone: '0612345678', locale: 'en', updatedAt: 7000 });
  t.same(updateProfile(db, bob, { name: 'Bob B', email: 'robert@carnet.test', locale: 'en' }), { ok: true });
  t.equal(findAccount(db, bob)!.phone, null, 'a blank phone is removed');
  setLocale(db, bob, 'fr');
  t.equal(findAccount(db, bob)!.locale, 'fr');

  const keep = newToken();
  const other = newToken();
  const keepHash = createSession(db, keep, bob);
  createSession(db, other, bob);
  setPassword(db, mailer, bob, 'scrypt$new', keepHash);
  t.equal(findAccount(db, bob)!.passwordHash, 'scrypt$new');
  t.ok(findSession(db, keep), 'this device stays logged in');
  t.equal(findSession(db, other), null, 'other devices are logged out');
  const mails = outbox(db);
  t.equal(mails.length, 1);
  t.match(mails[0], { to_address: 'robert@carnet.test', subject: 'Votre mot de passe pour Coop Test a été modifié' });
  t.match(mails[0]!.text_body, 'http://carnet.test/password/forgot');
});

t.test('listing accounts: search, literal wildcards, paging, totals', async (t) => {
  const { db } = testDb(t);
  await seedCoop(db); // admin@carnet.test, "Ada Admin"
  const people = [
    { email: 'a_b@carnet.test', name: 'Underscore Person' },
    { email: 'axb@carnet.test', name: 'Plain Person' },
    { email: 'percent@carnet.test', name: '100% Bio' },
    { email: 'hundred@carnet.test', name: '1000 Bio' },
    { email: 'back@carnet.test', name: 'Back\\slash' },
    { email: 'zoe@example.org', name: 'Zoë Ñandú', phone: '+33 6 12 34 56 78' },
  ];
  for (const p of people) await createAccount(db, p);
  const search = (q: string) => listAccounts(db, { q, page: 1, perPage: 50 }).rows.map((r) => r.email).sort();

  const table: Array<[string, string[]]> = [
    ['', ['a_b@carnet.test', 'admin@carnet.test', 'axb@carnet.test', 'back@carnet.test', 'hundred@carnet.test', 'percent@carnet.test', 'zoe@example.org']],
    ['   ', ['a_b@carnet.test', 'admin@carnet.test', 'axb@carnet.test', 'back@carnet.test', 'hundred@carnet.test', 'percent@carnet.test', 'zoe@example.org']],
    ['a_b', ['a_b@carnet.test']],
    ['_', ['a_b@carnet.test']],
    ['%', ['percent@carnet.test']],
    ['100%', ['percent@carnet.test']],
    ['\\', ['back@carnet.test']],
    ['person', ['a_b@carnet.test', 'axb@carnet.test']],
    ['PERSON', ['a_b@carnet.test', 'axb@carnet.test']],
    ['Example.ORG', ['zoe@example.org']],
    ['zoë', ['zoe@example.org']],
    ['12 34', ['zoe@example.org']],
    ['+33', ['zoe@example.org']],
    ['nobody', []],
  ];
  for (const [q, expected] of table) t.same(search(q), expected, `search ${JSON.stringify(q)}`);

  const all = listAccounts(db, { page: 1, perPage: 3 });
  t.equal(all.total, 7);
  t.equal(all.rows.length, 3);
  t.same(all.rows[0], { id: 7, name: 'Zoë Ñandú', email: 'zoe@example.org', phone: '+33 6 12 34 56 78', status: 'active', createdAt: all.rows[0]!.createdAt, roles: ['member'] });
  const ids = [1, 2, 3].flatMap((page) => listAccounts(db, { page, perPage: 3 }).rows.map((r) => r.id));
  t.same(ids, [7, 6, 5, 4, 3, 2, 1], 'newest first, each account once across pages');
  t.same(listAccounts(db, { page: 4, perPage: 3 }), { total: 7, rows: [] }, 'past the end');
  const filtered = listAccounts(db, { q: 'person', page: 2, perPage: 1 });
  t.equal(filtered.total, 2, 'total counts matches, not the page');
  t.equal(filtered.rows.length, 1);
  t.same(listAccounts(db, { q: 'admin@', page: 1, perPage: 5 }).rows[0]!.roles, ['admin', 'member']);
});
