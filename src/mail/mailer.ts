import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { perConnection } from '../db/prepared.js';
import { outbox } from '../db/schema/index.js';
import { getCoop } from '../domain/coop.js';
import { translator, type Locale, type Params } from '../i18n/index.js';
import { emailTemplates, type EmailBlock, type EmailContent, type EmailName, type EmailTable, type EmailTemplates } from './templates.js';

const VIEWS = fileURLToPath(new URL('../../views/emails', import.meta.url));

/** A table as plain text: columns padded to their widest cell, totals under a rule. */
function tableText(table: EmailTable): string {
  const all = [table.head, ...table.rows, ...table.foot];
  const widths = table.head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => ((table.align?.[i] ?? 'left') === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [line(table.head), rule, ...table.rows.map(line), rule, ...table.foot.map(line)].join('\n');
}

/** The plain-text part: the same content as the HTML, paragraphs separated by blank lines. */
function plainText(m: {
  greeting: string | null;
  paragraphs: string[];
  table?: EmailTable | null;
  blocks?: EmailBlock[];
  action: { url: string } | null;
  after: string[];
  signature: string;
  footer: string;
  homeUrl: string;
}): string {
  const extra = [m.table ? tableText(m.table) : null, ...(m.blocks ?? []).map((b) => [b.title, ...b.lines].join('\n'))];
  const parts = [m.greeting, ...m.paragraphs, ...extra, m.action?.url, ...m.after, m.signature].filter((p): p is string => Boolean(p));
  // "-- " (with the space) is the standard signature separator that mail readers recognise.
  return parts.join('\n\n') + '\n\n-- \n' + m.footer + '\n' + m.homeUrl + '\n';
}

/** The outbox insert, prepared once per connection. */
function outboxInsert(db: Db | Tx) {
  const ph = sql.placeholder;
  return db
    .insert(outbox)
    .values({
      toAddress: ph('toAddress'),
      toName: ph('toName'),
      subject: ph('subject'),
      template: ph('template'),
      locale: ph('locale'),
      payload: ph('payload'),
      nextAttemptAt: ph('now'),
      createdAt: ph('now'),
    })
    .returning({ id: outbox.id })
    .prepare();
}

/** What the outbox keeps of an email rendered at send time (its payload column, as JSON). */
interface Payload {
  data: unknown;
  params: Params;
}

/** An outbox row as the sender reads it: a template to render, or bodies rendered when queued. */
export type StoredEmail = Pick<typeof outbox.$inferSelect, 'toName' | 'subject' | 'template' | 'locale' | 'payload' | 'textBody' | 'htmlBody'>;

/** One email to queue: who gets it, in which language, and which template with what data. */
export interface EmailRequest<N extends EmailName = EmailName> {
  to: string;
  toName?: string | null;
  locale: Locale;
  template: N;
  data?: Parameters<EmailTemplates[N]>[0];
  params?: Params;
}

/** A rendered email, as stored in the outbox. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Renders emails in the recipient's language and writes them to the outbox. Callers pass their
 * transaction, so the email exists exactly when the action that caused it does.
 */
export class Mailer {
  private readonly eta = new Eta({ views: VIEWS, cache: true, autoEscape: true });

  constructor(readonly baseUrl: string) {}

  /** Absolute URL of a path on this Carnet. */
  url(path: string): string {
    return this.baseUrl + path;
  }

  /** The parameters every message of this email may use: the coop's name, the recipient's name, then the caller's. */
  private params(db: Db | Tx, req: EmailRequest): Params {
    return { coop: getCoop(db)?.name ?? 'Carnet', name: req.toName ?? '', ...req.params };
  }

  /** Renders a template without storing it. */
  render<N extends EmailName>(db: Db | Tx, req: EmailRequest<N>): RenderedEmail {
    return this.compose(req.template, req.locale, req.toName ?? null, req.data, this.params(db, req));
  }

  /** Renders an outbox row: from its template and data, or as stored by an older Carnet. */
  renderStored(row: StoredEmail): RenderedEmail {
    if (row.template === null || row.locale === null || row.payload === null) {
      return { subject: row.subject, text: row.textBody ?? '', html: row.htmlBody ?? '' };
    }
    if (!(row.template in emailTemplates)) throw new Error(`unknown email template "${row.template}"`);
    const { data, params } = JSON.parse(row.payload) as Payload;
    return this.compose(row.template as EmailName, row.locale, row.toName, data, params);
  }

  private compose(template: EmailName, locale: Locale, toName: string | null, data: unknown, params: Params): RenderedEmail {
    const t = translator(locale);
    const build = emailTemplates[template] as (d: unknown) => EmailContent;
    const content = build(data);
    const model = {
      lang: locale,
      subject: t(content.subject, params),
      // The recipient's own name: params.name may be someone else's (an admin told about a sign-up).
      greeting: toName ? t('email.greeting', { ...params, name: toName }) : null,
      paragraphs: content.paragraphs.map((k) => t(k, params)),
      table: content.table ?? null,
      blocks: content.blocks ?? [],
      action: content.action ? { label: t(content.action.label, params), url: content.action.url } : null,
      after: (content.after ?? []).map((k) => t(k, params)),
      signature: t('email.signature', params),
      footer: t('email.footer', params),
      homeUrl: this.baseUrl + '/',
    };
    return {
      subject: model.subject,
      html: this.eta.render('./message-html', model),
      text: plainText(model),
    };
  }

  /**
   * Adds an email to the outbox inside the caller's transaction. Only its subject is rendered
   * now; the body is rendered when it is sent (renderStored), which keeps the transaction short.
   */
  queue<N extends EmailName>(db: Db | Tx, req: EmailRequest<N>, now = Date.now()): number {
    const params = this.params(db, req);
    const build = emailTemplates[req.template] as (d: unknown) => EmailContent;
    const payload: Payload = { data: req.data ?? null, params };
    const row = perConnection(db, outboxInsert).get({
      toAddress: req.to,
      toName: req.toName ?? null,
      subject: translator(req.locale)(build(req.data).subject, params),
      template: req.template,
      locale: req.locale,
      payload: JSON.stringify(payload),
      now,
    })!;
    return row.id;
  }
}
