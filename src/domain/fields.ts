import { z } from 'zod';
import { canonicalTimeZone, isLocale, isTimeZone, LOCALES } from '../i18n/index.js';

/*
 * The rules for the values people type, shared by every form. Messages are i18n keys
 * (error.*); routes turn zod issues into translated field errors.
 */

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;

// Letters of any script, digits, spaces and a few punctuation marks that names really use.
const NAME_PATTERN = /^[\p{L}\p{M}\p{N} .,'’\-()&/]+$/u;
// Control characters (including newlines) never belong in a one-line field.
const CONTROL = /\p{Cc}/u;
// Control characters other than line breaks and tabs never belong in a text a person typed.
const CONTROL_EXCEPT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Trims, then turns "" into undefined so optional fields left blank are just absent. */
export const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** A person's or organisation's name as shown to others. */
export const nameField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .max(100)
  .refine((v) => !CONTROL.test(v) && NAME_PATTERN.test(v) && /\p{L}/u.test(v), 'error.invalid_name');

/** An email address: trimmed and lower-cased so one mailbox is one account. */
export const emailField = z
  .string({ error: 'error.required' })
  .trim()
  .min(1, 'error.required')
  .max(254)
  .toLowerCase()
  .pipe(z.email('error.invalid_email'));

/** An optional phone number, kept as typed (spaces included) once checked. */
export const phoneField = z.preprocess(
  blankToUndefined,
  z
    .string()
    .trim()
    .max(30)
    .regex(/^\+?[0-9(][0-9 ().-]{4,}[0-9]$/, 'error.invalid_phone')
    .optional(),
);

/** A new password; only its length is ruled, as NIST SP 800-63B advises. */
export const newPasswordField = z
  .string({ error: 'error.required' })
  .min(1, 'error.required')
  .min(PASSWORD_MIN)
  .max(PASSWORD_MAX);

/** A password typed to log in or to confirm identity: never trimmed, only bounded. */
export const passwordField = z.string({ error: 'error.required' }).min(1, 'error.required').max(PASSWORD_MAX);

/** One of Carnet's languages. */
export const localeField = z.string({ error: 'error.required' }).refine(isLocale, 'error.invalid_choice').pipe(z.enum(LOCALES));

/** An IANA time zone. */
export const timeZoneField = z
  .string({ error: 'error.required' })
  .refine(isTimeZone, 'error.invalid_time_zone')
  .transform((tz) => canonicalTimeZone(tz));

/** An HTML checkbox: present means true. */
export const checkboxField = z.preprocess((v) => v === 'on' || v === 'true' || v === '1' || v === true, z.boolean());

/** A multi-line free text (description, address, instructions): trimmed, bounded, may be empty. */
export function longTextField(max: number) {
  return z
    .string({ error: 'error.invalid_value' })
    .optional()
    .transform((v) => (v ?? '').replace(/\r\n?/g, '\n').trim())
    .pipe(
      z
        .string()
        .max(max)
        .refine((v) => !CONTROL_EXCEPT_LINES.test(v), 'error.invalid_text'),
    );
}
