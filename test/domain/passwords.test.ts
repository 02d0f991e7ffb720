import t from 'tap';
import { DEFAULT_SCRYPT, hashPassword, verifyAgainstDummy, verifyPassword } from '../../src/domain/passwords.js';
import { TEST_SCRYPT } from '../helper.js';

t.test('a hash made with the default settings verifies, and stores those settings', async (t) => {
  const hash = await hashPassword('correct horse battery');
  const parts = hash.split('$');
  t.equal(parts.length, 6);
  t.same(parts.slice(0, 4), ['scrypt', String(DEFAULT_SCRYPT.N), String(DEFAULT_SCRYPT.r), String(DEFAULT_SCRYPT.p)]);
  t.equal(Buffer.from(parts[4]!, 'base64url').length, 16, '16-byte salt');
  t.equal(Buffer.from(parts[5]!, 'base64url').length, 32, '32-byte key');
  t.equal(await verifyPassword('correct horse battery', hash), true);
  t.equal(await verifyPassword('correct horse batterY', hash), false);
});

t.test('the settings in the hash are the ones used to verify', async (t) => {
  const hash = await hashPassword('correct horse battery', TEST_SCRYPT);
  t.match(hash, /^scrypt\$1024\$8\$1\$/);
  t.equal(await verifyPassword('correct horse battery', hash), true);
  // the same salt and key claimed under other settings no longer match
  const parts = hash.split('$');
  parts[1] = '2048';
  t.equal(await verifyPassword('correct horse battery', parts.join('$')), false);
});

t.test('two hashes of one password differ (random salt)', async (t) => {
  const a = await hashPassword('same password here', TEST_SCRYPT);
  const b = await hashPassword('same password here', TEST_SCRYPT);
  t.not(a, b);
});

t.test('wrong passwords are refused', async (t) => {
  const hash = await hashPassword('correct horse battery', TEST_SCRYPT);
  for (const wrong of ['', 'correct horse battery ', ' correct horse battery', 'Correct horse battery', 'correct horse batter']) {
    t.equal(await verifyPassword(wrong, hash), false, JSON.stringify(wrong));
  }
});

t.test('a malformed hash never matches (and never throws)', async (t) => {
  const good = await hashPassword('correct horse battery', TEST_SCRYPT);
  const parts = good.split('$');
  const malformed = [
    '',
    'plain text',
    'scrypt',
    good.replace('scrypt$', 'bcrypt$'),
    parts.slice(0, 5).join('$'),
    [...parts, 'extra'].join('$'),
    ['scrypt', 'x', '8', '1', parts[4], parts[5]].join('$'),
    ['scrypt', '0', '8', '1', parts[4], parts[5]].join('$'),
    ['scrypt', '1024', '8', '1', parts[4], ''].join('$'),
    ['scrypt', '1024', '8', '1', parts[4], parts[5]!.slice(0, 10)].join('$'),
  ];
  for (const stored of malformed) {
    t.equal(await verifyPassword('correct horse battery', stored), false, JSON.stringify(stored).slice(0, 60));
  }
});

t.test('a password is compared in Unicode NFC, so é typed either way matches', async (t) => {
  const composed = 'mot de passe café';
  const decomposed = 'mot de passe cafe\u0301';
  t.not(composed, decomposed);
  t.equal(composed.normalize('NFC'), decomposed.normalize('NFC'));
  const hash = await hashPassword(composed, TEST_SCRYPT);
  t.equal(await verifyPassword(decomposed, hash), true);
  const hash2 = await hashPassword(decomposed, TEST_SCRYPT);
  t.equal(await verifyPassword(composed, hash2), true);
});

t.test('verifyAgainstDummy always answers false', async (t) => {
  t.equal(await verifyAgainstDummy('carnet-dummy-password', TEST_SCRYPT), false);
  t.equal(await verifyAgainstDummy('anything', TEST_SCRYPT), false);
});
