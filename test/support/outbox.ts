import type { Db } from '../../src/db/index.js';
import { Mailer, type StoredEmail } from '../../src/mail/mailer.js';

/** An outbox row with its body rendered, as the recipient will get it. */
export interface OutboxEmail {
  id: number;
  to_address: string;
  to_name: string | null;
  subject: string;
  text_body: string;
  html_body: string;
  status: string;
}

interface Row {
  id: number;
  to_address: string;
  to_name: string | null;
  subject: string;
  template: string | null;
  locale: 'fr' | 'en' | null;
  payload: string | null;
  text_body: string | null;
  html_body: string | null;
  status: string;
}

const mailer = new Mailer('http://carnet.test');

/** The outbox, oldest first (optionally only the emails to one address), each rendered as the sender would. */
export function outboxEmails(db: Db, to?: string): OutboxEmail[] {
  const sql = 'select * from outbox' + (to ? ' where to_address = ?' : '') + ' order by id';
  const rows = db.$client.prepare(sql).all(...(to ? [to] : [])) as Row[];
  return rows.map((r) => {
    const stored: StoredEmail = {
      toName: r.to_name,
      subject: r.subject,
      template: r.template,
      locale: r.locale,
      payload: r.payload,
      textBody: r.text_body,
      htmlBody: r.html_body,
    };
    const email = mailer.renderStored(stored);
    return { id: r.id, to_address: r.to_address, to_name: r.to_name, subject: r.subject, text_body: email.text, html_body: email.html, status: r.status };
  });
}
