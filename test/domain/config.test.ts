import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('defaults', async (t) => {
  const dir = tmp(t);
  const config = loadConfig({ DATA_DIR: dir });
  t.match(config, {
    port: 3000,
    host: '0.0.0.0',
    dataDir: dir,
    baseUrl: 'http://localhost:3000',
    smtpUrl: undefined,
    logLevel: 'info',
    demo: false,
  });
  t.match(config.sessionSecret, /^[0-9a-f]{64}$/);
});

t.test('values are read and normalised', async (t) => {
  const dir = tmp(t);
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '8080',
    HOST: '127.0.0.1',
    BASE_URL: 'https://carnet.example.org/',
    SMTP_URL: 'smtps://user:pass@mail.example.org:465',
    SMTP_FROM: 'carnet@coop.example.org',
    SESSION_SECRET: 's'.repeat(32),
    LOG_LEVEL: 'warn',
    UNRELATED: 'ignored',
  });
  t.match(config, {
    port: 8080,
    host: '127.0.0.1',
    baseUrl: 'https://carnet.example.org',
    smtpUrl: 'smtps://user:pass@mail.example.org:465',
    smtpFrom: 'carnet@coop.example.org',
    sessionSecret: 's'.repeat(32),
    logLevel: 'warn',
  });
  t.equal(loadConfig({ DATA_DIR: dir, PORT: '8080' }).baseUrl, 'http://localhost:8080', 'the default address follows PORT');
});

t.test('each bad value stops start-up with one line naming the variable', async (t) => {
  const dir = tmp(t);
  const table: Array<[string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '0'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', '3000abc'],
    ['BASE_URL', 'ftp://x'],
    ['BASE_URL', 'not a url'],
    ['BASE_URL', 'javascript:alert(1)'],
    ['SMTP_URL', 'http://x'],
    ['SMTP_URL', 'mail.example.org'],
    ['SMTP_FROM', 'Coop <carnet@coop.example.org>'],
    ['SMTP_FROM', 'carnet'],
    ['SESSION_SECRET', 'short'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_LEVEL', 'INFO '],
    ['HOST', '   '],
    ['DATA_DIR', '   '],
    ['BACKUP_INTERVAL_HOURS', '-1'],
    ['BACKUP_INTERVAL_HOURS', '1.5'],
    ['BACKUP_INTERVAL_HOURS', 'daily'],
    ['BACKUP_INTERVAL_HOURS', '8761'],
    ['BACKUP_KEEP', '0'],
    ['BACKUP_KEEP', '-3'],
    ['BACKUP_KEEP', 'all'],
    ['BACKUP_KEEP', '2.5'],
  ];
  for (const [name, value] of table) {
    let error: unknown;
    try {
      loadConfig({ DATA_DIR: dir, [name]: value });
    } catch (err) {
      error = err;
    }
    const label = `${name}=${JSON.stringify(value)}`;
    t.ok(error instanceof ConfigError, `${label} throws ConfigError`);
    const message = (error as Error | undefined)?.message ?? '';
    t.match(message, new RegExp(`^Invalid ${name}: `), `${label}: names the variable`);
    t.notMatch(message, /\n/, `${label}: one line`);
    t.ok(message.length < 200, `${label}: short`);
    if (name !== 'SESSION_SECRET') t.match(message, JSON.stringify(value), `${label}: shows the value`);
  }
});

t.test('secrets and passwords are never shown in an error (it ends up in the logs)', async (t) => {
  const dir = tmp(t);
  const table: Array<[string, string, string]> = [
    ['SESSION_SECRET', 'hunter2-secret', 'Invalid SESSION_SECRET: must be at least 32 characters long (got 14 characters)'],
    ['SMTP_URL', 'http://mailer:hunter2@mail.example.org:587', 'Invalid SMTP_URL:'],
  ];
  for (const [name, value, start] of table) {
    let message = '';
    try {
      loadConfig({ DATA_DIR: dir, [name]: value });
    } catch (err) {
      t.ok(err instanceof ConfigError);
      message = (err as Error).message;
    }
    t.match(message, start);
    t.notMatch(message, 'hunter2', `${name}: the secret is not in the message`);
  }
});

t.test('the session secret is generated once and kept in DATA_DIR', async (t) => {
  const dir = tmp(t);
  const first = loadConfig({ DATA_DIR: dir }).sessionSecret;
  const file = join(dir, 'session-secret');
  t.equal(readFileSync(file, 'utf8').trim(), first);
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by the owner only');
  t.equal(loadConfig({ DATA_DIR: dir }).sessionSecret, first, 'same value on the next start');
  t.equal(loadConfig({ DATA_DIR: dir, SESSION_SECRET: 'e'.repeat(40) }).sessionSecret, 'e'.repeat(40), 'an explicit secret wins');
  writeFileSync(file, 'too short\n');
  const replaced = loadConfig({ DATA_DIR: dir }).sessionSecret;
  t.match(replaced, /^[0-9a-f]{64}$/, 'a damaged file is replaced');
  t.equal(loadConfig({ DATA_DIR: dir }).sessionSecret, replaced);
});

t.test('an empty variable means the default', async (t) => {
  const dir = tmp(t);
  const config = loadConfig({ DATA_DIR: dir, PORT: '', HOST: '', BASE_URL: '', SMTP_URL: '', SESSION_SECRET: '', LOG_LEVEL: '' });
  t.match(config, { port: 3000, host: '0.0.0.0', baseUrl: 'http://localhost:3000', smtpUrl: undefined, logLevel: 'info' });
  t.equal(config.sessionSecret, readFileSync(join(dir, 'session-secret'), 'utf8').trim());
});

t.test('backups: daily and 14 kept by default; 0 hours turns the schedule off, 0 kept is refused', async (t) => {
  const dir = tmp(t);
  t.match(loadConfig({ DATA_DIR: dir }), { backupIntervalHours: 24, backupKeep: 14 });
  t.match(loadConfig({ DATA_DIR: dir, BACKUP_INTERVAL_HOURS: '6', BACKUP_KEEP: '30' }), { backupIntervalHours: 6, backupKeep: 30 });
  t.match(loadConfig({ DATA_DIR: dir, BACKUP_INTERVAL_HOURS: '0' }), { backupIntervalHours: 0 }, 'automatic backups off');
  t.match(loadConfig({ DATA_DIR: dir, BACKUP_INTERVAL_HOURS: '', BACKUP_KEEP: '' }), { backupIntervalHours: 24, backupKeep: 14 }, 'empty means default');
  t.throws(() => loadConfig({ DATA_DIR: dir, BACKUP_KEEP: '0' }), { message: 'Invalid BACKUP_KEEP: must be a whole number between 1 and 1000 (got "0")' });
  t.throws(() => loadConfig({ DATA_DIR: dir, BACKUP_INTERVAL_HOURS: 'daily' }), {
    message: 'Invalid BACKUP_INTERVAL_HOURS: must be a whole number of hours between 0 and 8760 (0 turns automatic backups off) (got "daily")',
  });
});

t.test('demo mode uses its own data folder by default', async (t) => {
  const dir = tmp(t);
  const config = loadConfig({ DATA_DIR: dir }, { demo: true });
  t.equal(config.demo, true);
  t.equal(config.dataDir, dir, 'an explicit DATA_DIR is kept');
});

t.test('a DATA_DIR that cannot be created is a config error', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  let error: unknown;
  try {
    loadConfig({ DATA_DIR: join(file, 'sub') });
  } catch (err) {
    error = err;
  }
  t.ok(error instanceof ConfigError);
  t.match((error as Error).message, /^Invalid DATA_DIR: cannot create /);
});
