import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  addVatRate,
  categorySchema,
  findCategory,
  formatVatRate,
  listCategories,
  listVatRates,
  newCategorySchema,
  setVatRateActive,
  updateCategory,
  vatRateField,
  type Category,
  createCategory,
} from '../../domain/categories.js';
import { echo, parseForm, type FieldErrors } from '../forms.js';
import { adminMenuCount, HttpError, requireRole } from '../guards.js';

const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const rateParams = z.object({ rateBp: z.string().regex(/^\d{1,5}$/).transform(Number).pipe(z.number().max(10_000)) });
const vatSchema = z.object({ rate: vatRateField });
const activeSchema = z.object({ active: z.enum(['true', 'false'], { error: 'error.invalid_choice' }) });

/** Parses an :id route parameter; anything that is not a positive integer is a 404. */
function idOf(request: FastifyRequest): number {
  const parsed = idParams.safeParse(request.params);
  if (!parsed.success) throw new HttpError(404);
  return parsed.data.id;
}

/** Administration of the coop-wide lists producers choose from: categories and VAT rates. */
const categoriesAdmin: FastifyPluginAsync = async (app) => {
  app.addHook('preHandler', requireRole('admin'));
  app.addHook('preHandler', adminMenuCount(app.db));

  // ----- categories -----
  const showCategories = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) =>
    reply.page('categories/index', { title: request.t('categories.title'), categories: listCategories(app.db), values, errors }, status);

  app.get('/admin/categories', async function showCategoriesPage(request, reply) {
    return showCategories(request, reply);
  });

  app.post('/admin/categories', async function addCategory(request, reply) {
    const form = parseForm(request.t, newCategorySchema, request.body);
    if (!form.ok) return showCategories(request, reply, echo(request.body), form.errors, 422);
    const result = createCategory(app.db, form.data, request.account!);
    if (!result.ok) return showCategories(request, reply, echo(request.body), { nameFr: request.t('error.category_exists') }, 422);
    reply.flash('success', 'categories.flash.created', { name: result.category.nameFr, nameEn: result.category.nameEn });
    return reply.seeOther('/admin/categories');
  });

  const showCategory = (
    request: FastifyRequest,
    reply: FastifyReply,
    category: Category,
    values: Record<string, string | boolean>,
    errors: FieldErrors = {},
    status = 200,
  ) =>
    reply.page(
      'categories/edit',
      { title: request.t('categories.edit_title', { name: request.locale === 'fr' ? category.nameFr : category.nameEn }), category, values, errors },
      status,
    );

  app.get('/admin/categories/:id', async function showCategoryPage(request, reply) {
    const category = findCategory(app.db, idOf(request));
    if (!category) throw new HttpError(404);
    return showCategory(request, reply, category, { nameFr: category.nameFr, nameEn: category.nameEn, position: String(category.position), active: category.active });
  });

  app.post('/admin/categories/:id', async function saveCategory(request, reply) {
    const category = findCategory(app.db, idOf(request));
    if (!category) throw new HttpError(404);
    const form = parseForm(request.t, categorySchema, request.body);
    const echoed = () => {
      const values: Record<string, string | boolean> = echo(request.body);
      values.active = values.active === 'on';
      return values;
    };
    if (!form.ok) return showCategory(request, reply, category, echoed(), form.errors, 422);
    const result = updateCategory(app.db, category.id, form.data, request.account!);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return showCategory(request, reply, category, echoed(), { nameFr: request.t('error.category_exists') }, 422);
    }
    reply.flash('success', 'categories.flash.saved', { name: result.category.nameFr, nameEn: result.category.nameEn });
    return reply.seeOther('/admin/categories');
  });

  // ----- VAT rates -----
  const showVatRates = (request: FastifyRequest, reply: FastifyReply, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200) =>
    reply.page(
      'categories/vat-rates',
      {
        title: request.t('vat.title'),
        rates: listVatRates(app.db).map((r) => ({ ...r, label: formatVatRate(r.rateBp, request.locale) })),
        values,
        errors,
      },
      status,
    );

  app.get('/admin/vat-rates', async function showVatRatesPage(request, reply) {
    return showVatRates(request, reply);
  });

  app.post('/admin/vat-rates', async function addRate(request, reply) {
    const form = parseForm(request.t, vatSchema, request.body);
    if (!form.ok) return showVatRates(request, reply, echo(request.body), form.errors, 422);
    const label = formatVatRate(form.data.rate, request.locale);
    const result = addVatRate(app.db, form.data.rate, request.account!);
    if (!result.ok) return showVatRates(request, reply, echo(request.body), { rate: request.t('error.vat_rate_exists', { rate: label }) }, 422);
    reply.flash('success', 'vat.flash.added', { rate: label });
    return reply.seeOther('/admin/vat-rates');
  });

  app.post('/admin/vat-rates/:rateBp', async function setRateActive(request, reply) {
    const params = rateParams.safeParse(request.params);
    if (!params.success) throw new HttpError(404);
    const form = parseForm(request.t, activeSchema, request.body);
    if (!form.ok) return showVatRates(request, reply, {}, { _form: request.t('error.invalid_choice') }, 422);
    const active = form.data.active === 'true';
    const label = formatVatRate(params.data.rateBp, request.locale);
    const result = setVatRateActive(app.db, params.data.rateBp, active, request.account!);
    if (!result.ok) {
      if (result.reason === 'not_found') throw new HttpError(404);
      return showVatRates(request, reply, {}, { _form: request.t('error.last_vat_rate') }, 422);
    }
    reply.flash('success', active ? 'vat.flash.activated' : 'vat.flash.deactivated', { rate: label });
    return reply.seeOther('/admin/vat-rates');
  });
};

export default categoriesAdmin;
