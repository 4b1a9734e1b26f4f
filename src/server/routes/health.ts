/** GET /api/health: liveness and what the server serves. */
import type { FastifyPluginAsync } from 'fastify';
import { packageVersion } from '../../util/package-root.js';

const version = packageVersion();

const health: FastifyPluginAsync = async (app) => {
  app.get(
    '/api/health',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['status', 'version', 'studies', 'viewer'],
            properties: { status: { type: 'string' }, version: { type: 'string' }, studies: { type: 'integer' }, viewer: { type: 'boolean' } },
          },
        },
      },
    },
    async () => ({ status: 'ok', version, studies: app.data.index.studies().studies.length, viewer: app.config.viewerDir !== null }),
  );
};

export default health;
