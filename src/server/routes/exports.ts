/**
 * What a reader takes away from the viewer, from the API as from its buttons: the per-slice
 * metrics of one or several methods of one low-dose series as CSV, and the measurement table of
 * ROIs and lengths drawn on a slice of a hanging (the arithmetic of the viewer's table).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { IndexedComparison } from '../data/data-index.js';
import type { IndexedSeries } from '../data/pairing.js';
import type { DataServices } from '../plugins/data.js';
import { methodSet, parseComparisonIds } from '../method-set.js';
import { metricsCsv } from '../metrics-csv.js';
import { measurementTable, tableCsv, type TablePane } from '../../metrics/roi-shapes.js';
import { LowdoseError } from '../../errors.js';
import { errorResponses, idParam, idParams } from '../schemas.js';

const csvBody = Type.Unsafe<string>({ type: 'string' });
const comparisonsQuery = Type.Object({ comparisons: Type.String({ maxLength: 2000 }) }, { additionalProperties: false });

const point = Type.Object({ x: Type.Number(), y: Type.Number() }, { additionalProperties: false });
const shape = Type.Union([
  Type.Object({ kind: Type.Literal('ellipse'), ellipse: Type.Object({ cx: Type.Number(), cy: Type.Number(), rx: Type.Number({ minimum: 0 }), ry: Type.Number({ minimum: 0 }) }, { additionalProperties: false }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('rectangle'), from: point, to: point }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('freehand'), points: Type.Array(point, { minItems: 3, maxItems: 5000 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('length'), from: point, to: point }, { additionalProperties: false }),
]);
const measurementsBody = Type.Object(
  {
    /** A hanging: comparisons of one low-dose series (the first one's reference), or one series alone. */
    comparisons: Type.Optional(Type.Array(idParam, { minItems: 1, maxItems: 12 })),
    series: Type.Optional(idParam),
    /** The low-dose slice (0-based), as `i` in the viewer's URL. */
    index: Type.Integer({ minimum: 0, maximum: 100000 }),
    measurements: Type.Array(Type.Object({ name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}$' })), shape }, { additionalProperties: false }), { minItems: 1, maxItems: 64 }),
  },
  { additionalProperties: false },
);

const exportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * The measurement table of ROIs and lengths (image pixels, x = column, y = row) on slice `index`
   * of a hanging's anatomy panes, as the viewer's "CSV" writes it.
   */
  app.post(
    '/api/measurements.csv',
    { schema: { body: measurementsBody, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const { comparisons, series, index, measurements } = request.body;
      if ((comparisons === undefined) === (series === undefined)) throw new LowdoseError('E_USAGE', 'name either "comparisons" (a hanging) or "series" (one series)');
      const panes = await tablePanes(app.data, comparisons ?? null, series ?? null, index);
      let regions = 0;
      let lengths = 0;
      const named = measurements.map((m) => ({ name: m.name ?? (m.shape.kind === 'length' ? `L${++lengths}` : `R${++regions}`), shape: m.shape }));
      const { rows, cnr } = measurementTable(panes, named);
      sendCsv(reply, tableCsv(rows, cnr), 'lowdose-measurements.csv');
    },
  );

  /** The per-slice metrics of one comparison (low-dose and denoised rows), as CSV. */
  app.get(
    '/api/comparisons/:id/metrics.csv',
    { schema: { params: idParams, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const comparison = app.data.index.comparison(request.params.id);
      sendCsv(reply, await csvOf(app.data, [comparison]), 'lowdose-metrics.csv');
    },
  );

  /** The per-slice metrics of several methods of one low-dose series (`?comparisons=a,b,c`), as CSV. */
  app.get(
    '/api/metrics.csv',
    { schema: { querystring: comparisonsQuery, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const { comparisons } = methodSet(app.data.index, parseComparisonIds(request.query.comparisons));
      sendCsv(reply, await csvOf(app.data, comparisons), 'lowdose-metrics.csv');
    },
  );
};

/** The anatomy panes of a hanging at low-dose slice `index`, keyed as the viewer keys them. */
async function tablePanes(data: DataServices, comparisonIds: readonly string[] | null, seriesId: string | null, index: number): Promise<TablePane[]> {
  const lowDose = seriesId ? data.index.series(seriesId) : methodSet(data.index, comparisonIds!).lowDose;
  if (index >= lowDose.series.slices.length) throw new LowdoseError('E_NOT_FOUND', `series ${lowDose.id} has no slice ${index} (${lowDose.series.slices.length} slices)`);
  const units = lowDose.series.units === 'SUVbw' ? 'SUV' : lowDose.series.units;
  const pane = async (key: string, entry: IndexedSeries | null, slice: number | undefined): Promise<TablePane> => {
    const image = entry && slice !== undefined && slice >= 0 ? await data.slices.read(entry, slice) : null;
    const values = image && { rows: image.rows, columns: image.columns, value: (i: number) => image.data[i]!, pixelSpacing: image.pixelSpacing };
    return { key, slice: index + 1, units, values };
  };
  const panes = [await pane('lowDose', lowDose, index)];
  if (comparisonIds) {
    const { comparisons } = methodSet(data.index, comparisonIds);
    for (const [k, c] of comparisons.entries()) panes.push(await pane(k === 0 ? 'denoised' : `denoised-${k + 1}`, c.denoised, c.alignment.denoised[index]));
    const first = comparisons[0]!;
    if (first.reference) panes.push(await pane('reference', first.reference, first.alignment.reference?.[index]));
  }
  return panes;
}

async function csvOf(data: DataServices, comparisons: readonly IndexedComparison[]): Promise<string> {
  const metrics = await Promise.all(comparisons.map((c) => data.metrics.all(c)));
  const lowDose = comparisons[0]!.lowDose;
  return metricsCsv(
    { seriesId: lowDose.id, description: lowDose.series.seriesDescription, locations: lowDose.series.slices.map((s) => s.location) },
    comparisons.map((c, k) => ({ comparisonId: c.id, method: c.report?.method ?? '', seriesId: c.denoised.id, description: c.denoised.series.seriesDescription, metrics: metrics[k]! })),
  );
}

function sendCsv(reply: { header(name: string, value: string): unknown; type(t: string): unknown; send(body: string): unknown }, body: string, name: string): void {
  reply.type('text/csv; charset=utf-8');
  reply.header('Content-Disposition', `attachment; filename="${name}"`);
  reply.send(body);
}

export default exportsRoutes;
