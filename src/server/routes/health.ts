/** GET /api/health: liveness and what the server serves. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { packageVersion } from '../../util/package-root.js';
import { healthResponse } from '../schemas.js';

const version = packageVersion();

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/health',
    {
      schema: { response: { 200: healthResponse } },
    },
    async () => ({ status: 'ok', version, studies: app.data.index.studies().studies.length, viewer: app.config.viewerDir !== null }),
  );
};

export default health;
