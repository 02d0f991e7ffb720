import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { translator } from '../../src/i18n/index.js';
import { build, loggedIn } from '../helper.js';
import { decode, snapshot } from './route-helper.js';
import { addProduct, createProducers, pngImage, PRODUCER_A, PRODUCER_B, productForm, productRow, postMultipart } from '../fixtures/catalog.js';

/*
 * Product photos: a real image is stored as WebP of at most 800 px, anything else is refused with
 * nothing stored, a replaced or removed photo's file is deleted, and /photos serves only our files.
 */

const fr = translator('fr');

async function setUp(t: Test) {
  const built = await build(t);
  const cast = await createProducers(built.db);
  const a = await loggedIn(built.app, PRODUCER_A);
  const A = `/producer/${cast.producerA}/products`;
  await a.get(`${A}/new`);
  const photoDir = join(built.config.dataDir, 'photos');
  const files = () => (existsSync(photoDir) ? readdirSync(photoDir).sort() : []);
  return { ...built, ...cast, a, A, photoDir, files };
}

t.test('a PNG becomes a WebP of at most 800 px, served with a long cache', async (t) => {
  const ctx = await setUp(t);
  const png = await pngImage(1600, 1000);
  let res = await postMultipart(ctx.a, ctx.A, { ...productForm(ctx.db, { name: 'Courges' }), photo: { filename: 'courge.png', contentType: 'image/png', data: png } });
  t.equal(res.statusCode, 303);
  const id = (ctx.db.$client.prepare("select id from products where name = 'Courges'").get() as { id: number }).id;
  const photo = String(productRow(ctx.db, id)!.photo);
  t.match(photo, new RegExp(`^${id}-[a-f0-9]{16}\\.webp$`));
  t.same(ctx.files(), [photo], 'one file, no temporary left');
  const meta = await sharp(join(ctx.photoDir, photo)).metadata();
  t.equal(meta.format, 'webp');
  t.equal(meta.width, 800);
  t.equal(meta.height, 500);

  res = await ctx.a.get(ctx.A);
  t.match(res.body, `src="/photos/${photo}"`, 'the list shows the thumbnail');
  res = await ctx.app.inject({ method: 'GET', url: `/photos/${photo}` });
  t.equal(res.statusCode, 200, 'photos are public (the shop shows them)');
  t.equal(res.headers['content-type'], 'image/webp');
  t.match(String(res.headers['cache-control']), /public.*max-age=31536000/);
  t.notOk(res.headers['set-cookie'], 'no cookie on a cacheable image');

  // A small image is not enlarged; the old file is deleted when replaced.
  await ctx.a.get(`${ctx.A}/${id}/edit`);
  res = await postMultipart(ctx.a, `${ctx.A}/${id}`, { ...productForm(ctx.db, { name: 'Courges' }), photo: { filename: 'small.png', contentType: 'image/png', data: await pngImage(300, 200) } });
  t.equal(res.statusCode, 303);
  const second = String(productRow(ctx.db, id)!.photo);
  t.not(second, photo, 'a new name, so caches never show the old one');
  t.same(ctx.files(), [second], 'the previous file is gone');
  t.equal((await sharp(join(ctx.photoDir, second)).metadata()).width, 300);
  t.equal((await ctx.app.inject({ method: 'GET', url: `/photos/${photo}` })).statusCode, 404);

  // Saving without a new photo keeps it (an empty file part is what a browser sends).
  await ctx.a.get(`${ctx.A}/${id}/edit`);
  res = await postMultipart(ctx.a, `${ctx.A}/${id}`, { ...productForm(ctx.db, { name: 'Courges musquées' }), photo: { filename: '', contentType: 'application/octet-stream', data: Buffer.alloc(0) } });
  t.equal(res.statusCode, 303);
  t.equal(productRow(ctx.db, id)!.photo, second);
  t.equal(productRow(ctx.db, id)!.name, 'Courges musquées', 'multipart fields are read like any form');

  // "Remove the photo" deletes the file.
  await ctx.a.get(`${ctx.A}/${id}/edit`);
  res = await postMultipart(ctx.a, `${ctx.A}/${id}`, { ...productForm(ctx.db, { name: 'Courges musquées' }), removePhoto: 'on' });
  t.equal(res.statusCode, 303);
  t.equal(productRow(ctx.db, id)!.photo, null);
  t.same(ctx.files(), []);
});

t.test('an upload that is not an image, or too large, is refused with nothing stored', async (t) => {
  const ctx = await setUp(t);
  const cases: Array<[string, { filename: string; contentType: string; data: Buffer }, string]> = [
    ['a text file named .jpg', { filename: 'photo.jpg', contentType: 'image/jpeg', data: Buffer.from('this is not a picture at all\n') }, fr('error.catalog.not_image')],
    ['a PNG header and garbage', { filename: 'x.png', contentType: 'image/png', data: Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(200, 7)]) }, fr('error.catalog.not_image')],
    ['an SVG with a script', { filename: 'x.svg', contentType: 'image/svg+xml', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') }, fr('error.catalog.not_image')],
    ['a 50 MB upload', { filename: 'huge.jpg', contentType: 'image/jpeg', data: Buffer.alloc(50 * 1024 * 1024, 1) }, fr('error.catalog.photo_too_large')],
  ];
  for (const [label, file, message] of cases) {
    await ctx.a.get(`${ctx.A}/new`);
    const before = snapshot(ctx.db);
    const res = await postMultipart(ctx.a, ctx.A, { ...productForm(ctx.db, { name: 'Refusé' }), photo: file });
    t.equal(res.statusCode, 422, `${label}: 422`);
    t.ok(decode(res.body).includes(message), `${label}: says "${message}"`);
    t.match(res.body, /id="f-photo"[^>]*aria-invalid="true"/, `${label}: the photo field is marked`);
    t.match(res.body, 'value="Refusé"', `${label}: the other fields are kept`);
    t.equal(snapshot(ctx.db), before, `${label}: nothing stored`);
    t.same(ctx.files(), [], `${label}: no file written`);
  }
  // The same refusals on the edit form leave the product and its photo as they were.
  const id = addProduct(ctx.db, ctx.producerA, { name: 'Gardé' });
  await ctx.a.get(`${ctx.A}/${id}/edit`);
  const before = snapshot(ctx.db);
  const res = await postMultipart(ctx.a, `${ctx.A}/${id}`, { ...productForm(ctx.db, { name: 'Changé' }), photo: cases[0]![1] });
  t.equal(res.statusCode, 422);
  t.equal(snapshot(ctx.db), before);
});

t.test('multipart forms need the CSRF token and the right producer', async (t) => {
  const ctx = await setUp(t);
  const png = await pngImage(20, 20);
  const form = { ...productForm(ctx.db, { name: 'Sans jeton' }), photo: { filename: 'a.png', contentType: 'image/png', data: png } };
  const before = snapshot(ctx.db);
  ctx.a.csrf = 'forged';
  let res = await postMultipart(ctx.a, ctx.A, form);
  t.equal(res.statusCode, 403, 'a wrong token is refused');
  const b = await loggedIn(ctx.app, PRODUCER_B);
  await b.get(`/producer/${ctx.producerB}/products`);
  res = await postMultipart(b, ctx.A, form);
  t.equal(res.statusCode, 404, 'producer B cannot add to A’s catalogue');
  const id = addProduct(ctx.db, ctx.producerA, { name: 'De A' });
  const withA = snapshot(ctx.db);
  res = await postMultipart(b, `/producer/${ctx.producerB}/products/${id}`, form);
  t.equal(res.statusCode, 404, 'nor change A’s product through B’s URL');
  t.equal(snapshot(ctx.db), withA);
  t.same(ctx.files(), []);
  t.not(before, withA);
});

t.test('/photos serves only the files Carnet wrote', async (t) => {
  const ctx = await setUp(t);
  const bad = [
    '/photos/..%2Fcarnet.db',
    '/photos/..%2F..%2Fetc%2Fpasswd',
    '/photos/session-secret',
    '/photos/1-0123456789abcdef.png',
    '/photos/1-0123456789ABCDEF.webp',
    '/photos/.1-0123456789abcdef.webp.tmp',
    '/photos/1-0123456789abcdef.webp',
    '/photos/0-0123456789abcdef.webp',
    '/photos/%2e%2e%2fcarnet.db',
  ];
  for (const url of bad) t.equal((await ctx.app.inject({ method: 'GET', url })).statusCode, 404, url);
});
