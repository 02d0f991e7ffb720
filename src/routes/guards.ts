import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/index.js';
import type { Role } from '../db/schema/index.js';
import { countPending } from '../domain/accounts.js';
import { findManagedProducer, type Producer } from '../domain/producers.js';

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

declare module 'fastify' {
  interface FastifyRequest {
    /** The producer named by :producerId, once requireManagedProducer has checked the account manages it. */
    producer: Producer | null;
  }
}

const producerParams = z.object({ producerId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/**
 * For routes under /producer/:producerId: the account must hold the producer role and manage that
 * producer. Anything else — another producer's id, a made-up id — is a 404, never a hint.
 */
export async function requireManagedProducer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await requireRole('producer')(request, reply);
  if (reply.sent) return;
  const parsed = producerParams.safeParse(request.params);
  const producer = parsed.success ? findManagedProducer(request.server.db, request.account!.id, parsed.data.producerId) : undefined;
  if (!producer) throw new HttpError(404);
  request.producer = producer;
}

/** A preHandler for admin pages: the admin menu shows how many sign-ups wait for approval. */
export function adminMenuCount(db: Db) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!reply.sent) reply.pageData = { ...reply.pageData, pendingCount: countPending(db) };
  };
}
