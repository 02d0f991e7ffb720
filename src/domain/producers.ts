import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { accountRoles, accounts, producerAccounts, producerInvitations, producers } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';
import type { Mailer } from '../mail/mailer.js';
import { findAccount, findAccountByEmail, type Account } from './accounts.js';
import { recordAudit, type AuditActor } from './audit.js';
import { blankToUndefined, checkboxField, emailField, longTextField, nameField, phoneField } from './fields.js';
import { hashToken } from './sessions.js';

export type Producer = typeof producers.$inferSelect;

/**
 * The producers an account may act for. Every producer-side query starts from this list (or from
 * findManagedProducer), so that another producer's id in a URL or a form finds nothing.
 */
export function managedProducers(db: Db | Tx, accountId: number): Producer[] {
  return db
    .select({ producer: producers })
    .from(producers)
    .innerJoin(producerAccounts, eq(producerAccounts.producerId, producers.id))
    .where(eq(producerAccounts.accountId, accountId))
    .orderBy(asc(producers.name), asc(producers.id))
    .all()
    .map((r) => r.producer);
}

/** The producer with this id if the account manages it; undefined otherwise (the route says 404). */
export function findManagedProducer(db: Db | Tx, accountId: number, producerId: number): Producer | undefined {
  return db
    .select({ producer: producers })
    .from(producers)
    .innerJoin(producerAccounts, and(eq(producerAccounts.producerId, producers.id), eq(producerAccounts.accountId, accountId)))
    .where(eq(producers.id, producerId))
    .get()?.producer;
}

// ---------------------------------------------------------------------------------------------
// Administration of producers: the rules for their identifiers, the admin's list and form, the
// accounts that manage each producer, and the emailed invitations that link new ones.
// ---------------------------------------------------------------------------------------------

/** True when the digits pass the Luhn check (the key of SIREN and SIRET numbers). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Reads a SIRET as typed ("732 829 320 00074") into its 14 digits, or null when it is not one:
 * wrong length, not digits, or a wrong Luhn key.
 */
export function normaliseSiret(input: string): string | null {
  const s = input.replace(/[\s\u00a0\u202f]/g, '');
  if (!/^\d{14}$/.test(s)) return null;
  if (luhnValid(s)) return s;
  // La Poste's thousands of establishments share SIREN 356000000 and are keyed by digit sum instead.
  if (s.startsWith('356000000') && [...s].reduce((n, c) => n + Number(c), 0) % 5 === 0) return s;
  return null;
}

const EU_VAT = /^(AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI)[0-9A-Z]{2,12}$/;

/**
 * Reads an intra-EU VAT number as typed ("fr 40 303 265 045") into its compact upper-case form,
 * or null when it is not one. A French number is FR, a two-character key and the 9-digit SIREN;
 * a numeric key must match the SIREN.
 */
export function normaliseVatNumber(input: string): string | null {
  const s = input.replace(/[\s.\-\u00a0\u202f]/g, '').toUpperCase();
  if (!EU_VAT.test(s)) return null;
  if (s.startsWith('FR')) {
    if (!/^FR[0-9A-HJ-NP-Z]{2}\d{9}$/.test(s)) return null;
    const key = s.slice(2, 4);
    if (/^\d\d$/.test(key) && Number(key) !== (12 + 3 * (Number(s.slice(4)) % 97)) % 97) return null;
  }
  return s;
}

/** An optional SIRET: spaces removed, 14 digits with a valid key. */
export const siretField = z.preprocess(
  blankToUndefined,
  z
    .string({ error: 'error.invalid_siret' })
    .transform((v, ctx) => {
      const siret = v.length <= 30 ? normaliseSiret(v) : null;
      if (siret === null) {
        ctx.addIssue({ code: 'custom', message: 'error.invalid_siret' });
        return z.NEVER;
      }
      return siret;
    })
    .optional(),
);

/** An optional intra-EU VAT number, compacted and upper-cased. */
export const vatNumberField = z.preprocess(
  blankToUndefined,
  z
    .string({ error: 'error.invalid_vat_number' })
    .transform((v, ctx) => {
      const vat = v.length <= 30 ? normaliseVatNumber(v) : null;
      if (vat === null) {
        ctx.addIssue({ code: 'custom', message: 'error.invalid_vat_number' });
        return z.NEVER;
      }
      return vat;
    })
    .optional(),
);

/** What the admin's producer form holds once validated. */
export const producerSchema = z
  .object({
    name: nameField,
    description: longTextField(2000),
    contactName: z.preprocess(blankToUndefined, nameField.optional()),
    email: z.preprocess(blankToUndefined, emailField.optional()),
    phone: phoneField,
    address: longTextField(500),
    siret: siretField,
    vatNumber: vatNumberField,
    active: checkboxField,
  })
  // One business has one SIREN: a French VAT number must carry the SIRET's first nine digits.
  .refine((v) => !(v.siret && v.vatNumber?.startsWith('FR')) || v.vatNumber.slice(4) === v.siret.slice(0, 9), {
    path: ['vatNumber'],
    message: 'error.vat_siret_mismatch',
  });

export type ProducerInput = z.output<typeof producerSchema>;

/** One row of the admin's producer list. */
export interface ProducerRow {
  id: number;
  name: string;
  active: boolean;
  accountCount: number;
  pendingInvitations: number;
}

/** The producers, by name, with how many accounts manage each; an optional search on the name. */
export function listProducers(db: Db | Tx, opts: { q?: string | undefined } = {}, now = Date.now()): ProducerRow[] {
  const q = opts.q?.trim();
  const pattern = q ? `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%` : undefined;
  return db
    .select({
      id: producers.id,
      name: producers.name,
      active: producers.active,
      // Written out in full: drizzle leaves column names unqualified in a one-table select.
      accountCount: sql<number>`(select count(*) from "producer_accounts" pa where pa."producer_id" = "producers"."id")`,
      pendingInvitations: sql<number>`(select count(*) from "producer_invitations" pi where pi."producer_id" = "producers"."id" and pi."accepted_at" is null and pi."expires_at" > ${now})`,
    })
    .from(producers)
    .where(pattern ? sql`${producers.name} like ${pattern} escape '\\'` : undefined)
    .orderBy(sql`${producers.name} collate nocase`, asc(producers.id))
    .all();
}

/** The producer with this id, whoever manages it (admin pages only). */
export function findProducer(db: Db | Tx, id: number): Producer | undefined {
  return db.select().from(producers).where(eq(producers.id, id)).get();
}

/** The columns a producer form sets. */
function producerColumns(input: ProducerInput) {
  return {
    name: input.name,
    description: input.description,
    contactName: input.contactName ?? null,
    email: input.email ?? null,
    phone: input.phone ?? null,
    address: input.address,
    siret: input.siret ?? null,
    vatNumber: input.vatNumber ?? null,
    active: input.active,
  };
}

/**
 * Creates a producer; nobody manages it until an account accepts an invitation. With an actor (an
 * admin), the creation is recorded in the audit log.
 */
export function createProducer(db: Db, input: ProducerInput, now = Date.now(), actor?: AuditActor): Producer {
  return db.transaction(
    (tx) => {
      const producer = tx
        .insert(producers)
        .values({ ...producerColumns(input), createdAt: now, updatedAt: now })
        .returning()
        .get();
      if (actor) recordAudit(tx, actor, 'producer.created', { type: 'producer', id: producer.id }, {}, now);
      return producer;
    },
    { behavior: 'immediate' },
  );
}

/** Saves a producer's details; undefined when there is no such producer. With an actor, the change is audited. */
export function updateProducer(db: Db, id: number, input: ProducerInput, now = Date.now(), actor?: AuditActor): Producer | undefined {
  return db.transaction(
    (tx) => {
      const producer = tx
        .update(producers)
        .set({ ...producerColumns(input), updatedAt: now })
        .where(eq(producers.id, id))
        .returning()
        .get();
      if (producer && actor) recordAudit(tx, actor, 'producer.updated', { type: 'producer', id }, {}, now);
      return producer;
    },
    { behavior: 'immediate' },
  );
}

/** An account that manages a producer, as the admin sees it. */
export interface ProducerManager {
  id: number;
  name: string;
  email: string;
  linkedAt: number;
}

/** The accounts that manage a producer, by name. */
export function producerManagers(db: Db | Tx, producerId: number): ProducerManager[] {
  return db
    .select({ id: accounts.id, name: accounts.name, email: accounts.email, linkedAt: producerAccounts.createdAt })
    .from(producerAccounts)
    .innerJoin(accounts, eq(accounts.id, producerAccounts.accountId))
    .where(eq(producerAccounts.producerId, producerId))
    .orderBy(sql`${accounts.name} collate nocase`, asc(accounts.id))
    .all();
}

export type RemoveAccessResult = { ok: true; account: Account; roleRemoved: boolean } | { ok: false; reason: 'not_found' };

/**
 * Takes an account's access to a producer away. An account left managing no producer also loses
 * the producer role, so that nothing producer-side stays open to it; it keeps its account. With an
 * actor (an admin), the removal is recorded in the audit log.
 */
export function removeProducerAccess(db: Db, producerId: number, accountId: number, actor?: AuditActor): RemoveAccessResult {
  return db.transaction(
    (tx) => {
      const removed = tx
        .delete(producerAccounts)
        .where(and(eq(producerAccounts.producerId, producerId), eq(producerAccounts.accountId, accountId)))
        .run().changes;
      const account = findAccount(tx, accountId);
      if (!removed || !account) return { ok: false, reason: 'not_found' } as const;
      let roleRemoved = false;
      if (managedProducers(tx, accountId).length === 0) {
        roleRemoved = tx.delete(accountRoles).where(and(eq(accountRoles.accountId, accountId), eq(accountRoles.role, 'producer'))).run().changes > 0;
      }
      if (actor) recordAudit(tx, actor, 'producer.manager_removed', { type: 'producer', id: producerId }, { accountId, roleRemoved });
      return { ok: true, account, roleRemoved } as const;
    },
    { behavior: 'immediate' },
  );
}

// ----- invitations -----

export const INVITATION_TTL_DAYS = 7;
const INVITATION_TTL_MS = INVITATION_TTL_DAYS * 24 * 3600 * 1000;

/** Who sends an invitation and to whom. */
export interface InvitationInput {
  producerId: number;
  email: string;
  invitedBy: { id: number; name: string };
  /** The language of the email when the invited address has no account yet. */
  locale: Locale;
}

export type InviteResult = { ok: true; token: string } | { ok: false; reason: 'not_found' | 'already_manages' };

/**
 * Invites an email address to manage a producer: a single-use link, valid for
 * INVITATION_TTL_DAYS days, emailed in the same transaction. Only the token's SHA-256 is stored,
 * and a new invitation for the same address and producer replaces an unused older one. With an
 * actor (an admin), the invitation is recorded in the audit log, without the invited address.
 */
export function inviteToProducer(db: Db, mailer: Mailer, input: InvitationInput, now = Date.now(), actor?: AuditActor): InviteResult {
  return db.transaction(
    (tx) => {
      const producer = findProducer(tx, input.producerId);
      if (!producer) return { ok: false, reason: 'not_found' } as const;
      const existing = findAccountByEmail(tx, input.email);
      if (existing && findManagedProducer(tx, existing.id, producer.id)) return { ok: false, reason: 'already_manages' } as const;
      tx.delete(producerInvitations)
        .where(and(eq(producerInvitations.producerId, producer.id), eq(producerInvitations.email, input.email), isNull(producerInvitations.acceptedAt)))
        .run();
      const token = randomBytes(32).toString('base64url');
      tx.insert(producerInvitations)
        .values({
          tokenHash: hashToken(token),
          producerId: producer.id,
          email: input.email,
          invitedBy: input.invitedBy.id,
          createdAt: now,
          expiresAt: now + INVITATION_TTL_MS,
        })
        .run();
      mailer.queue(
        tx,
        {
          to: input.email,
          toName: existing?.name ?? null,
          locale: existing?.locale ?? input.locale,
          template: 'producerInvitation',
          data: { acceptUrl: mailer.url(`/invitations/${token}`) },
          params: { inviter: input.invitedBy.name, producer: producer.name, days: INVITATION_TTL_DAYS },
        },
        now,
      );
      if (actor) recordAudit(tx, actor, 'producer.invited', { type: 'producer', id: producer.id }, {}, now);
      return { ok: true, token } as const;
    },
    { behavior: 'immediate' },
  );
}

/** An invitation that has not been accepted, as the admin sees it. */
export interface PendingInvitation {
  /** The token's hash: it names the invitation in the revoke form and cannot be turned back into the link. */
  id: string;
  email: string;
  invitedByName: string | null;
  createdAt: number;
  expiresAt: number;
  expired: boolean;
}

/** The invitations of a producer not accepted yet (expired ones included, marked), newest first. */
export function pendingInvitations(db: Db | Tx, producerId: number, now = Date.now()): PendingInvitation[] {
  return db
    .select({
      id: producerInvitations.tokenHash,
      email: producerInvitations.email,
      invitedByName: accounts.name,
      createdAt: producerInvitations.createdAt,
      expiresAt: producerInvitations.expiresAt,
    })
    .from(producerInvitations)
    .leftJoin(accounts, eq(accounts.id, producerInvitations.invitedBy))
    .where(and(eq(producerInvitations.producerId, producerId), isNull(producerInvitations.acceptedAt)))
    .orderBy(desc(producerInvitations.createdAt), asc(producerInvitations.email))
    .all()
    .map((r) => ({ ...r, expired: r.expiresAt <= now }));
}

/** Withdraws an invitation not accepted yet; its link stops working. False when there is none. */
export function revokeInvitation(db: Db | Tx, producerId: number, id: string): boolean {
  return (
    db
      .delete(producerInvitations)
      .where(and(eq(producerInvitations.tokenHash, id), eq(producerInvitations.producerId, producerId), isNull(producerInvitations.acceptedAt)))
      .run().changes > 0
  );
}

/** A usable invitation, as its link's page shows it. */
export interface OpenInvitation {
  producerId: number;
  producerName: string;
  email: string;
  expiresAt: number;
  /** The account that already uses the invited address, if any. */
  accountId: number | null;
}

const usable = (token: string, now: number) =>
  and(eq(producerInvitations.tokenHash, hashToken(token)), isNull(producerInvitations.acceptedAt), gt(producerInvitations.expiresAt, now));

/** The invitation behind a link, or null when it is unknown, used, revoked or expired. */
export function findInvitation(db: Db | Tx, token: string, now = Date.now()): OpenInvitation | null {
  const row = db
    .select({ producerId: producers.id, producerName: producers.name, email: producerInvitations.email, expiresAt: producerInvitations.expiresAt })
    .from(producerInvitations)
    .innerJoin(producers, eq(producers.id, producerInvitations.producerId))
    .where(usable(token, now))
    .get();
  if (!row) return null;
  return { ...row, accountId: findAccountByEmail(db, row.email)?.id ?? null };
}

export type AcceptResult = { ok: true; producerId: number; producerName: string; accountId: number } | { ok: false; reason: 'invalid_token' };

/** Uses up an invitation for an account: links it to the producer and grants the producer role. */
function useInvitation(tx: Tx, token: string, accountId: number, now: number): AcceptResult {
  const used = tx
    .update(producerInvitations)
    .set({ acceptedAt: now, acceptedBy: accountId })
    .where(usable(token, now))
    .returning({ producerId: producerInvitations.producerId, email: producerInvitations.email })
    .get();
  if (!used) return { ok: false, reason: 'invalid_token' };
  const producer = findProducer(tx, used.producerId)!;
  tx.insert(producerAccounts).values({ producerId: producer.id, accountId, createdAt: now }).onConflictDoNothing().run();
  tx.insert(accountRoles).values({ accountId, role: 'producer', grantedAt: now }).onConflictDoNothing().run();
  // The admin vouched for this address: an account of its own waiting for approval is approved.
  tx.update(accounts)
    .set({ status: 'active', updatedAt: now })
    .where(and(eq(accounts.id, accountId), eq(accounts.email, used.email), eq(accounts.status, 'pending')))
    .run();
  return { ok: true, producerId: producer.id, producerName: producer.name, accountId };
}

/**
 * Accepts an invitation as an existing (logged-in) account, once: two tabs racing with the same
 * link cannot both succeed.
 */
export function acceptInvitation(db: Db, token: string, accountId: number, now = Date.now()): AcceptResult {
  return db.transaction((tx) => useInvitation(tx, token, accountId, now), { behavior: 'immediate' });
}

/** What a new person gives to create their account from an invitation. */
export interface InvitationSignUpInput {
  name: string;
  passwordHash: string;
  locale: Locale;
}

export type InvitationSignUpResult = AcceptResult | { ok: false; reason: 'email_taken' };

/**
 * Creates the account of an invited person (with the invited email, active even when the coop
 * approves sign-ups, since an admin invited them) and accepts the invitation, in one transaction.
 */
export function signUpFromInvitation(db: Db, token: string, input: InvitationSignUpInput, now = Date.now()): InvitationSignUpResult {
  return db.transaction(
    (tx) => {
      const invitation = findInvitation(tx, token, now);
      if (!invitation) return { ok: false, reason: 'invalid_token' } as const;
      if (invitation.accountId !== null) return { ok: false, reason: 'email_taken' } as const;
      const account = tx
        .insert(accounts)
        .values({
          email: invitation.email,
          name: input.name,
          passwordHash: input.passwordHash,
          locale: input.locale,
          status: 'active',
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: accounts.id })
        .get();
      return useInvitation(tx, token, account.id, now);
    },
    { behavior: 'immediate' },
  );
}
