import Database from 'better-sqlite3';
import { join } from 'node:path';
import t from 'tap';
import { setBasketQuantity } from '../../src/domain/basket.js';
import { bumpShopVersion, shopVersion } from '../../src/domain/shop-version.js';
import { buildShopFixture } from '../routes/shop-fixture.js';
import { createAccount, testDb } from '../helper.js';

t.test('the shop version changes with every write to what the shop lists, and only then', async (t) => {
  const { db, dir } = testDb(t);
  const f = buildShopFixture(db);
  const member = await createAccount(db, { email: 'version@example.org', name: 'Vera' });
  let v = shopVersion(db);
  t.equal(shopVersion(db), v, 'stable while nothing changes');
  const changes: Array<[string, string]> = [
    ['stock taken', `update offers set quantity_taken = quantity_taken + 1 where id = ${f.offers.carrots}`],
    ['stock available', `update offers set quantity_available = 20 where id = ${f.offers.carrots}`],
    ['offer unpublished', `update offers set published = 0 where id = ${f.offers.leeks}`],
    ['offer price', `update offers set price_cents = 1 where id = ${f.offers.leeks}`],
    ['product renamed', `update products set name = 'Navets' where id = 1`],
    ['product photo', `update products set photo = 'x.webp' where id = 1`],
    ['producer renamed', `update producers set name = 'Autre' where id = ${f.producers.farm}`],
    ['category renamed', `update categories set name_en = 'Veg' where id = ${f.categories.veg}`],
    ['category moved', `update categories set position = 9 where id = ${f.categories.veg}`],
    ['category added', `insert into categories (name_fr, name_en, position) values ('Pain', 'Bread', 3)`],
    ['offer deleted', `delete from offers where id = ${f.offers.draft}`],
    ['cycle closed', `update cycles set status = 'closed' where id = ${f.scheduled}`],
  ];
  for (const [what, sql] of changes) {
    db.$client.exec(sql);
    const next = shopVersion(db);
    t.not(next, v, what);
    v = next;
  }
  setBasketQuantity(db, member, f.open, f.offers.tomme, 1);
  t.equal(shopVersion(db), v, 'a basket change is no change to the shop');
  bumpShopVersion(db);
  t.not(shopVersion(db), v, 'an explicit bump');
  v = shopVersion(db);
  // Another connection on the same file (the CLI) fires no trigger here: data_version tells.
  const other = new Database(join(dir, 'carnet.db'));
  other.prepare('update offers set price_cents = 2 where id = ?').run(f.offers.tomme);
  other.close();
  t.not(shopVersion(db), v, 'a write by another connection');
});
