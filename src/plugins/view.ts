import view from '@fastify/view';
import { Eta } from 'eta';
import fp from 'fastify-plugin';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Flash } from '../domain/sessions.js';

const VIEWS = fileURLToPath(new URL('../../views', import.meta.url));

declare module 'fastify' {
  interface FastifyRequest {
    /** True for an htmx request that wants a fragment (not a history restore, which needs the page). */
    isHtmx: boolean;
  }
  interface FastifyReply {
    /** Values that every page of this request gets, set by a hook (e.g. the admin menu's counts). */
    pageData: Record<string, unknown> | null;
    /**
     * Renders views/<template>.eta with the page model every template shares; finish, if given,
     * turns the rendered page into what is sent (e.g. splices in a part kept as bytes).
     */
    page(template: string, data?: Record<string, unknown>, status?: number, finish?: (html: string) => string | Buffer | Readable): Promise<string>;
  }
}

/** What a flash message looks like once translated. */
export interface ShownFlash {
  kind: Flash['kind'];
  text: string;
}

/**
 * Eta templates through @fastify/view. Every page gets the same base model (translate function,
 * formatters, account, CSRF token, flash, coop) so routes only pass what is particular to them.
 */
export default fp(
  async (app) => {
    // Templates are compiled once and cached, except while developing them.
    const production = process.env.NODE_ENV !== 'development';
    await app.register(view, {
      engine: { eta: new Eta({ autoEscape: true, cache: production, views: VIEWS }) },
      templates: VIEWS,
      production,
    });

    app.decorateRequest('isHtmx', false);
    app.addHook('onRequest', async (request, reply) => {
      request.isHtmx = request.headers['hx-request'] === 'true' && request.headers['hx-history-restore-request'] !== 'true';
      // One URL can answer a page or a fragment, so caches must keep them apart.
      reply.header('Vary', 'HX-Request');
    });

    app.decorateReply('pageData', null);
    app.decorateReply('page', async function (template: string, data: Record<string, unknown> = {}, status = 200, finish?: (html: string) => string | Buffer | Readable) {
      const request = this.request;
      const flash = request.takeFlash();
      const shownFlash: ShownFlash | null = flash
        ? { kind: flash.kind, text: request.t(flash.key as Parameters<typeof request.t>[0], flash.params) }
        : null;
      const account = request.account;
      const model = {
        t: request.t,
        locale: request.locale,
        fmt: request.fmt,
        coop: request.coop,
        account,
        isAdmin: account?.roles.includes('admin') ?? false,
        csrf: request.csrfToken(),
        flash: shownFlash,
        path: request.url.split('?')[0],
        url: request.url,
        demo: app.config.demo,
        isHtmx: request.isHtmx,
        errors: {},
        values: {},
        ...this.pageData,
        ...data,
      };
      this.code(status).type('text/html; charset=utf-8');
      // Pages carry a CSRF token and personal data: never store them in shared caches.
      this.header('Cache-Control', 'no-store');
      const html = await this.viewAsync(template, model);
      return this.send(finish ? finish(html) : html) as unknown as string;
    });
  },
  { name: 'carnet-view', dependencies: ['carnet-i18n', 'carnet-csrf'] },
);
