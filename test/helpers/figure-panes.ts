/**
 * The layout of a server figure (`GET /api/figure.png`) of one comparison with a reference, for
 * tests that read its panes' pixels: its four panes (source, denoised, reference, difference) with
 * the titles and the metrics line of an unscored reference the server writes, which decide how many
 * lines its title bars take (src/server/figure-render.ts wraps a line that does not fit).
 */
import type { FastifyInstance } from 'fastify';
import type { ComparisonDetail, SeriesDetail } from '../../src/server/api-types.js';
import { figureLayout, type FigureLayout } from '../../src/server/figure-render.js';
import { methodLabel, roleTitle } from '../../src/server/pane-labels.js';
import { paneScoresLine } from '../../src/server/pane-text.js';

type Matrix = { readonly rows: number; readonly columns: number };

/** `images[k]`: pane k's matrix, null for a pane drawn without an image; a scored pane's line (PSNR … · SSIM …) fits beside its title, as '' does. */
export async function comparisonFigureLayout(app: FastifyInstance, comparisonId: string, images: ReadonlyArray<Matrix | null>): Promise<FigureLayout> {
  const get = async <T>(url: string): Promise<T> => (await app.inject({ url })).json() as T;
  const comparison = await get<ComparisonDetail>(`/api/comparisons/${comparisonId}`);
  const lowDose = await get<SeriesDetail>(`/api/series/${comparison.lowDose}`);
  const why = paneScoresLine(null, comparison);
  const titles = [roleTitle(lowDose.role), `Denoised (${methodLabel(comparison.report)})`, 'Reference', 'Difference (denoised − reference)'];
  const image = (k: number) => {
    const m = images[k];
    return m ? { rows: m.rows, columns: m.columns } : null;
  };
  return figureLayout(titles.map((title, k) => ({ title, metrics: k < 2 ? why : '', footer: '', image: image(k) })), { scale: 1 });
}
