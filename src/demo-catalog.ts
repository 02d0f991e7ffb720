import { asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from './db/index.js';
import {
  accountRoles,
  accounts,
  basketItems,
  baskets,
  categories,
  cycles,
  distributions,
  offers,
  orders,
  outbox,
  pickupPoints,
  producerAccounts,
  producers,
  products,
  type SaleUnit,
} from './db/schema/index.js';
import { newOrderToken, placeOrder } from './domain/orders.js';
import { Mailer } from './mail/mailer.js';

interface DemoProduct {
  name: string;
  category: string;
  unit: SaleUnit;
  unitLabel?: string;
  euros: number;
  vat: number;
  /** grams per piece, for a weighed product (its price is then per kg) */
  weighed?: number;
  max?: number;
  /** units offered this week; undefined means unlimited */
  stock?: number;
  description?: string;
}

interface DemoProducer {
  name: string;
  description: string;
  contactName: string;
  email: string;
  phone: string;
  address: string;
  siret?: string;
  products: DemoProduct[];
}

/** Five local producers and about sixty products, for a demo that looks like a real week. */
const PRODUCERS: DemoProducer[] = [
  {
    name: 'Ferme des Quatre Vents',
    description: 'Maraîchage bio sur 3 hectares, en vente directe depuis 2009.',
    contactName: 'Jean Dupuis',
    email: 'ferme.quatrevents@demo.carnet.coop',
    phone: '06 12 34 56 78',
    address: 'Lieu-dit Les Quatre Vents, 79000 Niort',
    siret: '732 829 320 00074',
    products: [
      { name: 'Carottes', category: 'Légumes', unit: 'kg', euros: 2.4, vat: 550, stock: 40 },
      { name: 'Poireaux', category: 'Légumes', unit: 'bunch', euros: 2.8, vat: 550, stock: 30 },
      { name: 'Pommes de terre', category: 'Légumes', unit: 'kg', euros: 1.9, vat: 550, stock: 80 },
      { name: 'Courge butternut', category: 'Légumes', unit: 'piece', euros: 3.2, vat: 550, stock: 20 },
      { name: 'Salade batavia', category: 'Légumes', unit: 'piece', euros: 1.3, vat: 550, stock: 25 },
      { name: 'Oignons jaunes', category: 'Légumes', unit: 'kg', euros: 2.6, vat: 550, stock: 30 },
      { name: 'Betteraves cuites', category: 'Légumes', unit: 'g500', euros: 2.5, vat: 550, stock: 15 },
      { name: 'Chou kale', category: 'Légumes', unit: 'bunch', euros: 2.9, vat: 550, stock: 12 },
      { name: 'Céleri-rave', category: 'Légumes', unit: 'piece', euros: 2.7, vat: 550, stock: 10 },
      { name: 'Panier de légumes de saison', category: 'Légumes', unit: 'box', euros: 15, vat: 550, stock: 20, max: 2, description: 'Environ 4 kg de légumes selon la récolte de la semaine.' },
      { name: 'Ail', category: 'Légumes', unit: 'custom', unitLabel: 'tresse', euros: 6, vat: 550, stock: 8 },
      { name: 'Plants de tomates', category: 'Plantes et fleurs', unit: 'piece', euros: 2.5, vat: 1000, stock: 30 },
    ],
  },
  {
    name: 'Chèvrerie du Marais',
    description: 'Fromages de chèvre au lait cru, troupeau de 60 chèvres poitevines.',
    contactName: 'Claire Moreau',
    email: 'chevrerie@demo.carnet.coop',
    phone: '06 98 76 54 32',
    address: '12 chemin des Conches, 79510 Coulon',
    products: [
      { name: 'Crottin frais', category: 'Produits laitiers', unit: 'piece', euros: 2.2, vat: 550, stock: 60 },
      { name: 'Crottin affiné', category: 'Produits laitiers', unit: 'piece', euros: 2.6, vat: 550, stock: 40 },
      { name: 'Bûche cendrée', category: 'Produits laitiers', unit: 'piece', euros: 6.5, vat: 550, stock: 15 },
      { name: 'Faisselle', category: 'Produits laitiers', unit: 'jar', euros: 3.1, vat: 550, stock: 20 },
      { name: 'Yaourts au lait de chèvre (x4)', category: 'Produits laitiers', unit: 'box', euros: 4.2, vat: 550, stock: 25 },
      { name: 'Tomme de chèvre', category: 'Produits laitiers', unit: 'kg', euros: 28, vat: 550, weighed: 400, stock: 12, description: 'Vendue à la part, environ 400 g.' },
      { name: 'Lait de chèvre cru', category: 'Produits laitiers', unit: 'litre', euros: 2.4, vat: 550, stock: 20 },
      { name: 'Chabichou', category: 'Produits laitiers', unit: 'piece', euros: 4.8, vat: 550, stock: 18 },
      { name: 'Savon au lait de chèvre', category: 'Hygiène et entretien', unit: 'piece', euros: 5.5, vat: 2000 },
      { name: 'Confiture de lait', category: 'Épicerie', unit: 'jar', euros: 5.9, vat: 550, stock: 10 },
      { name: 'Fromage blanc', category: 'Produits laitiers', unit: 'jar', euros: 3.5, vat: 550, stock: 15 },
    ],
  },
  {
    name: 'Volailles Bernard',
    description: 'Poulets et œufs de plein air, élevés 110 jours minimum.',
    contactName: 'Thomas Bernard',
    email: 'volailles.bernard@demo.carnet.coop',
    phone: '05 49 00 11 22',
    address: 'La Grande Métairie, 79230 Prahecq',
    siret: '552 100 554 00025',
    products: [
      { name: 'Poulet fermier entier', category: 'Volaille', unit: 'kg', euros: 11.5, vat: 550, weighed: 1800, stock: 20, max: 3, description: 'Poulet prêt à cuire, environ 1,8 kg.' },
      { name: 'Pintade', category: 'Volaille', unit: 'kg', euros: 14, vat: 550, weighed: 1400, stock: 8 },
      { name: 'Cuisses de poulet (x2)', category: 'Volaille', unit: 'box', euros: 7.9, vat: 550, stock: 15 },
      { name: 'Filets de poulet', category: 'Volaille', unit: 'kg', euros: 22, vat: 550, weighed: 400, stock: 10 },
      { name: 'Œufs frais (x6)', category: 'Œufs', unit: 'box', euros: 2.9, vat: 550, stock: 80, max: 4 },
      { name: 'Œufs frais (x12)', category: 'Œufs', unit: 'box', euros: 5.5, vat: 550, stock: 40, max: 2 },
      { name: 'Terrine de volaille', category: 'Épicerie', unit: 'jar', euros: 6.2, vat: 550, stock: 12 },
      { name: 'Bouillon de volaille', category: 'Épicerie', unit: 'jar', euros: 4.5, vat: 550 },
      { name: 'Canard entier', category: 'Volaille', unit: 'kg', euros: 15.5, vat: 550, weighed: 2500, stock: 5 },
      { name: 'Rillettes de poulet', category: 'Épicerie', unit: 'jar', euros: 5.8, vat: 550, stock: 14 },
      { name: 'Poule au pot', category: 'Volaille', unit: 'kg', euros: 9, vat: 550, weighed: 2000, stock: 4 },
      { name: 'Foies de volaille', category: 'Volaille', unit: 'g500', euros: 4.9, vat: 550, stock: 6 },
    ],
  },
  {
    name: 'Fournil de la Sèvre',
    description: 'Pains au levain cuits au feu de bois, farines de blés anciens du Poitou.',
    contactName: 'Inès Girard',
    email: 'fournil@demo.carnet.coop',
    phone: '06 55 44 33 22',
    address: '3 place de l’Église, 79460 Magné',
    products: [
      { name: 'Pain de campagne 1 kg', category: 'Pain et boulangerie', unit: 'piece', euros: 5.8, vat: 550, stock: 40 },
      { name: 'Pain de campagne 500 g', category: 'Pain et boulangerie', unit: 'piece', euros: 3.2, vat: 550, stock: 40 },
      { name: 'Pain complet', category: 'Pain et boulangerie', unit: 'piece', euros: 4.5, vat: 550, stock: 25 },
      { name: 'Pain aux graines', category: 'Pain et boulangerie', unit: 'piece', euros: 5.2, vat: 550, stock: 20 },
      { name: 'Pain de seigle', category: 'Pain et boulangerie', unit: 'piece', euros: 4.8, vat: 550, stock: 15 },
      { name: 'Brioche', category: 'Pain et boulangerie', unit: 'piece', euros: 7.5, vat: 550, stock: 12 },
      { name: 'Farine T80 (1 kg)', category: 'Épicerie', unit: 'piece', euros: 2.9, vat: 550 },
      { name: 'Sablés au beurre', category: 'Épicerie', unit: 'box', euros: 4.9, vat: 550, stock: 20 },
      { name: 'Tourteau fromager', category: 'Pain et boulangerie', unit: 'piece', euros: 9.5, vat: 550, stock: 6, description: 'La spécialité poitevine, au fromage de chèvre.' },
      { name: 'Fouace', category: 'Pain et boulangerie', unit: 'piece', euros: 6, vat: 550, stock: 10 },
      { name: 'Pain d’épices', category: 'Pain et boulangerie', unit: 'piece', euros: 6.8, vat: 550, stock: 10 },
    ],
  },
  {
    name: 'Rucher et Verger Lambert',
    description: 'Miel, jus et cidre de nos vergers de hautes tiges.',
    contactName: 'Paul Lambert',
    email: 'rucher.lambert@demo.carnet.coop',
    phone: '06 77 88 99 00',
    address: 'Route de Benet, 79510 Coulon',
    products: [
      { name: 'Miel de fleurs 500 g', category: 'Miel et confitures', unit: 'jar', euros: 8.5, vat: 550, stock: 30 },
      { name: 'Miel d’acacia 500 g', category: 'Miel et confitures', unit: 'jar', euros: 10.5, vat: 550, stock: 20 },
      { name: 'Miel de châtaignier 250 g', category: 'Miel et confitures', unit: 'jar', euros: 6.5, vat: 550, stock: 15 },
      { name: 'Confiture de prunes', category: 'Miel et confitures', unit: 'jar', euros: 4.9, vat: 550, stock: 20 },
      { name: 'Gelée de coings', category: 'Miel et confitures', unit: 'jar', euros: 5.2, vat: 550, stock: 12 },
      { name: 'Pommes à croquer', category: 'Fruits', unit: 'kg', euros: 2.8, vat: 550, stock: 60 },
      { name: 'Poires conférence', category: 'Fruits', unit: 'kg', euros: 3.4, vat: 550, stock: 30 },
      { name: 'Coings', category: 'Fruits', unit: 'kg', euros: 3, vat: 550, stock: 10 },
      { name: 'Jus de pomme 1 L', category: 'Boissons', unit: 'bottle', euros: 3.6, vat: 550, stock: 50 },
      { name: 'Cidre brut 75 cl', category: 'Boissons', unit: 'bottle', euros: 5.9, vat: 2000, stock: 30 },
      { name: 'Vinaigre de cidre', category: 'Épicerie', unit: 'bottle', euros: 4.2, vat: 550 },
      { name: 'Bougie en cire d’abeille', category: 'Hygiène et entretien', unit: 'piece', euros: 7, vat: 2000, stock: 10 },
      { name: 'Pain d’épices au miel', category: 'Épicerie', unit: 'piece', euros: 7.2, vat: 550, stock: 8 },
    ],
  },
];

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * Adds the demo's producers, catalog, pickup points and an open cycle with offers. The demo
 * producer account manages the first farm. Runs once, on an empty catalog.
 */
export function seedDemoCatalog(db: Db, producerAccountId: number, now = Date.now()): void {
  if (db.select({ id: producers.id }).from(producers).limit(1).get()) return;
  db.transaction((tx) => {
    const categoryIds = new Map(tx.select().from(categories).all().map((c) => [c.nameFr, c.id]));
    const pointIds = [
      { name: 'Épicerie La Cagette', address: '8 rue Thiers, 79000 Niort', instructions: 'Entrée par la cour, à gauche. Sonnez si la porte est fermée.' },
      { name: 'Salle des fêtes de Coulon', address: 'Place de la Coutume, 79510 Coulon', instructions: 'Parking derrière la salle. Accès de plain-pied.' },
    ].map((p) => tx.insert(pickupPoints).values({ ...p, createdAt: now, updatedAt: now }).returning({ id: pickupPoints.id }).get().id);

    // The demo's cycle opened yesterday and closes in three days; pickup is the day after.
    const midnight = new Date(now);
    midnight.setUTCHours(0, 0, 0, 0);
    const opensAt = midnight.getTime() - DAY + 8 * HOUR;
    const closesAt = midnight.getTime() + 3 * DAY + 20 * HOUR;
    const cycleId = tx
      .insert(cycles)
      .values({ name: 'Vente de la semaine', opensAt, closesAt, status: 'open', scheduledNoticeAt: opensAt - 3 * DAY, createdAt: now - 7 * DAY, updatedAt: now })
      .returning({ id: cycles.id })
      .get().id;
    tx.insert(distributions)
      .values([
        { cycleId, pickupPointId: pointIds[0]!, startsAt: closesAt + 21 * HOUR, endsAt: closesAt + 23 * HOUR },
        { cycleId, pickupPointId: pointIds[1]!, startsAt: closesAt + 22 * HOUR, endsAt: closesAt + 24 * HOUR },
      ])
      .run();

    PRODUCERS.forEach((p, index) => {
      const producerId = tx
        .insert(producers)
        .values({
          name: p.name,
          description: p.description,
          contactName: p.contactName,
          email: p.email,
          phone: p.phone,
          address: p.address,
          siret: p.siret?.replace(/\s/g, '') ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .returning({ id: producers.id })
        .get().id;
      if (index === 0) tx.insert(producerAccounts).values({ producerId, accountId: producerAccountId, createdAt: now }).run();
      for (const item of p.products) {
        const priceCents = Math.round(item.euros * 100);
        const productId = tx
          .insert(products)
          .values({
            producerId,
            name: item.name,
            description: item.description ?? '',
            categoryId: categoryIds.get(item.category) ?? null,
            unit: item.weighed ? 'piece' : item.unit,
            unitLabel: item.unitLabel ?? null,
            priceCents,
            vatRateBp: item.vat,
            maxPerOrder: item.max ?? null,
            weighed: item.weighed !== undefined,
            estimatedWeightGrams: item.weighed ?? null,
            createdAt: now,
            updatedAt: now,
          })
          .returning({ id: products.id })
          .get().id;
        tx.insert(offers)
          .values({ cycleId, productId, producerId, quantityAvailable: item.stock ?? null, priceCents, createdAt: now, updatedAt: now })
          .run();
      }
    });
  });
}

const MEMBERS = [
  'Nadia Benali', 'Hugo Lefèvre', 'Maëlle Roux', 'Karim Haddad', 'Sophie Chevalier', 'Lucas Fontaine',
  'Élodie Garnier', 'Bastien Morel', 'Aïcha Diallo', 'Romain Perrin', 'Chloé Marchand', 'Yann Le Goff',
];

/**
 * Gives the demo's open cycle a life: twelve members with placed orders (through the real
 * placeOrder, so stock is taken exactly as in production) and a few baskets not yet placed,
 * including one for the demo member. Their confirmation emails are marked sent, so the demo does
 * not write a dozen email files on its first start.
 */
export function seedDemoOrders(db: Db, passwordHash: string, demoMemberId: number, now = Date.now()): void {
  const cycle = db.select().from(cycles).where(eq(cycles.status, 'open')).get();
  if (!cycle || db.select({ id: orders.id }).from(orders).limit(1).get()) return;
  const mailer = new Mailer('http://localhost:3000');
  const offerIds = db.select({ id: offers.id }).from(offers).where(eq(offers.cycleId, cycle.id)).orderBy(asc(offers.id)).all().map((o) => o.id);
  const distributionIds = db.select({ id: distributions.id }).from(distributions).where(eq(distributions.cycleId, cycle.id)).all().map((d) => d.id);
  const outboxBefore = db.select({ n: sql<number>`coalesce(max(${outbox.id}), 0)` }).from(outbox).get()!.n;
  // A small deterministic generator: the same demo every time.
  let seed = 42;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const fillBasket = (accountId: number, lines: number) => {
    const distributionId = distributionIds[next(distributionIds.length)]!;
    db.insert(baskets).values({ accountId, cycleId: cycle.id, distributionId, updatedAt: now }).onConflictDoNothing().run();
    const chosen = new Set<number>();
    while (chosen.size < lines) chosen.add(offerIds[next(offerIds.length)]!);
    for (const offerId of chosen) {
      db.insert(basketItems).values({ accountId, cycleId: cycle.id, offerId, quantity: 1 + next(2), updatedAt: now }).run();
    }
    return distributionId;
  };
  MEMBERS.forEach((name, i) => {
    const email = name.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z]+/g, '.') + '@demo.carnet.coop';
    const { id } = db
      .insert(accounts)
      .values({ email, name, passwordHash, locale: i % 4 === 3 ? 'en' : 'fr', status: 'active', createdAt: now - 30 * DAY, updatedAt: now })
      .returning({ id: accounts.id })
      .get();
    db.insert(accountRoles).values({ accountId: id, role: 'member', grantedAt: now }).run();
    const distributionId = fillBasket(id, 2 + next(5));
    // Most members have placed their order; the last three have only filled a basket.
    if (i < MEMBERS.length - 3) placeOrder(db, mailer, { accountId: id, cycleId: cycle.id, distributionId, token: newOrderToken() }, now - next(48) * HOUR);
  });
  const distributionId = fillBasket(demoMemberId, 3);
  placeOrder(db, mailer, { accountId: demoMemberId, cycleId: cycle.id, distributionId, token: newOrderToken() }, now - 2 * HOUR);
  fillBasket(demoMemberId, 1);
  db.update(outbox).set({ status: 'sent', sentAt: now }).where(gt(outbox.id, outboxBefore)).run();
}
