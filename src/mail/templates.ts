import type { MessageKey, Params } from '../i18n/index.js';

/**
 * A table of already-translated cells (an order's lines), shown after the paragraphs. Cells are
 * plain text: the HTML part escapes them, the text part aligns them in columns.
 */
export interface EmailTable {
  head: string[];
  rows: string[][];
  /** Totals under the rows. */
  foot: string[][];
  align?: Array<'left' | 'right'>;
}

/** A titled block of already-translated lines of text (a pickup address, payment instructions). */
export interface EmailBlock {
  title: string;
  lines: string[];
}

/** What an email says, as message keys; the mailer renders it in the recipient's language. */
export interface EmailContent {
  subject: MessageKey;
  paragraphs: MessageKey[];
  table?: EmailTable;
  blocks?: EmailBlock[];
  action?: { label: MessageKey; url: string };
  after?: MessageKey[];
}

/** The emails Carnet sends, each built from its parameters. Links are absolute. */
export const emailTemplates = {
  test: (): EmailContent => ({ subject: 'email.test.subject', paragraphs: ['email.test.body'] }),
  welcome: (p: { loginUrl: string }): EmailContent => ({
    subject: 'email.welcome.subject',
    paragraphs: ['email.welcome.body'],
    action: { label: 'nav.login', url: p.loginUrl },
  }),
  pending: (): EmailContent => ({ subject: 'email.pending.subject', paragraphs: ['email.pending.body'] }),
  adminPending: (p: { approvalsUrl: string }): EmailContent => ({
    subject: 'email.admin_pending.subject',
    paragraphs: ['email.admin_pending.body'],
    action: { label: 'admin.approvals', url: p.approvalsUrl },
  }),
  approved: (p: { loginUrl: string }): EmailContent => ({
    subject: 'email.approved.subject',
    paragraphs: ['email.approved.body'],
    action: { label: 'nav.login', url: p.loginUrl },
  }),
  rejected: (): EmailContent => ({ subject: 'email.rejected.subject', paragraphs: ['email.rejected.body'] }),
  passwordReset: (p: { resetUrl: string }): EmailContent => ({
    subject: 'email.reset.subject',
    paragraphs: ['email.reset.body'],
    action: { label: 'email.reset.button', url: p.resetUrl },
    after: ['email.reset.ignore'],
  }),
  passwordChanged: (p: { forgotUrl: string }): EmailContent => ({
    subject: 'email.password_changed.subject',
    paragraphs: ['email.password_changed.body'],
    action: { label: 'forgot.title', url: p.forgotUrl },
  }),
  producerInvitation: (p: { acceptUrl: string }): EmailContent => ({
    subject: 'email.producer_invitation.subject',
    paragraphs: ['email.producer_invitation.body'],
    action: { label: 'email.producer_invitation.button', url: p.acceptUrl },
    after: ['email.producer_invitation.ignore'],
  }),
  // Sale cycles: producers are told a sale is scheduled, and reminded if they published nothing.
  cycleScheduled: (p: { offersUrl: string }): EmailContent => ({
    subject: 'cycles.email.scheduled.subject',
    paragraphs: ['cycles.email.scheduled.body'],
    action: { label: 'cycles.email.publish_button', url: p.offersUrl },
  }),
  producerReminder: (p: { offersUrl: string }): EmailContent => ({
    subject: 'cycles.email.reminder.subject',
    paragraphs: ['cycles.email.reminder.body'],
    action: { label: 'cycles.email.publish_button', url: p.offersUrl },
    after: ['cycles.email.reminder.after'],
  }),
  // Orders (members): confirmations with the lines, pickup and payment, and the sale notices.
  orderPlaced: (p: { orderUrl: string; table: EmailTable; blocks: EmailBlock[] }): EmailContent => ({
    subject: 'orders.email.placed.subject',
    paragraphs: ['orders.email.placed.body'],
    table: p.table,
    blocks: p.blocks,
    action: { label: 'orders.email.view_button', url: p.orderUrl },
    after: ['orders.email.change_until'],
  }),
  orderChanged: (p: { orderUrl: string; table: EmailTable; blocks: EmailBlock[] }): EmailContent => ({
    subject: 'orders.email.changed.subject',
    paragraphs: ['orders.email.changed.body'],
    table: p.table,
    blocks: p.blocks,
    action: { label: 'orders.email.view_button', url: p.orderUrl },
    after: ['orders.email.change_until'],
  }),
  orderCancelled: (p: { orderUrl: string; blocks: EmailBlock[] }): EmailContent => ({
    subject: 'orders.email.cancelled.subject',
    paragraphs: ['orders.email.cancelled.body'],
    blocks: p.blocks,
    action: { label: 'orders.email.view_button', url: p.orderUrl },
  }),
  cycleOpen: (p: { shopUrl: string }): EmailContent => ({
    subject: 'orders.email.open.subject',
    paragraphs: ['orders.email.open.body'],
    action: { label: 'orders.email.shop_button', url: p.shopUrl },
    after: ['orders.email.open.unsubscribe'],
  }),
  closingReminder: (p: { basketUrl: string }): EmailContent => ({
    subject: 'orders.email.reminder.subject',
    paragraphs: ['orders.email.reminder.body'],
    action: { label: 'orders.email.basket_button', url: p.basketUrl },
  }),
} satisfies Record<string, (p: never) => EmailContent>;

export type EmailTemplates = typeof emailTemplates;
export type EmailName = keyof EmailTemplates;
/** The parameters one template needs, plus the message parameters its texts use. */
export type EmailArgs<N extends EmailName> = Parameters<EmailTemplates[N]>[0] extends undefined
  ? { params?: Params }
  : { data: Parameters<EmailTemplates[N]>[0]; params?: Params };
