import { eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { perConnection } from '../db/prepared.js';
import { accountRoles, accounts, categories, coop, vatRates } from '../db/schema/index.js';
import type { Locale } from '../i18n/index.js';
import { recordAudit, type AuditActor } from './audit.js';

export type Coop = typeof coop.$inferSelect;

/** The coop row, or undefined before first-run setup. */
export function getCoop(db: Db | Tx): Coop | undefined {
  return perConnection(db, coopStatement).get();
}

/** The coop row's query, prepared once per connection (read on every page and email). */
function coopStatement(db: Db | Tx) {
  return db.select().from(coop).where(eq(coop.id, 1)).prepare();
}

/** True once some account holds the admin role; until then Carnet shows the setup page. */
export function hasAdmin(db: Db | Tx): boolean {
  return db.select({ one: sql<number>`1` }).from(accountRoles).where(eq(accountRoles.role, 'admin')).limit(1).get() !== undefined;
}

/** What first-run setup asks for. */
export interface SetupInput {
  coopName: string;
  contactEmail: string;
  defaultLocale: Locale;
  timeZone: string;
  adminName: string;
  adminEmail: string;
  passwordHash: string;
  adminLocale: Locale;
}

export type SetupResult = { ok: true; accountId: number } | { ok: false; reason: 'already_set_up' | 'email_taken' };

/**
 * Creates the coop and its first admin (who is also a member) in one transaction. Refused once an
 * admin exists, so the setup page cannot be replayed to take over an instance.
 */
export function setupCoop(db: Db, input: SetupInput, now = Date.now()): SetupResult {
  return db.transaction(
    (tx) => {
      if (hasAdmin(tx)) return { ok: false, reason: 'already_set_up' } as const;
      // Checked before any write: a refused setup must leave no coop row behind.
      if (tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, input.adminEmail)).get()) {
        return { ok: false, reason: 'email_taken' } as const;
      }
      const values = {
        name: input.coopName,
        contactEmail: input.contactEmail,
        defaultLocale: input.defaultLocale,
        currency: 'EUR',
        timeZone: input.timeZone,
        updatedAt: now,
      };
      tx.insert(coop).values({ id: 1, createdAt: now, ...values }).onConflictDoUpdate({ target: coop.id, set: values }).run();
      const accountId = tx
        .insert(accounts)
        .values({
          email: input.adminEmail,
          name: input.adminName,
          passwordHash: input.passwordHash,
          locale: input.adminLocale,
          status: 'active',
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: accounts.id })
        .get().id;
      tx.insert(accountRoles)
        .values([
          { accountId, role: 'admin', grantedAt: now },
          { accountId, role: 'member', grantedAt: now },
        ])
        .run();
      seedCatalogDefaults(tx);
      return { ok: true, accountId } as const;
    },
    { behavior: 'immediate' },
  );
}

/** Categories a French short-circuit coop usually starts with; admins edit the list later. */
export const DEFAULT_CATEGORIES: ReadonlyArray<{ fr: string; en: string }> = [
  { fr: 'Légumes', en: 'Vegetables' },
  { fr: 'Fruits', en: 'Fruit' },
  { fr: 'Produits laitiers', en: 'Dairy' },
  { fr: 'Œufs', en: 'Eggs' },
  { fr: 'Viande', en: 'Meat' },
  { fr: 'Volaille', en: 'Poultry' },
  { fr: 'Poisson', en: 'Fish' },
  { fr: 'Pain et boulangerie', en: 'Bread and bakery' },
  { fr: 'Épicerie', en: 'Pantry' },
  { fr: 'Miel et confitures', en: 'Honey and jams' },
  { fr: 'Boissons', en: 'Drinks' },
  { fr: 'Plantes et fleurs', en: 'Plants and flowers' },
  { fr: 'Hygiène et entretien', en: 'Household' },
];

/** French VAT rates in basis points: 0 %, 2.1 %, 5.5 % (most food), 10 %, 20 %. */
export const DEFAULT_VAT_RATES_BP: readonly number[] = [0, 210, 550, 1000, 2000];

/** Fills empty category and VAT lists with the defaults (first-run setup). */
export function seedCatalogDefaults(db: Db | Tx): void {
  if (!db.select({ id: categories.id }).from(categories).limit(1).get()) {
    db.insert(categories)
      .values(DEFAULT_CATEGORIES.map((c, i) => ({ nameFr: c.fr, nameEn: c.en, position: (i + 1) * 10 })))
      .run();
  }
  if (!db.select({ rateBp: vatRates.rateBp }).from(vatRates).limit(1).get()) {
    db.insert(vatRates)
      .values(DEFAULT_VAT_RATES_BP.map((rateBp) => ({ rateBp })))
      .run();
  }
}

/** The settings an admin can change after setup. */
export interface CoopSettings {
  name: string;
  contactEmail: string;
  defaultLocale: Locale;
  timeZone: string;
  requireApproval: boolean;
  producerReminderHours?: number;
  /** Visitors may browse the shop without an account. */
  allowAnonymousBrowsing?: boolean;
  closingReminderHours?: number;
  /** Comma-separated among cash, cheque, transfer, card. */
  paymentMethods?: string;
  bankDetails?: string;
  /** Who runs this Carnet (legal name, address), shown on the privacy page. */
  legalNotice?: string;
}

/** The longest legal notice the settings accept. */
export const LEGAL_NOTICE_MAX = 2000;

/**
 * Saves the coop settings and returns the names of those that changed. With an actor (an admin in
 * the settings form), the change is recorded in the audit log in the same transaction, by setting
 * name only: values such as the contact email stay out of the log.
 */
export function updateCoopSettings(db: Db, settings: CoopSettings, now = Date.now(), actor?: AuditActor): string[] {
  return db.transaction(
    (tx) => {
      const before = getCoop(tx);
      const changed = (Object.keys(settings) as Array<keyof CoopSettings>).filter((k) => settings[k] !== undefined && before?.[k] !== settings[k]);
      tx.update(coop).set({ ...settings, updatedAt: now }).where(eq(coop.id, 1)).run();
      if (actor && changed.length) recordAudit(tx, actor, 'coop.settings_changed', { type: 'coop', id: 1 }, { settings: changed }, now);
      return changed;
    },
    { behavior: 'immediate' },
  );
}
