#!/usr/bin/env node
import { eq } from 'drizzle-orm';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Db } from './db/index.js';
import { accountRoles, accounts, outbox } from './db/schema/index.js';
import { findAccountByEmail, rolesOf, setPassword } from './domain/accounts.js';
import { recordAudit, type AuditActor } from './domain/audit.js';
import { createManualBackup, DATABASE_FILE, fileTimestamp, openAndMigrate, restoreBackup, type RestoreRefusal } from './domain/backups.js';
import { getCoop } from './domain/coop.js';
import { exportCoop } from './domain/coop-export.js';
import { emailField, nameField, PASSWORD_MAX, PASSWORD_MIN } from './domain/fields.js';
import { DEFAULT_SCRYPT, hashPassword } from './domain/passwords.js';
import { isLocale, translator, type Locale } from './i18n/index.js';
import { Mailer } from './mail/mailer.js';
import { coopSender, createTransport } from './mail/sender.js';

/*
 * carnet <command> [options]: the operator's commands, for a shell on the server (`carnet …` in
 * the Docker image, `npx carnet …` in a checkout). Configuration comes from the same environment
 * variables as the server, so `DATA_DIR=/data carnet backup` works. Output is English: this is an
 * operator tool. Exit codes: 0 done, 1 failed, 2 usage error, 78 configuration (as the server).
 */

/** Who the audit log names for what the CLI does. */
const CLI_ACTOR: AuditActor = { id: null, name: 'CLI' };

const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const;

/** A mistake in the command line: usage is shown, exit code 2. */
class UsageError extends Error {}
/** The command could not be done: its message is shown, exit code 1 (or the code given). */
class Failure extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.failed,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  usage: string;
  details: string;
  options: Options;
  positionals?: number;
  run(config: Config, values: Values, positionals: string[]): Promise<void> | void;
}

const PASSWORD_HELP = `The password is asked twice (not shown) when run in a terminal; otherwise it is read
from the first line of standard input, e.g. printf '%s\\n' "$PASSWORD" | carnet ... --password-stdin.
It must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long.`;

const COMMANDS: Record<string, Command> = {
  'create-admin': {
    summary: 'Create an admin account, or make an existing account an admin',
    usage: 'carnet create-admin --email EMAIL --name NAME [--password-stdin] [--locale fr|en] [--promote]',
    details: `Creates an account with the admin and member roles. The coop must exist (first-run setup).
With --promote, an existing account with that email becomes an admin (its password is kept).

${PASSWORD_HELP}`,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      locale: { type: 'string' },
      promote: { type: 'boolean' },
    },
    run: createAdmin,
  },
  'reset-password': {
    summary: "Set a new password for an account and end all of its sessions",
    usage: 'carnet reset-password --email EMAIL [--password-stdin]',
    details: `The account's owner is told by email that the password changed.

${PASSWORD_HELP}`,
    options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    run: resetPassword,
  },
  backup: {
    summary: 'Back up the database now (prints the file path)',
    usage: 'carnet backup',
    details: 'Writes DATA_DIR/backups/carnet-<time>-manual.db while Carnet keeps running.',
    options: {},
    run: backup,
  },
  restore: {
    summary: 'Replace the database with a backup (stop Carnet first)',
    usage: 'carnet restore FILE',
    details: `Checks FILE (a SQLite database that passes PRAGMA integrity_check, from this version of
Carnet or an older one), keeps the current database in DATA_DIR/replaced, puts FILE in its place
and upgrades it if it is older. Everyone has to log in again afterwards. Carnet must be stopped.`,
    options: {},
    positionals: 1,
    run: restore,
  },
  export: {
    summary: 'Export the whole coop as a zip of CSV files and one JSON file',
    usage: 'carnet export [--out FILE.zip]',
    details: `Writes one CSV per table and carnet.json (everything, with a manifest). Password hashes and
tokens are never exported. Default: DATA_DIR/exports/carnet-export-<time>.zip; --out - writes the
zip to standard output.`,
    options: { out: { type: 'string' } },
    run: exportZip,
  },
  'send-test-email': {
    summary: 'Send a test email now through the configured SMTP server',
    usage: 'carnet send-test-email --to EMAIL [--locale fr|en]',
    details: `Queues the test email in the outbox and sends it at once through SMTP_URL (or, without it,
writes it to DATA_DIR/mail), then says whether it worked or what the server answered.`,
    options: { to: { type: 'string' }, locale: { type: 'string' } },
    run: sendTestEmail,
  },
};

/** The overall help. */
function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: carnet <command> [options]

Commands:
${lines.join('\n')}

Run "carnet <command> --help" for a command's options.
Settings come from the same environment variables as the server (DATA_DIR, SMTP_URL, BASE_URL, ...).
`;
}

/** One command's help. */
function commandUsage(name: string): string {
  const c = COMMANDS[name]!;
  return `Usage: ${c.usage}\n\n${c.summary}.\n\n${c.details}\n`;
}

// ----- helpers -----

/** A required string option, or a usage error naming it. */
function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** Parses a value with one of the app's field rules; a bad value is a usage error in plain English. */
function field<T>(schema: z.ZodType<T>, option: string, value: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues[0]?.message ?? 'invalid value';
  const t = translator('en');
  throw new UsageError(`--${option}: ${message.startsWith('error.') ? t(message as Parameters<typeof t>[0]) : message}`);
}

/** A --locale option, or the fallback. */
function localeOption(values: Values, fallback: Locale): Locale {
  const value = values.locale;
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !isLocale(value)) throw new UsageError('--locale must be fr or en');
  return value;
}

/**
 * Opens the live database the way the server does: refused if made by a newer Carnet, backed up and
 * migrated if older. A missing database is an error, so a mistyped DATA_DIR never creates an empty one.
 */
function openLive(config: Config): Db {
  const file = join(config.dataDir, DATABASE_FILE);
  if (!existsSync(file)) throw new Failure(`no database in ${config.dataDir} (${DATABASE_FILE} not found): check DATA_DIR`);
  // A server that is running and has not migrated is an older Carnet (a `git pull` in a checkout,
  // then a command before the restart): openAndMigrate refuses to change the schema under it.
  const opened = openAndMigrate(config.dataDir, { keep: config.backupKeep, olderMayRun: true });
  if (!opened.ok) throw new Failure(opened.message, opened.reason === 'newer' ? EXIT.config : EXIT.failed);
  // On stderr: stdout may be carrying a zip (export --out -).
  if (opened.backup) console.error(`Backed up to ${opened.backup.path}, then migrated (${opened.migrated.map((m) => m.tag).join(', ')}).`);
  return opened.db;
}

/** Runs fn with the live database, closing it afterwards. */
async function withDb<T>(config: Config, fn: (db: Db) => T | Promise<T>): Promise<T> {
  const db = openLive(config);
  try {
    return await fn(db);
  } finally {
    db.$client.close();
  }
}

/** All of standard input, as text. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks for a line on the terminal without showing what is typed. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolvePrompt, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolvePrompt(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new Failure('cancelled', 130));
          return;
        }
        // Backspace removes the last character, even one made of two UTF-16 units.
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += ch;
      }
    };
    process.stderr.write(question);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** A new password: typed twice on a terminal, else (or with --password-stdin) the first line of standard input. */
async function readNewPassword(values: Values): Promise<string> {
  let password: string;
  if (process.stdin.isTTY && values['password-stdin'] !== true) {
    password = await promptHidden('New password: ');
    if ((await promptHidden('Same password again: ')) !== password) throw new Failure('the two passwords are not the same');
  } else {
    // Only the line break is removed: a password is never trimmed, as in the app's forms.
    password = (await readStdin()).split(/\r?\n/)[0] ?? '';
  }
  if (password.length < PASSWORD_MIN) throw new Failure(`the password must be at least ${PASSWORD_MIN} characters long`);
  if (password.length > PASSWORD_MAX) throw new Failure(`the password must be at most ${PASSWORD_MAX} characters long`);
  return password;
}

/** Writes a file under a temporary name, then renames it, so a half-written file never has the final name. */
function writeAtomically(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}

// ----- commands -----

/** carnet create-admin */
async function createAdmin(config: Config, values: Values): Promise<void> {
  const email = field(emailField, 'email', required(values, 'email'));
  const promote = values.promote === true;
  const name = typeof values.name === 'string' ? field(nameField, 'name', values.name) : undefined;
  await withDb(config, async (db) => {
    const theCoop = getCoop(db);
    if (!theCoop) throw new Failure('this Carnet has no coop yet: open it in a browser and run the first-run setup, which creates the first admin');
    const existing = findAccountByEmail(db, email);
    if (existing) {
      if (!promote) throw new Failure(`an account with the email ${email} already exists; add --promote to make it an admin`);
      return promoteToAdmin(db, existing.id, email);
    }
    if (!name) throw new UsageError('--name is required to create an account');
    const locale = localeOption(values, theCoop.defaultLocale);
    const passwordHash = await hashPassword(await readNewPassword(values), DEFAULT_SCRYPT);
    const created = db.transaction(
      (tx) => {
        if (findAccountByEmail(tx, email)) return null;
        const now = Date.now();
        const { id } = tx
          .insert(accounts)
          .values({ email, name, passwordHash, locale, status: 'active', createdAt: now, updatedAt: now })
          .returning({ id: accounts.id })
          .get();
        tx.insert(accountRoles).values([{ accountId: id, role: 'admin', grantedAt: now }, { accountId: id, role: 'member', grantedAt: now }]).run();
        recordAudit(tx, CLI_ACTOR, 'admin.created_by_cli', { type: 'account', id }, {}, now);
        return id;
      },
      { behavior: 'immediate' },
    );
    if (created === null) throw new Failure(`an account with the email ${email} already exists`);
    console.log(`Admin account created for ${email}: log in at ${config.baseUrl}/login`);
  });
}

/** Gives the admin role to an existing account (and activates it if its sign-up was waiting). */
function promoteToAdmin(db: Db, accountId: number, email: string): void {
  if (rolesOf(db, accountId).includes('admin')) {
    console.log(`${email} is already an admin.`);
    return;
  }
  db.transaction(
    (tx) => {
      const now = Date.now();
      tx.insert(accountRoles).values({ accountId, role: 'admin', grantedAt: now }).onConflictDoNothing().run();
      tx.update(accounts).set({ status: 'active', updatedAt: now }).where(eq(accounts.id, accountId)).run();
      recordAudit(tx, CLI_ACTOR, 'admin.created_by_cli', { type: 'account', id: accountId }, { promoted: true }, now);
    },
    { behavior: 'immediate' },
  );
  console.log(`${email} is now an admin.`);
}

/** carnet reset-password */
async function resetPassword(config: Config, values: Values): Promise<void> {
  const email = field(emailField, 'email', required(values, 'email'));
  await withDb(config, async (db) => {
    const account = findAccountByEmail(db, email);
    if (!account) throw new Failure(`no account has the email ${email}`);
    const passwordHash = await hashPassword(await readNewPassword(values), DEFAULT_SCRYPT);
    const mailer = new Mailer(config.baseUrl);
    db.transaction(
      (tx) => {
        // No session is kept: whoever was logged in as this account must log in again.
        setPassword(tx, mailer, account.id, passwordHash, null);
        recordAudit(tx, CLI_ACTOR, 'password.reset_by_cli', { type: 'account', id: account.id });
      },
      { behavior: 'immediate' },
    );
    console.log(`Password changed for ${email}; all of its sessions are ended and its owner is told by email.`);
  });
}

/** carnet backup */
async function backup(config: Config): Promise<void> {
  await withDb(config, (db) => {
    const result = createManualBackup(db, config.dataDir, config.backupKeep, CLI_ACTOR);
    if (!result.ok) throw new Failure(`the backup failed: ${result.message}`);
    console.log(result.backup.path);
  });
}

const RESTORE_MESSAGES: Record<RestoreRefusal, string> = {
  running: 'Carnet is running',
  not_found: 'no such file',
  not_sqlite: 'not a SQLite database',
  corrupt: 'the file is damaged',
  not_carnet: 'not a Carnet database',
  newer: 'the backup comes from a newer Carnet',
  live_database: 'that is the live database',
  migration_failed: 'the backup could not be upgraded; the previous database is back in place',
};

/** carnet restore FILE */
function restore(config: Config, _values: Values, positionals: string[]): void {
  const file = positionals[0];
  if (!file) throw new UsageError('the backup FILE to restore is required');
  const result = restoreBackup(config.dataDir, file, CLI_ACTOR);
  if (!result.ok) throw new Failure(`cannot restore ${file}: ${RESTORE_MESSAGES[result.reason]} (${result.detail}); nothing was changed`);
  console.log(`Restored ${resolve(file)} into ${join(config.dataDir, DATABASE_FILE)}.`);
  if (result.replaced) console.log(`The database it replaced is kept in ${result.replaced}.`);
  if (result.migrated.length) console.log(`Upgraded with ${result.migrated.map((m) => m.tag).join(', ')}.`);
  console.log('Everyone has to log in again. Start Carnet now.');
}

/** carnet export */
async function exportZip(config: Config, values: Values): Promise<void> {
  const now = Date.now();
  const out = typeof values.out === 'string' ? values.out : join(config.dataDir, 'exports', `carnet-export-${fileTimestamp(now)}.zip`);
  if (out.trim() === '') throw new UsageError('--out needs a file name');
  await withDb(config, (db) => {
    const { zip } = exportCoop(db, { now });
    if (out === '-') process.stdout.write(zip);
    else writeAtomically(resolve(out), zip);
    // Recorded once the file exists: an export that could not be written is not one.
    recordAudit(db, CLI_ACTOR, 'export.created', undefined, { file: out === '-' ? 'stdout' : basename(out) }, now);
    if (out !== '-') console.log(resolve(out));
  });
}

/** carnet send-test-email */
async function sendTestEmail(config: Config, values: Values): Promise<void> {
  const to = field(emailField, 'to', required(values, 'to'));
  await withDb(config, async (db) => {
    const theCoop = getCoop(db);
    const locale = localeOption(values, theCoop?.defaultLocale ?? 'fr');
    const mailer = new Mailer(config.baseUrl);
    // Immediate: queueing reads the coop before writing, while the server may be writing too.
    const id = db.transaction(
      (tx) => {
        const queued = mailer.queue(tx, { to, locale, template: 'test' });
        // Claimed at once: a running server's outbox loop must not send it a second time.
        tx.update(outbox).set({ nextAttemptAt: Date.now() + 3600_000 }).where(eq(outbox.id, queued)).run();
        recordAudit(tx, CLI_ACTOR, 'email.test_sent', { type: 'email', id: queued });
        return queued;
      },
      { behavior: 'immediate' },
    );
    const row = db.select().from(outbox).where(eq(outbox.id, id)).get()!;
    const email = mailer.renderStored(row);
    const transport = createTransport(config.smtpUrl, join(config.dataDir, 'mail'), (msg) => console.log(msg), config.smtpFrom);
    try {
      await transport.send({
        from: coopSender(db),
        to,
        subject: email.subject,
        text: email.text,
        html: email.html,
      });
    } catch (err) {
      const message = String((err as Error).message ?? err).slice(0, 500);
      db.update(outbox).set({ status: 'failed', attempts: 1, lastError: message }).where(eq(outbox.id, id)).run();
      throw new Failure(`the test email to ${to} was not sent: ${message}`);
    } finally {
      transport.close();
    }
    db.update(outbox).set({ status: 'sent', attempts: 1, sentAt: Date.now(), lastError: null }).where(eq(outbox.id, id)).run();
    if (transport.kind === 'smtp') console.log(`Test email sent to ${to} through ${new URL(config.smtpUrl!).host}.`);
  });
}

// ----- main -----

/** Splits argv into a command and its parsed options; throws UsageError on anything unknown. */
function parse(argv: string[]): { name: string; values: Values; positionals: string[] } | { help: string } {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('a command is needed');
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !(topic in COMMANDS)) throw new UsageError(`unknown command "${topic}"`);
    return { help: topic ? commandUsage(topic) : mainUsage() };
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : undefined;
  if (!command) throw new UsageError(`unknown command "${name}"`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's messages go on with advice about "--"; the first sentence is the useful part.
    throw new UsageError((err as Error).message.split(/\.\s/)[0]!.replace(/'/g, ''));
  }
  if (parsed.values.help) return { help: commandUsage(name) };
  if (parsed.positionals.length > (command.positionals ?? 0)) throw new UsageError(`unexpected argument "${parsed.positionals[command.positionals ?? 0]}"`);
  return { name, values: parsed.values as Values, positionals: parsed.positionals };
}

/** Runs the command line; resolves with the exit code. */
async function main(argv: string[]): Promise<number> {
  let name: string | undefined = argv[0];
  try {
    const parsed = parse(argv);
    if ('help' in parsed) {
      process.stdout.write(parsed.help);
      return EXIT.ok;
    }
    name = parsed.name;
    const config = loadConfig(process.env, { createDataDir: false });
    await COMMANDS[parsed.name]!.run(config, parsed.values, parsed.positionals);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      const command = name && Object.hasOwn(COMMANDS, name) ? name : undefined;
      process.stderr.write(`carnet: ${err.message}\n\n${command ? commandUsage(command) : mainUsage()}`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`carnet: ${err.message}\n`);
      return EXIT.config;
    }
    if (err instanceof Failure) {
      process.stderr.write(`carnet: ${err.message}\n`);
      return err.code;
    }
    process.stderr.write(`carnet: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv.slice(2));
