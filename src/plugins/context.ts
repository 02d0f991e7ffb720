import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { ScryptParams } from '../domain/passwords.js';
import type { Mailer } from '../mail/mailer.js';

/** A rate limit: at most `max` requests per `timeWindow` milliseconds from one address. */
export interface RateLimit {
  max: number;
  timeWindow: number;
}

/** The limits on the forms that attackers hammer. */
export interface RateLimits {
  login: RateLimit;
  signup: RateLimit;
  reset: RateLimit;
}

/** Generous enough for a whole coop signing up on one Wi-Fi at a distribution, tight for a script. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  login: { max: 20, timeWindow: 60_000 },
  signup: { max: 20, timeWindow: 10 * 60_000 },
  reset: { max: 10, timeWindow: 15 * 60_000 },
};

/** A demo account shown on the login page in demo mode. */
export interface DemoAccount {
  email: string;
  role: string;
}

/** What every part of the app may use: the config, the database, the mailer and the tuning knobs. */
export interface AppContext {
  config: Config;
  db: Db;
  mailer: Mailer;
  scrypt: ScryptParams;
  rateLimits: RateLimits;
  demoAccounts: DemoAccount[];
}

declare module 'fastify' {
  interface FastifyInstance extends AppContext {}
}

/** Decorates the app with the shared context; every other plugin depends on it. */
export default fp<AppContext>(
  async (app, ctx) => {
    app.decorate('config', ctx.config);
    app.decorate('db', ctx.db);
    app.decorate('mailer', ctx.mailer);
    app.decorate('scrypt', ctx.scrypt);
    app.decorate('rateLimits', ctx.rateLimits);
    app.decorate('demoAccounts', ctx.demoAccounts);
  },
  { name: 'carnet-context' },
);
