import { createHmac, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** The CSRF token for forms on the page being rendered. */
    csrfToken(): string;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Thrown when a state-changing request lacks a valid token; the error handler answers 403. */
export class CsrfError extends Error {
  readonly statusCode = 403;
  constructor() {
    super('invalid CSRF token');
  }
}

/**
 * CSRF protection bound to the session: the token is an HMAC of the session token, so it needs
 * no storage, changes when the session rotates (log in, log out) and cannot be forged without
 * the server's secret. Plain forms send it as the `_csrf` field; htmx sends it in the
 * X-CSRF-Token header, which the layout sets with hx-headers.
 */
export default fp(
  async (app) => {
    const secret = app.config.sessionSecret;
    const tokenFor = (sessionToken: string) => createHmac('sha256', secret).update('csrf:' + sessionToken).digest('base64url');

    app.decorateRequest('csrfToken', function () {
      return tokenFor(this.session.token);
    });

    app.addHook('preHandler', async (request) => {
      // A POST to a URL that does not exist is a 404, not an expired form.
      if (SAFE_METHODS.has(request.method) || request.is404) return;
      const body = request.body as Record<string, unknown> | undefined;
      const sent = request.headers['x-csrf-token'] ?? (body && typeof body === 'object' ? body._csrf : undefined);
      // A request without a session cookie cannot carry a token that matches anything.
      if (typeof sent !== 'string' || request.session.setCookie) throw new CsrfError();
      const expected = Buffer.from(tokenFor(request.session.token));
      const given = Buffer.from(sent);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new CsrfError();
    });
  },
  { name: 'carnet-csrf', dependencies: ['carnet-session'] },
);
