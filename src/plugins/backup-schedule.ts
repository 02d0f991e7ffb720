import fp from 'fastify-plugin';
import { runScheduledBackup, type ScheduledBackupOutcome } from '../domain/backups.js';

/** After a failed backup, the next try comes this much later. */
export const BACKUP_RETRY_MS = 5 * 60_000;
/** The clock looks again at least this often, so a changed clock or a deleted backup is noticed. */
const LONGEST_WAIT_MS = 3600_000;

export interface BackupScheduleOptions {
  /** Run the clock (off in tests, like the cycle scheduler). */
  enabled: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs one tick of the backup clock now; exposed for tests. */
    runBackupSchedule(now?: number): ScheduledBackupOutcome;
  }
}

/**
 * The backup clock: when the app is ready it backs up if the newest automatic backup is older than
 * BACKUP_INTERVAL_HOURS (so a restart does not back up again), then wakes when the next one is due.
 * A failure (a full disk) is logged as an error and tried again five minutes later; it never stops
 * the server.
 */
export default fp<BackupScheduleOptions>(
  async (app, opts) => {
    const schedule = { intervalHours: app.config.backupIntervalHours, keep: app.config.backupKeep };
    const tick = (now = Date.now()): ScheduledBackupOutcome => {
      // It never throws: any failure comes back as { outcome: 'failed' }.
      const result = runScheduledBackup(app.db, app.config.dataDir, schedule, now);
      if (result.outcome === 'created') app.log.info({ file: result.backup.file, size: result.backup.size, removed: result.removed }, 'backup created');
      if (result.outcome === 'failed') app.log.error({ error: result.message }, 'automatic backup failed; trying again in 5 minutes');
      return result;
    };
    app.decorate('runBackupSchedule', tick);
    if (!opts.enabled || schedule.intervalHours === 0) return;

    let timer: NodeJS.Timeout | undefined;
    const wakeAfter = (result: ScheduledBackupOutcome, now: number): number => {
      if (result.outcome === 'failed') return BACKUP_RETRY_MS;
      if (result.outcome === 'off') return LONGEST_WAIT_MS;
      return Math.min(Math.max(result.dueAt - now, 1000), LONGEST_WAIT_MS);
    };
    const run = () => {
      const now = Date.now();
      timer = setTimeout(run, wakeAfter(tick(now), now));
      // The clock alone never keeps the process alive.
      timer.unref();
    };
    app.addHook('onReady', async () => {
      // Right after start-up rather than during it: listening is not held up by a backup.
      timer = setTimeout(run, 0);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    });
  },
  { name: 'carnet-backup-schedule', dependencies: ['carnet-context'] },
);
