import { en, type MessageKey, type Messages } from './en.js';
import { fr } from './fr.js';

export type { MessageKey, Messages };

/** The languages Carnet speaks; adding one is adding a dictionary file and a line here. */
export const LOCALES = ['fr', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const dictionaries: Record<Locale, Messages> = { fr, en };

/** Message parameters, substituted for {name} placeholders. */
export type Params = Record<string, string | number>;
/** Looks up a message in one language and fills its placeholders. */
export type Translate = (key: MessageKey, params?: Params) => string;

/** True when the value names a language Carnet speaks. */
export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/**
 * Returns the translate function for a language. A message with a `<key>_one` variant uses it
 * when params.count is singular in that language (1 in English; 0 and 1 in French).
 */
export function translator(locale: Locale): Translate {
  // One per language, made once: every request and every email asks for one.
  return (translators[locale] ??= makeTranslator(locale));
}

const translators: Partial<Record<Locale, Translate>> = {};

function makeTranslator(locale: Locale): Translate {
  const dict = dictionaries[locale] as Record<string, string>;
  const plural = new Intl.PluralRules(locale === 'fr' ? 'fr-FR' : 'en-GB');
  return (key, params) => {
    let text = dict[key] ?? key;
    if (params?.count !== undefined && dict[key + '_one'] !== undefined) {
      const n = typeof params.count === 'number' ? params.count : Number(String(params.count).replace(/[\s\u00a0\u202f,.]/g, ''));
      if (Number.isFinite(n) && plural.select(n) === 'one') text = dict[key + '_one']!;
    }
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
      params[name] === undefined ? whole : String(params[name]),
    );
  };
}

/** Picks the best language from an Accept-Language header, or undefined when none fits. */
export function fromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...rest] = part.trim().split(';');
      const q = rest.map((r) => r.trim()).find((r) => r.startsWith('q='));
      const weight = q ? Number(q.slice(2)) : 1;
      return { lang: tag.trim().toLowerCase().split('-')[0] ?? '', weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((r) => r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  return ranked.map((r) => r.lang).find(isLocale);
}

/** Formatters for one language, time zone and currency, built once per request. */
export interface Formatters {
  date(ms: number): string;
  dateTime(ms: number): string;
  time(ms: number): string;
  money(cents: number): string;
  number(n: number): string;
}

const formatterCache = new Map<string, Formatters>();

/** Returns Intl-based formatters; they are cached because building Intl objects is costly. */
export function formatters(locale: Locale, timeZone: string, currency: string): Formatters {
  const cacheKey = `${locale}|${timeZone}|${currency}`;
  const cached = formatterCache.get(cacheKey);
  if (cached) return cached;
  const tag = locale === 'fr' ? 'fr-FR' : 'en-GB';
  const date = new Intl.DateTimeFormat(tag, { dateStyle: 'long', timeZone });
  const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  const time = new Intl.DateTimeFormat(tag, { timeStyle: 'short', timeZone });
  const money = new Intl.NumberFormat(tag, { style: 'currency', currency });
  const number = new Intl.NumberFormat(tag);
  const f: Formatters = {
    date: (ms) => date.format(ms),
    dateTime: (ms) => dateTime.format(ms),
    time: (ms) => time.format(ms),
    money: (cents) => money.format(cents / 100),
    number: (n) => number.format(n),
  };
  formatterCache.set(cacheKey, f);
  return f;
}

/** Time zones offered in the setup and settings forms (UTC is missing from Intl's list on Node 20). */
export const TIME_ZONES: readonly string[] = [...new Set([...Intl.supportedValuesOf('timeZone'), 'UTC'])].sort();

/**
 * True when the value is an IANA time zone name this Node.js knows, canonical or alias
 * (Asia/Kolkata and Asia/Calcutta alike), so a zone saved under one Node.js version stays valid
 * under the next. Offsets such as "+01:00" are refused: they ignore summer time.
 */
export function isTimeZone(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value) || value.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** The zone's name as Intl spells it ("europe/paris" → "Europe/Paris"); aliases keep their own name. */
export function canonicalTimeZone(value: string): string {
  const resolved = new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === value.toLowerCase() ? resolved : value;
}
