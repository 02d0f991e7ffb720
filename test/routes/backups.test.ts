import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createBackup, listBackups } from '../../src/domain/backups.js';
import { formatters, translator } from '../../src/i18n/index.js';
import { build, text } from '../helper.js';
import { adminOnly, castApp, CAST, clientAs, type CastCtx } from './admin-cast.js';
import { count, decode } from './route-helper.js';

/*
 * The admin's backups page: the list (newest first, coop time zone, kind, size), "back up now",
 * downloads with strict file names, the audit log, and everyone else refused.
 */

const en = translator('en');
const fr = translator('fr');

/** The file names in DATA_DIR/backups. */
function backupFiles(ctx: { app: CastCtx['app'] }): string[] {
  const dir = join(ctx.app.config.dataDir, 'backups');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** The audit rows of one action, as stored. */
function audit(ctx: { db: CastCtx['db'] }, action: string): Array<{ actor_id: number | null; details: string }> {
  return ctx.db.$client.prepare('select actor_id, details from audit_log where action = ? order by id').all(action) as Array<{ actor_id: number | null; details: string }>;
}

/** The cast, and one backup made an hour ago. */
async function withBackup(t: Test): Promise<CastCtx & { file: string }> {
  const ctx = await castApp(t);
  const made = createBackup(ctx.db, ctx.app.config.dataDir, 'scheduled', { now: Date.now() - 3600_000 });
  if (!made.ok) throw new Error(made.message);
  return Object.assign(ctx, { file: made.backup.file });
}

t.test('every backup route: only the admin gets through, and a refused request makes no backup', async (t) => {
  const routes: Array<Parameters<typeof adminOnly>[1] & { name: string }> = [
    { name: 'list', method: 'GET', url: () => '/admin/backups', admin: { status: 200 } },
    {
      name: 'back up now',
      method: 'POST',
      url: () => '/admin/backups',
      admin: { status: 303, location: '/admin/backups' },
      after: (t, ctx) => t.equal(listBackups(ctx.app.config.dataDir).filter((b) => b.kind === 'manual').length, 1, 'one manual backup'),
    },
    {
      name: 'download',
      method: 'GET',
      url: (ctx) => `/admin/backups/${(ctx as CastCtx & { file: string }).file}`,
      admin: { status: 200 },
      after: (t, _ctx, res) => t.match(res.headers['content-disposition'], /^attachment; /),
    },
  ];
  for (const route of routes) {
    await t.test(route.name, async (t) => {
      let files: string[] = [];
      await adminOnly(t, route, async (t) => {
        const ctx = await withBackup(t);
        files = backupFiles(ctx);
        return ctx;
      });
      t.ok(files.length > 0);
    });
  }
  // The matrix above checks the database; the files must not change either.
  const ctx = await withBackup(t);
  const before = backupFiles(ctx);
  for (const who of CAST.filter((w) => w !== 'admin')) {
    const c = await clientAs(ctx.app, who);
    await c.post('/admin/backups');
    t.same(backupFiles(ctx), before, `${who}: no backup made`);
  }
  t.equal(count(ctx.db, 'audit_log', "action like 'backup.%'"), 0, 'and nothing recorded');
});

t.test('the page lists backups newest first with date, kind and size, and says where and how to restore', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin', { 'accept-language': 'en' });
  await admin.post('/lang', { locale: 'en', next: '/' });
  let res = await admin.get('/admin/backups');
  t.equal(res.statusCode, 200);
  let page = decode(text(res.body));
  t.match(page, en('backups.empty'), 'the empty state');
  t.match(page, en('backups.schedule', { hours: '24', keep: '14' }), 'the schedule');
  const dir = join(ctx.app.config.dataDir, 'backups');
  t.match(page, en('backups.where', { dir }), 'where the files are');
  t.match(page, `carnet restore ${dir}/FILE.db`, 'how to restore');
  t.match(res.body, 'aria-current="page">Backups<', 'the menu shows where we are');

  const day = 24 * 3600_000;
  const old = Date.parse('2026-01-15T07:30:00Z');
  createBackup(ctx.db, ctx.app.config.dataDir, 'before-migration', { now: old, migration: '0004' });
  createBackup(ctx.db, ctx.app.config.dataDir, 'scheduled', { now: old + day });
  writeFileSync(join(dir, 'notes.txt'), 'not a backup');
  res = await admin.get('/admin/backups');
  page = decode(text(res.body));
  t.notMatch(page, en('backups.empty'));
  t.notMatch(page, 'notes.txt', 'other files are not listed');
  const fmt = formatters('en', 'Europe/Paris', 'EUR');
  const scheduledAt = page.indexOf(fmt.dateTime(old + day));
  const beforeAt = page.indexOf(fmt.dateTime(old));
  t.ok(scheduledAt > 0 && beforeAt > scheduledAt, 'dates in the coop’s time zone, newest first');
  t.match(page, `${fmt.dateTime(old)} ${en('backups.kind.before-migration', { migration: '0004' })}`);
  t.match(page, en('backups.kind.scheduled'));
  t.match(page, /\d+ kB/, 'the size');
  t.match(res.body, 'href="/admin/backups/carnet-2026-01-16T07-30-00Z-scheduled.db"', 'a download link');
});

t.test('back up now: a new backup, a flash, and an audit entry naming the file only', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get('/admin/backups');
  const res = await admin.post('/admin/backups');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/admin/backups');
  const [made] = listBackups(ctx.app.config.dataDir);
  t.equal(made?.kind, 'manual');
  const page = await admin.get('/admin/backups');
  t.match(decode(text(page.body)), fr('backups.created', { file: made!.file }), 'the flash names the file');
  t.match(decode(text(page.body)), fr('backups.kind.manual'));
  t.same(audit(ctx, 'backup.created'), [{ actor_id: ctx.ids.admin, details: JSON.stringify({ file: made!.file }) }]);

  // Without the CSRF token nothing happens.
  const before = backupFiles(ctx);
  const forged = await admin.post('/admin/backups', { _csrf: 'forged' });
  t.equal(forged.statusCode, 403);
  t.same(backupFiles(ctx), before);
});

t.test('a failed backup says so, records nothing and keeps the server running', async (t) => {
  const ctx = await castApp(t);
  writeFileSync(join(ctx.app.config.dataDir, 'backups'), 'a file where the folder should be');
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get('/admin/backups');
  const res = await admin.post('/admin/backups');
  t.equal(res.statusCode, 303);
  t.equal(count(ctx.db, 'audit_log'), 0, 'no audit entry');
  const page = await admin.get('/admin/backups');
  t.equal(page.statusCode, 200, 'the page still opens');
  t.match(decode(text(page.body)), fr('backups.failed'));
  t.equal(ctx.app.runBackupSchedule().outcome, 'failed', 'the automatic backup fails the same way, without throwing');
});

t.test('downloads: the file as it is, as an attachment; any other name is a 404', async (t) => {
  const ctx = await withBackup(t);
  const admin = await clientAs(ctx.app, 'admin');
  const res = await admin.get(`/admin/backups/${ctx.file}`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/vnd.sqlite3');
  t.equal(res.headers['content-disposition'], `attachment; filename="${ctx.file}"`);
  t.equal(res.headers['cache-control'], 'no-store');
  t.ok(res.rawPayload.equals(readFileSync(join(ctx.app.config.dataDir, 'backups', ctx.file))), 'the exact bytes');
  t.same(audit(ctx, 'backup.downloaded'), [{ actor_id: ctx.ids.admin, details: JSON.stringify({ file: ctx.file }) }]);

  writeFileSync(join(ctx.app.config.dataDir, 'backups', 'notes.txt'), 'private');
  const bad = [
    'carnet.db',
    '..%2Fcarnet.db',
    '%2e%2e%2fcarnet.db',
    '..%2F..%2Fetc%2Fpasswd',
    'session-secret',
    'notes.txt',
    'carnet-2026-11-26T12-00-00Z-manual.db',
    `${ctx.file}%00`,
    `${ctx.file}.tmp`,
    ctx.file.replace('scheduled', 'daily'),
    'x'.repeat(300),
  ];
  for (const name of bad) {
    const r = await admin.get(`/admin/backups/${name}`);
    t.equal(r.statusCode, 404, `${name.slice(0, 60)}: 404`);
    t.notOk(r.rawPayload.includes(Buffer.from('SQLite format 3')), `${name.slice(0, 60)}: no database sent`);
  }
  t.equal(audit(ctx, 'backup.downloaded').length, 1, 'refused downloads are not recorded');
  for (const path of ['/admin/backups/../../carnet.db', '/admin/backups/%2e%2e/carnet.db']) {
    const r = await admin.get(path);
    t.not(r.statusCode, 200, `${path}: not served`);
    t.notOk(r.rawPayload.includes(Buffer.from('SQLite format 3')), `${path}: no database sent`);
  }
});

t.test('with the clock on, the app backs up once it is ready', async (t) => {
  const { app } = await build(t, { scheduler: true });
  const deadline = Date.now() + 5000;
  while (listBackups(app.config.dataDir).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.same(listBackups(app.config.dataDir).map((b) => b.kind), ['scheduled'], 'the first automatic backup');
  t.equal(app.runBackupSchedule().outcome, 'not_due', 'and the next one waits for the interval');
});

t.test('with automatic backups off, the page says so', async (t) => {
  const { app } = await build(t, { env: { BACKUP_INTERVAL_HOURS: '0' } });
  const admin = await clientAs(app, 'admin');
  const res = await admin.get('/admin/backups');
  t.match(decode(text(res.body)), fr('backups.schedule_off'));
  t.same(app.runBackupSchedule(), { outcome: 'off' });
});
