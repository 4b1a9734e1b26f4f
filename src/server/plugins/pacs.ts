/**
 * `app.pacs`: the DICOMweb server of `serve --dicomweb` (../pacs.ts), or null without one. Its
 * opened series are pulled into this server's own folder under `<work>/pacs/`, which the data
 * index reads; closing the server removes it.
 */
import fp from 'fastify-plugin';
import type { DicomwebClientOptions } from '../../dicomweb/client.js';
import { redactForLog } from '../http-errors.js';
import { PacsService } from '../pacs.js';

declare module 'fastify' {
  interface FastifyInstance {
    pacs: PacsService | null;
  }
}

export interface PacsPluginOptions {
  /** The DICOMweb service base and how to reach it; absent: no PACS. */
  readonly dicomweb?: { readonly base: string; readonly client?: DicomwebClientOptions } | undefined;
}

export default fp<PacsPluginOptions>(
  async (app, { dicomweb }) => {
    if (!dicomweb) {
      app.decorate('pacs', null);
      return;
    }
    const log = app.log.child({ component: 'pacs' });
    const pacs = new PacsService({
      base: dicomweb.base,
      // One pulled instance may be as large as one uploaded file.
      client: { maxInstanceBytes: app.config.limits.fileBytes, ...dicomweb.client },
      pullDir: app.config.pullDir,
      log: (message) => log.warn(redactForLog(message)),
    });
    app.decorate('pacs', pacs);
    app.addHook('onClose', async () => pacs.close());
  },
  { name: 'lowdose-pacs', dependencies: ['lowdose-config'], fastify: '5.x' },
);
