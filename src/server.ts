import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { lockDataDir, openAndMigrate } from './domain/backups.js';
import { seedDemo } from './demo.js';
import { DEFAULT_SCRYPT } from './domain/passwords.js';
import { purgeExpiredSessions } from './domain/sessions.js';

/** Starts Carnet: config → database → migrations → app → listen, and closes cleanly on signals. */
async function main(): Promise<void> {
  const demo = process.argv.includes('--demo');
  let config;
  try {
    config = loadConfig(process.env, { demo });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`carnet: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  // One process per DATA_DIR: a second server, or a restore in progress, holds this lock.
  const lock = lockDataDir(config.dataDir);
  if (!lock) {
    console.error(`carnet: another Carnet process is using ${config.dataDir} (a running server, or a restore); stop it first`);
    process.exit(1);
  }
  // A database from a newer Carnet is refused untouched; pending migrations are backed up first.
  const opened = openAndMigrate(config.dataDir, { keep: config.backupKeep });
  if (!opened.ok) {
    console.error(`carnet: ${opened.message}`);
    process.exit(opened.reason === 'newer' ? 78 : 1); // 78: EX_CONFIG
  }
  const db = opened.db;
  const demoAccounts = demo ? await seedDemo(db, DEFAULT_SCRYPT) : [];
  const app = await buildApp({ config, db, demoAccounts });

  const purge = setInterval(() => purgeExpiredSessions(db), 3600_000);
  purge.unref();

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info(`${signal} received, closing`);
    clearInterval(purge);
    try {
      await app.close();
    } finally {
      db.$client.close();
      lock.release();
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void close('SIGTERM'));
  process.on('SIGINT', () => void close('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
    purgeExpiredSessions(db);
    if (demo) app.log.info(`demo mode: data in ${config.dataDir}`);
    if (opened.backup) app.log.info({ file: opened.backup.file, migrations: opened.migrated.map((m) => m.tag) }, 'database backed up, then migrated');
  } catch (err) {
    app.log.error(err);
    db.$client.close();
    process.exit(1);
  }
}

void main();
