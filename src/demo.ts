import { eq } from 'drizzle-orm';
import type { Db } from './db/index.js';
import { accountRoles, accounts } from './db/schema/index.js';
import { setupCoop } from './domain/coop.js';
import { seedDemoCatalog, seedDemoOrders } from './demo-catalog.js';
import { hashPassword, type ScryptParams } from './domain/passwords.js';
import type { DemoAccount } from './plugins/context.js';
import { DEMO_PASSWORD } from './routes/auth/index.js';

const PEOPLE = [
  { email: 'admin@demo.carnet.coop', name: 'Camille Martin', roles: ['admin', 'member'], role: 'admin' },
  { email: 'producteur@demo.carnet.coop', name: 'Jean Dupuis', roles: ['producer'], role: 'producer' },
  { email: 'adherent@demo.carnet.coop', name: 'Léa Bernard', roles: ['member'], role: 'member' },
] as const;

/**
 * Fills an empty demo database with a coop, one account per role (all with the same password),
 * five producers with their catalog, two pickup points, an open cycle with offers, and members
 * with placed orders and baskets; returns the
 * accounts to show on the login page. Running it again changes nothing.
 */
export async function seedDemo(db: Db, scrypt: ScryptParams, now = Date.now()): Promise<DemoAccount[]> {
  const list = PEOPLE.map((p) => ({ email: p.email, role: p.role }));
  if (db.select().from(accounts).where(eq(accounts.email, PEOPLE[0].email)).get()) return list;
  const passwordHash = await hashPassword(DEMO_PASSWORD, scrypt);
  const admin = PEOPLE[0];
  setupCoop(db, {
    coopName: 'La Coop du Marais',
    contactEmail: 'contact@demo.carnet.coop',
    defaultLocale: 'fr',
    timeZone: 'Europe/Paris',
    adminName: admin.name,
    adminEmail: admin.email,
    adminLocale: 'fr',
    passwordHash,
  });
  const ids = db.transaction((tx) =>
    PEOPLE.slice(1).map((person) => {
      const { id } = tx
        .insert(accounts)
        .values({ email: person.email, name: person.name, passwordHash, locale: 'fr', status: 'active', createdAt: now, updatedAt: now })
        .returning({ id: accounts.id })
        .get();
      tx.insert(accountRoles).values(person.roles.map((role) => ({ accountId: id, role, grantedAt: now }))).run();
      return id;
    }),
  );
  seedDemoCatalog(db, ids[0]!, now);
  seedDemoOrders(db, passwordHash, ids[1]!, now);
  return list;
}
