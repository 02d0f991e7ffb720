import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../db/schema/index.js';

/** Thrown by guards; the error handler answers with the page for this status. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: 403 | 404 | 422,
    message = 'http error',
  ) {
    super(message);
  }
}

/** Lets only logged-in accounts through; visitors are sent to the login page (and back after). */
export async function requireAccount(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.account) return;
  if (request.method === 'GET' || request.method === 'HEAD') {
    reply.flash('info', 'errors.login_required');
    return reply.seeOther('/login?next=' + encodeURIComponent(request.url));
  }
  throw new HttpError(403);
}

/** Lets only accounts holding a role through: visitors go to login, other accounts get 403. */
export function requireRole(role: Role) {
  return async function requireRoleHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await requireAccount(request, reply);
    if (reply.sent) return;
    if (!request.account?.roles.includes(role)) throw new HttpError(403);
  };
}
