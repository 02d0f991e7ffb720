-- Emails are rendered when sent: the outbox keeps template, language and data; older rows keep their
-- rendered bodies. (drizzle-kit selected the new columns by name from the old table, which SQLite
-- would read as string literals; they are NULL for the rows copied.)
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`to_address` text NOT NULL,
	`to_name` text,
	`subject` text NOT NULL,
	`template` text,
	`locale` text,
	`payload` text,
	`text_body` text,
	`html_body` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	CONSTRAINT "outbox_status_check" CHECK("__new_outbox"."status" in ('pending', 'sent', 'failed')),
	CONSTRAINT "outbox_body_check" CHECK(("__new_outbox"."template" is not null and "__new_outbox"."locale" in ('fr', 'en') and "__new_outbox"."payload" is not null) or ("__new_outbox"."text_body" is not null and "__new_outbox"."html_body" is not null))
);
--> statement-breakpoint
INSERT INTO `__new_outbox`("id", "to_address", "to_name", "subject", "template", "locale", "payload", "text_body", "html_body", "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at") SELECT "id", "to_address", "to_name", "subject", NULL, NULL, NULL, "text_body", "html_body", "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at" FROM `outbox`;--> statement-breakpoint
DROP TABLE `outbox`;--> statement-breakpoint
ALTER TABLE `__new_outbox` RENAME TO `outbox`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `outbox_due_idx` ON `outbox` (`status`,`next_attempt_at`);