import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { requestPasswordReset } from '../../src/domain/password-reset.js';
import type { Db } from '../../src/db/index.js';
import { build, Client, createAccount, PASSWORD, text } from '../helper.js';
import { clientFor, createCast, EMAILS, outboxFor, resetLinkFrom, snapshot } from './route-helper.js';

/*
 * CSRF: every POST needs the token of its own session, in the _csrf field or (htmx) the
 * X-CSRF-Token header. Without it, with a wrong one or with another session's, the answer is 403
 * and nothing changes.
 */

interface PostCase {
  label: string;
  url: (db: Db, app: FastifyInstance) => string;
  form: Record<string, string | string[]>;
  /** Who sends it: a visitor, or the admin (allowed everywhere). */
  as: 'anonymous' | 'admin';
  ok: number;
}

const ids = { member: 0, applicant: 0, applicant2: 0, failed: 0 };

const CASES: PostCase[] = [
  { label: '/lang', url: () => '/lang', form: { locale: 'en', next: '/' }, as: 'anonymous', ok: 303 },
  { label: '/lang', url: () => '/lang', form: { locale: 'en', next: '/' }, as: 'admin', ok: 303 },
  { label: '/signup', url: () => '/signup', form: { name: 'Nina New', email: 'nina@example.org', password: PASSWORD, passwordConfirm: PASSWORD }, as: 'anonymous', ok: 303 },
  { label: '/login', url: () => '/login', form: { email: EMAILS.member, password: PASSWORD }, as: 'anonymous', ok: 303 },
  { label: '/logout', url: () => '/logout', form: {}, as: 'admin', ok: 303 },
  { label: '/password/forgot', url: () => '/password/forgot', form: { email: EMAILS.member }, as: 'anonymous', ok: 200 },
  {
    label: '/password/reset/:token',
    url: (db, app) => {
      requestPasswordReset(db, app.mailer, 'forgetful@carnet.test');
      return resetLinkFrom(outboxFor(db, 'forgetful@carnet.test').at(-1)!);
    },
    form: { password: 'a brand new password', passwordConfirm: 'a brand new password' },
    as: 'anonymous',
    ok: 303,
  },
  { label: '/account/profile', url: () => '/account/profile', form: { name: 'Ada Renamed', email: EMAILS.admin, locale: 'en' }, as: 'admin', ok: 303 },
  { label: '/account/password', url: () => '/account/password', form: { currentPassword: PASSWORD, password: 'another long password', passwordConfirm: 'another long password' }, as: 'admin', ok: 303 },
  { label: '/account/sessions/revoke', url: () => '/account/sessions/revoke', form: {}, as: 'admin', ok: 303 },
  { label: '/admin/accounts/:id/roles', url: () => `/admin/accounts/${ids.member}/roles`, form: { roles: ['admin', 'member'] }, as: 'admin', ok: 303 },
  { label: '/admin/approvals/:id/approve', url: () => `/admin/approvals/${ids.applicant}/approve`, form: {}, as: 'admin', ok: 303 },
  { label: '/admin/approvals/:id/reject', url: () => `/admin/approvals/${ids.applicant2}/reject`, form: {}, as: 'admin', ok: 303 },
  { label: '/admin/settings', url: () => '/admin/settings', form: { name: 'Coop X', contactEmail: 'x@carnet.test', defaultLocale: 'en', timeZone: 'Europe/Paris' }, as: 'admin', ok: 303 },
  { label: '/admin/outbox/test', url: () => '/admin/outbox/test', form: { to: 'someone@example.org' }, as: 'admin', ok: 303 },
  { label: '/admin/outbox/:id/retry', url: () => `/admin/outbox/${ids.failed}/retry`, form: {}, as: 'admin', ok: 303 },
];

/** A form body without any _csrf field. */
function encode(form: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
  return p.toString();
}

for (const kase of CASES) {
  t.test(`POST ${kase.label} as ${kase.as}`, async (t) => {
    const { app, db } = await build(t);
    const cast = await createCast(db);
    ids.member = cast.member;
    ids.applicant = await createAccount(db, { email: 'applicant@carnet.test', name: 'Alex', status: 'pending' });
    ids.applicant2 = await createAccount(db, { email: 'applicant2@carnet.test', name: 'Alix', status: 'pending' });
    await createAccount(db, { email: 'forgetful@carnet.test', name: 'Fred' });
    ids.failed = app.mailer.queue(db, { to: 'failed@example.org', locale: 'fr', template: 'test' });
    db.$client.prepare("update outbox set status = 'failed' where id = ?").run(ids.failed);

    const c = await clientFor(app, kase.as);
    const other = await clientFor(app, kase.as === 'admin' ? 'member' : 'anonymous');
    const url = kase.url(db, app);
    const cookie = `carnet_session=${c.cookies.get('carnet_session')}`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded', cookie };

    const attempts: Array<[string, () => Promise<{ statusCode: number; body: string }>]> = [
      ['no token', () => app.inject({ method: 'POST', url, payload: encode(kase.form), headers })],
      ['empty token', () => c.post(url, { ...kase.form, _csrf: '' })],
      ['wrong token', () => c.post(url, { ...kase.form, _csrf: 'A'.repeat(43) })],
      ['token of another session', () => c.post(url, { ...kase.form, _csrf: other.csrf })],
      ['wrong header', () => c.post(url, { ...kase.form, _csrf: '' }, { 'x-csrf-token': other.csrf })],
      ['two tokens', () => c.post(url, { ...kase.form, _csrf: [c.csrf, c.csrf] })],
      [
        'right token, no cookie',
        () => app.inject({ method: 'POST', url, payload: encode({ ...kase.form, _csrf: c.csrf }), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      ],
    ];
    for (const [label, send] of attempts) {
      const before = snapshot(db);
      const res = await send();
      t.equal(res.statusCode, 403, `${label}: 403`);
      t.equal(snapshot(db), before, `${label}: nothing changed`);
      t.match(text(res.body), /Ce formulaire a expiré|This form has expired/, `${label}: says why`);
    }

    // The htmx way: the token in the X-CSRF-Token header, no field at all.
    const res = await app.inject({ method: 'POST', url, payload: encode(kase.form), headers: { ...headers, 'x-csrf-token': c.csrf, 'hx-request': 'true' } });
    t.equal(res.statusCode, kase.ok, 'the X-CSRF-Token header is accepted');
  });
}

t.test('the token changes when the session does (log in, log out)', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  const c = new Client(app, { 'accept-language': 'en' });
  await c.get('/login');
  const visitorToken = c.csrf;
  await c.post('/login', { email: 'ana@example.org', password: PASSWORD });
  await c.get('/');
  // A form opened before logging in no longer works after it.
  let before = snapshot(db);
  let res = await c.post('/account/profile', { _csrf: visitorToken, name: 'Changed', email: 'ana@example.org', locale: 'en' });
  t.equal(res.statusCode, 403);
  t.match(text(res.body), 'Ce formulaire a expiré', 'in the account’s language');
  t.equal(snapshot(db), before);
  await c.get('/account');
  t.not(c.csrf, visitorToken, 'a new token after logging in');
  const memberToken = c.csrf;
  await c.post('/logout');
  await c.get('/');
  t.not(c.csrf, memberToken, 'a new token after logging out');
  before = snapshot(db);
  res = await c.post('/lang', { _csrf: memberToken, locale: 'fr' });
  t.equal(res.statusCode, 403, 'the logged-in token is dead after logging out');
  t.equal(snapshot(db), before);
});

t.test('the layout gives htmx the token through hx-headers', async (t) => {
  const { app, db } = await build(t);
  await createAccount(db, { email: 'ana@example.org' });
  const c = await clientFor(app, 'anonymous');
  const res = await c.get('/');
  const m = /hx-headers='\{"X-CSRF-Token": "([^"]+)"\}'/.exec(res.body);
  t.ok(m, 'the page carries hx-headers with the token');
  t.equal(m?.[1], c.csrf, 'with the same token as the forms');
});
