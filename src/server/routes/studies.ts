/** GET /api/studies: every study under the data folders, its series and comparisons. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses, studiesResponse } from '../schemas.js';

const studies: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/studies', { schema: { response: { 200: studiesResponse, ...errorResponses } } }, async () =>
    app.data.index.studies(),
  );

  /** Rescans the data folders (after files were copied in by hand). */
  app.post('/api/studies/refresh', { schema: { response: { 200: studiesResponse, ...errorResponses } } }, async () => {
    await app.data.index.refresh();
    return app.data.index.studies();
  });
};

export default studies;
