/**
 * Series metadata and slice pixels. Pixels are the binary format of ../slice-encoding.ts; a
 * request that names the series' current revision (`?v=`) may be cached forever, any other is
 * revalidated with its ETag.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LowdoseError } from '../../errors.js';
import { errorResponses, idParams, notModified, seriesDetail, sliceBody, sliceParams, sliceQuery } from '../schemas.js';
import { encodeSlice } from '../slice-encoding.js';
import { checkPixels } from '../request-limits.js';

const series: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/series/:id',
    { schema: { params: idParams, response: { 200: seriesDetail, ...errorResponses } } },
    async (request) => {
      const detail = app.data.index.seriesDetail(request.params.id);
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
