import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'drizzle-orm';

/** GET /healthz: 200 when the database answers, 503 when it does not (for Docker and monitors). */
const health: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { config: { bare: true } }, async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    try {
      app.db.get(sql`select 1`);
      return { status: 'ok', database: 'ok' };
    } catch (err) {
      app.log.error({ err }, 'health check: database does not answer');
      return reply.code(503).send({ status: 'error', database: 'unavailable' });
    }
  });
};

export default health;
