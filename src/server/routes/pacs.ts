/**
 * The PACS of `serve --dicomweb` or `serve --dimse` seen from the viewer, the same routes and
 * answers for either protocol: GET /api/pacs says whether there is one (and which protocol), GET
 * /api/pacs/studies searches its studies (patient ID, accession number, study date range), GET
 * /api/pacs/studies/:study/series lists a study's series, and POST
 * /api/pacs/studies/:study/series/:series/open pulls a series into the work folder and indexes it,
 * so that it opens, compares and denoises as any local series. A job's store-back is the `store`
 * field of POST /api/jobs (./jobs.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LowdoseError } from '../../errors.js';
import { defaultModelsDir } from '../../models/index.js';
import { clientGoneSignal } from '../client-gone.js';
import { serverPathRedactor } from '../http-errors.js';
import { unreadableInstances, type PacsService } from '../pacs.js';
import { errorResponses, pacsInfo, pacsOpened, pacsSeriesList, pacsSeriesParams, pacsStudies, pacsStudyParams, pacsStudyQuery } from '../schemas.js';
import { DENOISED_MODALITIES, isOneOf } from '../../choices.js';
import { partialSuvNote } from '../../util/remote-series.js';

const DEFAULT_LIMIT = 100;

const pacs: FastifyPluginAsyncTypebox = async (app) => {
  const server = (): PacsService => {
    if (!app.pacs) throw new LowdoseError('E_NOT_FOUND', 'this server has no PACS to browse: start lowdose serve with --dicomweb <url> or --dimse dimse://<AE title>@host:port');
    return app.pacs;
  };
  // Messages name files in the pull folder (under the work folder): shown by label, as job errors are.
  const redact = serverPathRedactor(app.config, defaultModelsDir());

  app.get('/api/pacs', { schema: { response: { 200: pacsInfo, ...errorResponses } } }, async () => ({ server: app.pacs?.base ?? null, protocol: app.pacs?.protocol ?? null }));

  app.get('/api/pacs/studies', { schema: { querystring: pacsStudyQuery, response: { 200: pacsStudies, ...errorResponses } } }, async (request, reply) => {
    const pacs = server();
    const { patientId, accessionNumber, from, to } = request.query;
    const limit = request.query.limit ?? DEFAULT_LIMIT;
    // A browser that goes away (a new search typed, the tab closed) stops the PACS's search: QIDO-RS aborted, C-FIND cancelled.
    const { studies, truncated, truncation } = await pacs.studies(
      {
        ...(patientId ? { patientId } : {}),
        ...(accessionNumber ? { accessionNumber } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        limit,
      },
      clientGoneSignal(reply),
    );
    return { server: pacs.base, studies, limit, truncated, truncation };
  });

  app.get(
    '/api/pacs/studies/:study/series',
    { schema: { params: pacsStudyParams, response: { 200: pacsSeriesList, ...errorResponses } } },
    async (request, reply) => {
      // A browser gone (another study clicked, the tab closed) stops the listing: QIDO-RS aborted, C-FIND cancelled.
      const { series, incomplete } = await server().series(request.params.study, clientGoneSignal(reply));
      return {
        studyInstanceUid: request.params.study,
        truncated: incomplete !== null,
        truncation: incomplete,
        series: series.map((s) => ({
          seriesInstanceUid: s.seriesInstanceUid,
          modality: s.modality,
          description: s.description,
          seriesNumber: s.seriesNumber,
          instances: s.instances,
          denoisable: isOneOf(DENOISED_MODALITIES, s.modality),
        })),
      };
    },
  );

  app.post(
    '/api/pacs/studies/:study/series/:series/open',
    { schema: { params: pacsSeriesParams, response: { 200: pacsOpened, ...errorResponses } } },
    async (request, reply) => {
      // Its pull stops once every open of this series has gone (PacsService.open).
      const pulled = await server().open(request.params.study, request.params.series, clientGoneSignal(reply));
      const { keys, errors, errorCount } = await app.data.index.addReading([pulled.dir]);
      const series = app.data.index.summariesOf(keys);
      const unreadable = unreadableInstances(pulled, errors).map((e) => ({ ...e, message: redact(e.message) }));
      server().noteUnreadable(request.params.series, unreadable);
      if (series.length === 0) {
        const why = unreadable.length > 0 ? `: ${unreadable.map((e) => e.message).join('; ')}` : '';
        throw new LowdoseError('E_NOT_IMAGE', `series ${request.params.series} has no image the viewer can show (${pulled.instances} instance(s) retrieved)${why}`);
      }
      // A short PET series whose SUVbw depends on the files that came says so, as denoise <url> --allow-incomplete does.
      const suvNote = pulled.incomplete ? series.map((s) => partialSuvNote(app.data.index.series(s.id).series.warnings)).find((n) => n !== undefined) : undefined;
      const incomplete = pulled.incomplete ? { incomplete: { ...pulled.incomplete, ...(suvNote !== undefined ? { suvNote } : {}) } } : {};
      return { series, instances: pulled.instances, retrieved: pulled.retrieved, unreadable, unreadableCount: errorCount, ...incomplete };
    },
  );
};

export default pacs;
