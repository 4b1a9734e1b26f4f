/**
 * `app.data`: the index of studies and series under the data folders, the decoded-slice cache
 * and the metrics computed from it. The first scan finishes before the server is ready.
 */
import { mkdir } from 'node:fs/promises';
import fp from 'fastify-plugin';
import { clearSliceCache } from '../../dicom/index.js';
import { ComparisonMetricsService } from '../comparison-metrics.js';
import { DataIndex } from '../data/data-index.js';
import { MetricsWorker } from '../metrics-pool.js';
import { SliceStore } from '../slice-store.js';

export interface DataServices {
  readonly index: DataIndex;
  readonly slices: SliceStore;
  readonly metrics: ComparisonMetricsService;
}

declare module 'fastify' {
  interface FastifyInstance {
    data: DataServices;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    await mkdir(config.uploadDir, { recursive: true });
    await mkdir(config.jobsDir, { recursive: true });
    const log = app.log.child({ component: 'data-index' });
    const index = new DataIndex([...config.dataDirs, config.workDir], {
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
    });
    const slices = new SliceStore(config.sliceCacheBytes);
    const worker = new MetricsWorker();
    app.decorate('data', { index, slices, metrics: new ComparisonMetricsService(slices, (input) => worker.score(input)) });
    await index.refresh();
    app.addHook('onClose', async () => {
      await worker.close();
      clearSliceCache();
    });
  },
  { name: 'lowdose-data', dependencies: ['lowdose-config'], fastify: '5.x' },
);
