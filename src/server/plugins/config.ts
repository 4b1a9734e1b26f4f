/** `app.config`: the resolved server settings, for every route. */
import fp from 'fastify-plugin';
import type { ServerConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: ServerConfig;
  }
}

export default fp<{ config: ServerConfig }>(
  async (app, { config }) => {
    app.decorate('config', config);
  },
  { name: 'lowdose-config', fastify: '5.x' },
);
