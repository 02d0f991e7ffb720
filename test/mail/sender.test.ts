import { simpleParser, type ParsedMail } from 'mailparser';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import t from 'tap';
import type { Db } from '../../src/db/index.js';
import { Mailer, type StoredEmail } from '../../src/mail/mailer.js';
import { backoffMs, createTransport, MAX_PERMANENT_FAILURES, OutboxSender, type Transport } from '../../src/mail/sender.js';
import { seedCoop, testDb } from '../helper.js';

const mailer = new Mailer('http://carnet.test');
const render = (row: StoredEmail) => mailer.renderStored(row);
const T0 = Date.UTC(2025, 5, 1, 8);

interface OutboxState {
  id: number;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  sent_at: number | null;
}
const state = (db: Db, id: number) =>
  db.$client.prepare('select id, status, attempts, next_attempt_at, last_error, sent_at from outbox where id = ?').get(id) as OutboxState;

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives; `refuse` makes it answer with an error code. */
async function smtpServer(t: Parameters<typeof testDb>[0], port = 0, opts: { refuseData?: () => number | null; refuseRcpt?: () => number | null } = {}) {
  const received: Array<{ rcptTo: string[]; mailFrom: string; mail: ParsedMail }> = [];
  const options: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const code = opts.refuseRcpt?.();
      if (code) return callback(Object.assign(new Error(code >= 500 ? 'No such user here' : 'Try again later'), { responseCode: code }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const code = opts.refuseData?.();
        if (code) return callback(Object.assign(new Error(code >= 500 ? 'Message refused for policy reasons' : 'Greylisted, try again'), { responseCode: code }));
        simpleParser(Buffer.concat(chunks)).then(
          (mail) => {
            received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', mail });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closed = false;
  const close = () => (closed ? Promise.resolve() : ((closed = true), new Promise<void>((resolve) => server.close(() => resolve()))));
  t.teardown(close);
  return { port: (server.server.address() as AddressInfo).port, received, close };
}

const quietLog = () => {
  const warnings: string[] = [];
  return { warnings, info: () => {}, warn: (m: string) => void warnings.push(m) };
};

async function setup(t: Parameters<typeof testDb>[0]) {
  const { db, dir } = testDb(t);
  await seedCoop(db);
  return { db, dir };
}

const queueWelcome = (db: Db, to: string, toName: string, locale: 'fr' | 'en', now = T0) =>
  mailer.queue(db, { to, toName, locale, template: 'welcome', data: { loginUrl: mailer.url('/login') } }, now);

t.test('a queued email is delivered over SMTP, with text and HTML, in the recipient\'s language', async (t) => {
  const { db } = await setup(t);
  const smtp = await smtpServer(t);
  const en = queueWelcome(db, 'zoe@example.org', 'Zoë Ñandú', 'en');
  const fr = queueWelcome(db, 'yann@example.org', 'Yann "Le" Goff', 'fr');
  const log = quietLog();
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}), render, log);
  await sender.drain(() => T0);
  await sender.stop();

  t.same(log.warnings, []);
  t.match(state(db, en), { status: 'sent', attempts: 1, last_error: null, sent_at: T0 });
  t.match(state(db, fr), { status: 'sent', attempts: 1, sent_at: T0 });
  t.equal(smtp.received.length, 2);
  const [toZoe, toYann] = smtp.received;
  t.same(toZoe!.rcptTo, ['zoe@example.org']);
  const m = toZoe!.mail;
  t.equal(m.subject, 'Welcome to Coop Test');
  t.same(m.from?.value, [{ address: 'contact@carnet.test', name: 'Coop Test' }]);
  t.same((m.to as { value: unknown }).value, [{ address: 'zoe@example.org', name: 'Zoë Ñandú' }]);
  t.match(m.text, 'Hello Zoë Ñandú,');
  t.match(m.text, 'http://carnet.test/login');
  t.match(m.html, '<html lang="en">');
  t.match(m.html, 'href="http://carnet.test/login"');
  t.match(m.html, 'Zoë Ñandú');

  t.equal(toYann!.mail.subject, 'Bienvenue à Coop Test');
  t.match(toYann!.mail.text, 'Bonjour Yann "Le" Goff,');
  t.match(toYann!.mail.html, '<html lang="fr">');
  t.same((toYann!.mail.to as { value: unknown }).value, [{ address: 'yann@example.org', name: 'Yann Le Goff' }], 'quotes cannot break the header');

  // a second pass sends nothing again
  const again = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}), render, log);
  await again.drain(() => T0 + 3600_000);
  await again.stop();
  t.equal(smtp.received.length, 2);
});

t.test('with SMTP_FROM, emails come from that address under the coop\'s name, and replies go to the coop', async (t) => {
  const { db } = await setup(t);
  const smtp = await smtpServer(t);
  queueWelcome(db, 'zoe@example.org', 'Zoë', 'en');
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}, 'noreply@relay.example.net'), render, quietLog());
  await sender.drain(() => T0);
  await sender.stop();
  const [received] = smtp.received;
  t.same(received!.mail.from?.value, [{ address: 'noreply@relay.example.net', name: 'Coop Test' }]);
  t.same((received!.mail.replyTo as { value: unknown }).value, [{ address: 'contact@carnet.test', name: 'Coop Test' }]);
  t.equal(received!.mailFrom, 'noreply@relay.example.net', 'the envelope sender too, which SPF checks');
});

t.test('the outbox keeps template and data, renders at send time, and still sends rows rendered by an older Carnet', async (t) => {
  const { db } = await setup(t);
  const smtp = await smtpServer(t);
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë', 'en');
  const row = db.$client.prepare('select subject, template, locale, payload, text_body, html_body from outbox where id = ?').get(id) as Record<string, string | null>;
  t.match(row, { subject: 'Welcome to Coop Test', template: 'welcome', locale: 'en', text_body: null, html_body: null });
  t.match(JSON.parse(row.payload!), { data: { loginUrl: 'http://carnet.test/login' }, params: { coop: 'Coop Test', name: 'Zoë' } });
  // A row queued before migration 0003: rendered bodies, no template.
  db.$client
    .prepare("insert into outbox (to_address, to_name, subject, text_body, html_body, next_attempt_at, created_at) values ('old@example.org', null, 'Old subject', 'Old text', '<p>Old html</p>', ?, ?)")
    .run(T0, T0);
  // A row naming a template this Carnet does not know is not sent: it fails at once, saying why.
  const unknown = db.$client
    .prepare("insert into outbox (to_address, subject, template, locale, payload, next_attempt_at, created_at) values ('x@example.org', 'X', 'noSuchTemplate', 'fr', '{}', ?, ?)")
    .run(T0, T0).lastInsertRowid as number;
  const log = quietLog();
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}), render, log);
  await sender.drain(() => T0);
  await sender.stop();
  t.equal(smtp.received.length, 2);
  t.match(smtp.received[0]!.mail.text, 'http://carnet.test/login');
  t.equal(smtp.received[1]!.mail.subject, 'Old subject');
  t.match(smtp.received[1]!.mail.text, 'Old text');
  t.match(smtp.received[1]!.mail.html, '<p>Old html</p>');
  t.match(state(db, unknown), { status: 'failed', attempts: 1, last_error: /unknown email template "noSuchTemplate"/ });
});

t.test('an SMTP outage delays mail and never loses it', async (t) => {
  const { db } = await setup(t);
  const port = await freePort();
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë', 'en');
  const log = quietLog();
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${port}`, '/nonexistent', () => {}), render, log);

  await sender.drain(() => T0);
  let s = state(db, id);
  t.match(s, { status: 'pending', attempts: 1, next_attempt_at: T0 + backoffMs(1), sent_at: null });
  t.match(s.last_error, /ECONNREFUSED|connect/i);
  t.equal(log.warnings.length, 1);
  t.match(log.warnings[0], `email ${id} to zoe@example.org not sent (try 1)`);

  await sender.drain(() => T0 + backoffMs(1) - 1);
  t.equal(state(db, id).attempts, 1, 'not retried before it is due');

  await sender.drain(() => T0 + backoffMs(1));
  s = state(db, id);
  t.match(s, { status: 'pending', attempts: 2, next_attempt_at: T0 + backoffMs(1) + backoffMs(2) });
  t.ok(backoffMs(2) > backoffMs(1), 'the wait grows');

  // the server comes back on the same address; once time has passed the email goes out
  const smtp = await smtpServer(t, port);
  const later = T0 + backoffMs(1) + backoffMs(2);
  await sender.drain(() => later - 1);
  t.equal(smtp.received.length, 0);
  await sender.drain(() => later);
  await sender.stop();
  t.match(state(db, id), { status: 'sent', attempts: 3, last_error: null, sent_at: later });
  t.equal(smtp.received.length, 1);
  t.equal(smtp.received[0]!.mail.subject, 'Welcome to Coop Test');
});

t.test('a temporary refusal (4xx) is retried with backoff', async (t) => {
  const { db } = await setup(t);
  let refuse: number | null = 451;
  const smtp = await smtpServer(t, 0, { refuseRcpt: () => refuse });
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë', 'en');
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}), render, quietLog());
  let now = T0;
  for (let attempt = 1; attempt <= MAX_PERMANENT_FAILURES + 2; attempt++) {
    await sender.drain(() => now);
    const s = state(db, id);
    t.match(s, { status: 'pending', attempts: attempt, next_attempt_at: now + backoffMs(attempt) }, `try ${attempt}: still pending`);
    t.match(s.last_error, /451|Try again later/);
    now += backoffMs(attempt);
  }
  refuse = null;
  await sender.drain(() => now);
  await sender.stop();
  t.match(state(db, id), { status: 'sent', attempts: MAX_PERMANENT_FAILURES + 3 });
  t.equal(smtp.received.length, 1);
});

t.test('a 4xx answer to the message data is retried too', async (t) => {
  const { db } = await setup(t);
  let refuse: number | null = 421;
  const smtp = await smtpServer(t, 0, { refuseData: () => refuse });
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë', 'en');
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}), render, quietLog());
  await sender.drain(() => T0);
  t.match(state(db, id), { status: 'pending', attempts: 1, next_attempt_at: T0 + backoffMs(1) });
  refuse = null;
  await sender.drain(() => T0 + backoffMs(1));
  await sender.stop();
  t.match(state(db, id), { status: 'sent', attempts: 2 });
});

t.test('a permanent refusal (5xx) marks the email failed after a few tries', async (t) => {
  const { db } = await setup(t);
  const smtp = await smtpServer(t, 0, { refuseData: () => 550 });
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë', 'en');
  const other = queueWelcome(db, 'yann@example.org', 'Yann', 'fr');
  const sender = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${smtp.port}`, '/nonexistent', () => {}), render, quietLog());
  let now = T0;
  for (let attempt = 1; attempt < MAX_PERMANENT_FAILURES; attempt++) {
    await sender.drain(() => now);
    t.match(state(db, id), { status: 'pending', attempts: attempt }, `try ${attempt}`);
    now += backoffMs(attempt);
  }
  await sender.drain(() => now);
  const s = state(db, id);
  t.match(s, { status: 'failed', attempts: MAX_PERMANENT_FAILURES });
  t.match(s.last_error, /550|refused/);
  t.match(state(db, other), { status: 'failed' });
  // a failed email is not tried again
  await sender.drain(() => now + 24 * 3600_000);
  await sender.stop();
  t.equal(state(db, id).attempts, MAX_PERMANENT_FAILURES);
  t.equal(smtp.received.length, 0);
});

t.test('a restart resumes pending mail', async (t) => {
  const { db } = await setup(t);
  const port = await freePort();
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë', 'en', Date.now() - 3600_000);
  const first = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${port}`, '/nonexistent', () => {}), render, quietLog());
  await first.drain(() => Date.now() - 3600_000);
  await first.stop();
  t.match(state(db, id), { status: 'pending', attempts: 1 });

  // the process restarts: a new sender on the same database, the SMTP server is back
  const smtp = await smtpServer(t, port);
  const second = new OutboxSender(db, createTransport(`smtp://127.0.0.1:${port}`, '/nonexistent', () => {}), render, quietLog(), 50);
  second.start();
  const deadline = Date.now() + 5000;
  while (state(db, id).status !== 'sent' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await second.stop();
  t.match(state(db, id), { status: 'sent', attempts: 2 });
  t.equal(smtp.received.length, 1);
});

t.test('wake() during a pass runs another pass, and stop() waits for it', async (t) => {
  const { db } = await setup(t);
  const sent: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const transport: Transport = {
    kind: 'smtp',
    send: async (m) => {
      await gate;
      sent.push(m.to);
    },
    close: () => {},
  };
  queueWelcome(db, 'a@example.org', 'A', 'en', Date.now() - 1000);
  const sender = new OutboxSender(db, transport, render, quietLog(), 60_000);
  sender.wake();
  queueWelcome(db, 'b@example.org', 'B', 'en', Date.now() - 1000);
  sender.wake();
  release();
  await new Promise((r) => setTimeout(r, 50));
  await sender.stop();
  t.same(sent, ['"A" <a@example.org>', '"B" <b@example.org>']);
});

t.test('without SMTP_URL every email is written as a readable .eml file', async (t) => {
  const { db, dir } = await setup(t);
  const mailDir = join(dir, 'mail');
  const logged: string[] = [];
  const transport = createTransport(undefined, mailDir, (m) => logged.push(m));
  t.equal(transport.kind, 'file');
  const id = queueWelcome(db, 'zoe@example.org', 'Zoë Ñandú', 'en');
  const sender = new OutboxSender(db, transport, render, quietLog());
  await sender.drain(() => T0);
  await sender.stop();
  t.match(state(db, id), { status: 'sent', attempts: 1 });
  const files = readdirSync(mailDir);
  t.equal(files.length, 1);
  t.match(files[0], /\.eml$/);
  t.match(logged[0], `email to "Zoë Ñandú" <zoe@example.org> written to ${mailDir}`);
  const mail = await simpleParser(readFileSync(join(mailDir, files[0]!)));
  t.equal(mail.subject, 'Welcome to Coop Test');
  t.same((mail.to as { value: unknown }).value, [{ address: 'zoe@example.org', name: 'Zoë Ñandú' }]);
  t.match(mail.text, 'http://carnet.test/login');
  t.match(mail.html, '<html lang="en">');
});

t.test('rendering: user text is escaped in HTML; the text part has the link', async (t) => {
  const { db } = await setup(t);
  const email = mailer.render(db, {
    to: 'x@example.org',
    toName: '<b>x</b>',
    locale: 'en',
    template: 'adminPending',
    data: { approvalsUrl: mailer.url('/admin/approvals?a=1&b="2"') },
    params: { name: '<img src=x onerror=alert(1)>', email: 'x@example.org' },
  });
  t.notMatch(email.html, '<b>x</b>');
  t.match(email.html, '&lt;b&gt;x&lt;/b&gt;');
  t.notMatch(email.html, '<img');
  t.match(email.html, '&lt;img src=x onerror=alert(1)&gt;');
  t.notMatch(email.html, 'b="2"', 'attribute values are escaped');
  t.match(email.text, 'Hello <b>x</b>,', 'the text part is plain text, not HTML');
  t.match(email.text, 'http://carnet.test/admin/approvals?a=1&b="2"');
  t.equal(email.subject, 'New sign-up to approve: <img src=x onerror=alert(1)>');

  const reset = mailer.render(db, { to: 'x@example.org', locale: 'fr', template: 'passwordReset', data: { resetUrl: mailer.url('/password/reset/abc') }, params: { hours: 2 } });
  t.match(reset.text, 'http://carnet.test/password/reset/abc');
  t.match(reset.html, 'href="http://carnet.test/password/reset/abc"');
  t.notMatch(reset.text, 'Bonjour', 'no greeting without a name');
  t.match(reset.text, 'pendant 2 heures');
});

t.test('backoff: 30 s doubling, at most an hour', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 20].map(backoffMs), [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000]);
  t.equal(backoffMs(0), 30_000);
});
