/**
 * `app.pacs`: the PACS of `serve --dicomweb` or `serve --dimse` (../pacs.ts), or null without one.
 * Its opened series are pulled into this server's own folder under `<work>/pacs/`, which the data
 * index reads; closing the server removes it.
 */
import fp from 'fastify-plugin';
import type { DicomwebClientOptions } from '../../dicomweb/client.js';
import type { DimsePeer } from '../../dimse/url.js';
import { redactForLog } from '../http-errors.js';
import { PulledSourceCache } from '../pacs-source-cache.js';
import { PacsService, type PacsSource } from '../pacs.js';
import { DicomwebSource } from '../pacs-dicomweb.js';
import { DimseSource, type DimseServeOptions } from '../pacs-dimse.js';

declare module 'fastify' {
  interface FastifyInstance {
    pacs: PacsService | null;
  }
}

export interface PacsPluginOptions {
  /** The DICOMweb service base and how to reach it; absent: no DICOMweb PACS. */
  readonly dicomweb?: { readonly base: string; readonly client?: DicomwebClientOptions } | undefined;
  /** The DIMSE PACS and how to reach it; absent: no DIMSE PACS. One PACS per server: buildApp refuses both. */
  readonly dimse?: { readonly peer: DimsePeer; readonly options: DimseServeOptions } | undefined;
}

export default fp<PacsPluginOptions>(
  async (app, { dicomweb, dimse }) => {
    if (!dicomweb && !dimse) {
      app.decorate('pacs', null);
      return;
    }
    const child = app.log.child({ component: 'pacs' });
    const log = (message: string) => child.warn(redactForLog(message));
    // One pulled instance may be as large as one uploaded file.
    const maxInstanceBytes = app.config.limits.fileBytes;
    const source: PacsSource = dicomweb ? new DicomwebSource(dicomweb.base, { maxInstanceBytes, ...dicomweb.client }, log) : new DimseSource(dimse!.peer, { maxInstanceBytes, ...dimse!.options }, log);
    // A bound of 0 is no cache (serve --pacs-cache-size 0): the lock is not taken, what earlier servers cached is left alone.
    const cache = app.config.pacsCacheBytes > 0 ? await PulledSourceCache.open(app.config.pacsCacheDir, source.address, app.config.pacsCacheBytes, log) : null;
    const pacs = new PacsService({ source, pullDir: app.config.pullDir, cache, log });
    app.decorate('pacs', pacs);
    // Before the server waits for the requests in flight: those waiting on a PACS that does not answer end now.
    app.addHook('preClose', async () => pacs.stop());
    app.addHook('onClose', async () => pacs.close());
  },
  { name: 'lowdose-pacs', dependencies: ['lowdose-config'], fastify: '5.x' },
);
