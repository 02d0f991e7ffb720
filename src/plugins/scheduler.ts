import fp from 'fastify-plugin';
import { applyDueTransitions, type DueReport } from '../domain/cycles.js';
import { sendMemberNotices } from '../domain/member-notices.js';
import { purgeSentEmails } from '../mail/outbox.js';

/** How often the clock looks for due transitions and reminders. */
export const SCHEDULER_INTERVAL_MS = 30_000;
/** How often old sent emails are purged: hourly is plenty for a 90-day retention. */
export const PURGE_INTERVAL_MS = 3_600_000;

export interface SchedulerOptions {
  /** Run the clock (off in tests, which call applyDueTransitions themselves). */
  enabled: boolean;
  intervalMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Applies what fell due now (the scheduler's tick); exposed so a tick can be forced. */
    runScheduler(now?: number): DueReport | null;
  }
}

/**
 * The cycle clock: opens, closes and finishes cycles on time and reminds producers. It runs once
 * when the app is ready, so that what fell due while the server was down is applied on start,
 * then every 30 seconds; it stops when the app closes.
 */
export default fp<SchedulerOptions>(
  async (app, opts) => {
    let lastPurge = -Infinity;
    const tick = (now = Date.now()): DueReport | null => {
      try {
        const report = applyDueTransitions(app.db, app.mailer, now);
        for (const t of report.transitions) app.log.info({ cycleId: t.cycleId, from: t.from, to: t.to, event: t.event }, 'cycle status changed');
        const emails = report.reminders.reduce((n, r) => n + r.emails, 0);
        if (report.reminders.length) app.log.info({ cycles: report.reminders.length, emails }, 'producer reminders queued');
        // Members: "orders are open" and the closing reminder, after the transitions so a cycle just opened gets its notice now.
        const notices = sendMemberNotices(app.db, app.mailer, now);
        const memberEmails = notices.reduce((n, r) => n + r.emails, 0);
        if (notices.length) app.log.info({ notices: notices.length, emails: memberEmails }, 'member notices queued');
        if (emails + memberEmails > 0) app.wakeOutbox();
        // Sent and failed emails older than 90 days go, as the privacy page promises.
        // (A clock set back counts as due, so a corrected clock never stops the purge.)
        if (now < lastPurge || now - lastPurge >= PURGE_INTERVAL_MS) {
          lastPurge = now;
          const purged = purgeSentEmails(app.db, now);
          if (purged) app.log.info({ emails: purged }, 'old sent emails purged');
        }
        return report;
      } catch (err) {
        // A failed tick (database busy, disk full) is retried at the next one; the app keeps serving.
        app.log.error({ err }, 'scheduler tick failed');
        return null;
      }
    };
    app.decorate('runScheduler', tick);
    if (!opts.enabled) return;

    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      tick();
      timer = setInterval(() => tick(), opts.intervalMs ?? SCHEDULER_INTERVAL_MS);
      // The clock alone never keeps the process alive.
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
    });
  },
  { name: 'carnet-scheduler', dependencies: ['carnet-context', 'carnet-mail'] },
);
