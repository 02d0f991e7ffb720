import type { Db } from '../../src/db/index.js';
import { producerAccounts, producers } from '../../src/db/schema/index.js';
import { parseDateTimeLocal, toDateInput } from '../../src/domain/time.js';
import { createAccount, PASSWORD, seedCoop } from '../helper.js';

/*
 * Set-up for the producers browser test: a coop with its admin (made directly, setup has its own
 * browser test), a second producer with its account (producer A is created and invited through
 * the pages), the dates of a cycle, a catalog CSV as a spreadsheet saves it, and the stored offers.
 */

export const ZONE = 'Europe/Paris';
export const ADMIN = { name: 'Ada Admin', email: 'admin@carnet.test', password: PASSWORD };
export const PRODUCER_A = { farm: 'Ferme des Alouettes', name: 'Paul Potager', email: 'paul@alouettes.test', password: 'des carottes toute l’année' };
export const PRODUCER_B = { farm: 'Rucher de Béa', name: 'Béa Abeille', email: 'bea@rucher.test', password: PASSWORD };

/** The coop, its admin, and producer B managed by its own account; returns producer B's id. */
export async function seedWorld(db: Db): Promise<{ producerB: number }> {
  await seedCoop(db);
  const accountId = await createAccount(db, { email: PRODUCER_B.email, name: PRODUCER_B.name, roles: ['producer', 'member'] });
  const now = Date.now();
  const { id } = db.insert(producers).values({ name: PRODUCER_B.farm, createdAt: now, updatedAt: now }).returning({ id: producers.id }).get();
  db.insert(producerAccounts).values({ producerId: id, accountId, createdAt: now }).run();
  return { producerB: id };
}

const DAY = 24 * 3_600_000;

export interface CycleForm {
  name: string;
  opensAt: string;
  closesAt: string;
  distributions: Array<{ date: string; start: string; end: string }>;
  /** The instants the form's values stand for, in the coop's time zone. */
  opensAtMs: number;
  closesAtMs: number;
}

/** A cycle opening in five days at 08:00 and closing two days later; distributions the day after. */
export function cycleForm(name: string, now = Date.now()): CycleForm {
  const day = (days: number) => toDateInput(now + days * DAY, ZONE);
  const opensAt = `${day(5)}T08:00`;
  const closesAt = `${day(7)}T20:00`;
  const ms = (v: string) => {
    const parsed = parseDateTimeLocal(v, ZONE);
    if (!parsed.ok) throw new Error('bad date ' + v);
    return parsed.ms;
  };
  return {
    name,
    opensAt,
    closesAt,
    distributions: [
      { date: day(8), start: '17:00', end: '19:00' },
      { date: day(8), start: '18:00', end: '19:30' },
    ],
    opensAtMs: ms(opensAt),
    closesAtMs: ms(closesAt),
  };
}

/** Producer B's catalog as a French spreadsheet saves it: UTF-8 with a BOM, semicolons, decimal commas. */
export const CSV_PRODUCTS = [
  { name: 'Miel de printemps', category: 'Miel et confitures', unit: 'pot', price: '8,50', cents: 850, vat: '5,5' },
  { name: 'Pain d’épices', category: 'Épicerie', unit: 'pièce', price: '2,50', cents: 250, vat: '5,5' },
  { name: 'Hydromel; cuvée "Béa"', category: 'Boissons', unit: 'bouteille', price: '12', cents: 1200, vat: '20' },
];

/** The CSV file of CSV_PRODUCTS (a quoted cell holds the separator and quotes). */
export function catalogCsv(): Buffer {
  const cell = (v: string) => (/[;"\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = ['name;category;unit;price;vat_rate', ...CSV_PRODUCTS.map((p) => [p.name, p.category, p.unit, p.price, p.vat].map(cell).join(';'))];
  return Buffer.from('\ufeff' + lines.join('\r\n') + '\r\n', 'utf8');
}

export interface StoredOffer {
  published: boolean;
  quantityAvailable: number | null;
  quantityTaken: number;
  priceCents: number;
}

/** A producer's offers in a cycle, by product name. */
export function storedOffers(db: Db, cycleId: number, producerId: number): Record<string, StoredOffer> {
  const rows = db.$client
    .prepare(
      `select p.name, o.published, o.quantity_available, o.quantity_taken, o.price_cents
       from offers o join products p on p.id = o.product_id
       where o.cycle_id = ? and o.producer_id = ? order by p.name`,
    )
    .all(cycleId, producerId) as Array<{ name: string; published: number; quantity_available: number | null; quantity_taken: number; price_cents: number }>;
  return Object.fromEntries(
    rows.map((r) => [r.name, { published: r.published === 1, quantityAvailable: r.quantity_available, quantityTaken: r.quantity_taken, priceCents: r.price_cents }]),
  );
}

/** A producer's products as stored, by name. */
export function storedProducts(db: Db, producerId: number): Record<string, { id: number; priceCents: number; unit: string; weighed: boolean; estimatedWeightGrams: number | null; vatRateBp: number; category: string | null }> {
  const rows = db.$client
    .prepare(
      `select p.id, p.name, p.price_cents, p.unit, p.weighed, p.estimated_weight_grams, p.vat_rate_bp, c.name_fr as category
       from products p left join categories c on c.id = p.category_id where p.producer_id = ?`,
    )
    .all(producerId) as Array<{ id: number; name: string; price_cents: number; unit: string; weighed: number; estimated_weight_grams: number | null; vat_rate_bp: number; category: string | null }>;
  return Object.fromEntries(
    rows.map((r) => [
      r.name,
      { id: r.id, priceCents: r.price_cents, unit: r.unit, weighed: r.weighed === 1, estimatedWeightGrams: r.estimated_weight_grams, vatRateBp: r.vat_rate_bp, category: r.category },
    ]),
  );
}
