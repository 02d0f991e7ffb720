import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { setLocale } from '../../domain/accounts.js';
import { localeField } from '../../domain/fields.js';
import { HttpError } from '../guards.js';
import { safeNext } from '../forms.js';

const switchSchema = z.object({ locale: localeField, next: z.string().optional() });

/** POST /lang: the language switcher. Remembered in a cookie, and on the account when logged in. */
const lang: FastifyPluginAsync = async (app) => {
  app.post('/lang', async function switchLanguage(request, reply) {
    const parsed = switchSchema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(422);
    const { locale, next } = parsed.data;
    if (request.account) setLocale(app.db, request.account.id, locale);
    reply.rememberLocale(locale);
    return reply.seeOther(safeNext(next));
  });
};

export default lang;
