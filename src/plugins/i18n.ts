import fp from 'fastify-plugin';
import { getCoop, type Coop } from '../domain/coop.js';
import { formatters, fromAcceptLanguage, isLocale, translator, type Formatters, type Locale, type Translate } from '../i18n/index.js';

export const LANG_COOKIE = 'carnet_lang';

declare module 'fastify' {
  interface FastifyRequest {
    /** The coop's settings; undefined only before first-run setup. */
    coop: Coop | undefined;
    locale: Locale;
    t: Translate;
    fmt: Formatters;
  }
  interface FastifyReply {
    /** Remembers a language in the switcher's cookie: for a visitor, or someone being logged out. */
    rememberLocale(locale: Locale): void;
  }
}

/**
 * Chooses the language of each request: the account's setting, else the switcher's cookie, else
 * the browser's Accept-Language, else the coop's default, else French.
 */
export default fp(
  async (app) => {
    app.decorateRequest('coop', undefined);
    app.decorateRequest('locale', 'fr');
    app.decorateRequest('t', null as unknown as Translate);
    app.decorateRequest('fmt', null as unknown as Formatters);
    app.decorateReply('rememberLocale', function (locale: Locale) {
      this.setCookie(LANG_COOKIE, locale, {
        path: '/',
        maxAge: 365 * 24 * 3600,
        sameSite: 'lax',
        httpOnly: true,
        secure: app.config.baseUrl.startsWith('https://'),
      });
    });

    app.addHook('onRequest', async (request) => {
      // The health check must reach its handler (and say 503) when the database is down.
      if (request.routeOptions.config.bare) {
        request.t = translator('en');
        return;
      }
      const theCoop = getCoop(app.db);
      const cookie = request.cookies[LANG_COOKIE];
      const locale: Locale =
        request.account?.locale ??
        (isLocale(cookie) ? cookie : undefined) ??
        fromAcceptLanguage(request.headers['accept-language']) ??
        theCoop?.defaultLocale ??
        'fr';
      request.coop = theCoop;
      request.locale = locale;
      request.t = translator(locale);
      request.fmt = formatters(locale, theCoop?.timeZone ?? 'Europe/Paris', theCoop?.currency ?? 'EUR');
    });
  },
  { name: 'carnet-i18n', dependencies: ['carnet-session'] },
);
