import t from 'tap';
import type { Db } from '../../src/db/index.js';
import { rolesOf } from '../../src/domain/accounts.js';
import {
  acceptInvitation,
  createProducer,
  findInvitation,
  findManagedProducer,
  INVITATION_TTL_DAYS,
  inviteToProducer,
  listProducers,
  luhnValid,
  normaliseSiret,
  normaliseVatNumber,
  pendingInvitations,
  producerManagers,
  producerSchema,
  removeProducerAccess,
  revokeInvitation,
  signUpFromInvitation,
  type ProducerInput,
} from '../../src/domain/producers.js';
import { hashToken } from '../../src/domain/sessions.js';
import { Mailer } from '../../src/mail/mailer.js';
import { createAccount, seedCoop, testDb } from '../helper.js';
import { outboxEmails, type OutboxEmail } from '../support/outbox.js';

const mailer = new Mailer('http://carnet.test');
const T0 = Date.UTC(2025, 5, 1, 12);
const DAY = 24 * 3600_000;

const baseInput: ProducerInput = {
  name: 'Ferme des Trois Chênes',
  description: '',
  address: '',
  active: true,
};

type Mail = OutboxEmail;
const outbox = (db: Db): Mail[] => outboxEmails(db);
const invitationRows = (db: Db) => db.$client.prepare('select * from producer_invitations order by created_at').all() as Array<Record<string, unknown>>;

async function setup(t: Parameters<typeof testDb>[0]) {
  const { db } = testDb(t);
  await seedCoop(db);
  const admin = { id: (db.$client.prepare("select id from accounts where email = 'admin@carnet.test'").get() as { id: number }).id, name: 'Ada Admin' };
  const farm = createProducer(db, baseInput, T0);
  const other = createProducer(db, { ...baseInput, name: 'Les Ruchers du Val' }, T0);
  return { db, admin, farm, other };
}

t.test('SIRET: 14 digits, spaces removed, Luhn key checked', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['73282932000074', '73282932000074'],
    ['732 829 320 00074', '73282932000074'],
    ['  732\u00a0829\u00a0320\u00a000074 ', '73282932000074'],
    ['44306184100047', '44306184100047'],
    ['73282932000075', null], // wrong key
    ['12345678901234', null],
    ['7328293200007', null], // 13 digits
    ['732829320000745', null], // 15 digits
    ['7328293200007A', null],
    ['732-829-320-00074', null],
    ['', null],
    // La Poste establishments: SIREN 356000000, keyed by digit sum instead of Luhn
    ['35600000000048', '35600000000048'],
    ['35600000049837', '35600000049837'],
    ['35600000000049', null],
  ];
  for (const [input, expected] of cases) t.equal(normaliseSiret(input), expected, JSON.stringify(input));
  const luhn: Array<[string, boolean]> = [
    ['0', true],
    ['18', true],
    ['79927398713', true],
    ['79927398710', false],
  ];
  for (const [digits, ok] of luhn) t.equal(luhnValid(digits), ok, `luhn ${digits}`);
});

t.test('intra-EU VAT numbers: compacted, upper-cased, French key checked', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['FR44732829320', 'FR44732829320'],
    ['fr 44 732 829 320', 'FR44732829320'],
    ['FR-44.732.829.320', 'FR44732829320'],
    ['FR64443061841', 'FR64443061841'],
    ['FR45732829320', null], // the key does not match the SIREN
    ['FRAB732829320', 'FRAB732829320'], // a letter key cannot be checked offline
    ['FR1O732829320', null], // O is never used in a key
    ['FR4473282932', null], // FR + 10 characters
    ['FR447328293200', null], // FR + 12 characters
    ['DE123456789', 'DE123456789'],
    ['BE0123456789', 'BE0123456789'],
    ['EL123456789', 'EL123456789'],
    ['US123456789', null], // not an EU country
    ['GB123456789', null], // no longer in the EU system
    ['FR', null],
    ['44732829320', null], // no country
    ['', null],
  ];
  for (const [input, expected] of cases) t.equal(normaliseVatNumber(input), expected, JSON.stringify(input));
});

t.test('the producer form rules', async (t) => {
  const ok = (form: Record<string, unknown>) => producerSchema.safeParse({ name: 'Ferme', ...form });
  const accepted: Array<[Record<string, unknown>, Partial<ProducerInput>]> = [
    [{}, { name: 'Ferme', description: '', address: '', active: false, siret: undefined, vatNumber: undefined }],
    [{ active: 'on' }, { active: true }],
    [{ siret: '732 829 320 00074', vatNumber: 'fr44 732829320' }, { siret: '73282932000074', vatNumber: 'FR44732829320' }],
    [{ siret: '   ', vatNumber: '' }, { siret: undefined, vatNumber: undefined }],
    [{ siret: '73282932000074', vatNumber: 'DE123456789' }, { vatNumber: 'DE123456789' }], // only a French number carries the SIREN
    [{ description: '  Line 1\r\nLine 2  ' }, { description: 'Line 1\nLine 2' }],
    [{ email: ' Contact@Ferme.FR ', contactName: 'Jeanne Dupuis', phone: '06 12 34 56 78' }, { email: 'contact@ferme.fr', contactName: 'Jeanne Dupuis', phone: '06 12 34 56 78' }],
    [{ email: '', contactName: '', phone: '' }, { email: undefined, contactName: undefined, phone: undefined }],
  ];
  for (const [form, expected] of accepted) {
    const r = ok(form);
    t.ok(r.success, `accepts ${JSON.stringify(form)}`);
    if (r.success) t.match(r.data, expected);
  }
  const refused: Array<[Record<string, unknown>, string, string]> = [
    [{ name: '' }, 'name', 'error.required'],
    [{ siret: '73282932000075' }, 'siret', 'error.invalid_siret'],
    [{ siret: 'x'.repeat(40) }, 'siret', 'error.invalid_siret'],
    [{ vatNumber: 'FR45732829320' }, 'vatNumber', 'error.invalid_vat_number'],
    [{ siret: '44306184100047', vatNumber: 'FR44732829320' }, 'vatNumber', 'error.vat_siret_mismatch'],
    [{ description: 'bell\u0007' }, 'description', 'error.invalid_text'],
    [{ email: 'not an email' }, 'email', 'error.invalid_email'],
    [{ contactName: '<script>' }, 'contactName', 'error.invalid_name'],
  ];
  for (const [form, field, message] of refused) {
    const r = ok(form);
    t.notOk(r.success, `refuses ${JSON.stringify(form).slice(0, 60)}`);
    if (!r.success) t.match(r.error.issues.find((i) => i.path[0] === field), { message }, `${field}: ${message}`);
  }
  const long = ok({ description: 'x'.repeat(2001) });
  t.notOk(long.success, 'a description over 2000 characters is refused');
});

t.test('the list counts accounts and searches by name with literal wildcards', async (t) => {
  const { db, admin, farm, other } = await setup(t);
  const ana = await createAccount(db, { email: 'ana@carnet.test', roles: ['producer'] });
  inviteToProducer(db, mailer, { producerId: farm.id, email: 'new@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(farm.id, ana, T0);
  createProducer(db, { ...baseInput, name: '100% Bio' }, T0);
  const rows = listProducers(db, {}, T0);
  t.same(rows.map((r) => r.name), ['100% Bio', 'Ferme des Trois Chênes', 'Les Ruchers du Val']);
  t.match(rows[1], { id: farm.id, accountCount: 1, pendingInvitations: 1, active: true });
  t.match(rows[2], { id: other.id, accountCount: 0, pendingInvitations: 0 });
  t.equal(listProducers(db, {}, T0 + 8 * DAY)[1]!.pendingInvitations, 0, 'an expired invitation is not pending');
  const search: Array<[string, string[]]> = [
    ['ferme', ['Ferme des Trois Chênes']],
    ['  RUCHERS ', ['Les Ruchers du Val']],
    ['%', ['100% Bio']],
    ['_', []],
    ['', ['100% Bio', 'Ferme des Trois Chênes', 'Les Ruchers du Val']],
  ];
  for (const [q, names] of search) t.same(listProducers(db, { q }).map((r) => r.name), names, `search ${JSON.stringify(q)}`);
});

t.test('an invitation: hashed token, email in the same transaction, 7 days, replaced by a newer one', async (t) => {
  const { db, admin, farm } = await setup(t);
  const first = inviteToProducer(db, mailer, { producerId: farm.id, email: 'jeanne@ferme.test', invitedBy: admin, locale: 'en' }, T0);
  t.ok(first.ok);
  if (!first.ok) return;
  const rows = invitationRows(db);
  t.equal(rows.length, 1);
  t.equal(rows[0]!.token_hash, hashToken(first.token), 'only the SHA-256 of the token is stored');
  t.notOk(JSON.stringify(rows).includes(first.token), 'never the token itself');
  t.equal(rows[0]!.expires_at, T0 + INVITATION_TTL_DAYS * DAY);
  const mails = outbox(db);
  t.equal(mails.length, 1);
  t.match(mails[0], { to_address: 'jeanne@ferme.test', subject: 'Ada Admin invites you to manage Ferme des Trois Chênes on Coop Test' });
  t.match(mails[0]!.text_body, `http://carnet.test/invitations/${first.token}`);
  t.match(mails[0]!.text_body, '7 days');

  // valid until the last millisecond of the 7th day
  const expiries: Array<[number, boolean]> = [
    [T0, true],
    [T0 + 7 * DAY - 1, true],
    [T0 + 7 * DAY, false],
    [T0 + 30 * DAY, false],
  ];
  for (const [now, open] of expiries) t.equal(findInvitation(db, first.token, now) !== null, open, `at +${(now - T0) / DAY} days`);
  t.match(findInvitation(db, first.token, T0), { producerId: farm.id, producerName: farm.name, email: 'jeanne@ferme.test', accountId: null });
  t.equal(findInvitation(db, 'x'.repeat(43), T0), null, 'an unknown token');

  const second = inviteToProducer(db, mailer, { producerId: farm.id, email: 'jeanne@ferme.test', invitedBy: admin, locale: 'en' }, T0 + DAY);
  t.ok(second.ok);
  t.equal(invitationRows(db).length, 1, 'the newer invitation replaces the older');
  t.equal(findInvitation(db, first.token, T0 + DAY), null, 'the old link no longer works');
  if (second.ok) t.ok(findInvitation(db, second.token, T0 + DAY));
  t.equal(outbox(db).length, 2);
});

t.test('an email to an existing account is in its language and greets it', async (t) => {
  const { db, admin, farm } = await setup(t);
  await createAccount(db, { email: 'paul@carnet.test', name: 'Paul', locale: 'fr' });
  inviteToProducer(db, mailer, { producerId: farm.id, email: 'paul@carnet.test', invitedBy: admin, locale: 'en' }, T0);
  const [mail] = outbox(db);
  t.match(mail, { to_name: 'Paul', subject: 'Ada Admin vous invite à gérer Ferme des Trois Chênes sur Coop Test' });
  t.match(mail!.text_body, 'Bonjour Paul');
});

t.test('invitations refused: unknown producer, someone who already manages it', async (t) => {
  const { db, admin, farm } = await setup(t);
  const paul = await createAccount(db, { email: 'paul@carnet.test', roles: ['producer'] });
  db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(farm.id, paul, T0);
  const cases: Array<[number, string, string]> = [
    [9999, 'x@carnet.test', 'not_found'],
    [farm.id, 'paul@carnet.test', 'already_manages'],
  ];
  for (const [producerId, email, reason] of cases) {
    t.same(inviteToProducer(db, mailer, { producerId, email, invitedBy: admin, locale: 'fr' }, T0), { ok: false, reason }, reason);
  }
  t.equal(invitationRows(db).length, 0);
  t.equal(outbox(db).length, 0, 'no email without an invitation');
});

t.test('accepting links the account, grants the role once, and works once', async (t) => {
  const { db, admin, farm, other } = await setup(t);
  const paul = await createAccount(db, { email: 'paul@carnet.test', roles: ['member'] });
  const invite = inviteToProducer(db, mailer, { producerId: farm.id, email: 'paul@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  if (!invite.ok) throw new Error('invite failed');
  t.same(acceptInvitation(db, invite.token, paul, T0 + DAY), { ok: true, producerId: farm.id, producerName: farm.name, accountId: paul });
  t.ok(findManagedProducer(db, paul, farm.id), 'Paul manages the farm');
  t.notOk(findManagedProducer(db, paul, other.id), 'and nothing else');
  t.same(rolesOf(db, paul), ['producer', 'member']);
  t.match(invitationRows(db)[0], { accepted_at: T0 + DAY, accepted_by: paul });
  t.same(pendingInvitations(db, farm.id, T0 + DAY), [], 'no longer pending');

  const outcomes: Array<[string, number]> = [
    ['the same link again', T0 + DAY],
    ['the same link later', T0 + 2 * DAY],
  ];
  for (const [label, now] of outcomes) t.same(acceptInvitation(db, invite.token, paul, now), { ok: false, reason: 'invalid_token' }, label);

  // A second producer: the role is not granted twice.
  const again = inviteToProducer(db, mailer, { producerId: other.id, email: 'paul@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  if (!again.ok) throw new Error('invite failed');
  t.ok(acceptInvitation(db, again.token, paul, T0 + DAY).ok);
  t.same(rolesOf(db, paul), ['producer', 'member']);
  t.same(producerManagers(db, other.id).map((m) => m.id), [paul]);
});

t.test('an expired or revoked invitation cannot be accepted', async (t) => {
  const { db, admin, farm } = await setup(t);
  const paul = await createAccount(db, { email: 'paul@carnet.test' });
  const expired = inviteToProducer(db, mailer, { producerId: farm.id, email: 'paul@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  if (!expired.ok) throw new Error('invite failed');
  t.same(acceptInvitation(db, expired.token, paul, T0 + 7 * DAY), { ok: false, reason: 'invalid_token' });
  t.match(pendingInvitations(db, farm.id, T0 + 7 * DAY), [{ email: 'paul@carnet.test', expired: true, invitedByName: 'Ada Admin' }]);

  const revoked = inviteToProducer(db, mailer, { producerId: farm.id, email: 'paul@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  if (!revoked.ok) throw new Error('invite failed');
  const id = hashToken(revoked.token);
  t.equal(revokeInvitation(db, farm.id + 1, id), false, 'not through another producer');
  t.equal(revokeInvitation(db, farm.id, id), true);
  t.equal(revokeInvitation(db, farm.id, id), false, 'only once');
  t.same(acceptInvitation(db, revoked.token, paul, T0 + DAY), { ok: false, reason: 'invalid_token' });
  t.notOk(findManagedProducer(db, paul, farm.id));
  t.same(rolesOf(db, paul), ['member']);
});

t.test('accepting approves a pending account that has the invited email, and only that one', async (t) => {
  const { db, admin, farm } = await setup(t);
  const cases: Array<[string, string, 'active' | 'pending']> = [
    ['invited@carnet.test', 'invited@carnet.test', 'active'],
    ['someone-else@carnet.test', 'invited2@carnet.test', 'pending'],
  ];
  for (const [accountEmail, invitedEmail, status] of cases) {
    const id = await createAccount(db, { email: accountEmail, status: 'pending' });
    const invite = inviteToProducer(db, mailer, { producerId: farm.id, email: invitedEmail, invitedBy: admin, locale: 'fr' }, T0);
    if (!invite.ok) throw new Error('invite failed');
    t.ok(acceptInvitation(db, invite.token, id, T0).ok);
    t.equal((db.$client.prepare('select status from accounts where id = ?').get(id) as { status: string }).status, status, accountEmail);
  }
});

t.test('signing up from an invitation creates an active producer account, even with approval on', async (t) => {
  const { db, admin, farm } = await setup(t);
  db.$client.prepare('update coop set require_approval = 1').run();
  const invite = inviteToProducer(db, mailer, { producerId: farm.id, email: 'new@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  if (!invite.ok) throw new Error('invite failed');
  const result = signUpFromInvitation(db, invite.token, { name: 'Nina Nouvelle', passwordHash: 'scrypt$x', locale: 'en' }, T0 + DAY);
  t.ok(result.ok);
  if (!result.ok) return;
  t.match(db.$client.prepare('select * from accounts where id = ?').get(result.accountId), { email: 'new@carnet.test', name: 'Nina Nouvelle', status: 'active', locale: 'en' });
  t.same(rolesOf(db, result.accountId), ['producer']);
  t.ok(findManagedProducer(db, result.accountId, farm.id));
  t.same(signUpFromInvitation(db, invite.token, { name: 'Again', passwordHash: 'scrypt$x', locale: 'en' }, T0 + DAY), { ok: false, reason: 'invalid_token' }, 'single use');
});

t.test('signing up is refused when the invited email already has an account', async (t) => {
  const { db, admin, farm } = await setup(t);
  const invite = inviteToProducer(db, mailer, { producerId: farm.id, email: 'late@carnet.test', invitedBy: admin, locale: 'fr' }, T0);
  if (!invite.ok) throw new Error('invite failed');
  await createAccount(db, { email: 'late@carnet.test' });
  const before = db.$client.prepare('select count(*) as n from accounts').get();
  t.same(signUpFromInvitation(db, invite.token, { name: 'Late', passwordHash: 'scrypt$x', locale: 'fr' }, T0), { ok: false, reason: 'email_taken' });
  t.same(db.$client.prepare('select count(*) as n from accounts').get(), before);
  t.ok(findInvitation(db, invite.token, T0), 'the invitation stays open for that account to accept');
  const expired = signUpFromInvitation(db, invite.token, { name: 'Late', passwordHash: 'scrypt$x', locale: 'fr' }, T0 + 8 * DAY);
  t.same(expired, { ok: false, reason: 'invalid_token' });
});

t.test('removing access drops the producer role once no producer is left', async (t) => {
  const { db, farm, other } = await setup(t);
  const paul = await createAccount(db, { email: 'paul@carnet.test', roles: ['producer', 'member'] });
  for (const p of [farm, other]) db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(p.id, paul, T0);
  const steps: Array<[number, { ok: boolean; roleRemoved?: boolean }, string[]]> = [
    [farm.id, { ok: true, roleRemoved: false }, ['producer', 'member']],
    [farm.id, { ok: false }, ['producer', 'member']],
    [other.id, { ok: true, roleRemoved: true }, ['member']],
  ];
  for (const [producerId, expected, roles] of steps) {
    t.match(removeProducerAccess(db, producerId, paul), expected);
    t.same(rolesOf(db, paul), roles);
  }
  t.same(removeProducerAccess(db, farm.id, 9999), { ok: false, reason: 'not_found' });
});
