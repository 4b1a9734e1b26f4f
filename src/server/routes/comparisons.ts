/** A comparison (low-dose | denoised | reference | uncertainty) and its metrics. */
import type { FastifyPluginAsync } from 'fastify';
import { comparisonDetail, comparisonMetrics, errorResponses, idParams, sliceMetrics, sliceParams } from '../schemas.js';

const comparisons: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { id: string } }>(
    '/api/comparisons/:id',
    { schema: { params: idParams, response: { 200: comparisonDetail, ...errorResponses } } },
    async (request) => app.data.index.comparisonDetail(request.params.id),
  );

  /** Every slice's metrics and the series means (computed once, then cached). */
  app.get<{ Params: { id: string } }>(
    '/api/comparisons/:id/metrics',
    { schema: { params: idParams, response: { 200: comparisonMetrics, ...errorResponses } } },
    async (request) => app.data.metrics.all(app.data.index.comparison(request.params.id)),
  );

  /** One low-dose slice's metrics: what the viewer shows beside the slice. */
  app.get<{ Params: { id: string; index: number } }>(
    '/api/comparisons/:id/metrics/slices/:index',
    { schema: { params: sliceParams, response: { 200: sliceMetrics, ...errorResponses } } },
    async (request) => app.data.metrics.slice(app.data.index.comparison(request.params.id), request.params.index),
  );
};

export default comparisons;
