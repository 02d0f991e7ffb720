import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fileURLToPath } from 'node:url';
import { parse as parseQuery } from 'node:querystring';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import { hasAdmin } from './domain/coop.js';
import { DEFAULT_SCRYPT, type ScryptParams } from './domain/passwords.js';
import { fromAcceptLanguage, translator, type MessageKey } from './i18n/index.js';
import { Mailer } from './mail/mailer.js';
import type { Transport } from './mail/sender.js';
import context, { DEFAULT_RATE_LIMITS, type DemoAccount, type RateLimits } from './plugins/context.js';
import csrf, { CsrfError } from './plugins/csrf.js';
import i18n from './plugins/i18n.js';
import mail from './plugins/mail.js';
import security from './plugins/security.js';
import scheduler from './plugins/scheduler.js';
import backupSchedule from './plugins/backup-schedule.js';
import session from './plugins/session.js';
import view from './plugins/view.js';
import account from './routes/account/index.js';
import categoriesAdmin from './routes/categories/index.js';
import admin from './routes/admin/index.js';
import backups from './routes/backups/index.js';
import auth from './routes/auth/index.js';
import catalog from './routes/catalog/index.js';
import cycles from './routes/cycles/index.js';
import health from './routes/health/index.js';
import home from './routes/home/index.js';
import invitations from './routes/invitations/index.js';
import lang from './routes/lang/index.js';
import offers from './routes/offers/index.js';
import ordersRoutes from './routes/orders/index.js';
import pickupPoints from './routes/pickup-points/index.js';
import privacy from './routes/privacy/index.js';
import audit from './routes/audit/index.js';
import producersAdmin from './routes/producers/index.js';
import setup from './routes/setup/index.js';
import shop from './routes/shop/index.js';

const STATIC = fileURLToPath(new URL('../static', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));

/** Everything buildApp needs; only config and db are required. */
export interface AppOptions {
  config: Config;
  db: Db;
  scrypt?: ScryptParams;
  rateLimits?: RateLimits;
  demoAccounts?: DemoAccount[];
  /** Run the outbox loop (default true). */
  sendMail?: boolean;
  /** Run the cycle clock: due transitions and producer reminders, on start and every 30 s (default true). */
  scheduler?: boolean;
  mailTransport?: Transport;
  logger?: boolean | object;
}

// Paths that work before first-run setup: the setup page itself and what it needs.
const BEFORE_SETUP = /^\/(setup|healthz|lang|static\/|favicon\.ico)/;

// Links that carry a secret in their path: a reset link or an invitation must not be usable by
// whoever reads the logs.
const SECRET_IN_PATH = /^(\/password\/reset\/|\/invitations\/)[^/?#]+/;

/** A request as the log shows it: Fastify's usual fields, with secrets in the path masked. */
export function logRequest(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url.replace(SECRET_IN_PATH, '$1***'),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Builds the Fastify app: plugins, routes and error pages. It never listens; server.ts does. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      opts.logger === false ? false : { level: opts.config.logLevel, ...(typeof opts.logger === 'object' ? opts.logger : {}), serializers: { req: logRequest } },
    // Trust X-Forwarded-For only from a reverse proxy on this machine or a private network,
    // so that a client on the internet cannot dodge the rate limits by forging the header.
    trustProxy: 'loopback, linklocal, uniquelocal',
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    // A malformed (%zz) or over-long URL part never reaches a route: answer with the 404 page
    // rather than Fastify's JSON, which echoes the URL and speaks neither French nor English.
    frameworkErrors: (_error, request, reply) => void errorPage(request, reply, 404),
  });

  await app.register(context, {
    config: opts.config,
    db: opts.db,
    mailer: new Mailer(opts.config.baseUrl),
    scrypt: opts.scrypt ?? DEFAULT_SCRYPT,
    rateLimits: opts.rateLimits ?? DEFAULT_RATE_LIMITS,
    demoAccounts: opts.demoAccounts ?? [],
  });
  // Up to 5000 fields in one form: a producer's weekly stock page is one large form without JS.
  await app.register(formbody, { parser: (body) => parseQuery(body, '&', '=', { maxKeys: 5000 }) });
  await app.register(security);
  await app.register(rateLimit, { global: false });
  await app.register(session);
  await app.register(csrf);
  await app.register(i18n);
  await app.register(view);
  await app.register(mail, { send: opts.sendMail ?? true, ...(opts.mailTransport ? { transport: opts.mailTransport } : {}) });
  await app.register(scheduler, { enabled: opts.scheduler ?? true });
  // The backup clock runs with the cycle clock: both are off in tests that build the app.
  await app.register(backupSchedule, { enabled: opts.scheduler ?? true });

  await app.register(fastifyStatic, { root: STATIC, prefix: '/static/', maxAge: '1d', index: false });
  // htmx and Pico are served from node_modules by this server, never from a CDN.
  await app.register(fastifyStatic, {
    root: [`${NODE_MODULES}/htmx.org/dist`, `${NODE_MODULES}/@picocss/pico/css`],
    prefix: '/static/vendor/',
    decorateReply: false,
    maxAge: '7d',
    index: false,
    allowedPath: (path) => path === '/htmx.min.js' || path === '/pico.min.css',
  });

  app.decorateRequest('producer', null);

  // Until an admin exists, every page leads to first-run setup.
  let setupDone = false;
  app.addHook('onRequest', async (request, reply) => {
    if (setupDone || BEFORE_SETUP.test(request.url)) return;
    if (hasAdmin(app.db)) {
      setupDone = true;
      return;
    }
    return reply.seeOther('/setup');
  });

  // Error pages are set before the routes so that every route plugin inherits them.
  app.setNotFoundHandler(async (request, reply) => errorPage(request, reply, 404));
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof CsrfError) return errorPage(request, reply, 403, 'errors.csrf');
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 429) return errorPage(request, reply, 429);
    if (status === 403 || status === 404) return errorPage(request, reply, status);
    // Malformed bodies, unsupported content types, oversize uploads: the request is not valid.
    if (status >= 400 && status < 500) return errorPage(request, reply, 422);
    return errorPage(request, reply, 500);
  });


  await app.register(health);
  await app.register(home);
  await app.register(lang);
  await app.register(setup);
  await app.register(auth);
  await app.register(account);
  await app.register(admin);
  await app.register(privacy);
  await app.register(audit);
  await app.register(backups);
  await app.register(producersAdmin);
  await app.register(invitations);
  await app.register(pickupPoints);
  await app.register(categoriesAdmin);
  await app.register(offers);
  await app.register(cycles);
  await app.register(catalog);
  await app.register(ordersRoutes);
  await app.register(shop);

  return app;
}

type ErrorStatus = 403 | 404 | 422 | 429 | 500;

/** Renders the error page for a status in the visitor's language; never shows a stack trace. */
async function errorPage(request: FastifyRequest, reply: FastifyReply, status: ErrorStatus, bodyKey?: MessageKey) {
  const t = request.t ?? translator(fromAcceptLanguage(request.headers['accept-language']) ?? 'fr');
  const title = t(`errors.title.${status}` as MessageKey);
  const body = t(bodyKey ?? (`errors.body.${status}` as MessageKey));
  try {
    if (!request.t || !request.session) throw new Error('request context missing');
    return await reply.page('errors/error', { title, status, body }, status);
  } catch (err) {
    // The page itself failed (or the request never got its context): answer in plain text.
    if (status >= 500 || !(err instanceof Error && err.message === 'request context missing')) request.log.error({ err }, 'error page failed');
    return reply.code(status).type('text/plain; charset=utf-8').send(`${title}\n\n${body}\n`);
  }
}
