import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formatVatRate } from '../../domain/catalog.js';
import {
  cancelOrder,
  getOrder,
  lineCells,
  listOrders,
  loadOrderIntoBasket,
  ORDER_TOKEN_PATTERN,
  paymentLines,
  placeOrder,
  windowText,
  type ChangedLine,
} from '../../domain/orders.js';
import type { MessageKey } from '../../i18n/index.js';
import { HttpError, requireRole } from '../guards.js';

const ID = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const orderParams = z.object({ orderId: ID });
const cycleParams = z.object({ cycleId: ID });
const placeSchema = z.object({
  token: z.string().regex(ORDER_TOKEN_PATTERN),
  distributionId: z.string().trim().regex(/^\d{1,15}$/).transform(Number),
});
const showQuery = z.object({ print: z.literal('1').optional().catch(undefined) });

/** Parses a route parameter; anything that is not a positive integer is a 404. */
function param<S extends z.ZodType>(schema: S, request: FastifyRequest): z.output<S> {
  const parsed = schema.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data;
}

/**
 * A member's orders: placing the basket as an order (POST /shop/:cycleId/order), my orders, one
 * order (printable), changing and cancelling until the sale closes. Every query takes the
 * account id, so another member's order id is a 404.
 */
const ordersRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('member'));

  /** The page that says an order could not be placed or changed, and why. */
  const notDone = (request: FastifyRequest, reply: FastifyReply, status: number, data: { message: MessageKey; cycleId?: number; lines?: ChangedLine[]; orderId?: number }) =>
    reply.page(
      'orders/not-placed',
      {
        title: request.t(data.lines ? 'orders.changed_title' : 'orders.not_placed_title'),
        message: request.t(data.message),
        lines: data.lines ?? [],
        basketUrl: data.cycleId ? `/shop/${data.cycleId}/basket` : null,
        orderUrl: data.orderId ? `/orders/${data.orderId}` : null,
      },
      status,
    );

  app.post('/shop/:cycleId/order', async function placeMyOrder(request, reply) {
    const { cycleId } = param(cycleParams, request);
    const form = placeSchema.safeParse(request.body ?? {});
    if (!form.success) {
      const missingDistribution = form.error.issues.some((i) => i.path[0] === 'distributionId');
      return notDone(request, reply, 422, { message: missingDistribution ? 'orders.error.choose_distribution' : 'orders.error.stale_form', cycleId });
    }
    const input = { accountId: request.account!.id, cycleId, distributionId: form.data.distributionId, token: form.data.token };
    // The flash joins the placement's transaction: one commit per order, and no order without its message.
    const result = app.db.transaction(
      () => {
        const placed = placeOrder(app.db, app.mailer, input);
        if (placed.ok && !placed.replayed) reply.flash('success', placed.replaced ? 'orders.flash.changed' : 'orders.flash.placed', { reference: placed.reference });
        return placed;
      },
      { behavior: 'immediate' },
    );
    if (result.ok) {
      if (!result.replayed) app.wakeOutbox();
      return reply.seeOther(`/orders/${result.orderId}`);
    }
    switch (result.reason) {
      case 'changed':
        return notDone(request, reply, 409, { message: 'orders.changed_intro', cycleId, lines: result.lines });
      case 'not_member': {
        const pending = request.account!.status === 'pending';
        return reply.page('errors/error', { title: request.t('errors.title.403'), status: 403, body: request.t(pending ? 'orders.error.pending' : 'orders.error.not_member') }, 403);
      }
      case 'not_found':
        throw new HttpError(404);
      case 'cycle_closed':
        return notDone(request, reply, 409, { message: 'orders.error.cycle_closed' });
      case 'wrong_distribution':
        return notDone(request, reply, 422, { message: 'orders.error.choose_distribution', cycleId });
      case 'empty_basket':
        return notDone(request, reply, 422, { message: 'orders.error.empty_basket', cycleId });
      case 'token_taken':
        return notDone(request, reply, 422, { message: 'orders.error.stale_form', cycleId });
    }
  });

  app.get('/orders', async function showMyOrders(request, reply) {
    const { current, past } = listOrders(app.db, request.account!.id);
    return reply.page('orders/index', { title: request.t('orders.title'), current, past });
  });

  app.get('/orders/:orderId', async function showOrder(request, reply) {
    const { orderId } = param(orderParams, request);
    const order = getOrder(app.db, request.account!.id, orderId);
    if (!order) throw new HttpError(404);
    const { print } = showQuery.parse(request.query ?? {});
    const t = request.t;
    const fmt = request.fmt;
    const view = {
      title: t('orders.order_title', { reference: order.reference }),
      order,
      print: print === '1',
      cells: order.lines.map((l) => lineCells(t, fmt, l)),
      vatRows: order.vat.map((v) => ({ label: t('orders.vat_line', { rate: formatVatRate(v.rateBp, request.locale), base: fmt.money(v.totalCents) }), vatCents: v.vatCents })),
      window: windowText(t, fmt, order.startsAt, order.endsAt),
      payment: paymentLines(t, fmt, order),
    };
    return reply.page(print === '1' ? 'orders/print' : 'orders/show', view);
  });

  app.post('/orders/:orderId/edit', async function editOrder(request, reply) {
    const { orderId } = param(orderParams, request);
    const result = loadOrderIntoBasket(app.db, request.account!.id, orderId);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return notDone(request, reply, 409, { message: 'orders.error.closed_read_only', orderId });
    }
    reply.flash('info', 'orders.flash.editing');
    return reply.seeOther(`/shop/${result.cycleId}/basket`);
  });

  app.post('/orders/:orderId/cancel', async function cancelMyOrder(request, reply) {
    const { orderId } = param(orderParams, request);
    const result = cancelOrder(app.db, app.mailer, request.account!.id, orderId);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return notDone(request, reply, 409, { message: 'orders.error.closed_read_only', orderId });
    }
    if (!result.alreadyCancelled) app.wakeOutbox();
    reply.flash(result.alreadyCancelled ? 'info' : 'success', result.alreadyCancelled ? 'orders.flash.already_cancelled' : 'orders.flash.cancelled');
    return reply.seeOther(`/orders/${orderId}`);
  });
};

export default ordersRoutes;
