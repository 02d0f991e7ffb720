import t from 'tap';
import { dictionaries, formatters, fromAcceptLanguage, isLocale, isTimeZone, LOCALES, translator, type Locale, type MessageKey } from '../../src/i18n/index.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

t.test('every dictionary has exactly the keys of the others', async (t) => {
  const [first, ...rest] = LOCALES;
  const keys = Object.keys(dictionaries[first]).sort();
  t.ok(keys.length > 50, 'a real dictionary');
  for (const locale of rest) {
    const other = Object.keys(dictionaries[locale]).sort();
    t.same(
      other.filter((k) => !keys.includes(k)),
      [],
      `${locale} has no extra key`,
    );
    t.same(
      keys.filter((k) => !other.includes(k)),
      [],
      `${locale} misses no key`,
    );
  }
});

t.test('no message is empty, and every translation has the same placeholders', async (t) => {
  const problems: string[] = [];
  for (const locale of LOCALES) {
    for (const [key, value] of Object.entries(dictionaries[locale])) {
      if (typeof value !== 'string' || value.trim() === '') problems.push(`${locale} ${key} is empty`);
      // a brace that is not part of a {placeholder} is most likely a typo
      if (/\{(?!\w+\})|(?<!\{\w+)\}/.test(value)) problems.push(`${locale} ${key} has a stray brace`);
      const expected = placeholders(dictionaries.en[key as MessageKey]);
      const got = placeholders(value);
      if (JSON.stringify(expected) !== JSON.stringify(got)) problems.push(`${locale} ${key}: {${got.join(',')}} instead of {${expected.join(',')}}`);
    }
  }
  t.same(problems, []);
});

t.test('the best language from Accept-Language', async (t) => {
  const table: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['fr', 'fr'],
    ['en', 'en'],
    ['fr-FR', 'fr'],
    ['en-GB,en;q=0.9', 'en'],
    ['EN-us', 'en'],
    ['de,fr;q=0.5', 'fr'],
    ['de-DE,de;q=0.9,en;q=0.3,fr;q=0.2', 'en'],
    ['fr;q=0.4,en;q=0.8', 'en'],
    ['fr;q=0.5,en;q=0.5', 'fr'],
    ['en;q=0.5, fr', 'fr'],
    [' fr-CA ; q=0.7 , en ; q=0.6', 'fr'],
    ['*', undefined],
    ['de', undefined],
    ['de,*;q=0.1', undefined],
    ['garbage', undefined],
    [';;;,,,', undefined],
    ['fr;q=abc,en;q=0.1', 'en'],
    ['en;q=0', undefined],
    ['en;q=0,fr;q=0.1', 'fr'],
    ['fr;q=0.000', undefined],
    ['x'.repeat(10_000), undefined],
  ];
  for (const [header, expected] of table) t.equal(fromAcceptLanguage(header), expected, JSON.stringify(header)?.slice(0, 40) ?? 'undefined');
});

t.test('the translator fills placeholders and leaves unknown ones', async (t) => {
  const en = translator('en');
  const fr = translator('fr');
  t.equal(en('flash.welcome', { name: 'Zoë' }), 'Welcome, Zoë!');
  t.equal(fr('flash.welcome', { name: 'Zoë' }), dictionaries.fr['flash.welcome'].replace('{name}', 'Zoë'));
  t.equal(en('flash.welcome'), 'Welcome, {name}!', 'no params: the text as is');
  t.equal(en('flash.welcome', {}), 'Welcome, {name}!', 'a missing param stays visible rather than "undefined"');
  t.equal(en('flash.welcome', { name: '$& {name} $1' }), 'Welcome, $& {name} $1!', 'replacement patterns are not interpreted');
  t.equal(en('email.reset.body', { hours: 2 }).includes('for 2 hours'), true, 'numbers');
  t.equal(en('no.such.key' as MessageKey), 'no.such.key', 'an unknown key shows itself');
});

t.test('locale and time zone checks', async (t) => {
  t.ok(isLocale('fr'));
  t.ok(isLocale('en'));
  t.notOk(isLocale('de'));
  t.notOk(isLocale(undefined));
  t.notOk(isLocale('__proto__'));
  t.ok(isTimeZone('Europe/Paris'));
  t.notOk(isTimeZone('Paris'));
});

t.test('money is formatted from cents', async (t) => {
  // Node may use a no-break space (U+00A0) or a narrow no-break space (U+202F) in French
  const nbsp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
  const fr = formatters('fr', 'Europe/Paris', 'EUR');
  const en = formatters('en', 'Europe/Paris', 'EUR');
  const table: Array<[number, string, string]> = [
    [1234, '12,34 €', '€12.34'],
    [0, '0,00 €', '€0.00'],
    [5, '0,05 €', '€0.05'],
    [-50, '-0,50 €', '-€0.50'],
    [123456789, '1 234 567,89 €', '€1,234,567.89'],
  ];
  for (const [cents, inFrench, inEnglish] of table) {
    t.equal(nbsp(fr.money(cents)), inFrench, `fr ${cents}`);
    t.equal(en.money(cents), inEnglish, `en ${cents}`);
  }
  t.notMatch(fr.money(1234), /^12,34 €$/, 'the French space before € is a no-break one');
  t.equal(formatters('fr', 'Europe/Paris', 'EUR'), fr, 'formatters are cached');
});

t.test('dates are shown in the coop time zone', async (t) => {
  // 22:30 UTC on 31 March 2025 is already 1 April in Paris (UTC+2), still 31 March in Martinique
  const instant = Date.UTC(2025, 2, 31, 22, 30);
  t.equal(formatters('fr', 'Europe/Paris', 'EUR').date(instant), '1 avril 2025');
  t.equal(formatters('en', 'Europe/Paris', 'EUR').date(instant), '1 April 2025');
  t.equal(formatters('fr', 'America/Martinique', 'EUR').date(instant), '31 mars 2025');
  t.equal(formatters('fr', 'Europe/Paris', 'EUR').time(instant), '00:30');
  t.equal(formatters('en', 'Europe/Paris', 'EUR').time(instant), '00:30');
  t.match(formatters('fr', 'Europe/Paris', 'EUR').dateTime(instant), /^1 avr\. 2025.*00:30$/);
  // winter: UTC+1
  t.equal(formatters('fr', 'Europe/Paris', 'EUR').time(Date.UTC(2025, 0, 15, 23, 5)), '00:05');
  t.equal(formatters('fr', 'Europe/Paris', 'EUR').date(Date.UTC(2025, 0, 15, 23, 5)), '16 janvier 2025');
  t.equal(formatters('fr', 'Europe/Paris', 'EUR').number(1234.5).replace(/[\u00a0\u202f]/g, ' '), '1 234,5');
  t.equal(formatters('en', 'Europe/Paris', 'EUR').number(1234.5), '1,234.5');
});

t.test('a message with a _one variant agrees with its count', async (t) => {
  const cases: Array<[Locale, number | string, string]> = [
    ['fr', 0, 'Mon panier : 0 article, 4 €'],
    ['fr', 1, 'Mon panier : 1 article, 4 €'],
    ['fr', 2, 'Mon panier : 2 articles, 4 €'],
    ['fr', '1\u202f234', 'Mon panier : 1\u202f234 articles, 4 €'],
    ['en', 0, 'My basket: 0 items, 4 €'],
    ['en', 1, 'My basket: 1 item, 4 €'],
    ['en', '12', 'My basket: 12 items, 4 €'],
  ];
  for (const [locale, count, expected] of cases) {
    t.equal(translator(locale)('shop.summary', { count, total: '4 €' }), expected, `${locale} ${count}`);
  }
});
