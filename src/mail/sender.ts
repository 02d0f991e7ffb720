import { and, asc, eq, lte } from 'drizzle-orm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Db } from '../db/index.js';
import { coop, outbox } from '../db/schema/index.js';
import type { RenderedEmail, StoredEmail } from './mailer.js';

/** A name and an address, which nodemailer quotes and encodes as a header needs. */
export interface Address {
  name: string;
  address: string;
}

/** One message as the outbox loop hands it to a transport. */
export interface OutgoingEmail {
  from: Address;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends one message; resolves when the server (or the file) has accepted it. */
export interface Transport {
  readonly kind: 'smtp' | 'file';
  send(message: OutgoingEmail): Promise<void>;
  close(): void;
}

/** Who emails are from: the coop, by its name and contact email. */
export function coopSender(db: Db): Address {
  const theCoop = db.select({ name: coop.name, email: coop.contactEmail }).from(coop).get();
  return theCoop ? { name: theCoop.name, address: theCoop.email } : { name: 'Carnet', address: 'carnet@localhost' };
}

/**
 * SMTP when SMTP_URL is set; otherwise every email is written as an .eml file under
 * DATA_DIR/mail, so that a coop without SMTP yet loses nothing and can read what was sent.
 * With SMTP_FROM, emails are sent from that address (one the mail provider accepts, so that
 * SPF and DMARC pass) under the coop's name, and replies go to the coop's contact email.
 */
export function createTransport(smtpUrl: string | undefined, mailDir: string, log: (msg: string) => void, smtpFrom?: string): Transport {
  const headers = (m: OutgoingEmail) => (smtpFrom ? { ...m, from: { name: m.from.name, address: smtpFrom }, replyTo: m.from } : m);
  if (smtpUrl) {
    const smtp: Transporter = nodemailer.createTransport(smtpUrl, {});
    return {
      kind: 'smtp',
      send: async (m) => {
        await smtp.sendMail(headers(m));
      },
      close: () => smtp.close(),
    };
  }
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    kind: 'file',
    send: async (m) => {
      const info = await stream.sendMail(headers(m));
      mkdirSync(mailDir, { recursive: true });
      const file = join(mailDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^\w.-]/g, '')}.eml`);
      writeFileSync(file, info.message as Buffer);
      log(`email to ${m.to} written to ${file} (no SMTP_URL set)`);
    },
    close: () => stream.close(),
  };
}

/** How long to wait before the next try: 30 s, doubling, at most an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

/** A server that refused an email for good (5xx) after this many tries marks it failed. */
export const MAX_PERMANENT_FAILURES = 5;

/**
 * The background loop that empties the outbox: due emails are sent one by one; a failure
 * schedules a retry with backoff, so an SMTP outage only delays mail. A restart picks up
 * where it stopped, because the state lives in the outbox table.
 */
export class OutboxSender {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly db: Db,
    private readonly transport: Transport,
    /** Renders a row's body (Mailer.renderStored). */
    private readonly render: (row: StoredEmail) => RenderedEmail,
    private readonly log: { info(msg: string): void; warn(msg: string): void },
    private readonly intervalMs = 5_000,
  ) {}

  /** Starts polling; new emails are also sent at once through wake(). */
  start(): void {
    this.timer = setInterval(() => this.wake(), this.intervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Runs a pass now (or right after the current one). */
  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Sends everything that is due; resolves when the pass is over. */
  async drain(now: () => number = Date.now): Promise<void> {
    for (;;) {
      const due = this.db
        .select()
        .from(outbox)
        .where(and(eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now())))
        .orderBy(asc(outbox.nextAttemptAt), asc(outbox.id))
        .limit(20)
        .all();
      if (due.length === 0) return;
      const from = coopSender(this.db);
      for (const mail of due) {
        let rendered = false;
        try {
          const email = this.render(mail);
          rendered = true;
          await this.transport.send({
            from,
            to: mail.toName ? `"${mail.toName.replace(/"/g, '')}" <${mail.toAddress}>` : mail.toAddress,
            subject: email.subject,
            text: email.text,
            html: email.html,
          });
          this.db.update(outbox).set({ status: 'sent', sentAt: now(), attempts: mail.attempts + 1, lastError: null }).where(eq(outbox.id, mail.id)).run();
        } catch (err) {
          const attempts = mail.attempts + 1;
          const code = (err as { responseCode?: number }).responseCode;
          const permanent = typeof code === 'number' && code >= 500;
          // An email that cannot be rendered never will be: it fails at once, for an admin to see.
          const failed = !rendered || (permanent && attempts >= MAX_PERMANENT_FAILURES);
          const message = String((err as Error).message ?? err).slice(0, 500);
          this.db
            .update(outbox)
            .set({ attempts, lastError: message, status: failed ? 'failed' : 'pending', nextAttemptAt: now() + backoffMs(attempts) })
            .where(eq(outbox.id, mail.id))
            .run();
          this.log.warn(`email ${mail.id} to ${mail.toAddress} not sent (try ${attempts}): ${message}`);
        }
      }
    }
  }

  /** Stops polling and waits for the pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.again = false;
    await this.running;
    this.transport.close();
  }
}
