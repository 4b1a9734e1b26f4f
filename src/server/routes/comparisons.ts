/** A comparison (low-dose | denoised | reference | uncertainty) and its metrics. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clientGoneSignal } from '../client-gone.js';
import { comparisonDetail, comparisonMetrics, errorResponses, idParams, sliceMetrics, sliceParams } from '../schemas.js';

const comparisons: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/comparisons/:id',
    { schema: { params: idParams, response: { 200: comparisonDetail, ...errorResponses } } },
    async (request) => app.data.index.comparisonDetail(request.params.id),
  );

  /**
   * Every slice's metrics and the series means (computed once, then cached); stopped when every
   * client that asked has gone (the slices scored so far stay cached); with the comparison's pairing warnings.
   */
  app.get(
    '/api/comparisons/:id/metrics',
    { schema: { params: idParams, response: { 200: comparisonMetrics, ...errorResponses } } },
    async (request, reply) => {
      const comparison = app.data.index.comparison(request.params.id);
      // The scores and what makes them suspect (another kernel, slice thickness, gate), together: a reader of one reads the other.
      return { ...(await app.data.metrics.all(comparison, clientGoneSignal(reply))), pairingWarnings: comparison.pairingWarnings };
    },
  );

  /**
   * One low-dose slice's metrics: what the viewer shows beside the slice. Other than CT, its range
   * is read over the whole series scored against (once, then cached); that read stops when every
   * client waiting for it has gone.
   */
  app.get(
    '/api/comparisons/:id/metrics/slices/:index',
    { schema: { params: sliceParams, response: { 200: sliceMetrics, ...errorResponses } } },
    async (request, reply) => app.data.metrics.slice(app.data.index.comparison(request.params.id), request.params.index, clientGoneSignal(reply)),
  );
};

export default comparisons;
