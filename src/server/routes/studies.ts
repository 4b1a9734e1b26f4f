/**
 * GET /api/studies: every study under the data folders, its series and comparisons; a denoised
 * series whose low-dose source is on a PACS and not here names it (`lowDoseSource`, as GET
 * /api/series/:id does), so the list can say so without opening each series.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { StudiesResponse } from '../api-types.js';
import { serverPacs, withLowDoseSource } from '../data/pacs-input.js';
import { errorResponses, studiesResponse } from '../schemas.js';

const studies: FastifyPluginAsyncTypebox = async (app) => {
  const listed = (): StudiesResponse => {
    const { studies: found, unreadableFiles } = app.data.index.studies();
    const pacs = serverPacs(app.pacs);
    const withSources = found.map((study) => ({ ...study, series: study.series.map((s) => withLowDoseSource(s, app.data.index.pacsInputOf(s.id), pacs)) }));
    return { studies: withSources, unreadableFiles };
  };

  app.get('/api/studies', { schema: { response: { 200: studiesResponse, ...errorResponses } } }, async () => listed());

  /** Rescans the data folders (after files were copied in by hand). */
  app.post('/api/studies/refresh', { schema: { response: { 200: studiesResponse, ...errorResponses } } }, async () => {
    await app.data.index.refresh();
    return listed();
  });
};

export default studies;
