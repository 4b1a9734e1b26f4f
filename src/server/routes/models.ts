/**
 * GET /api/models: the models a job may name (installed cards, by card name, in the server's
 * --models folders and then the shipped ones), and the methods.
 */
import type { FastifyPluginAsync } from 'fastify';
import { defaultModelsDir, installedModels } from '../../models/index.js';
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
    const installed = await installedModels([...app.config.modelDirs, defaultModelsDir()]);
    return {
      models: installed.map(({ name, card }) => ({
        name,
        modalities: [...card.modalities],
        description: card.description ?? '',
        defaultSteps: card.sampler.steps,
      })),
      methods: ['diffusion', 'gaussian', 'bilateral', 'nlm'],
      devices: ['auto', 'cpu', 'webgpu', 'cuda'],
    };
  });
};

export default models;
