/**
 * `app.jobs`: the denoise job queue. Finished jobs' outputs are indexed before the job reports
 * "done", so the comparison ids it returns can be opened at once.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import fp from 'fastify-plugin';
import { defaultModelsDir } from '../../models/index.js';
import { redactForLog, serverPathRedactor } from '../http-errors.js';
import { shortId } from '../ids.js';
import { freeBytes as diskFreeBytes } from '../disk-room.js';
import { JobOutputRoom } from '../jobs/output-room.js';
import { JobQueue, type DenoiseRunner } from '../jobs/queue.js';

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobQueue;
    /** Admits a job only when its output fits beside the outputs promised to the jobs not yet ended. */
    jobOutputRoom: JobOutputRoom;
  }
}

export interface JobsPluginOptions {
  readonly runner: DenoiseRunner;
  /** Bytes free on the disk of a folder (default: statfs, ../disk-room.ts). */
  readonly freeBytes?: (dir: string) => Promise<number>;
}

export default fp<JobsPluginOptions>(
  async (app, { runner, freeBytes = diskFreeBytes }) => {
    const log = app.log.child({ component: 'jobs' });
    // Jobs run under the server's memory budget (checked again by the pipeline, which also chunks
    // the network's forward calls to it).
    const budgeted: DenoiseRunner = (paths, options) => runner(paths, { ...options, memoryBudget: app.config.memoryBudget.bytes });
    // The queue is made below; the room reads its promises only once a job is submitted.
    const room: JobOutputRoom = new JobOutputRoom({
      workDir: app.config.workDir,
      reserve: () => app.config.limits.diskReserveBytes,
      freeBytes,
      promised: () => queue.promisedOutputs(),
    });
    const queue: JobQueue = new JobQueue(budgeted, {
      outDirFor: (id) => path.join(app.config.jobsDir, id),
      completed: async (report, job) => {
        await app.data.index.add([job.outDir]);
        const outputs = app.data.index.outputsOf(report.series.map((s) => s.output.seriesInstanceUid));
        const result = {
          comparisons: outputs.map((c) => c.id),
          uncertainty: outputs.map((c) => c.uncertainty),
          hallucination: outputs.map((c) => c.hallucination),
        };
        if (!job.store || !app.pacs) return result;
        // Store-back (POST /api/jobs with `store`): into the study of the series the job denoised.
        job.stage('store');
        const studyOf = (s: (typeof report.series)[number]) => app.data.index.series(shortId('series', s.input.key)).series.studyInstanceUid;
        const { stored, errors } = await app.pacs.storeReport(report.series, studyOf, (message) => log.info(`job ${job.id}: ${redactForLog(message)}`));
        return { ...result, stored, errors };
      },
      // A queued job checks the disk again when it starts: uploads and other writers may have filled it.
      beforeRun: async ({ id, outputBytes }) => room.checkStart(id, outputBytes),
      cancelled: async ({ outDir }) => {
        if (path.dirname(outDir) === app.config.jobsDir) await rm(outDir, { recursive: true, force: true });
      },
      log: (message) => log.info(redactForLog(message)),
      redact: serverPathRedactor(app.config, defaultModelsDir()),
    }, app.config.limits.queuedJobs);
    app.decorate('jobs', queue);
    app.decorate('jobOutputRoom', room);
    app.addHook('onClose', async () => queue.close());
  },
  { name: 'lowdose-jobs', dependencies: ['lowdose-config', 'lowdose-data', 'lowdose-pacs'], fastify: '5.x' },
);
