import fp from 'fastify-plugin';
import { join } from 'node:path';
import { createTransport, OutboxSender, type Transport } from '../mail/sender.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Asks the outbox loop to send what was just queued, without waiting for its next poll. */
    wakeOutbox(): void;
    /** Where emails are written when no SMTP server is set. */
    mailDir: string;
    outboxSender: OutboxSender | null;
  }
}

export interface MailPluginOptions {
  /** Run the background sender (off in tests that read the outbox table themselves). */
  send: boolean;
  /** Replaces the SMTP or file transport (tests). */
  transport?: Transport;
}

/** Starts the outbox loop with the app and stops it, after its current pass, on close. */
export default fp<MailPluginOptions>(
  async (app, opts) => {
    const mailDir = join(app.config.dataDir, 'mail');
    app.decorate('mailDir', mailDir);
    if (!opts.send) {
      app.decorate('outboxSender', null);
      app.decorate('wakeOutbox', () => {});
      return;
    }
    const transport = opts.transport ?? createTransport(app.config.smtpUrl, mailDir, (msg) => app.log.info(msg), app.config.smtpFrom);
    const sender = new OutboxSender(app.db, transport, (row) => app.mailer.renderStored(row), {
      info: (msg) => app.log.info(msg),
      warn: (msg) => app.log.warn(msg),
    });
    app.decorate('outboxSender', sender);
    app.decorate('wakeOutbox', () => sender.wake());
    app.addHook('onReady', async () => sender.start());
    app.addHook('onClose', async () => sender.stop());
  },
  { name: 'carnet-mail', dependencies: ['carnet-context'] },
);
