import cookie from '@fastify/cookie';
import fp from 'fastify-plugin';
import {
  ACCOUNT_SESSION_MS,
  createSession,
  deleteSession,
  findSession,
  newToken,
  setFlash,
  type Flash,
  type SessionAccount,
} from '../domain/sessions.js';

export const SESSION_COOKIE = 'carnet_session';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The request's session: its token (also the CSRF key), the account if logged in, and the flash. */
export interface RequestSession {
  token: string;
  /** The stored row's id, when a row exists for this token. */
  idHash: string | null;
  account: SessionAccount | null;
  flash: Flash | null;
  /** The cookie must be (re)sent with the response. */
  setCookie: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route that must not touch the database before its handler (the health check). */
    bare?: boolean;
  }
  interface FastifyRequest {
    session: RequestSession;
    /** Shortcut for session.account. */
    account: SessionAccount | null;
  }
  interface FastifyReply {
    /** Shows a message once on the next page. */
    flash(kind: Flash['kind'], key: string, params?: Flash['params']): void;
    /** Logs an account in on a new session token (rotation defeats session fixation). */
    logIn(accountId: number): void;
    /** Ends the current session; a flash can be carried to the next page. */
    logOut(flash?: Flash): void;
    /** Redirects with 303 See Other, the answer to every successful form. */
    seeOther(url: string): ReturnType<FastifyReply['redirect']>;
  }
}

/**
 * Server-side sessions in SQLite, with one HttpOnly cookie. A visitor gets a random token (no row)
 * the first time a page needs one; a row exists only for a logged-in account, or briefly for a
 * visitor's flash message.
 */
export default fp(
  async (app) => {
    const secure = app.config.baseUrl.startsWith('https://');
    await app.register(cookie);

    const cookieOptions = (maxAge?: number) => ({
      path: '/',
      httpOnly: true,
      sameSite: 'lax' as const,
      secure,
      ...(maxAge ? { maxAge: Math.floor(maxAge / 1000) } : {}),
    });

    app.decorateRequest('session', null as unknown as RequestSession);
    app.decorateRequest('account', null);

    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.bare) {
        request.session = { token: '', idHash: null, account: null, flash: null, setCookie: false };
        return;
      }
      const raw = request.cookies[SESSION_COOKIE];
      const token = raw && TOKEN_SHAPE.test(raw) ? raw : undefined;
      const state = token ? findSession(app.db, token) : null;
      request.session = {
        token: token ?? newToken(),
        idHash: state?.idHash ?? null,
        account: state?.account ?? null,
        flash: state?.flash ?? null,
        setCookie: !token,
      };
      request.account = request.session.account;
    });

    app.addHook('onSend', async (request, reply, payload) => {
      const s = request.session;
      // Only pages need the cookie (for their forms' CSRF token); never set it on static files.
      const html = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
      if (s?.setCookie && (html || s.idHash)) {
        reply.setCookie(SESSION_COOKIE, s.token, cookieOptions(s.account ? ACCOUNT_SESSION_MS : undefined));
      }
      return payload;
    });

    app.decorateReply('flash', function (kind, key, params) {
      const s = this.request.session;
      const flash: Flash = { kind, key, ...(params ? { params } : {}) };
      if (s.idHash) setFlash(app.db, s.idHash, flash);
      else {
        s.idHash = createSession(app.db, s.token, null, Date.now(), flash);
        s.setCookie = true;
      }
    });

    app.decorateReply('logIn', function (accountId) {
      const s = this.request.session;
      if (s.idHash) deleteSession(app.db, s.idHash);
      const token = newToken();
      s.token = token;
      s.idHash = createSession(app.db, token, accountId);
      s.setCookie = true;
      s.flash = null;
      // The account is loaded fresh on the next request; routes redirect right after logging in.
      s.account = findSession(app.db, token)?.account ?? null;
      this.request.account = s.account;
    });

    app.decorateReply('logOut', function (flash) {
      const s = this.request.session;
      if (s.idHash) deleteSession(app.db, s.idHash);
      s.token = newToken();
      s.idHash = flash ? createSession(app.db, s.token, null, Date.now(), flash) : null;
      s.account = null;
      s.setCookie = true;
      this.request.account = null;
      if (!flash) this.clearCookie(SESSION_COOKIE, { path: '/' });
    });

    app.decorateReply('seeOther', function (url: string) {
      return this.redirect(url, 303);
    });

    /** Reads the flash once: it is cleared from the session as it is shown. */
    app.decorateRequest('takeFlash', function (this: { session: RequestSession }) {
      const s = this.session;
      const flash = s.flash;
      if (flash && s.idHash) setFlash(app.db, s.idHash, null);
      s.flash = null;
      return flash;
    });
  },
  { name: 'carnet-session', dependencies: ['carnet-context'] },
);

declare module 'fastify' {
  interface FastifyRequest {
    /** Returns the pending flash message and clears it. */
    takeFlash(): Flash | null;
  }
}

