import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  countDistributionsAt,
  createPickupPoint,
  deletePickupPoint,
  findPickupPoint,
  listPickupPoints,
  pickupPointSchema,
  updatePickupPoint,
  type PickupPoint,
} from '../../domain/pickup-points.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/** Parses an :id route parameter; anything that is not a positive integer is a 404. */
function idOf(request: FastifyRequest): number {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data.id;
}

/** The values to show again after a refused form; the checkbox is on only when it was sent on. */
function echoPoint(body: unknown): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = echo(body);
  values.active = values.active === 'on';
  return values;
}

/** The form values for a stored pickup point. */
function pointValues(p: PickupPoint): Record<string, string | boolean> {
  return { name: p.name, address: p.address, instructions: p.instructions, active: p.active };
}

/** Administration of pickup points: where members collect their baskets. */
const pickupPointsAdmin: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  app.addHook('preHandler', adminMenuCount(app.db));

  app.get('/admin/pickup-points', async function showPickupPoints(request, reply) {
    return reply.page('pickup-points/index', { title: request.t('pickup_points.title'), points: listPickupPoints(app.db) });
  });

  const showForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    point: PickupPoint | null,
    values: Record<string, string | boolean>,
    errors: FieldErrors = {},
    status = 200,
  ) =>
    reply.page(
      'pickup-points/form',
      {
        title: point ? request.t('pickup_points.edit_title', { name: point.name }) : request.t('pickup_points.new_title'),
        point,
        distributionCount: point ? countDistributionsAt(app.db, point.id) : 0,
        values,
        errors,
      },
      status,
    );

  app.get('/admin/pickup-points/new', async function showNewPickupPoint(request, reply) {
    return showForm(request, reply, null, { active: true });
  });

  app.post('/admin/pickup-points', async function addPickupPoint(request, reply) {
    const form = parseForm(request.t, pickupPointSchema, request.body);
    if (!form.ok) return showForm(request, reply, null, echoPoint(request.body), form.errors, 422);
    const point = createPickupPoint(app.db, form.data, Date.now(), request.account!);
    reply.flash('success', 'pickup_points.flash.created', { name: point.name });
    return reply.seeOther('/admin/pickup-points');
  });

  app.get('/admin/pickup-points/:id', async function showEditPickupPoint(request, reply) {
    const point = findPickupPoint(app.db, idOf(request));
    if (!point) throw new HttpError(404);
    return showForm(request, reply, point, pointValues(point));
  });

  app.post('/admin/pickup-points/:id', async function savePickupPoint(request, reply) {
    const point = findPickupPoint(app.db, idOf(request));
    if (!point) throw new HttpError(404);
    const form = parseForm(request.t, pickupPointSchema, request.body);
    if (!form.ok) return showForm(request, reply, point, echoPoint(request.body), form.errors, 422);
    const saved = updatePickupPoint(app.db, point.id, form.data, Date.now(), request.account!);
    if (!saved) throw new HttpError(404);
    reply.flash('success', 'pickup_points.flash.saved', { name: saved.name });
    return reply.seeOther('/admin/pickup-points');
  });

  app.post('/admin/pickup-points/:id/delete', async function removePickupPoint(request, reply) {
    const id = idOf(request);
    const result = deletePickupPoint(app.db, id, request.account!);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      const point = findPickupPoint(app.db, id)!;
      const message = request.t('pickup_points.error.in_use', { count: result.distributionCount });
      return showForm(request, reply, point, pointValues(point), { _form: message }, 422);
    }
    reply.flash('success', 'pickup_points.flash.deleted', { name: result.point.name });
    return reply.seeOther('/admin/pickup-points');
  });
};

export default pickupPointsAdmin;
