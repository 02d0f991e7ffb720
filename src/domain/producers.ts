import { and, asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { producerAccounts, producers } from '../db/schema/index.js';

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
