import type { z } from 'zod';
import type { MessageKey, Translate } from '../i18n/index.js';

/** Translated error messages, by field name. */
export type FieldErrors = Record<string, string>;

export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors };

/** Turns zod's issues into one translated message per field (the first issue of each field). */
export function fieldErrors(t: Translate, error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? '_form');
    if (errors[field]) continue;
    errors[field] = messageFor(t, issue);
  }
  return errors;
}

function messageFor(t: Translate, issue: z.core.$ZodIssue): string {
  // A schema-level `{ error: 'error.required' }` is inherited by its length checks in zod 4, so
  // length and type issues are worded from their code, never from that inherited message.
  const structural = issue.code === 'too_small' || issue.code === 'too_big' || issue.code === 'invalid_type';
  if (!structural && issue.message.startsWith('error.')) return t(issue.message as MessageKey);
  switch (issue.code) {
    case 'too_small':
      return Number(issue.minimum) <= 1 ? t('error.required') : t('error.too_short', { min: Number(issue.minimum) });
    case 'too_big':
      return t('error.too_long', { max: Number(issue.maximum) });
    case 'invalid_type':
      return issue.input === undefined ? t('error.required') : t('error.invalid_value');
    case 'invalid_value':
      return t('error.invalid_choice');
    default:
      return t('error.invalid_value');
  }
}

/** Parses a submitted form with a schema; failures come back as translated field errors. */
export function parseForm<S extends z.ZodType>(t: Translate, schema: S, body: unknown): FormResult<z.output<S>> {
  // reportInput: without it zod 4 leaves issue.input out, and a wrongly typed value would read as missing.
  const parsed = schema.safeParse(body ?? {}, { reportInput: true });
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, errors: fieldErrors(t, parsed.error) };
}

/** The submitted values to echo back into a form after an error; passwords are never echoed. */
export function echo(body: unknown, omit: string[] = []): Record<string, string> {
  const values: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (k === '_csrf' || omit.includes(k) || /password/i.test(k)) continue;
      if (typeof v === 'string') values[k] = v.slice(0, 1000);
    }
  }
  return values;
}

/** A same-site path to go back to after an action; anything else falls back to "/". */
export function safeNext(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  if (/[\r\n]/.test(next) || next.length > 500) return fallback;
  return next;
}
