import { z } from 'zod';

/** The largest price Carnet accepts for one sale unit: 100,000.00 (a whole beef carcass is less). */
export const MAX_PRICE_CENTS = 10_000_000;
/** The largest quantity of one offer or one order line. */
export const MAX_QUANTITY = 100_000;

/**
 * Reads a price typed by a person into integer cents: "2,50", "2.50", "2,5 €", "€2.50", "1 234,56",
 * "1.234,56", "1,234.56" and "3" are all understood; "2,505" (ambiguous) is not. Returns null when it is not a price with at most two
 * decimals. Never goes through floating point, so 0.1 + 0.2 problems cannot happen.
 */
export function parsePriceToCents(input: string): number | null {
  let s = input.replace(/[\s\u00a0\u202f€]/g, '').replace(/^EUR|EUR$/i, '');
  if (!/^\d[\d.,]*$/.test(s)) return null;
  const lastSep = Math.max(s.lastIndexOf(','), s.lastIndexOf('.'));
  let whole = s;
  let frac = '';
  // A separator followed by one or two digits is the decimal one; any other is a thousands separator.
  if (lastSep >= 0 && s.length - lastSep - 1 <= 2) {
    whole = s.slice(0, lastSep);
    frac = s.slice(lastSep + 1);
  }
  // "2,505" or "1.234" alone could be a typo'd decimal or a thousands group: ask rather than guess.
  if (frac === '' && lastSep >= 0 && (s.match(/[.,]/g) ?? []).length === 1) return null;
  if (/[.,]/.test(whole)) {
    // thousands groups must be exactly three digits: "1.234" or "1 234", never "12.34.5"
    if (!/^\d{1,3}([.,]\d{3})+$/.test(whole)) return null;
    whole = whole.replace(/[.,]/g, '');
  }
  if (whole === '' || !/^\d+$/.test(whole) || !/^\d{0,2}$/.test(frac)) return null;
  s = whole.replace(/^0+(?=\d)/, '');
  if (s.length > 9) return null;
  return Number(s) * 100 + Number(frac.padEnd(2, '0') || '0');
}

/** A form field holding a price including VAT, in cents: positive and at most MAX_PRICE_CENTS. */
export const priceField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .max(20, 'error.invalid_price')
  .transform((v, ctx) => {
    const cents = parsePriceToCents(v);
    if (cents === null) {
      ctx.addIssue({ code: 'custom', message: 'error.invalid_price' });
      return z.NEVER;
    }
    if (cents <= 0 || cents > MAX_PRICE_CENTS) {
      ctx.addIssue({ code: 'custom', message: 'error.price_range' });
      return z.NEVER;
    }
    return cents;
  });

/** Formats cents for a form field, the way the language writes decimals ("2,50" or "2.50"). */
export function centsForInput(cents: number, locale: 'fr' | 'en'): string {
  const s = (cents / 100).toFixed(2);
  return locale === 'fr' ? s.replace('.', ',') : s;
}

/** A whole number of units typed in a form: digits only, 0 to MAX_QUANTITY. */
export const quantityField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .max(7, 'error.quantity_range')
  .regex(/^\d+$/, 'error.invalid_quantity')
  .transform(Number)
  .refine((n) => n <= MAX_QUANTITY, 'error.quantity_range');
