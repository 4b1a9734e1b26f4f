/**
 * What a reader takes away from the viewer, from the API as from its buttons: the per-slice
 * metrics of one or several methods of one low-dose series as CSV.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { IndexedComparison } from '../data/data-index.js';
import type { DataServices } from '../plugins/data.js';
import { methodSet, parseComparisonIds } from '../method-set.js';
import { metricsCsv } from '../metrics-csv.js';
import { errorResponses, idParams } from '../schemas.js';

const csvBody = Type.Unsafe<string>({ type: 'string' });
const comparisonsQuery = Type.Object({ comparisons: Type.String({ maxLength: 2000 }) }, { additionalProperties: false });

const exportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /** The per-slice metrics of one comparison (low-dose and denoised rows), as CSV. */
  app.get(
    '/api/comparisons/:id/metrics.csv',
    { schema: { params: idParams, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const comparison = app.data.index.comparison(request.params.id);
      sendCsv(reply, await csvOf(app.data, [comparison]), 'lowdose-metrics.csv');
    },
  );

  /** The per-slice metrics of several methods of one low-dose series (`?comparisons=a,b,c`), as CSV. */
  app.get(
    '/api/metrics.csv',
    { schema: { querystring: comparisonsQuery, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const { comparisons } = methodSet(app.data.index, parseComparisonIds(request.query.comparisons));
      sendCsv(reply, await csvOf(app.data, comparisons), 'lowdose-metrics.csv');
    },
  );
};

async function csvOf(data: DataServices, comparisons: readonly IndexedComparison[]): Promise<string> {
  const metrics = await Promise.all(comparisons.map((c) => data.metrics.all(c)));
  const lowDose = comparisons[0]!.lowDose;
  return metricsCsv(
    { seriesId: lowDose.id, description: lowDose.series.seriesDescription, locations: lowDose.series.slices.map((s) => s.location) },
    comparisons.map((c, k) => ({ comparisonId: c.id, method: c.report?.method ?? '', seriesId: c.denoised.id, description: c.denoised.series.seriesDescription, metrics: metrics[k]! })),
  );
}

function sendCsv(reply: { header(name: string, value: string): unknown; type(t: string): unknown; send(body: string): unknown }, body: string, name: string): void {
  reply.type('text/csv; charset=utf-8');
  reply.header('Content-Disposition', `attachment; filename="${name}"`);
  reply.send(body);
}

export default exportsRoutes;
