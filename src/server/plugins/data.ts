/**
 * `app.data`: the index of studies and series under the data folders (and the work folder's
 * uploads, job outputs and this server's PACS pulls), the decoded-slice cache
 * and the metrics computed from it. The first scan finishes before the server is ready.
 */
import fp from 'fastify-plugin';
import { clearSliceCache } from '../../dicom/index.js';
import { ComparisonMetricsService } from '../comparison-metrics.js';
import { DataIndex } from '../data/data-index.js';
import { LowdoseError, toLowdoseError } from '../../errors.js';
import { makeOutputFolder } from '../../util/fs.js';
import { SliceStore } from '../slice-store.js';
import { ServerWorker } from '../worker-pool.js';
import { fromTransfer, scanFromTransfer, seriesToTransfer, sliceReadInput } from '../worker-tasks.js';

export interface DataServices {
  readonly index: DataIndex;
  readonly slices: SliceStore;
  readonly metrics: ComparisonMetricsService;
  /** Checks an uploaded file like `lowdose info` does, in the files thread: null when usable. */
  checkFile(path: string): Promise<LowdoseError | null>;
  /** The thread that reads DICOM files for the server (uploads, the data folders' index). */
  readonly files: ServerWorker;
  /** The thread that draws figures and measures ROIs for the exports (./export-tasks.ts). */
  readonly exports: ServerWorker;
}

/** An upload that takes a thread longer than this to read is refused (and the thread restarted). */
export const UPLOAD_CHECK_MS = 60_000;

declare module 'fastify' {
  interface FastifyInstance {
    data: DataServices;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    await makeOutputFolder(config.uploadDir);
    await makeOutputFolder(config.jobsDir);
    const log = app.log.child({ component: 'data-index' });
    // DICOM is parsed off the event loop: uploads, folder scans and series facts in the files
    // thread, the viewer's slices in their own (a rescan does not hold up scrolling); their JS
    // heaps are capped so a hostile file exhausts that thread, not the server.
    const files = new ServerWorker({ resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    const sliceWorker = new ServerWorker({ resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    const metricsWorker = new ServerWorker({ lowPriority: true });
    // Figures and measurement tables: seconds of pixel work near the pixel limit, never on the
    // event loop, and not in the slices' thread (scrolling goes on while a figure is drawn).
    const exportsWorker = new ServerWorker({ resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    // The work folder's uploads, job outputs and this server's own PACS pulls: not the pull
    // folders of other servers on the same work folder (./pull-sessions.ts).
    const index = new DataIndex(
      [...config.dataDirs, config.uploadDir, config.jobsDir, config.pullDir],
      { info: (m) => log.info(m), warn: (m) => log.warn(m) },
      async (paths, { within, listedPerCode, keepSkippedNamed, wholeTree }) =>
        scanFromTransfer(await files.run('scan', { paths: [...paths], within: [...within], listedPerCode, keepSkippedNamed: [...keepSkippedNamed], wholeTree })),
      (series) => files.run('seriesFacts', { series: seriesToTransfer(series) }),
    );
    // Each read sends the thread the slice's file and its series' few facts, never the series' list of slices.
    const slices = new SliceStore(config.sliceCacheBytes, async (series, index) => sliceWorker.run('readSlice', sliceReadInput(series, index)));
    const checkFile = async (path: string): Promise<LowdoseError | null> => {
      const tooSlow = () => new LowdoseError('E_MALFORMED', `${path}: reading its header took longer than ${UPLOAD_CHECK_MS / 1000} s`, { path });
      try {
        const problem = await files.run('checkFile', { path }, { ms: UPLOAD_CHECK_MS, error: tooSlow });
        return problem === null ? null : fromTransfer(problem);
      } catch (error) {
        // The thread gave up on it (time limit, out of memory): the file is what made it so.
        const e = toLowdoseError(error);
        return e.code === 'E_CANCELLED' ? e : new LowdoseError(e.code === 'E_INTERNAL' ? 'E_MALFORMED' : e.code, `${path}: ${e.message}`, { path });
      }
    };
    app.decorate('data', {
      index,
      slices,
      metrics: new ComparisonMetricsService(slices, (input) => metricsWorker.run('score', input)),
      checkFile,
      files,
      exports: exportsWorker,
    });
    await index.refresh();
    app.addHook('onClose', async () => {
      await Promise.all([files.close(), sliceWorker.close(), metricsWorker.close(), exportsWorker.close()]);
      clearSliceCache();
    });
  },
  { name: 'lowdose-data', dependencies: ['lowdose-config'], fastify: '5.x' },
);
