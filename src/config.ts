import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Settings that Carnet reads from the environment once, at start-up. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  baseUrl: string;
  sessionSecret: string;
  smtpUrl: string | undefined;
  /** The address emails are sent from, when the coop's contact email may not be (SPF, DMARC). */
  smtpFrom: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  demo: boolean;
  /** Hours between automatic backups; 0 turns them off. */
  backupIntervalHours: number;
  /** How many backups of each kind are kept. */
  backupKeep: number;
}

const envSchema = z.object({
  PORT: z.coerce
    .number({ error: 'must be a whole number between 1 and 65535' })
    .int('must be a whole number between 1 and 65535')
    .min(1, 'must be a whole number between 1 and 65535')
    .max(65535, 'must be a whole number between 1 and 65535')
    .default(3000),
  HOST: z.string().trim().min(1, 'must not be empty').default('0.0.0.0'),
  DATA_DIR: z.string().trim().min(1, 'must not be empty').default('./data'),
  BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// address, e.g. https://carnet.example.org' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters long').optional(),
  SMTP_URL: z
    .url({ protocol: /^smtps?$/, error: 'must look like smtp://user:password@host:587 or smtps://user:password@host:465' })
    .optional(),
  SMTP_FROM: z.email({ error: 'must be an email address, e.g. carnet@coop.example.org' }).optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  BACKUP_INTERVAL_HOURS: z.coerce
    .number({ error: 'must be a whole number of hours between 0 and 8760 (0 turns automatic backups off)' })
    .int('must be a whole number of hours between 0 and 8760 (0 turns automatic backups off)')
    .min(0, 'must be a whole number of hours between 0 and 8760 (0 turns automatic backups off)')
    .max(8760, 'must be a whole number of hours between 0 and 8760 (0 turns automatic backups off)')
    .default(24),
  BACKUP_KEEP: z.coerce
    .number({ error: 'must be a whole number between 1 and 1000' })
    .int('must be a whole number between 1 and 1000')
    .min(1, 'must be a whole number between 1 and 1000')
    .max(1000, 'must be a whole number between 1 and 1000')
    .default(14),
});

/** A configuration problem that stops start-up; its message is the one line shown to the admin. */
export class ConfigError extends Error {}

/** Reads and checks the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { demo?: boolean; createDataDir?: boolean } = {}): Config {
  // An empty variable (FOO= in a compose file) means "use the default", as most tools treat it.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const demo = opts.demo ?? false;
  if (demo && cleaned.DATA_DIR === undefined) cleaned.DATA_DIR = './data-demo';
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid ${name}: ${issue.message} (got ${shown(name, cleaned[name] ?? '')})`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  // The server makes its folder on first start; the CLI only works on one that exists, so that a
  // mistyped DATA_DIR leaves nothing behind.
  if (opts.createDataDir === false) {
    if (!existsSync(dataDir)) throw new ConfigError(`Invalid DATA_DIR: ${dataDir} does not exist`);
  } else {
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (err) {
      throw new ConfigError(`Invalid DATA_DIR: cannot create ${dataDir} (${(err as Error).message})`);
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    baseUrl: e.BASE_URL ?? `http://localhost:${e.PORT}`,
    sessionSecret: e.SESSION_SECRET ?? persistentSecret(dataDir),
    smtpUrl: e.SMTP_URL,
    smtpFrom: e.SMTP_FROM,
    logLevel: e.LOG_LEVEL,
    demo,
    backupIntervalHours: e.BACKUP_INTERVAL_HOURS,
    backupKeep: e.BACKUP_KEEP,
  };
}

/** A bad value as the error line shows it: secrets and passwords never reach the logs. */
function shown(name: string, value: string): string {
  if (name === 'SESSION_SECRET') return `${value.length} characters`;
  return JSON.stringify(value.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@'));
}

/** Generates the session secret once and keeps it in DATA_DIR, so sessions survive restarts. */
function persistentSecret(dataDir: string): string {
  const file = join(dataDir, 'session-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(32).toString('hex');
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600 });
  } catch (err) {
    throw new ConfigError(`Invalid DATA_DIR: cannot write ${file} (${(err as Error).message})`);
  }
  return secret;
}
