import t from 'tap';
import type { Test } from 'tap';
import { translator } from '../../src/i18n/index.js';
import { build, Client, loggedIn, text } from '../helper.js';
import { LEAKS } from './route-helper.js';

/*
 * Error pages: translated, with the right status, and never a stack trace or a server path.
 * /healthz answers 200 while the database does, 503 when it does not.
 */

function noLeak(t: Test, body: string, what: string) {
  for (const leak of LEAKS) t.notMatch(body, leak, `${what}: no ${leak}`);
}

t.test('404 for an unknown URL, in French and English', async (t) => {
  const { app } = await build(t);
  for (const [lang, url] of [
    ['fr', '/nowhere'],
    ['en', '/nowhere'],
    ['en', '/admin/nowhere'],
    ['fr', '/account/42'],
    ['en', '/static/missing.css'],
    ['en', '/%3Cscript%3Ealert(1)%3C/script%3E'],
    ['fr', '/admin/accounts/%zz'],
    ['en', '/password/reset/' + 'y'.repeat(300)],
  ] as const) {
    const res = await new Client(app, { 'accept-language': lang }).get(url);
    t.equal(res.statusCode, 404, `${lang} ${url.slice(0, 40)}`);
    t.match(res.body, translator(lang)('errors.title.404'));
    t.notMatch(res.body, /<script>alert/);
    noLeak(t, res.body, url.slice(0, 40));
  }
  const page = await new Client(app, { 'accept-language': 'en' }).get('/nowhere');
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(text(page.body), 'This page does not exist, or is not yours to see.');
  t.match(page.body, /<html lang="en">/);
  t.match(page.body, /href="\/"/, 'a way back home');
  const frPage = await new Client(app, { 'accept-language': 'fr' }).get('/nowhere');
  t.match(text(frPage.body), 'Cette page n’existe pas');
  // POSTing to a page that does not exist is a 404 too, not a CSRF error.
  const res = await app.inject({ method: 'POST', url: '/nowhere', payload: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(res.statusCode, 404);
});

t.test('no stack trace or file path in any error body', async (t) => {
  const { app } = await build(t);
  const member = await loggedIn(app, 'admin@carnet.test', { 'accept-language': 'en' });
  await member.get('/');
  const requests = [
    () => app.inject({ method: 'POST', url: '/login', payload: '{bad json', headers: { 'content-type': 'application/json' } }),
    () => app.inject({ method: 'POST', url: '/login', payload: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    () => app.inject({ method: 'POST', url: '/login', payload: 'x', headers: { 'content-type': 'application/xml' } }),
    () => app.inject({ method: 'POST', url: '/admin/settings' }),
    () => member.post('/admin/accounts/abc/roles', { roles: 'admin' }),
    () => member.post('/lang', { locale: 'zz' }),
    () => app.inject({ method: 'PUT', url: '/account' }),
    () => app.inject({ method: 'DELETE', url: '/admin/accounts/1' }),
  ];
  for (const send of requests) {
    const res = await send();
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode}`);
    noLeak(t, res.body, String(res.statusCode));
    t.notMatch(res.headers['content-type'], /json/, 'never Fastify’s JSON error');
  }
});

t.test('a server error shows a plain apology, never the error', async (t) => {
  const { app, db } = await build(t);
  db.$client.close();
  for (const lang of ['en', 'fr'] as const) {
    const res = await app.inject({ method: 'GET', url: '/', headers: { 'accept-language': lang } });
    t.equal(res.statusCode, 500);
    t.match(res.body, translator(lang)('errors.title.500'));
    noLeak(t, res.body, `500 ${lang}`);
    t.notMatch(res.body, /database|connection|closed/i, 'the cause stays in the log');
  }
});

t.test('/healthz', async (t) => {
  const { app, db } = await build(t);
  let res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(res.headers['cache-control'], 'no-store');
  t.same(res.json(), { status: 'ok', database: 'ok' });
  t.notOk(res.headers['set-cookie'], 'no cookie for monitors');
  db.$client.close();
  res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 503);
  t.equal((await app.inject({ method: 'GET', url: '/healthz/?probe=1' })).statusCode, 503, 'whatever the query string');
  t.same(res.json(), { status: 'error', database: 'unavailable' });
  noLeak(t, res.body, '503');
});
