import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { accounts } from './accounts.js';

/**
 * What admins did, for other admins to read: who (the account, and its name at the time), what
 * (an action name and the id of what it acted on), when. Details hold ids and settings only, never
 * someone's name, email or phone, so that erasing a person leaves no trace here: their id is set
 * to null by the foreign key and the actor's name is replaced.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    at: integer().notNull(),
    actorId: integer().references(() => accounts.id, { onDelete: 'set null' }),
    actorName: text().notNull(),
    // e.g. account.role_granted, coop.settings_changed, backup.downloaded (see src/domain/audit.ts)
    action: text().notNull(),
    // what the action was about: a table name and a row id, when there is one
    subjectType: text(),
    subjectId: integer(),
    // JSON object of non-personal details (role names, setting names, file names)
    details: text().notNull().default('{}'),
  },
  (t) => [index('audit_log_at_idx').on(t.at), check('audit_log_details_json', sql`json_valid(${t.details})`)],
);
