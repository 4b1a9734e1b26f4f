/** GET /api/models: the models a job may name (shipped ones and the server's --models folders), and the methods. */
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { defaultModelsDir, listModelNames, readModelCard } from '../../models/index.js';
import { errorResponses } from '../schemas.js';

const modelsResponse = {
  type: 'object',
  required: ['models', 'methods', 'devices'],
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'modalities', 'description'],
        properties: {
          name: { type: 'string' },
          modalities: { type: 'array', items: { type: 'string' } },
          description: { type: 'string' },
          defaultSteps: { type: 'integer' },
        },
      },
    },
    methods: { type: 'array', items: { type: 'string' } },
    devices: { type: 'array', items: { type: 'string' } },
  },
} as const;

const models: FastifyPluginAsync = async (app) => {
  app.get('/api/models', { schema: { response: { 200: modelsResponse, ...errorResponses } } }, async () => {
    const found = new Map<string, { name: string; modalities: string[]; description: string; defaultSteps: number }>();
    // Later folders lose to earlier ones, the order jobs resolve names in.
    for (const dir of [...app.config.modelDirs, defaultModelsDir()]) {
      for (const name of await listModelNames(dir)) {
        if (found.has(name)) continue;
        try {
          const card = await readModelCard(path.join(dir, `${name}.json`));
          found.set(name, {
            name,
            modalities: [...card.modalities],
            description: card.description ?? '',
            defaultSteps: card.sampler.steps,
          });
        } catch {
          // an invalid card is not offered
        }
      }
    }
    return {
      models: [...found.values()],
      methods: ['diffusion', 'gaussian', 'bilateral', 'nlm'],
      devices: ['auto', 'cpu', 'webgpu', 'cuda'],
    };
  });
};

export default models;
