/**
 * Series metadata and slice pixels. Pixels are the binary format of ../slice-encoding.ts; a
 * request that names the series' current revision (`?v=`) may be cached forever, any other is
 * revalidated with its ETag.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LowdoseError } from '../../errors.js';
import { errorResponses, idParams, lowDoseSourceOpened, notModified, seriesDetail, sliceBody, sliceParams, sliceQuery } from '../schemas.js';
import { pacsInputSource, serverPacs, withLowDoseSource } from '../data/pacs-input.js';
import { encodeSlice } from '../slice-encoding.js';
import { checkPixels } from '../request-limits.js';
import { clientGoneSignal } from '../client-gone.js';

const series: FastifyPluginAsyncTypebox = async (app) => {
  /** The series' detail with the low-dose source a PACS run's report names, when that source is not here. */
  const lowDoseSourceField = (id: string) => withLowDoseSource(app.data.index.seriesDetail(id), app.data.index.pacsInputOf(id), serverPacs(app.pacs));

  app.post(
    '/api/series/:id/low-dose-source/open',
    { schema: { params: idParams, response: { 200: lowDoseSourceOpened, ...errorResponses } } },
    async (request, reply) => {
      const { id } = request.params;
      const url = app.data.index.pacsInputOf(id);
      if (url === null) throw new LowdoseError('E_NOT_FOUND', `series ${id} has no low-dose source on a PACS to open (its report names none, or it is already here)`);
      const source = pacsInputSource(url, serverPacs(app.pacs));
      if (!source) throw new LowdoseError('E_NOT_FOUND', `series ${id}: its report names its low-dose source ${url}, which is not a PACS series address`);
      if (!source.openable || !app.pacs) throw new LowdoseError('E_NOT_FOUND', `series ${id}: ${source.reason}`);
      // Pulled into the server's own pull folder and indexed as an opened PACS series: the report then pairs them.
      const pulled = await app.pacs.open(source.studyInstanceUid, source.seriesInstanceUid, clientGoneSignal(reply));
      const { keys } = await app.data.index.addReading([pulled.dir]);
      const comparison = app.data.index.comparisonOfDenoised(id);
      return { comparison, series: app.data.index.summariesOf(keys), instances: pulled.instances, retrieved: pulled.retrieved };
    },
  );

  app.get(
    '/api/series/:id',
    { schema: { params: idParams, response: { 200: seriesDetail, ...errorResponses } } },
    async (request) => {
      const detail = lowDoseSourceField(request.params.id);
      const { series } = app.data.index.series(request.params.id);
      if (!app.pacs) return detail;
      const pacs = app.pacs.holds(series.slices.map((s) => s.file));
      const incomplete = pacs ? app.pacs.incompleteOf(series.seriesInstanceUid) : null;
      return { ...detail, pacs, ...(incomplete ? { incomplete } : {}) };
    },
  );

  app.get(
    '/api/series/:id/slices/:index',
    {
      schema: {
        params: sliceParams,
        querystring: sliceQuery,
        response: { 200: sliceBody, 304: notModified, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, index } = request.params;
      const entry = app.data.index.series(id);
      const slice = entry.series.slices[index];
      if (!slice) {
        throw new LowdoseError('E_NOT_FOUND', `series ${id} has no slice ${index} (${entry.series.slices.length} slices)`);
      }
      // Decoded, encoded and compressed, one slice costs the server several times its pixels: one
      // larger than a figure may be is refused before it is read.
      const { rows, columns } = entry.series;
      checkPixels(rows * columns, app.config.limits.imagePixels, `slice ${index} of series ${id} is ${columns} x ${rows} px,`, 'the server does not serve slices this large');
      const dtype = request.query.dtype ?? 'auto';
      const etag = `"${entry.rev}-${index}-${dtype}"`;
      const current = request.query.v === entry.rev;
      reply.header('ETag', etag);
      reply.header('Cache-Control', current ? 'public, max-age=31536000, immutable' : 'no-cache');
      if (request.headers['if-none-match'] === etag) return reply.status(304).send();
      const image = await app.data.slices.read(entry, index);
      const body = encodeSlice(
        image,
        {
          index,
          slice,
          spacing: entry.series.spacing,
          units: entry.series.units,
          photometricInterpretation: entry.series.photometricInterpretation ?? 'MONOCHROME2',
        },
        dtype,
      );
      return reply.type('application/octet-stream').send(body);
    },
  );
};

export default series;
