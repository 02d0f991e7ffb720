import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/index.js';
import { distributions, pickupPoints } from '../db/schema/index.js';
import { recordAudit, type AuditActor } from './audit.js';
import { checkboxField, longTextField, nameField } from './fields.js';

export type PickupPoint = typeof pickupPoints.$inferSelect;

/** What the admin's pickup point form holds once validated. */
export const pickupPointSchema = z.object({
  name: nameField,
  address: longTextField(500).refine((v) => v.length > 0, 'error.required'),
  instructions: longTextField(2000),
  active: checkboxField,
});

export type PickupPointInput = z.output<typeof pickupPointSchema>;

/** A pickup point with how many distributions (of any cycle) use it. */
export interface PickupPointRow extends PickupPoint {
  distributionCount: number;
}

/** Every pickup point, active ones first, then by name. */
export function listPickupPoints(db: Db | Tx): PickupPointRow[] {
  return db
    .select({
      point: pickupPoints,
      // Written out in full: drizzle leaves column names unqualified here, and a bare "id" would be the distribution's.
      distributionCount: sql<number>`(select count(*) from "distributions" d where d."pickup_point_id" = "pickup_points"."id")`,
    })
    .from(pickupPoints)
    .orderBy(sql`${pickupPoints.active} desc`, sql`${pickupPoints.name} collate nocase`, asc(pickupPoints.id))
    .all()
    .map((r) => ({ ...r.point, distributionCount: r.distributionCount }));
}

/** The pickup point with this id, if any. */
export function findPickupPoint(db: Db | Tx, id: number): PickupPoint | undefined {
  return db.select().from(pickupPoints).where(eq(pickupPoints.id, id)).get();
}

/** How many distributions use a pickup point. */
export function countDistributionsAt(db: Db | Tx, pickupPointId: number): number {
  return db.select({ n: sql<number>`count(*)` }).from(distributions).where(eq(distributions.pickupPointId, pickupPointId)).get()!.n;
}

/** Creates a pickup point. With an actor (an admin), the creation is recorded in the audit log. */
export function createPickupPoint(db: Db, input: PickupPointInput, now = Date.now(), actor?: AuditActor): PickupPoint {
  return db.transaction(
    (tx) => {
      const point = tx
        .insert(pickupPoints)
        .values({ ...input, createdAt: now, updatedAt: now })
        .returning()
        .get();
      if (actor) recordAudit(tx, actor, 'pickup_point.created', { type: 'pickup_point', id: point.id }, {}, now);
      return point;
    },
    { behavior: 'immediate' },
  );
}

/**
 * Saves a pickup point (deactivating one keeps its past distributions); undefined when there is
 * none. With an actor (an admin), the change is recorded in the audit log.
 */
export function updatePickupPoint(db: Db, id: number, input: PickupPointInput, now = Date.now(), actor?: AuditActor): PickupPoint | undefined {
  return db.transaction(
    (tx) => {
      const point = tx
        .update(pickupPoints)
        .set({ ...input, updatedAt: now })
        .where(eq(pickupPoints.id, id))
        .returning()
        .get();
      if (point && actor) recordAudit(tx, actor, 'pickup_point.updated', { type: 'pickup_point', id }, {}, now);
      return point;
    },
    { behavior: 'immediate' },
  );
}

export type DeletePickupPointResult =
  | { ok: true; point: PickupPoint }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'in_use'; distributionCount: number };

/**
 * Deletes a pickup point that no distribution uses. One that has been used stays (its history
 * matters): deactivate it instead. With an actor (an admin), the deletion is recorded in the audit log.
 */
export function deletePickupPoint(db: Db, id: number, actor?: AuditActor): DeletePickupPointResult {
  return db.transaction(
    (tx) => {
      const point = findPickupPoint(tx, id);
      if (!point) return { ok: false, reason: 'not_found' } as const;
      const distributionCount = countDistributionsAt(tx, id);
      if (distributionCount > 0) return { ok: false, reason: 'in_use', distributionCount } as const;
      tx.delete(pickupPoints).where(eq(pickupPoints.id, id)).run();
      if (actor) recordAudit(tx, actor, 'pickup_point.deleted', { type: 'pickup_point', id });
      return { ok: true, point } as const;
    },
    { behavior: 'immediate' },
  );
}
