/**
 * Denoise jobs: POST /api/jobs starts one (queued behind others on the same device), GET lists
 * and reads them, GET /api/jobs/:id/events streams their progress as server-sent events, and
 * DELETE cancels.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LowdoseError } from '../../errors.js';
import { EventStreamSlots } from '../event-stream-slots.js';
import { findInstalledModel, modelSearchPath } from '../../models/index.js';
import { checkJobCompute } from '../../pipeline/compute-budget.js';
import { checkJobMemory, forwardLimits, seriesShapeOf } from '../../pipeline/memory-budget.js';
import { checkUncertaintyRequest } from '../../pipeline/uncertainty-request.js';
import { isTerminal } from '../jobs/queue.js';
import { queueDeviceFor } from '../jobs/device.js';
import type { JobError, JobIncomplete, JobOptions, JobResultError, JobView } from '../api-types.js';
import { errorResponses, idParams, jobList, jobRequest, jobView } from '../schemas.js';
import type { IndexedSeries } from '../data/pairing.js';
import { DENOISED_MODALITIES, isOneOf } from '../../choices.js';
import { IncompleteSeriesError, type SeriesShortfall } from '../../util/remote-series.js';
import type { PacsService } from '../pacs.js';
import { jobOutputBytes } from '../jobs/output-estimate.js';

export interface JobsRouteOptions {
  /** Which device queue a job joins (default: ../jobs/device.ts). */
  readonly queueDevice?: (options: JobOptions) => string;
}

function filesOf(entry: IndexedSeries): string[] {
  return [...new Set(entry.series.slices.map((s) => s.file))];
}

const HEARTBEAT_MS = 15_000;

/** What the shortfall rule made of a job's series from the PACS: what to record, or the refusal the job fails with. */
type Shortfalls = { incomplete: JobIncomplete[]; referenceIncomplete?: JobIncomplete } | { refusal: JobError };

/**
 * The shortfall rule of `denoise <url>` over a job's input series from the PACS
 * (PacsService.checkJobInput), then over its reference from the PACS (checkJobReference): those
 * that came short of their instances, to record in the result (`allowIncomplete`), or the refusal
 * the job fails with (the first such series, as the CLI stops at it).
 */
function checkShortfalls(pacs: PacsService, series: readonly IndexedSeries[], reference: IndexedSeries | null, allowIncomplete: boolean): Shortfalls {
  const entry = (s: IndexedSeries, shortfall: SeriesShortfall | null): JobIncomplete | null =>
    shortfall && { series: s.id, seriesInstanceUid: s.series.seriesInstanceUid, ...shortfall };
  const incomplete: JobIncomplete[] = [];
  try {
    for (const s of series) {
      const short = entry(s, pacs.checkJobInput(s.series.seriesInstanceUid, { allowIncomplete }));
      if (short) incomplete.push(short);
    }
    const referenceIncomplete = reference && entry(reference, pacs.checkJobReference(reference.series.seriesInstanceUid, { allowIncomplete }));
    return { incomplete, ...(referenceIncomplete ? { referenceIncomplete } : {}) };
  } catch (error) {
    if (!(error instanceof IncompleteSeriesError) || !('seriesInstanceUid' in error.incomplete)) throw error;
    const { seriesInstanceUid, expected, received } = error.incomplete;
    return { refusal: { code: error.code, message: error.message, incomplete: { seriesInstanceUid, expected, received } } };
  }
}

const jobs: FastifyPluginAsyncTypebox<JobsRouteOptions> = async (app, opts) => {
  const queueDevice = opts.queueDevice ?? queueDeviceFor;

  /**
   * A model name from a request resolves only among the installed models, by card name, to that
   * card's path: a client's string never reaches the file system.
   */
  const resolveModel = async (name: string): Promise<string> =>
    (await findInstalledModel(name, modelSearchPath(app.config.modelDirs))).cardPath;

  /**
   * A request field that means something only for series opened from the `--dicomweb` server:
   * E_USAGE (400) on a server without one, or when one of the job's series did not come from it
   * (`refusal`: the sentence, given that server's address and those series' ids).
   */
  const checkFromPacs = (field: string, series: readonly IndexedSeries[], refusal: (base: string, foreign: string) => string): void => {
    if (!app.pacs) throw new LowdoseError('E_USAGE', `"${field}" needs a PACS: start lowdose serve with --dicomweb <url> or --dimse dimse://<AE title>@host:port`);
    const pacs = app.pacs;
    const foreign = series.filter((s) => !pacs.holds(filesOf(s)));
    if (foreign.length > 0) throw new LowdoseError('E_USAGE', refusal(pacs.base, foreign.map((s) => s.id).join(', ')));
  };

  /** Store-back goes only to the `--dicomweb` server, and only for series that came from it. */
  const checkStoreBack = (series: readonly IndexedSeries[]): void =>
    checkFromPacs('store', series, (base, foreign) => `"store" sends results back to ${base} only for series opened from it; series ${foreign} did not come from it`);

  /**
   * `allowIncomplete` is for series the `--dicomweb` server gave short of their instances, as the
   * CLI's --allow-incomplete needs a DICOMweb URL or dimse:// input: a series that did not come
   * from the server is denoised as it is, so the field on it is a usage error, not ignored. It is
   * checked over the input series, or, when none of them came from the server and the reference
   * did, over the reference (the field then lets the job score against a reference that came short).
   */
  const checkAllowIncomplete = (series: readonly IndexedSeries[], reference: IndexedSeries | null): void => {
    const pacs = app.pacs;
    const referenceOnly = pacs && reference && pacs.holds(filesOf(reference)) && !series.some((s) => pacs.holds(filesOf(s)));
    checkFromPacs('allowIncomplete', referenceOnly ? [reference] : series, (base, foreign) =>
      `"allowIncomplete" lets a job denoise a series ${base} gave short of its instances, so it is only for series opened from it; series ${foreign} did not come from it (a series on this server is denoised as it is)`);
  };

  app.post(
    '/api/jobs',
    { schema: { body: jobRequest, response: { 202: jobView, ...errorResponses } } },
    async (request, reply) => {
      const { index } = app.data;
      const series = request.body.series.map((id) => index.series(id));
      const reference = request.body.reference ? index.series(request.body.reference) : null;
      const options: JobOptions = request.body.options ?? {};
      const model = options.model === undefined ? undefined : await resolveModel(options.model);
      const denoised = series.filter((s) => isOneOf(DENOISED_MODALITIES, s.series.modality));
      // Before the job is accepted: uncertainty / hallucination need a calibrated model (400
      // E_USAGE / E_MODEL otherwise), the job must fit the memory budget (400 E_MEMORY_BUDGET) and
      // ask for no more 512²-equivalent lowdose-ct passes than --max-job-passes (400 E_COMPUTE_BUDGET).
      await checkUncertaintyRequest(
        { ...options, ...(model ? { model } : {}) },
        denoised.map((s) => s.series.modality as 'CT' | 'PT'),
      );
      const shapes = denoised.map(({ series: s }) => seriesShapeOf(s));
      const plans = await checkJobMemory(shapes, { ...options, ...(model ? { model } : {}) }, app.config.memoryBudget);
      // The forward-call caps the job will run with: a fixed-batch graph's padding depends on them.
      await checkJobCompute(shapes, { ...options, ...(model ? { model } : {}) }, app.config.maxJobPasses, forwardLimits(shapes, plans));
      if (request.body.store) checkStoreBack(series);
      if (request.body.allowIncomplete === true) checkAllowIncomplete(series, reference);
      // Instances of a PACS series that could not be read are not in the job's files: the result
      // names them, the input series' first, then the reference's (marked with its role).
      const pacs = app.pacs;
      const fromPacs = pacs ? series.filter((s) => pacs.holds(filesOf(s))) : [];
      const referenceFromPacs = pacs && reference && pacs.holds(filesOf(reference)) ? reference : null;
      const inputErrors: JobResultError[] = pacs
        ? [
            ...fromPacs.flatMap((s) => pacs.unreadableOf(s.series.seriesInstanceUid)),
            ...(referenceFromPacs ? pacs.unreadableOf(referenceFromPacs.series.seriesInstanceUid).map((e) => ({ ...e, role: 'reference' as const })) : []),
          ]
        : [];
      // A series, or a reference, that came short of its instances: the job fails at once (E_IO) unless the request allows it.
      const allowIncomplete = request.body.allowIncomplete === true;
      const shortfalls: Shortfalls = pacs ? checkShortfalls(pacs, fromPacs, referenceFromPacs, allowIncomplete) : { incomplete: [] };
      // The job's output, beside the outputs promised to the jobs queued or running, must leave the
      // disk reserve free (507 E_IO), as an upload must; checked again when it starts.
      const outputBytes = 'refusal' in shortfalls ? 0 : await jobOutputBytes(
        denoised.map((s) => ({ rows: s.series.rows, columns: s.series.columns, slices: s.series.slices.length, files: filesOf(s) })),
        options,
      );
      const view = await app.jobOutputRoom.admit(outputBytes, () => app.jobs.submit({
        series: series.map((s) => ({ id: s.id, files: filesOf(s) })),
        reference: reference ? { id: reference.id, files: filesOf(reference) } : null,
        options,
        ...(model ? { runOptions: { model } } : {}),
        device: queueDevice(options),
        ...(request.body.store ? { store: true } : {}),
        ...(inputErrors.length > 0 ? { inputErrors } : {}),
        ...(allowIncomplete ? { allowIncomplete } : {}),
        ...(outputBytes > 0 ? { outputBytes } : {}),
        ...('refusal' in shortfalls ? { refusal: shortfalls.refusal } : shortfalls.incomplete.length > 0 ? { incomplete: shortfalls.incomplete } : {}),
        ...('referenceIncomplete' in shortfalls ? { referenceIncomplete: shortfalls.referenceIncomplete } : {}),
      }));
      return reply.status(202).send(view);
    },
  );

  app.get('/api/jobs', { schema: { response: { 200: jobList, ...errorResponses } } }, async () => ({
    jobs: app.jobs.list(),
  }));

  app.get(
    '/api/jobs/:id',
    { schema: { params: idParams, response: { 200: jobView, ...errorResponses } } },
    async (request) => app.jobs.get(request.params.id),
  );

  app.delete(
    '/api/jobs/:id',
    { schema: { params: idParams, response: { 200: jobView, ...errorResponses } } },
    async (request) => app.jobs.cancel(request.params.id),
  );

  const streamSlots = new EventStreamSlots(() => app.config.limits);

  /**
   * `event: job` with the JobView on every change; the stream ends when the job does. Each open
   * stream holds a connection and a heartbeat timer: past `limits.eventStreamsPerClient` open from
   * the client's address, or `limits.eventStreams` from all clients, 429 (../event-stream-slots.ts).
   */
  app.get('/api/jobs/:id/events', { schema: { params: idParams, response: errorResponses } }, async (request, reply) => {
    app.jobs.get(request.params.id); // 404 before the stream starts
    const release = streamSlots.take(request.ip);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    let ended = false;
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const end = () => {
      if (ended) return;
      ended = true;
      release();
      clearInterval(heartbeat);
      raw.end();
    };
    const send = (view: JobView) => {
      if (ended) return;
      raw.write(`event: job\ndata: ${JSON.stringify(view)}\n\n`);
      if (isTerminal(view.status)) end();
    };
    const unsubscribe = app.jobs.subscribe(request.params.id, send);
    request.raw.on('close', () => {
      unsubscribe();
      end();
    });
  });
};

export default jobs;
