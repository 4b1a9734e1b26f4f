/**
 * GET /api/models: the models a job may name (installed cards, by card name, in the server's
 * --models folders and then the shipped ones), and the methods.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DENOISE_METHODS, DEVICE_REQUESTS } from '../../choices.js';
import { installedModels, modelSearchPath } from '../../models/index.js';
import { errorResponses, modelsResponse } from '../schemas.js';

const models: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/models', { schema: { response: { 200: modelsResponse, ...errorResponses } } }, async () => {
    const installed = await installedModels(modelSearchPath(app.config.modelDirs));
    return {
      models: installed.map(({ name, card }) => ({
        name,
        modalities: [...card.modalities],
        description: card.description ?? '',
        defaultSteps: card.sampler.steps,
      })),
      methods: [...DENOISE_METHODS],
      devices: [...DEVICE_REQUESTS],
    };
  });
};

export default models;
