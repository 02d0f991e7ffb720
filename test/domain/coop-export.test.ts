import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import t, { type Test } from 'tap';
import { knownMigrations } from '../../src/db/index.js';
import { carnetVersion, EXCLUDED_TABLES, EXPORTED_TABLES, exportCoop } from '../../src/domain/coop-export.js';
import { requestPasswordReset } from '../../src/domain/password-reset.js';
import { inviteToProducer } from '../../src/domain/producers.js';
import { createSession, newToken } from '../../src/domain/sessions.js';
import { Mailer } from '../../src/mail/mailer.js';
import { placeOrder } from '../../src/domain/orders.js';
import { createAccount, seedCoop, testDb } from '../helper.js';
import { buildShop, NOW, setBasket } from './orders-fixture.js';

/*
 * The whole-coop export: one CSV per table with a header row, carnet.json with a manifest, and
 * never a password hash or a token.
 */

const NOW_EXPORT = Date.parse('2026-11-26T12:00:00Z');

/** A coop with members, a producer, a sale and a placed order, plus secrets that must not leave. */
async function coopWithSecrets(t: Test) {
  const { db } = testDb(t);
  await seedCoop(db);
  const shop = buildShop(db, NOW);
  const mailer = new Mailer('http://carnet.test');
  const zoe = await createAccount(db, { email: 'zoe@carnet.test', name: '=HYPERLINK("http://evil.test")', phone: '+33 6 12 34 56 78' });
  setBasket(db, shop.accounts.ana, shop.cycle, { [shop.offers.jam]: 2 }, shop.dists.halle);
  const placed = placeOrder(db, mailer, { accountId: shop.accounts.ana, cycleId: shop.cycle, distributionId: shop.dists.halle, token: 'export-test-order-token-0001' }, NOW);
  if (!placed.ok) throw new Error('order: ' + placed.reason);
  const sessionToken = newToken();
  createSession(db, sessionToken, zoe);
  requestPasswordReset(db, mailer, 'zoe@carnet.test');
  const invited = inviteToProducer(db, mailer, { producerId: shop.producer, email: 'new-farmer@carnet.test', invitedBy: { id: 1, name: 'Ada Admin' }, locale: 'fr' });
  if (!invited.ok) throw new Error('invite');
  return { db, shop, zoe, orderId: placed.orderId, sessionToken, inviteToken: invited.token };
}

t.test('the export holds one CSV per table and carnet.json, with headers and known rows', async (t) => {
  const { db, shop, orderId } = await coopWithSecrets(t);
  const { zip, manifest } = exportCoop(db, { now: NOW_EXPORT });
  const files = unzipSync(zip);
  t.same(Object.keys(files).sort(), [...EXPORTED_TABLES.map((n) => `${n}.csv`), 'carnet.json'].sort(), 'one CSV per exported table, and the JSON');

  const csv = (name: string) => {
    const bytes = files[`${name}.csv`]!;
    t.same([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], `${name}.csv starts with a BOM, so spreadsheets read it as UTF-8`);
    return parse(Buffer.from(bytes).toString('utf8'), { bom: true }) as string[][];
  };
  const accounts = csv('accounts');
  t.same(accounts[0], ['id', 'email', 'name', 'phone', 'locale', 'status', 'created_at', 'updated_at', 'notify_cycle_open'], 'header row, without password_hash');
  const ana = accounts.find((r) => r[1] === 'ana@carnet.test');
  t.same(ana?.slice(0, 6), [String(shop.accounts.ana), 'ana@carnet.test', 'Ana', '', 'fr', 'active']);
  const zoe = accounts.find((r) => r[1] === 'zoe@carnet.test')!;
  t.equal(zoe[2], `'=HYPERLINK("http://evil.test")`, 'a formula-looking name is neutralised');
  t.equal(zoe[3], "'+33 6 12 34 56 78", 'so is a phone starting with +');

  const coop = csv('coop');
  t.equal(coop[1]![coop[0]!.indexOf('name')], 'Coop Test');
  const lines = csv('order_lines');
  const col = (name: string) => lines[0]!.indexOf(name);
  const line = lines.find((r) => r[col('order_id')] === String(orderId));
  t.ok(line, 'the placed order line is there');
  t.equal(line![col('product_name')], 'Confiture');
  t.equal(line![col('quantity')], '2');
  t.equal(line![col('unit_price_cents')], '450', 'numbers are written as numbers, not neutralised');
  t.equal(csv('orders').length, 2, 'header and one order');
  t.equal(csv('products')[0]![0], 'id');
  for (const table of EXPORTED_TABLES) t.ok(csv(table).length >= 1, `${table}.csv has its header row`);

  const json = JSON.parse(strFromU8(files['carnet.json']!)) as { manifest: typeof manifest; tables: Record<string, Array<Record<string, unknown>>> };
  t.same(json.manifest, manifest);
  t.match(json.manifest, {
    format: 'carnet-export',
    carnetVersion: carnetVersion(),
    schemaMigration: knownMigrations().at(-1)!.tag,
    exportedAt: '2026-11-26T12:00:00.000Z',
  });
  t.equal(json.manifest.tables.accounts, accounts.length - 1, 'the manifest counts rows');
  t.same(Object.keys(json.tables), [...EXPORTED_TABLES], 'every exported table is in the JSON too');
  t.match(json.tables.accounts!.find((a) => a.email === 'zoe@carnet.test'), { name: '=HYPERLINK("http://evil.test")', phone: '+33 6 12 34 56 78' }, 'the JSON keeps values as they are');
  t.match(json.tables.orders![0], { id: orderId, account_id: shop.accounts.ana, status: 'placed' });
});

t.test('no password hash, session, reset or invitation token is ever exported', async (t) => {
  const { db, sessionToken, inviteToken } = await coopWithSecrets(t);
  const secrets = [
    // The fixture's accounts have a placeholder hash ('x'); the ones made by createAccount are real.
    ...(db.$client.prepare("select password_hash from accounts where password_hash like 'scrypt$%'").pluck().all() as string[]),
    ...(db.$client.prepare('select id_hash from sessions').pluck().all() as string[]),
    ...(db.$client.prepare('select token_hash from password_resets').pluck().all() as string[]),
    ...(db.$client.prepare('select token_hash from producer_invitations').pluck().all() as string[]),
    ...(db.$client.prepare('select token from order_submissions').pluck().all() as string[]),
    sessionToken,
    inviteToken,
  ];
  t.ok(secrets.length >= 8, 'the coop has secrets to keep');
  const files = unzipSync(exportCoop(db).zip);
  const everything = Object.values(files).map((f) => strFromU8(f)).join('\n');
  for (const secret of secrets) t.notOk(everything.includes(secret), `secret ${secret.slice(0, 12)}… is not exported`);
  t.notOk(/scrypt\$/.test(everything), 'no scrypt hash at all');
  t.notOk(/password_hash|id_hash|token_hash/.test(everything), 'no secret column either');
});

t.test('every table is either exported or left out on purpose', async (t) => {
  const { db } = testDb(t);
  const tables = db.$client.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all() as string[];
  const decided = new Set<string>([...EXPORTED_TABLES, ...Object.keys(EXCLUDED_TABLES)]);
  t.same(
    tables.filter((name) => !decided.has(name)),
    [],
    'a new table must be added to EXPORTED_TABLES or EXCLUDED_TABLES in src/domain/coop-export.ts',
  );
});
