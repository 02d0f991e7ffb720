import type { FastifyPluginAsync } from 'fastify';

/** The home page: an invitation for visitors, a starting point for accounts. */
const home: FastifyPluginAsync = async (app) => {
  app.get('/', async function showHome(request, reply) {
    return reply.page('home/index', { title: request.t('home.title') });
  });
};

export default home;
