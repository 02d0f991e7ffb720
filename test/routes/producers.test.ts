import t from 'tap';
import { findProducer, inviteToProducer } from '../../src/domain/producers.js';
import { hashToken } from '../../src/domain/sessions.js';
import { translator } from '../../src/i18n/index.js';
import { createAccount, text } from '../helper.js';
import { adminOnly, castApp, clientAs, type CastCtx } from './admin-cast.js';
import { count, escapeHtml, expectRejected, HOSTILE, outboxFor, rolesOf, snapshot } from './route-helper.js';

/*
 * The admin's producer pages: list and search, create and edit (SIRET, VAT number), the accounts
 * that manage a producer, and invitations by email.
 */

const fr = translator('fr');
const en = translator('en');

const goodForm = {
  name: 'Maraîchage du Coteau',
  description: 'Légumes de saison\nen agriculture biologique',
  contactName: 'Jeanne Dupuis',
  email: 'Jeanne@Coteau.test',
  phone: '06 12 34 56 78',
  address: '12 chemin du Coteau\n44000 Nantes',
  siret: '732 829 320 00074',
  vatNumber: 'FR 44 732829320',
  active: 'on',
};

/** Producer ids linked from a list page, in order. */
const listedIds = (html: string) => [...html.matchAll(/href="\/admin\/producers\/(\d+)"/g)].map((m) => Number(m[1]));

/** Invites an address directly and returns the token's hash (the invitation's id in URLs). */
function invite(ctx: CastCtx, producerId: number, email: string): string {
  const result = inviteToProducer(ctx.db, ctx.app.mailer, { producerId, email, invitedBy: { id: ctx.ids.admin, name: 'Ada Admin' }, locale: 'fr' });
  if (!result.ok) throw new Error('invite failed: ' + result.reason);
  return hashToken(result.token);
}

t.test('every producer route: only the admin gets through', async (t) => {
  const routes: Array<Parameters<typeof adminOnly>[1] & { name: string }> = [
    {
      name: 'list',
      method: 'GET',
      url: () => '/admin/producers',
      admin: { status: 200 },
      after: (t, ctx, res) => t.same(listedIds(res.body), [ctx.farmA.id, ctx.farmB.id]),
    },
    { name: 'new', method: 'GET', url: () => '/admin/producers/new', admin: { status: 200 } },
    {
      name: 'create',
      method: 'POST',
      url: () => '/admin/producers',
      form: () => goodForm,
      admin: { status: 303, location: (ctx) => `/admin/producers/${ctx.farmB.id + 1}` },
      after: (t, ctx) =>
        t.match(findProducer(ctx.db, ctx.farmB.id + 1), {
          name: 'Maraîchage du Coteau',
          description: 'Légumes de saison\nen agriculture biologique',
          contactName: 'Jeanne Dupuis',
          email: 'jeanne@coteau.test',
          phone: '06 12 34 56 78',
          address: '12 chemin du Coteau\n44000 Nantes',
          siret: '73282932000074',
          vatNumber: 'FR44732829320',
          active: true,
        }),
    },
    {
      name: 'show',
      method: 'GET',
      url: (ctx) => `/admin/producers/${ctx.farmA.id}`,
      admin: { status: 200 },
      after: (t, _ctx, res) => {
        t.match(text(res.body), 'Ferme des Trois Chênes');
        t.match(text(res.body), 'Paul Producteur');
      },
    },
    { name: 'edit', method: 'GET', url: (ctx) => `/admin/producers/${ctx.farmA.id}/edit`, admin: { status: 200 } },
    {
      name: 'save',
      method: 'POST',
      url: (ctx) => `/admin/producers/${ctx.farmA.id}`,
      form: () => ({ ...goodForm, name: 'Ferme renommée', active: [] }),
      admin: { status: 303, location: (ctx) => `/admin/producers/${ctx.farmA.id}` },
      after: (t, ctx) => t.match(findProducer(ctx.db, ctx.farmA.id), { name: 'Ferme renommée', active: false, siret: '73282932000074' }),
    },
    {
      name: 'remove access',
      method: 'POST',
      url: (ctx) => `/admin/producers/${ctx.farmA.id}/accounts/${ctx.ids.producerA}/remove`,
      admin: { status: 303, location: (ctx) => `/admin/producers/${ctx.farmA.id}` },
      after: (t, ctx) => {
        t.equal(count(ctx.db, 'producer_accounts', 'producer_id = ?', ctx.farmA.id), 0);
        t.same(rolesOf(ctx.db, ctx.ids.producerA), ['member'], 'no producer left: the role goes too');
        t.equal(count(ctx.db, 'producer_accounts', 'producer_id = ?', ctx.farmB.id), 1, 'farm B keeps its account');
      },
    },
    {
      name: 'invite',
      method: 'POST',
      url: (ctx) => `/admin/producers/${ctx.farmA.id}/invitations`,
      form: () => ({ email: ' Nouvelle@Ferme.test ' }),
      admin: { status: 303, location: (ctx) => `/admin/producers/${ctx.farmA.id}` },
      after: (t, ctx) => {
        t.equal(count(ctx.db, 'producer_invitations', 'producer_id = ? and email = ?', ctx.farmA.id, 'nouvelle@ferme.test'), 1);
        t.equal(outboxFor(ctx.db, 'nouvelle@ferme.test').length, 1, 'the email is queued');
      },
    },
  ];
  for (const route of routes) await t.test(route.name, (t) => adminOnly(t, route));

  await t.test('revoke', async (t) => {
    let hash = '';
    await adminOnly(t, {
      method: 'POST',
      url: (ctx) => {
        hash ||= invite(ctx, ctx.farmA.id, 'later@ferme.test');
        return `/admin/producers/${ctx.farmA.id}/invitations/${hash}/revoke`;
      },
      admin: { status: 303, location: (ctx) => `/admin/producers/${ctx.farmA.id}` },
      after: (t, ctx) => t.equal(count(ctx.db, 'producer_invitations'), 0),
    });
  });
});

t.test('unknown, malformed or mismatched ids are 404 and change nothing', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  const hash = invite(ctx, ctx.farmA.id, 'x@ferme.test');
  for (const id of ['9999', 'abc', '0', '-1', '1.5', '1e3', '99999999999999999999']) {
    for (const url of [`/admin/producers/${id}`, `/admin/producers/${id}/edit`]) {
      t.equal((await admin.get(url)).statusCode, 404, `GET ${url}`);
    }
    for (const url of [
      `/admin/producers/${id}`,
      `/admin/producers/${id}/invitations`,
      `/admin/producers/${id}/accounts/${ctx.ids.producerA}/remove`,
      `/admin/producers/${ctx.farmA.id}/accounts/${id}/remove`,
      `/admin/producers/${id}/invitations/${hash}/revoke`,
    ]) {
      await admin.get('/admin/producers');
      const before = snapshot(ctx.db);
      const res = await admin.post(url, { name: 'X', email: 'x@y.test' });
      t.equal(res.statusCode, 404, `POST ${url}`);
      t.equal(snapshot(ctx.db), before, `POST ${url} changed nothing`);
    }
  }
  // Producer B's account is not linked to farm A; farm A's invitation cannot be revoked through farm B.
  for (const url of [
    `/admin/producers/${ctx.farmA.id}/accounts/${ctx.ids.producerB}/remove`,
    `/admin/producers/${ctx.farmB.id}/invitations/${hash}/revoke`,
    `/admin/producers/${ctx.farmA.id}/invitations/${'0'.repeat(64)}/revoke`,
    `/admin/producers/${ctx.farmA.id}/invitations/not-a-hash/revoke`,
  ]) {
    await admin.get('/admin/producers');
    const before = snapshot(ctx.db);
    t.equal((await admin.post(url)).statusCode, 404, url);
    t.equal(snapshot(ctx.db), before, `${url} changed nothing`);
  }
});

t.test('bad producer forms: 422, the same form, a clear message, nothing stored', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin', { 'accept-language': 'en' });
  await admin.post('/lang', { locale: 'en', next: '/' });
  const cases = [
    { label: 'no name', form: { ...goodForm, name: '' }, message: en('error.required') },
    { label: 'blank name', form: { ...goodForm, name: '   ' }, message: en('error.required') },
    { label: 'name too long', form: { ...goodForm, name: 'a'.repeat(101) }, message: en('error.too_long', { max: 100 }) },
    { label: 'hostile name', form: { ...goodForm, name: HOSTILE.script }, message: en('error.invalid_name'), echo: HOSTILE.script },
    { label: 'attribute injection', form: { ...goodForm, name: HOSTILE.attr }, message: en('error.invalid_name'), echo: HOSTILE.attr },
    { label: 'control character', form: { ...goodForm, description: 'bell\u0007' }, message: en('error.invalid_text') },
    { label: 'description too long', form: { ...goodForm, description: 'x'.repeat(2001) }, message: en('error.too_long', { max: 2000 }) },
    { label: 'two names', form: { ...goodForm, name: ['A', 'B'] }, message: en('error.invalid_value') },
    { label: 'SIRET with a wrong key', form: { ...goodForm, siret: '732 829 320 00075' }, message: en('error.invalid_siret'), echo: '732 829 320 00075' },
    { label: 'SIRET too short', form: { ...goodForm, siret: '7328293200007' }, message: en('error.invalid_siret') },
    { label: 'SIRET with letters', form: { ...goodForm, siret: '7328293200007A' }, message: en('error.invalid_siret') },
    { label: 'SIRET absurdly long', form: { ...goodForm, siret: '7'.repeat(500) }, message: en('error.invalid_siret') },
    { label: 'VAT number with a wrong key', form: { ...goodForm, vatNumber: 'FR45732829320' }, message: en('error.invalid_vat_number') },
    { label: 'VAT number of no country', form: { ...goodForm, vatNumber: 'US123456789' }, message: en('error.invalid_vat_number') },
    { label: 'VAT number of another SIREN', form: { ...goodForm, vatNumber: 'FR64443061841' }, message: en('error.vat_siret_mismatch') },
    { label: 'bad email', form: { ...goodForm, email: 'jeanne at coteau' }, message: en('error.invalid_email'), echo: 'jeanne at coteau' },
    { label: 'bad phone', form: { ...goodForm, phone: 'call me' }, message: en('error.invalid_phone') },
  ];
  for (const bad of cases) {
    await expectRejected(t, ctx.db, admin, '/admin/producers', bad, '/admin/producers/new');
    await expectRejected(t, ctx.db, admin, `/admin/producers/${ctx.farmA.id}`, bad, `/admin/producers/${ctx.farmA.id}/edit`);
  }
  // The form comes back with what was typed, and the checkbox as it was sent.
  await admin.get('/admin/producers/new');
  const res = await admin.post('/admin/producers', { ...goodForm, siret: 'nope', active: [] });
  t.match(res.body, 'value="Maraîchage du Coteau"');
  t.match(res.body, /Légumes de saison\nen agriculture biologique<\/textarea>/);
  t.notMatch(res.body, /name="active"[^>]*checked/, 'active stays off');
  t.match(res.body, /id="f-siret"[^>]*aria-invalid="true"/);
});

t.test('hostile text in free fields is stored as text and shown escaped', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  await admin.get('/admin/producers/new');
  let res = await admin.post('/admin/producers', { name: 'Ferme Zoë Ñandú', description: HOSTILE.script, address: HOSTILE.attr, siret: '', vatNumber: '' });
  t.equal(res.statusCode, 303);
  res = await admin.get(String(res.headers.location));
  t.notMatch(res.body, '<script>alert(1)</script>');
  t.notMatch(res.body, '<img src=x');
  t.match(res.body, escapeHtml(HOSTILE.script));
  t.match(text(res.body), 'Ferme Zoë Ñandú');
  t.match(text(res.body), fr('producers.flash.created', { name: 'Ferme Zoë Ñandú' }));
});

t.test('the list: search by name, counts, empty states and the htmx fragment', async (t) => {
  const ctx = await castApp(t);
  invite(ctx, ctx.farmB.id, 'x@ferme.test');
  const admin = await clientAs(ctx.app, 'admin');
  let res = await admin.get('/admin/producers');
  const rows = [...res.body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => text(m[1]!)).slice(1);
  t.same(rows, ['Ferme des Trois Chênes actif·ve 1 0', 'Les Ruchers du Val actif·ve 1 1']);
  res = await admin.get('/admin/producers?q=ruch');
  t.same(listedIds(res.body), [ctx.farmB.id]);
  res = await admin.get('/admin/producers?q=nobody');
  t.same(listedIds(res.body), []);
  t.match(text(res.body), fr('producers.no_match'));
  res = await admin.get('/admin/producers?q=' + 'x'.repeat(200));
  t.equal(res.statusCode, 200, 'an over-long search is ignored');
  t.same(listedIds(res.body), [ctx.farmA.id, ctx.farmB.id]);
  res = await admin.get('/admin/producers?q=ruch', { 'hx-request': 'true', 'hx-target': 'producer-results' });
  t.notMatch(res.body, /<html/, 'a fragment');
  t.match(res.body, /^<section id="producer-results"/);
  t.same(listedIds(res.body), [ctx.farmB.id]);

  ctx.db.$client.prepare('delete from producers').run();
  res = await admin.get('/admin/producers');
  t.match(text(res.body), fr('producers.empty'));
  t.match(res.body, 'href="/admin/producers/new"', 'the empty list says what to do next');
});

t.test('the producer page: accounts, pending and expired invitations, revoke, remove access', async (t) => {
  const ctx = await castApp(t);
  const other = await createAccount(ctx.db, { email: 'second@carnet.test', name: 'Second Manager', roles: ['producer'] });
  ctx.db.$client.prepare('insert into producer_accounts (producer_id, account_id, created_at) values (?, ?, ?)').run(ctx.farmA.id, other, Date.now());
  const hash = invite(ctx, ctx.farmA.id, 'pending@ferme.test');
  invite(ctx, ctx.farmA.id, 'expired@ferme.test');
  ctx.db.$client.prepare("update producer_invitations set expires_at = 1 where email = 'expired@ferme.test'").run();
  const admin = await clientAs(ctx.app, 'admin');
  let res = await admin.get(`/admin/producers/${ctx.farmA.id}`);
  const page = text(res.body);
  t.match(page, 'Paul Producteur');
  t.match(page, 'Second Manager');
  t.notMatch(page, 'Rose Rucher', 'not farm B’s account');
  t.match(page, 'pending@ferme.test');
  t.match(page, /expired@ferme\.test Ada Admin expirée/);
  t.match(res.body, `/admin/producers/${ctx.farmA.id}/invitations/${hash}/revoke`);

  res = await admin.post(`/admin/producers/${ctx.farmA.id}/invitations/${hash}/revoke`);
  t.equal(res.statusCode, 303);
  res = await admin.get(`/admin/producers/${ctx.farmA.id}`);
  t.match(text(res.body), fr('producers.flash.invitation_revoked'));
  t.notMatch(text(res.body), 'pending@ferme.test');

  // Second Manager manages only farm A: removing it drops the producer role; Paul keeps farm A.
  res = await admin.post(`/admin/producers/${ctx.farmA.id}/accounts/${other}/remove`);
  t.equal(res.statusCode, 303);
  t.same(rolesOf(ctx.db, other), []);
  res = await admin.get(`/admin/producers/${ctx.farmA.id}`);
  t.match(text(res.body), fr('producers.flash.access_removed_role', { name: 'Second Manager', producer: 'Ferme des Trois Chênes' }));
  t.equal(count(ctx.db, 'producer_accounts', 'producer_id = ?', ctx.farmA.id), 1);
});

t.test('inviting: bad emails, someone who already manages it, replacing an invitation', async (t) => {
  const ctx = await castApp(t);
  const admin = await clientAs(ctx.app, 'admin');
  const url = `/admin/producers/${ctx.farmA.id}/invitations`;
  const page = `/admin/producers/${ctx.farmA.id}`;
  const cases = [
    { label: 'no email', form: { email: '' }, message: fr('error.required') },
    { label: 'not an email', form: { email: 'jeanne' }, message: fr('error.invalid_email'), echo: 'jeanne' },
    { label: 'hostile', form: { email: HOSTILE.script }, message: fr('error.invalid_email'), echo: HOSTILE.script },
    { label: 'too long', form: { email: 'a'.repeat(250) + '@x.fr' }, message: fr('error.too_long', { max: 254 }) },
    { label: 'two emails', form: { email: ['a@x.fr', 'b@x.fr'] }, message: fr('error.invalid_value') },
    { label: 'already manages it', form: { email: 'PRODUCER-A@carnet.test' }, message: fr('error.already_manages') },
  ];
  for (const bad of cases) await expectRejected(t, ctx.db, admin, url, bad, page);

  // Producer B may manage farm A too: B's email is invited, and the invitation is replaced when sent again.
  await admin.get(page);
  t.equal((await admin.post(url, { email: 'producer-b@carnet.test' })).statusCode, 303);
  await admin.get(page);
  t.equal((await admin.post(url, { email: 'producer-b@carnet.test' })).statusCode, 303);
  t.equal(count(ctx.db, 'producer_invitations', 'email = ?', 'producer-b@carnet.test'), 1, 'one open invitation per address and producer');
  const mails = outboxFor(ctx.db, 'producer-b@carnet.test');
  t.equal(mails.length, 2);
  t.equal(mails[1]!.subject, 'Ada Admin vous invite à gérer Ferme des Trois Chênes sur Coop Test');
  t.match(mails[1]!.text_body, /Bonjour Rose Rucher/);
  t.match(mails[1]!.text_body, /http:\/\/carnet\.test\/invitations\/[A-Za-z0-9_-]{43}/);
});
