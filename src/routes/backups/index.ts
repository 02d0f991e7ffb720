import type { FastifyPluginAsync } from 'fastify';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { recordAudit } from '../../domain/audit.js';
import { BACKUPS_FOLDER, createManualBackup, findBackup, listBackups, nextScheduledBackupAt, REPLACED_FOLDER, type BackupInfo } from '../../domain/backups.js';
import type { Formatters, Translate } from '../../i18n/index.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

const fileParams = z.object({ file: z.string().max(100) });

/** A size as people read it: kilobytes under a megabyte, else megabytes with one decimal. */
function shownSize(t: Translate, fmt: Formatters, bytes: number): string {
  if (bytes < 1024 * 1024) return t('backups.size_kb', { size: fmt.number(Math.max(1, Math.ceil(bytes / 1024))) });
  return t('backups.size_mb', { size: fmt.number(Math.round((bytes / (1024 * 1024)) * 10) / 10) });
}

/** What the page shows of one backup. */
function backupRow(t: Translate, fmt: Formatters, b: BackupInfo) {
  return {
    file: b.file,
    when: fmt.dateTime(b.at),
    kind: b.kind === 'before-migration' ? t('backups.kind.before-migration', { migration: b.migration ?? '' }) : t(`backups.kind.${b.kind}`),
    size: shownSize(t, fmt, b.size),
  };
}

/** Backups for admins: the list with downloads, and "back up now". Restoring is done with the CLI. */
const backups: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  app.addHook('preHandler', adminMenuCount(app.db));

  app.get('/admin/backups', async function showBackups(request, reply) {
    const { dataDir, backupIntervalHours, backupKeep } = app.config;
    const nextAt = nextScheduledBackupAt(dataDir, { intervalHours: backupIntervalHours, keep: backupKeep });
    return reply.page('admin/backups', {
      title: request.t('backups.title'),
      backups: listBackups(dataDir).map((b) => backupRow(request.t, request.fmt, b)),
      intervalHours: backupIntervalHours,
      keep: backupKeep,
      nextAt: nextAt === null ? null : request.fmt.dateTime(Math.max(nextAt, Date.now())),
      dir: join(dataDir, BACKUPS_FOLDER),
      replacedDir: join(dataDir, REPLACED_FOLDER),
    });
  });

  app.post('/admin/backups', async function backUpNow(request, reply) {
    const actor = { id: request.account!.id, name: request.account!.name };
    const result = createManualBackup(app.db, app.config.dataDir, app.config.backupKeep, actor);
    if (!result.ok) {
      request.log.error({ error: result.message }, 'manual backup failed');
      reply.flash('error', 'backups.failed');
    } else {
      reply.flash('success', 'backups.created', { file: result.backup.file });
    }
    return reply.seeOther('/admin/backups');
  });

  app.get('/admin/backups/:file', async function downloadBackup(request, reply) {
    const parsed = fileParams.safeParse(request.params);
    // Only names this code makes are looked up: no path, no dot-dot, no other file of DATA_DIR.
    const backup = parsed.success ? findBackup(app.config.dataDir, parsed.data.file) : undefined;
    if (!backup) throw new HttpError(404);
    if (request.method === 'GET') {
      recordAudit(app.db, { id: request.account!.id, name: request.account!.name }, 'backup.downloaded', undefined, { file: backup.file });
    }
    return reply
      .type('application/vnd.sqlite3')
      .header('Content-Disposition', `attachment; filename="${backup.file}"`)
      .header('Content-Length', backup.size)
      .header('Cache-Control', 'no-store')
      .send(createReadStream(backup.path));
  });
};

export default backups;
