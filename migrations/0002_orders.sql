CREATE TABLE `basket_items` (
	`account_id` integer NOT NULL,
	`cycle_id` integer NOT NULL,
	`offer_id` integer NOT NULL,
	`quantity` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `offer_id`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cycle_id`) REFERENCES `cycles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`offer_id`) REFERENCES `offers`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "basket_items_quantity_check" CHECK("basket_items"."quantity" > 0)
);
--> statement-breakpoint
CREATE INDEX `basket_items_cycle_idx` ON `basket_items` (`account_id`,`cycle_id`);--> statement-breakpoint
CREATE TABLE `baskets` (
	`account_id` integer NOT NULL,
	`cycle_id` integer NOT NULL,
	`distribution_id` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `cycle_id`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cycle_id`) REFERENCES `cycles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`distribution_id`) REFERENCES `distributions`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `order_lines` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`order_id` integer NOT NULL,
	`offer_id` integer NOT NULL,
	`product_id` integer NOT NULL,
	`producer_id` integer NOT NULL,
	`product_name` text NOT NULL,
	`producer_name` text NOT NULL,
	`unit_label` text NOT NULL,
	`quantity` integer NOT NULL,
	`unit_price_cents` integer NOT NULL,
	`vat_rate_bp` integer NOT NULL,
	`weighed` integer DEFAULT false NOT NULL,
	`estimated_weight_grams` integer,
	`line_total_cents` integer NOT NULL,
	FOREIGN KEY (`order_id`) REFERENCES `orders`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`offer_id`) REFERENCES `offers`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`producer_id`) REFERENCES `producers`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "order_lines_quantity_check" CHECK("order_lines"."quantity" > 0),
	CONSTRAINT "order_lines_price_check" CHECK("order_lines"."unit_price_cents" > 0 and "order_lines"."line_total_cents" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `order_lines_order_offer_unique` ON `order_lines` (`order_id`,`offer_id`);--> statement-breakpoint
CREATE INDEX `order_lines_offer_idx` ON `order_lines` (`offer_id`);--> statement-breakpoint
CREATE TABLE `order_submissions` (
	`token` text PRIMARY KEY NOT NULL,
	`account_id` integer NOT NULL,
	`order_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`order_id`) REFERENCES `orders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `order_submissions_order_idx` ON `order_submissions` (`order_id`);--> statement-breakpoint
CREATE TABLE `orders` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`cycle_id` integer NOT NULL,
	`account_id` integer,
	`distribution_id` integer NOT NULL,
	`reference` text NOT NULL,
	`status` text DEFAULT 'placed' NOT NULL,
	`member_name` text NOT NULL,
	`total_cents` integer NOT NULL,
	`placed_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`cancelled_at` integer,
	FOREIGN KEY (`cycle_id`) REFERENCES `cycles`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`distribution_id`) REFERENCES `distributions`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "orders_status_check" CHECK("orders"."status" in ('placed', 'cancelled')),
	CONSTRAINT "orders_total_check" CHECK("orders"."total_cents" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `orders_cycle_account_unique` ON `orders` (`cycle_id`,`account_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `orders_reference_unique` ON `orders` (`reference`);--> statement-breakpoint
CREATE INDEX `orders_distribution_idx` ON `orders` (`distribution_id`);--> statement-breakpoint
ALTER TABLE `coop` ADD `closing_reminder_hours` integer DEFAULT 24 NOT NULL;--> statement-breakpoint
ALTER TABLE `coop` ADD `allow_anonymous_browsing` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `coop` ADD `payment_methods` text DEFAULT 'cash,cheque' NOT NULL;--> statement-breakpoint
ALTER TABLE `coop` ADD `bank_details` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `notify_cycle_open` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `cycles` ADD `open_notice_at` integer;--> statement-breakpoint
ALTER TABLE `cycles` ADD `closing_reminder_at` integer;