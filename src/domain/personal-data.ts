import { and, asc, desc, eq, isNull, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import {
  accountRoles,
  accounts,
  auditLog,
  basketItems,
  baskets,
  cycles,
  distributions,
  offers,
  orderLines,
  orders,
  outbox,
  passwordResets,
  pickupPoints,
  producerAccounts,
  producerInvitations,
  producers,
  products,
  sessions,
} from '../db/schema/index.js';
import { translator, type Locale } from '../i18n/index.js';
import { Mailer } from '../mail/mailer.js';
import { forgetActor, recordAudit } from './audit.js';
import { getCoop } from './coop.js';
import { cancelOrder, listOrders } from './orders.js';

/*
 * Members' data rights: the download of everything Carnet keeps about a person, and the erasure of
 * their account. Erasure keeps the coop's accounts whole (orders stay, with their totals, under a
 * replaced name) and removes every other trace of the person: their account and what hangs on it,
 * the emails to or about them, the invitations sent to their address, their name in the audit log.
 */

/** An instant as the export writes it: ISO 8601 in UTC, readable and unambiguous. */
function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Everything Carnet keeps about one person, as the JSON download holds it. */
export interface PersonalData {
  format: 'carnet-personal-data';
  version: 1;
  exportedAt: string;
  coop: { name: string; contactEmail: string; currency: string } | null;
  account: {
    id: number;
    name: string;
    email: string;
    phone: string | null;
    status: 'pending' | 'active';
    createdAt: string;
    updatedAt: string;
  };
  roles: Array<{ role: string; grantedAt: string }>;
  preferences: { language: Locale; emailWhenASaleOpens: boolean };
  sessions: Array<{ createdAt: string; lastSeenAt: string; expiresAt: string; current: boolean }>;
  passwordResets: Array<{ requestedAt: string; expiresAt: string; usedAt: string | null }>;
  baskets: Array<{
    cycleId: number;
    cycle: string;
    pickupPoint: string | null;
    pickupStartsAt: string | null;
    updatedAt: string;
    items: Array<{ product: string; producer: string; quantity: number; updatedAt: string }>;
  }>;
  orders: Array<{
    id: number;
    reference: string;
    status: 'placed' | 'cancelled';
    cycleId: number;
    cycle: string;
    pickupPoint: string;
    pickupStartsAt: string;
    pickupEndsAt: string;
    nameOnOrder: string;
    totalCents: number;
    placedAt: string;
    updatedAt: string;
    cancelledAt: string | null;
    lines: Array<{
      product: string;
      producer: string;
      unit: string;
      quantity: number;
      unitPriceCents: number;
      vatRateBp: number;
      weighed: boolean;
      estimatedWeightGrams: number | null;
      lineTotalCents: number;
    }>;
  }>;
  producersManaged: Array<{ id: number; name: string; since: string }>;
  invitations: {
    received: Array<{ producer: string; sentAt: string; expiresAt: string; acceptedAt: string | null }>;
    // Another person's address is theirs, not part of this person's data.
    sent: Array<{ producer: string; sentAt: string; expiresAt: string; accepted: boolean }>;
  };
  emails: Array<{ subject: string; kind: string | null; status: 'pending' | 'sent' | 'failed'; queuedAt: string; sentAt: string | null }>;
  adminActions: Array<{ at: string; action: string; subjectType: string | null; subjectId: number | null }>;
  actionsOnThisAccount: Array<{ at: string; action: string }>;
}

/**
 * Gathers everything Carnet keeps about an account, for the person (or an admin acting on their
 * request). Never the password hash, nor the session or invitation token hashes. Undefined when
 * there is no such account.
 */
export function exportPersonalData(db: Db | Tx, accountId: number, now = Date.now(), currentSessionHash: string | null = null): PersonalData | undefined {
  const account = db.select().from(accounts).where(eq(accounts.id, accountId)).get();
  if (!account) return undefined;
  const theCoop = getCoop(db);
  const email = account.email.toLowerCase();

  const roles = db.select().from(accountRoles).where(eq(accountRoles.accountId, accountId)).orderBy(asc(accountRoles.role)).all();
  const sessionRows = db
    .select({ idHash: sessions.idHash, createdAt: sessions.createdAt, lastSeenAt: sessions.lastSeenAt, expiresAt: sessions.expiresAt })
    .from(sessions)
    .where(eq(sessions.accountId, accountId))
    .orderBy(desc(sessions.lastSeenAt))
    .all();
  const resets = db.select().from(passwordResets).where(eq(passwordResets.accountId, accountId)).orderBy(asc(passwordResets.createdAt)).all();

  const basketRows = db
    .select({
      cycleId: baskets.cycleId,
      cycle: cycles.name,
      pickupPoint: pickupPoints.name,
      pickupStartsAt: distributions.startsAt,
      updatedAt: baskets.updatedAt,
    })
    .from(baskets)
    .innerJoin(cycles, eq(cycles.id, baskets.cycleId))
    .leftJoin(distributions, eq(distributions.id, baskets.distributionId))
    .leftJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
    .where(eq(baskets.accountId, accountId))
    .orderBy(asc(baskets.cycleId))
    .all();
  const itemRows = db
    .select({ cycleId: basketItems.cycleId, cycle: cycles.name, product: products.name, producer: producers.name, quantity: basketItems.quantity, updatedAt: basketItems.updatedAt })
    .from(basketItems)
    .innerJoin(cycles, eq(cycles.id, basketItems.cycleId))
    .innerJoin(offers, eq(offers.id, basketItems.offerId))
    .innerJoin(products, eq(products.id, offers.productId))
    .innerJoin(producers, eq(producers.id, offers.producerId))
    .where(eq(basketItems.accountId, accountId))
    .orderBy(asc(basketItems.cycleId), asc(products.name))
    .all();
  // A basket line can exist without its basket row (the distribution is chosen later).
  const basketCycles = new Map(basketRows.map((b) => [b.cycleId, b]));
  for (const item of itemRows) {
    if (!basketCycles.has(item.cycleId)) {
      basketCycles.set(item.cycleId, { cycleId: item.cycleId, cycle: item.cycle, pickupPoint: null, pickupStartsAt: null, updatedAt: item.updatedAt });
    }
  }

  const orderRows = db
    .select({
      order: orders,
      cycle: cycles.name,
      pickupPoint: pickupPoints.name,
      startsAt: distributions.startsAt,
      endsAt: distributions.endsAt,
    })
    .from(orders)
    .innerJoin(cycles, eq(cycles.id, orders.cycleId))
    .innerJoin(distributions, eq(distributions.id, orders.distributionId))
    .innerJoin(pickupPoints, eq(pickupPoints.id, distributions.pickupPointId))
    .where(eq(orders.accountId, accountId))
    .orderBy(asc(orders.placedAt), asc(orders.id))
    .all();
  const lineRows = orderRows.length
    ? db
        .select()
        .from(orderLines)
        .where(sql`${orderLines.orderId} in (select ${orders.id} from ${orders} where ${orders.accountId} = ${accountId})`)
        .orderBy(asc(orderLines.orderId), asc(orderLines.id))
        .all()
    : [];

  const managed = db
    .select({ id: producers.id, name: producers.name, since: producerAccounts.createdAt })
    .from(producerAccounts)
    .innerJoin(producers, eq(producers.id, producerAccounts.producerId))
    .where(eq(producerAccounts.accountId, accountId))
    .orderBy(asc(producers.name))
    .all();
  const received = db
    .select({ producer: producers.name, createdAt: producerInvitations.createdAt, expiresAt: producerInvitations.expiresAt, acceptedAt: producerInvitations.acceptedAt })
    .from(producerInvitations)
    .innerJoin(producers, eq(producers.id, producerInvitations.producerId))
    .where(or(sql`lower(${producerInvitations.email}) = ${email}`, eq(producerInvitations.acceptedBy, accountId)))
    .orderBy(asc(producerInvitations.createdAt))
    .all();
  const sent = db
    .select({ producer: producers.name, createdAt: producerInvitations.createdAt, expiresAt: producerInvitations.expiresAt, acceptedAt: producerInvitations.acceptedAt })
    .from(producerInvitations)
    .innerJoin(producers, eq(producers.id, producerInvitations.producerId))
    .where(eq(producerInvitations.invitedBy, accountId))
    .orderBy(asc(producerInvitations.createdAt))
    .all();
  const emails = db
    .select({ subject: outbox.subject, kind: outbox.template, status: outbox.status, createdAt: outbox.createdAt, sentAt: outbox.sentAt })
    .from(outbox)
    .where(sql`lower(${outbox.toAddress}) = ${email}`)
    .orderBy(asc(outbox.createdAt), asc(outbox.id))
    .all();
  const done = db
    .select({ at: auditLog.at, action: auditLog.action, subjectType: auditLog.subjectType, subjectId: auditLog.subjectId })
    .from(auditLog)
    .where(eq(auditLog.actorId, accountId))
    .orderBy(asc(auditLog.at), asc(auditLog.id))
    .all();
  const about = db
    .select({ at: auditLog.at, action: auditLog.action })
    .from(auditLog)
    .where(and(eq(auditLog.subjectType, 'account'), eq(auditLog.subjectId, accountId)))
    .orderBy(asc(auditLog.at), asc(auditLog.id))
    .all();

  return {
    format: 'carnet-personal-data',
    version: 1,
    exportedAt: iso(now),
    coop: theCoop ? { name: theCoop.name, contactEmail: theCoop.contactEmail, currency: theCoop.currency } : null,
    account: {
      id: account.id,
      name: account.name,
      email: account.email,
      phone: account.phone,
      status: account.status,
      createdAt: iso(account.createdAt),
      updatedAt: iso(account.updatedAt),
    },
    roles: roles.map((r) => ({ role: r.role, grantedAt: iso(r.grantedAt) })),
    preferences: { language: account.locale, emailWhenASaleOpens: account.notifyCycleOpen },
    sessions: sessionRows.map((s) => ({ createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), expiresAt: iso(s.expiresAt), current: s.idHash === currentSessionHash })),
    passwordResets: resets.map((r) => ({ requestedAt: iso(r.createdAt), expiresAt: iso(r.expiresAt), usedAt: iso(r.usedAt) })),
    baskets: [...basketCycles.values()]
      .sort((a, b) => a.cycleId - b.cycleId)
      .map((b) => ({
        cycleId: b.cycleId,
        cycle: b.cycle,
        pickupPoint: b.pickupPoint,
        pickupStartsAt: iso(b.pickupStartsAt),
        updatedAt: iso(b.updatedAt),
        items: itemRows.filter((i) => i.cycleId === b.cycleId).map((i) => ({ product: i.product, producer: i.producer, quantity: i.quantity, updatedAt: iso(i.updatedAt) })),
      })),
    orders: orderRows.map((r) => ({
      id: r.order.id,
      reference: r.order.reference,
      status: r.order.status,
      cycleId: r.order.cycleId,
      cycle: r.cycle,
      pickupPoint: r.pickupPoint,
      pickupStartsAt: iso(r.startsAt),
      pickupEndsAt: iso(r.endsAt),
      nameOnOrder: r.order.memberName,
      totalCents: r.order.totalCents,
      placedAt: iso(r.order.placedAt),
      updatedAt: iso(r.order.updatedAt),
      cancelledAt: iso(r.order.cancelledAt),
      lines: lineRows
        .filter((l) => l.orderId === r.order.id)
        .map((l) => ({
          product: l.productName,
          producer: l.producerName,
          unit: l.unitLabel,
          quantity: l.quantity,
          unitPriceCents: l.unitPriceCents,
          vatRateBp: l.vatRateBp,
          weighed: l.weighed,
          estimatedWeightGrams: l.estimatedWeightGrams,
          lineTotalCents: l.lineTotalCents,
        })),
    })),
    producersManaged: managed.map((p) => ({ id: p.id, name: p.name, since: iso(p.since) })),
    invitations: {
      received: received.map((i) => ({ producer: i.producer, sentAt: iso(i.createdAt), expiresAt: iso(i.expiresAt), acceptedAt: iso(i.acceptedAt) })),
      sent: sent.map((i) => ({ producer: i.producer, sentAt: iso(i.createdAt), expiresAt: iso(i.expiresAt), accepted: i.acceptedAt !== null })),
    },
    emails: emails.map((e) => ({ subject: e.subject, kind: e.kind, status: e.status, queuedAt: iso(e.createdAt), sentAt: iso(e.sentAt) })),
    adminActions: done.map((a) => ({ at: iso(a.at), action: a.action, subjectType: a.subjectType, subjectId: a.subjectId })),
    actionsOnThisAccount: about.map((a) => ({ at: iso(a.at), action: a.action })),
  };
}

/** The file name of a download: carnet-my-data-2026-10-20.json, dated in the coop's time zone. */
export function exportFileName(prefix: string, now: number, timeZone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  const day = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  return `${prefix}-${day}.json`;
}

/**
 * The name that replaces an erased person's on the orders the coop keeps and in the audit log,
 * written in the coop's default language ("Membre supprimé n°12"). It is stored as text, like
 * every name on an order, so it reads the same on every later list and export.
 */
export function replacementName(db: Db | Tx, accountId: number): string {
  const locale = getCoop(db)?.defaultLocale ?? 'fr';
  return translator(locale)('data.erased_name', { id: accountId });
}

/** What erasing an account would do, for the confirmation pages. */
export interface ErasurePreview {
  /** Placed orders in sales still open: they will be cancelled and their stock freed. */
  toCancel: Array<{ id: number; reference: string; cycleName: string }>;
  /** Every order of the account (cancelled ones included): the coop keeps them under the replaced name. */
  kept: number;
  /** Producers the account manages: they stay, without this account. */
  producers: string[];
  /** The only admin cannot be erased: another admin must exist first. */
  lastAdmin: boolean;
  /** The name the kept orders will show. */
  replacement: string;
}

/** True when the account holds the admin role and no other account does. */
export function isLastAdmin(db: Db | Tx, accountId: number): boolean {
  const admins = db.select({ accountId: accountRoles.accountId }).from(accountRoles).where(eq(accountRoles.role, 'admin')).all();
  return admins.length === 1 && admins[0]!.accountId === accountId;
}

/** What erasing the account would cancel, keep and leave, as of now. */
export function erasurePreview(db: Db | Tx, accountId: number, now = Date.now()): ErasurePreview {
  const { current, past } = listOrders(db, accountId, now);
  const managed = db
    .select({ name: producers.name })
    .from(producerAccounts)
    .innerJoin(producers, eq(producers.id, producerAccounts.producerId))
    .where(eq(producerAccounts.accountId, accountId))
    .orderBy(asc(producers.name))
    .all();
  const toCancel = current.filter((o) => o.status === 'placed');
  return {
    toCancel: toCancel.map((o) => ({ id: o.id, reference: o.reference, cycleName: o.cycleName })),
    kept: current.length + past.length,
    producers: managed.map((p) => p.name),
    lastAdmin: isLastAdmin(db, accountId),
    replacement: replacementName(db, accountId),
  };
}

export type EraseResult = { ok: true; cancelledOrders: number; keptOrders: number } | { ok: false; reason: 'not_found' | 'last_admin' };

// The cancellation emails that cancelOrder queues for the person are deleted with the rest of their
// mail before the transaction ends, so the links they would hold are never built for real.
const discardedMail = new Mailer('');

/**
 * Erases an account, inside the caller's immediate transaction (the route's, so that the audit
 * record of an admin's erasure is written with it). Placed orders in a sale still open are
 * cancelled exactly as the member would cancel them (their stock freed); every order stays for the
 * coop's accounts with `replacement` as its name. The emails to or about the person, the
 * invitations sent to their address or accepted by them and flash messages naming them are deleted, their name in the
 * audit log is replaced, then the account row goes, and with it (by foreign keys) their roles,
 * sessions, password resets, baskets and producer links. The last admin cannot be erased.
 */
export function eraseAccount(tx: Tx, accountId: number, replacement: string, now = Date.now()): EraseResult {
  const account = tx.select().from(accounts).where(eq(accounts.id, accountId)).get();
  if (!account) return { ok: false, reason: 'not_found' };
  if (isLastAdmin(tx, accountId)) return { ok: false, reason: 'last_admin' };

  // Cancelling is orders.ts's rule (open cycle only, stock freed with a guarded update); an order
  // whose sale has closed comes back 'cycle_closed' and is kept as it is. cancelOrder opens its
  // own transaction, which inside ours is a savepoint.
  let cancelledOrders = 0;
  let keptOrders = 0;
  const placed = tx.select({ id: orders.id }).from(orders).where(and(eq(orders.accountId, accountId), eq(orders.status, 'placed'))).all();
  for (const { id } of placed) {
    const result = cancelOrder(tx, discardedMail, accountId, id, now);
    if (result.ok && !result.alreadyCancelled) cancelledOrders++;
    else keptOrders++;
  }
  tx.update(orders).set({ memberName: replacement, updatedAt: now }).where(eq(orders.accountId, accountId)).run();

  const email = account.email.toLowerCase();
  const name = account.name;
  const quotedName = JSON.stringify(name);
  const htmlName = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  const has = (column: unknown, needle: string) => sql`instr(coalesce(${column}, ''), ${needle}) > 0`;
  const hasEmail = (column: unknown) => sql`instr(lower(coalesce(${column}, '')), ${email}) > 0`;
  // Every email's data carries its recipient's own name, so a name alone marks an email as being
  // about the person only when it is addressed to someone else (an admin told of their sign-up,
  // someone they invited). Rows from before emails were rendered at send time hold their bodies.
  const aboutThemByName = and(
    sql`coalesce(${outbox.toName}, '') <> ${name}`,
    or(
      has(outbox.payload, quotedName),
      and(isNull(outbox.payload), or(has(outbox.subject, name), has(outbox.textBody, name), has(outbox.htmlBody, name), has(outbox.htmlBody, htmlName))),
    ),
  );
  tx.delete(outbox)
    .where(
      or(
        sql`lower(${outbox.toAddress}) = ${email}`,
        // In the JSON data, as a whole value: "ana@x.fr" must not match "hana@x.fr".
        sql`instr(lower(coalesce(${outbox.payload}, '')), ${JSON.stringify(email)}) > 0`,
        hasEmail(outbox.subject),
        hasEmail(outbox.textBody),
        hasEmail(outbox.htmlBody),
        hasEmail(outbox.lastError),
        aboutThemByName,
        // Sent to them under their name at an address they have since changed. Waiting emails are
        // left: with the same name, one may be someone else's, still to be delivered.
        and(sql`${outbox.toName} = ${name}`, sql`${outbox.status} <> 'pending'`),
      ),
    )
    .run();
  // Sent to their address, or accepted by them at another one (the address stays in the row).
  tx.delete(producerInvitations)
    .where(or(sql`lower(${producerInvitations.email}) = ${email}`, eq(producerInvitations.acceptedBy, accountId)))
    .run();
  // An admin's unread "roles saved for …" message would keep the name in their session.
  tx.update(sessions)
    .set({ flash: null })
    .where(or(has(sessions.flash, quotedName), hasEmail(sessions.flash)))
    .run();
  forgetActor(tx, accountId, replacement);
  tx.delete(accounts).where(eq(accounts.id, accountId)).run();
  return { ok: true, cancelledOrders, keptOrders };
}

/**
 * A member's erasure of their own account, in one immediate transaction, recorded in the audit
 * log under the replaced name so that admins can see it happened (never who it was).
 */
export function eraseOwnAccount(db: Db, accountId: number, now = Date.now()): EraseResult {
  return db.transaction(
    (tx) => {
      const replacement = replacementName(tx, accountId);
      const result = eraseAccount(tx, accountId, replacement, now);
      if (result.ok) recordAudit(tx, { id: null, name: replacement }, 'account.erased', { type: 'account', id: accountId }, { self: true }, now);
      return result;
    },
    { behavior: 'immediate' },
  );
}

/**
 * An admin's erasure of an account on its owner's request, with its audit record, in one
 * immediate transaction.
 */
export function eraseAccountByAdmin(db: Db, actor: { id: number; name: string }, accountId: number, now = Date.now()): EraseResult {
  return db.transaction(
    (tx) => {
      const replacement = replacementName(tx, accountId);
      const result = eraseAccount(tx, accountId, replacement, now);
      // An admin erasing their own account is named in the log by the replaced name too.
      const by = actor.id === accountId ? { id: null, name: replacement } : actor;
      if (result.ok) recordAudit(tx, by, 'account.erased', { type: 'account', id: accountId }, {}, now);
      return result;
    },
    { behavior: 'immediate' },
  );
}

/** The export an admin downloads for a member, with its audit record, in one transaction. */
export function exportForAdmin(db: Db, actor: { id: number; name: string }, accountId: number, now = Date.now()): PersonalData | undefined {
  return db.transaction(
    (tx) => {
      const data = exportPersonalData(tx, accountId, now);
      if (data) recordAudit(tx, actor, 'account.exported', { type: 'account', id: accountId }, {}, now);
      return data;
    },
    { behavior: 'immediate' },
  );
}
