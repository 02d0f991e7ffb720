import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { emailField } from '../../domain/fields.js';
import {
  createProducer,
  findProducer,
  INVITATION_TTL_DAYS,
  inviteToProducer,
  listProducers,
  pendingInvitations,
  producerManagers,
  producerSchema,
  removeProducerAccess,
  revokeInvitation,
  updateProducer,
  type Producer,
} from '../../domain/producers.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

const ID = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const idParams = z.object({ id: ID });
const accountParams = z.object({ id: ID, accountId: ID });
const invitationParams = z.object({ id: ID, invitation: z.string().regex(/^[0-9a-f]{64}$/) });
const listQuery = z.object({ q: z.string().max(100).optional().catch(undefined) });
const inviteSchema = z.object({ email: emailField });

/** Parses route parameters; anything malformed is a 404. */
function paramsOf<S extends z.ZodType>(request: FastifyRequest, schema: S): z.output<S> {
  const parsed = schema.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data;
}

/** The form values for a stored producer. */
function producerValues(p: Producer): Record<string, string | boolean> {
  return {
    name: p.name,
    description: p.description,
    contactName: p.contactName ?? '',
    email: p.email ?? '',
    phone: p.phone ?? '',
    address: p.address,
    siret: p.siret ?? '',
    vatNumber: p.vatNumber ?? '',
    active: p.active,
  };
}

/** The values to show again after a refused form; the checkbox is on only when it was sent on. */
function echoProducer(body: unknown): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = echo(body);
  values.active = values.active === 'on';
  return values;
}

/** Administration of producers: list, create, edit, the accounts that manage them, invitations. */
const producersAdmin: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  app.addHook('preHandler', adminMenuCount(app.db));

  app.get('/admin/producers', async function showProducers(request, reply) {
    const { q } = listQuery.parse(request.query ?? {});
    const rows = listProducers(app.db, { q });
    const data = { title: request.t('producers.title'), rows, q: q ?? '' };
    if (request.isHtmx && request.headers['hx-target'] === 'producer-results') return reply.page('producers/_results', data);
    return reply.page('producers/index', data);
  });

  // ----- create and edit -----
  const showForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    producer: Producer | null,
    values: Record<string, string | boolean>,
    errors: FieldErrors = {},
    status = 200,
  ) =>
    reply.page(
      'producers/form',
      { title: producer ? request.t('producers.edit_title', { name: producer.name }) : request.t('producers.new_title'), producer, values, errors },
      status,
    );

  app.get('/admin/producers/new', async function showNewProducer(request, reply) {
    return showForm(request, reply, null, { active: true });
  });

  app.post('/admin/producers', async function addProducer(request, reply) {
    const form = parseForm(request.t, producerSchema, request.body);
    if (!form.ok) return showForm(request, reply, null, echoProducer(request.body), form.errors, 422);
    const producer = createProducer(app.db, form.data, Date.now(), request.account!);
    reply.flash('success', 'producers.flash.created', { name: producer.name });
    return reply.seeOther(`/admin/producers/${producer.id}`);
  });

  app.get('/admin/producers/:id/edit', async function showEditProducer(request, reply) {
    const producer = findProducer(app.db, paramsOf(request, idParams).id);
    if (!producer) throw new HttpError(404);
    return showForm(request, reply, producer, producerValues(producer));
  });

  app.post('/admin/producers/:id', async function saveProducer(request, reply) {
    const producer = findProducer(app.db, paramsOf(request, idParams).id);
    if (!producer) throw new HttpError(404);
    const form = parseForm(request.t, producerSchema, request.body);
    if (!form.ok) return showForm(request, reply, producer, echoProducer(request.body), form.errors, 422);
    const saved = updateProducer(app.db, producer.id, form.data, Date.now(), request.account!);
    if (!saved) throw new HttpError(404);
    reply.flash('success', 'producers.flash.saved', { name: saved.name });
    return reply.seeOther(`/admin/producers/${producer.id}`);
  });

  // ----- one producer: its accounts and invitations -----
  const showProducer = (request: FastifyRequest, reply: FastifyReply, id: number, inviteValues: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) => {
    const producer = findProducer(app.db, id);
    if (!producer) throw new HttpError(404);
    return reply.page(
      'producers/show',
      {
        title: producer.name,
        producer,
        managers: producerManagers(app.db, id),
        invitations: pendingInvitations(app.db, id),
        ttlDays: INVITATION_TTL_DAYS,
        values: inviteValues,
        errors,
      },
      status,
    );
  };

  app.get('/admin/producers/:id', async function showProducerPage(request, reply) {
    return showProducer(request, reply, paramsOf(request, idParams).id);
  });

  app.post('/admin/producers/:id/accounts/:accountId/remove', async function removeAccess(request, reply) {
    const { id, accountId } = paramsOf(request, accountParams);
    const producer = findProducer(app.db, id);
    if (!producer) throw new HttpError(404);
    const result = removeProducerAccess(app.db, id, accountId, request.account!);
    if (!result.ok) throw new HttpError(404);
    reply.flash('success', result.roleRemoved ? 'producers.flash.access_removed_role' : 'producers.flash.access_removed', {
      name: result.account.name,
      producer: producer.name,
    });
    return reply.seeOther(`/admin/producers/${id}`);
  });

  app.post('/admin/producers/:id/invitations', async function invite(request, reply) {
    const { id } = paramsOf(request, idParams);
    if (!findProducer(app.db, id)) throw new HttpError(404);
    const form = parseForm(request.t, inviteSchema, request.body);
    if (!form.ok) return showProducer(request, reply, id, echo(request.body), form.errors, 422);
    const me = request.account!;
    const result = inviteToProducer(app.db, app.mailer, { producerId: id, email: form.data.email, invitedBy: { id: me.id, name: me.name }, locale: request.locale }, Date.now(), me);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return showProducer(request, reply, id, echo(request.body), { email: request.t('error.already_manages') }, 422);
    }
    app.wakeOutbox();
    reply.flash('success', 'producers.flash.invited', { email: form.data.email });
    return reply.seeOther(`/admin/producers/${id}`);
  });

  app.post('/admin/producers/:id/invitations/:invitation/revoke', async function revoke(request, reply) {
    const { id, invitation } = paramsOf(request, invitationParams);
    if (!revokeInvitation(app.db, id, invitation)) throw new HttpError(404);
    reply.flash('success', 'producers.flash.invitation_revoked');
    return reply.seeOther(`/admin/producers/${id}`);
  });
};

export default producersAdmin;
