CREATE TABLE `producer_accounts` (
	`producer_id` integer NOT NULL,
	`account_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`producer_id`, `account_id`),
	FOREIGN KEY (`producer_id`) REFERENCES `producers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `producer_accounts_account_idx` ON `producer_accounts` (`account_id`);--> statement-breakpoint
CREATE TABLE `producer_invitations` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`producer_id` integer NOT NULL,
	`email` text NOT NULL,
	`invited_by` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`accepted_at` integer,
	`accepted_by` integer,
	FOREIGN KEY (`producer_id`) REFERENCES `producers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`invited_by`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`accepted_by`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `producer_invitations_producer_idx` ON `producer_invitations` (`producer_id`);--> statement-breakpoint
CREATE TABLE `producers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`contact_name` text,
	`email` text,
	`phone` text,
	`address` text DEFAULT '' NOT NULL,
	`siret` text,
	`vat_number` text,
	`active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `producers_name_idx` ON `producers` (`name`);--> statement-breakpoint
CREATE TABLE `categories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name_fr` text NOT NULL,
	`name_en` text NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	`active` integer DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE `products` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`producer_id` integer NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`category_id` integer,
	`unit` text NOT NULL,
	`unit_label` text,
	`price_cents` integer NOT NULL,
	`vat_rate_bp` integer NOT NULL,
	`max_per_order` integer,
	`weighed` integer DEFAULT false NOT NULL,
	`estimated_weight_grams` integer,
	`active` integer DEFAULT true NOT NULL,
	`photo` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`producer_id`) REFERENCES `producers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "products_price_check" CHECK("products"."price_cents" > 0),
	CONSTRAINT "products_max_check" CHECK("products"."max_per_order" is null or "products"."max_per_order" > 0),
	CONSTRAINT "products_weight_check" CHECK("products"."weighed" = 0 or "products"."estimated_weight_grams" > 0)
);
--> statement-breakpoint
CREATE INDEX `products_producer_idx` ON `products` (`producer_id`,`active`,`name`);--> statement-breakpoint
CREATE TABLE `vat_rates` (
	`rate_bp` integer PRIMARY KEY NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	CONSTRAINT "vat_rates_range" CHECK("vat_rates"."rate_bp" between 0 and 10000)
);
--> statement-breakpoint
CREATE TABLE `cycles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`opens_at` integer NOT NULL,
	`closes_at` integer NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`scheduled_notice_at` integer,
	`producer_reminder_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "cycles_order_check" CHECK("cycles"."closes_at" > "cycles"."opens_at"),
	CONSTRAINT "cycles_status_check" CHECK("cycles"."status" in ('draft', 'scheduled', 'open', 'closed', 'done'))
);
--> statement-breakpoint
CREATE INDEX `cycles_status_idx` ON `cycles` (`status`,`opens_at`);--> statement-breakpoint
CREATE TABLE `distributions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`cycle_id` integer NOT NULL,
	`pickup_point_id` integer NOT NULL,
	`starts_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	FOREIGN KEY (`cycle_id`) REFERENCES `cycles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`pickup_point_id`) REFERENCES `pickup_points`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "distributions_window_check" CHECK("distributions"."ends_at" > "distributions"."starts_at")
);
--> statement-breakpoint
CREATE INDEX `distributions_cycle_idx` ON `distributions` (`cycle_id`,`starts_at`);--> statement-breakpoint
CREATE TABLE `offers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`cycle_id` integer NOT NULL,
	`product_id` integer NOT NULL,
	`producer_id` integer NOT NULL,
	`published` integer DEFAULT true NOT NULL,
	`quantity_available` integer,
	`quantity_taken` integer DEFAULT 0 NOT NULL,
	`price_cents` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`cycle_id`) REFERENCES `cycles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`producer_id`) REFERENCES `producers`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "offers_price_check" CHECK("offers"."price_cents" > 0),
	CONSTRAINT "offers_stock_check" CHECK("offers"."quantity_taken" >= 0 and ("offers"."quantity_available" is null or "offers"."quantity_taken" <= "offers"."quantity_available"))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `offers_cycle_product_unique` ON `offers` (`cycle_id`,`product_id`);--> statement-breakpoint
CREATE INDEX `offers_cycle_producer_idx` ON `offers` (`cycle_id`,`producer_id`);--> statement-breakpoint
CREATE TABLE `pickup_points` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`address` text NOT NULL,
	`instructions` text DEFAULT '' NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `coop` ADD `producer_reminder_hours` integer DEFAULT 48 NOT NULL;