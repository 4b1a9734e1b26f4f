/** The viewer's built files at /, or a clear error when `npm run build` has not made them. */
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

const viewer: FastifyPluginAsync = async (app) => {
  const dir = app.config.viewerDir;
  if (dir) {
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      // Bundles are named by content hash; index.html is not, so it is always revalidated.
      cacheControl: false,
      setHeaders: (reply, filePath) => {
        reply.header('Cache-Control', filePath.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
      },
    });
    return;
  }
  app.get('/', async (_request, reply) =>
    reply.status(503).send({ code: 'E_NOT_FOUND', message: 'the viewer is not built: run `npm run build` (node scripts/build-viewer.mjs)' }),
  );
};

export default viewer;
