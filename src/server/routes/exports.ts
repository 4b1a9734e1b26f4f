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
import { tableCsv } from '../../metrics/roi-shapes.js';
import { LowdoseError } from '../../errors.js';
import { figureLayout } from '../figure-render.js';
import { paneMatrix, type FigurePaneSource, type TablePaneSource } from '../export-tasks.js';
import { checkPixels } from '../request-limits.js';
import { clientGoneSignal } from '../client-gone.js';
import { movesOnFrame } from '../pane-on-frame.js';
import { uncertaintyColours, uncertaintyWindow, uncertaintyWindowText } from '../uncertainty-pane.js';
import { differenceColours, differenceRefusal, differenceWidth } from '../difference-pane.js';
import { differenceWindowText, incompleteNoSliceText, incompletePaneText, methodLabel, roleTitle } from '../pane-labels.js';
import type { Shape } from '../../metrics/roi-shapes.js';
import { gridAsPaired, shapeInPane, slicesAlongNormal, type MatchedBy, type SliceGrid, type StackGeometry } from '../../metrics/grid-mapping.js';
import { seriesSliceGrid } from '../../metrics/slice-pairing.js';
import type { Image2D } from '../../image.js';
import { caveatedScoresLine, paneScoresLine } from '../pane-text.js';
import { petFrameLabel } from '../../dicom/pet-frame-text.js';
import { petFrameReport } from '../../pipeline/frame-output.js';
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

const pngBody = Type.Unsafe<Uint8Array>({});
/** What both figure routes take besides the comparisons: the slice, its scale and the windows. */
const figureView = {
  series: Type.Optional(idParam),
  /** Low-dose slice, 0-based; default the middle one. */
  index: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
  scale: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
  window: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e7 })),
  level: Type.Optional(Type.Number({ minimum: -1e7, maximum: 1e7 })),
  /** The difference pane's window (default centred on 0, the viewer's opening width). */
  differenceWindow: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e7 })),
  differenceLevel: Type.Optional(Type.Number({ minimum: -1e7, maximum: 1e7 })),
};
const figureQuery = Type.Object(
  { comparisons: Type.Optional(Type.String({ maxLength: 2000 })), ...figureView },
  { additionalProperties: false },
);
/** The figure with ROI / length outlines: the query's fields plus the measurements of `POST /api/measurements.csv`. */
const figureBody = Type.Object(
  {
    comparisons: Type.Optional(Type.Array(idParam, { minItems: 1, maxItems: 12 })),
    ...figureView,
    measurements: Type.Optional(Type.Array(Type.Object({ name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}$' })), shape }, { additionalProperties: false }), { maxItems: 64 })),
  },
  { additionalProperties: false },
);

const exportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * A hanging's anatomy panes at one slice as a PNG figure drawn by the server: the source, each
   * method (with its per-slice PSNR / SSIM) and the reference, a window in the series' units.
   */
  app.get(
    '/api/figure.png',
    { schema: { querystring: figureQuery, response: { 200: pngBody, ...errorResponses } } },
    async (request, reply) => {
      const q = request.query;
      if ((q.comparisons === undefined) === (q.series === undefined)) throw new LowdoseError('E_USAGE', 'name either ?comparisons=<id>,<id> (a hanging) or ?series=<id> (one series)');
      const png = await figureOf(app.data, q.comparisons === undefined ? null : parseComparisonIds(q.comparisons), q.series ?? null, q, [], app.config.limits.imagePixels, clientGoneSignal(reply));
      return sendFigure(reply, png, q.scale);
    },
  );

  /** The same figure with the ROI and length outlines of the body (the measurements route's shapes), on every pane. */
  app.post(
    '/api/figure.png',
    { schema: { body: figureBody, response: { 200: pngBody, ...errorResponses } } },
    async (request, reply) => {
      const b = request.body;
      if ((b.comparisons === undefined) === (b.series === undefined)) throw new LowdoseError('E_USAGE', 'name either "comparisons" (a hanging) or "series" (one series)');
      const png = await figureOf(app.data, b.comparisons ?? null, b.series ?? null, b, namedShapes(b.measurements ?? []), app.config.limits.imagePixels, clientGoneSignal(reply));
      return sendFigure(reply, png, b.scale);
    },
  );

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
      const panes = await tablePanes(app.data, comparisons ?? null, series ?? null, index, app.config.limits.imagePixels);
      // The statistics pass over every pixel of every region: in the exports thread, off the event loop.
      const { rows, cnr } = await app.data.exports.run('measureTable', { panes, measurements: namedShapes(measurements) });
      sendCsv(reply, tableCsv(rows, cnr), 'lowdose-measurements.csv');
    },
  );

  /** The per-slice metrics of one comparison (low-dose and denoised rows), as CSV. */
  app.get(
    '/api/comparisons/:id/metrics.csv',
    { schema: { params: idParams, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const comparison = app.data.index.comparison(request.params.id);
      sendCsv(reply, await csvOf(app.data, [comparison], clientGoneSignal(reply)), 'lowdose-metrics.csv');
    },
  );

  /** The per-slice metrics of several methods of one low-dose series (`?comparisons=a,b,c`), as CSV. */
  app.get(
    '/api/metrics.csv',
    { schema: { querystring: comparisonsQuery, response: { 200: csvBody, ...errorResponses } } },
    async (request, reply) => {
      const { comparisons } = methodSet(app.data.index, parseComparisonIds(request.query.comparisons));
      sendCsv(reply, await csvOf(app.data, comparisons, clientGoneSignal(reply)), 'lowdose-metrics.csv');
    },
  );
};

/** Measurements with their names: given, else R1, R2, … for regions and L1, … for lengths, as the viewer names them. */
function namedShapes(measurements: ReadonlyArray<{ name?: string; shape: Shape }>): Array<{ name: string; shape: Shape }> {
  let regions = 0;
  let lengths = 0;
  return measurements.map((m) => ({ name: m.name ?? (m.shape.kind === 'length' ? `L${++lengths}` : `R${++regions}`), shape: m.shape }));
}

interface FigureQuery {
  index?: number;
  scale?: 1 | 2;
  window?: number;
  level?: number;
  differenceWindow?: number;
  differenceLevel?: number;
}

/** A series' slice size, as the index knows it (no slice read). */
function matrixOf(entry: IndexedSeries): { rows: number; columns: number } {
  return { rows: entry.series.rows, columns: entry.series.columns };
}

/**
 * The figure's size from the series' headers, before a slice is read: the panes figureOf hangs,
 * each at its series' matrix (the reference pane at the larger of its own and the low-dose one's,
 * as it may be drawn on the low-dose grid), each bar one line (the texts wait for the slices; the
 * figure is checked again with them, checkFigureLayout).
 */
function checkFigureSize(lowDose: IndexedSeries, set: ReturnType<typeof methodSet> | null, scale: number, limit: number): void {
  const panes = [{ image: matrixOf(lowDose) }];
  if (set) {
    for (const c of set.comparisons) panes.push({ image: matrixOf(c.denoised) });
    const first = set.comparisons[0]!;
    if (first.reference) {
      const [a, b] = [matrixOf(first.reference), matrixOf(lowDose)];
      panes.push({ image: { rows: Math.max(a.rows, b.rows), columns: Math.max(a.columns, b.columns) } });
    }
    panes.push({ image: matrixOf(first.denoised) });
    if (first.uncertainty) panes.push({ image: matrixOf(first.uncertainty) });
  }
  checkFigureLayout(panes, scale, limit, figureAdvice(scale, set));
}

function figureAdvice(scale: number, set: ReturnType<typeof methodSet> | null): string {
  return scale > 1 ? 'ask for scale=1' : set && set.comparisons.length > 1 ? 'name fewer comparisons' : 'its slices are too large to draw as a figure';
}

/** Refuses (413) a figure whose layout of `panes` (their texts wrapped as drawn, where given) holds more than `limit` pixels. */
function checkFigureLayout(panes: Parameters<typeof figureLayout>[0], scale: number, limit: number, advice: string): void {
  const { width, height } = figureLayout(panes, { scale });
  checkPixels(width * height, limit, `the figure would be ${width} x ${height} px,`, advice);
}

async function figureOf(data: DataServices, comparisonIds: readonly string[] | null, seriesId: string | null, q: FigureQuery, shapes: Array<{ name: string; shape: Shape }>, maxPixels: number, signal: AbortSignal): Promise<Buffer> {
  const set = comparisonIds ? methodSet(data.index, comparisonIds) : null;
  const lowDose = set ? set.lowDose : data.index.series(seriesId!);
  checkFigureSize(lowDose, set, q.scale ?? 1, maxPixels);
  const count = lowDose.series.slices.length;
  const index = q.index ?? Math.floor((count - 1) / 2);
  if (index >= count) throw new LowdoseError('E_NOT_FOUND', `series ${lowDose.id} has no slice ${index} (${count} slices)`);
  const detail = data.index.seriesDetail(lowDose.id);
  // The window: asked for, else the file's (CT), else the viewer's opening preset.
  const units = lowDose.series.units === 'SUVbw' ? 'SUV' : lowDose.series.units;
  const fallback: [number, number] = lowDose.series.units === 'SUVbw' ? [2.5, 5] : lowDose.series.modality === 'CT' ? (detail.window ?? [40, 400]) : [0, 0];
  const level = q.level ?? fallback[0];
  let width = q.window ?? fallback[1];
  const lowImage = await data.slices.read(lowDose, index);
  let centre = level;
  if (!(width > 0)) {
    // No window known (PET in Bq/ml, MR, …): the slice's range.
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of lowImage.data) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    width = hi > lo ? hi - lo : 1;
    centre = q.level ?? (lo + hi) / 2;
  }
  const windowText = `W ${fmt(width)} L ${fmt(centre)} ${units}`;
  // A time point or gate of a dynamic or gated PET acquisition leads its pane's footer, which wraps
  // and is never cut, so a figure says which frame each pane shows.
  const framed = (series: IndexedSeries, text: string) => (series.series.petFrame ? `${petFrameLabel(petFrameReport(series.series.petFrame))} · ${text}` : text);
  const footer = (series: IndexedSeries, slice: number) => {
    const location = series.series.slices[slice]?.location;
    return framed(series, `Im ${slice + 1}/${series.series.slices.length}${location === null || location === undefined ? '' : ` · Loc ${fmt(location)} mm`} · ${windowText}`);
  };
  // The panes' slices as read, or what to derive them from: the pixel work, drawing and PNG
  // encoding run in the exports thread (../export-tasks.ts), never on the event loop.
  const panes: FigurePaneSource[] = [{ title: roleTitle(detail.role), metrics: '', footer: footer(lowDose, index), image: lowImage }];
  if (set) {
    const several = set.comparisons.length > 1;
    let denoisedImage: Image2D | null = null;
    // The slice's scores (for PET, after the series' value range) stop once every client asking has gone.
    const metrics = await Promise.all(set.comparisons.map((c) => data.metrics.slice(c, index, signal)));
    // Scored against the reference, or the reason it is not, in scoring's own words (the comparison's unscoredReason).
    const unscored = (c: (typeof set.comparisons)[number]) => ({ unscoredReason: c.reference ? c.referenceGridMismatch : null });
    // Each scored pane's line ends with its pairing warnings (another kernel, slice thickness, gate), as the viewer's caveat says.
    const lead = set.comparisons[0]!;
    panes[0] = { ...panes[0]!, metrics: lead.reference ? caveatedScoresLine(paneScoresLine(metrics[0]!.lowDose, unscored(lead)), lead.pairingWarnings, 'lowDose') : '' };
    for (const [k, c] of set.comparisons.entries()) {
      const slice = c.alignment.denoised[index] ?? -1;
      const label = methodLabel(c.report);
      const image = slice >= 0 ? await data.slices.read(c.denoised, slice) : null;
      if (k === 0) denoisedImage = image;
      // Without a reference the scores are against the source, and the line says so (as the viewer's does).
      const scores = paneScoresLine(metrics[k]!.denoised, unscored(c));
      panes.push({
        title: several || c.report?.method ? `Denoised (${label})` : 'Denoised',
        metrics: caveatedScoresLine(scores && !c.reference ? `${scores} (vs ${roleTitle(detail.role).toLowerCase()})` : scores, c.pairingWarnings, 'denoised'),
        footer: slice >= 0 ? footer(c.denoised, slice) : 'no matching slice',
        image,
      });
    }
    const first = set.comparisons[0]!;
    // The reference slice the difference subtracts pixel by pixel, as it is scored (no resampling):
    // only where it is the denoised slice's section on its pixel grid (differenceRefusal).
    let differenceReference: Image2D | null = null;
    // Why the difference pane is empty although the reference has a slice there (the viewer's footer says the same).
    let differenceNote: string | null = null;
    if (first.reference) {
      // The viewer's pairing: by position along the normal, else the server's.
      const pairing = slicesAlongNormal(stackOf(lowDose), stackOf(first.reference));
      const slice = (pairing ? pairing.nearest[index] : first.alignment.reference?.[index]) ?? -1;
      const denoisedSlice = first.alignment.denoised[index] ?? -1;
      // Paired by order (none along the normal), pixel for pixel as the scores and the viewer's difference take it (gridAsPaired).
      const by = pairing ? 'position' : (first.alignment.matchedBy?.reference ?? 'position');
      if (slice >= 0 && denoisedSlice >= 0) {
        const plane = pairing ? { offsetMm: pairing.offsetMm[index]!, toleranceMm: pairing.toleranceMm } : null;
        differenceNote = differenceRefusal(sliceGrid(first.denoised, denoisedSlice), sliceGrid(first.reference, slice), by, plane);
      }
      const frame = gridAsPaired(sliceGrid(lowDose, index), by);
      const grid = slice >= 0 ? gridAsPaired(sliceGrid(first.reference, slice), by) : null;
      // Each outline where the viewer draws it on this pane (in its pixels), or none where it has no place there.
      const placed = grid ? shapes.flatMap((m) => {
        const p = shapeInPane(m.shape, frame, grid, pairing?.toleranceMm ?? Infinity);
        return p.shape ? [{ name: m.name, shape: p.shape, drawn: m.shape }] : [];
      }) : [];
      const image = grid ? await data.slices.read(first.reference, slice) : null;
      if (image && slice >= 0 && denoisedSlice >= 0 && differenceNote === null) differenceReference = image;
      // A reference of another field of view, pixel spacing or turn is drawn on the low-dose grid, as
      // the viewer shows it (the same anatomy at the same place and size), its outlines as drawn.
      const moved = image !== null && grid !== null && movesOnFrame(image, frame, grid);
      const outlines = placed.map((p) => ({ name: p.name, shape: moved ? p.drawn : p.shape }));
      const shown = moved ? { kind: 'onFrame' as const, image, frame, grid } : image;
      panes.push({ title: 'Reference', metrics: '', footer: slice >= 0 ? footer(first.reference, slice) : 'no matching slice', image: shown, shapes: outlines });
    }
    // The difference pane, as the viewer hangs it: the first method minus the reference (else minus the source).
    // Against the reference's stored pixels, as scored, not the pane drawn on the low-dose grid
    // (paneOnFrame: within the tolerance its nearest pixel is the same one, but that is its rule, not this one's).
    const against = first.reference ? differenceReference : lowImage;
    const dWidth = q.differenceWindow ?? differenceWidth(lowDose.series.modality);
    const dLevel = q.differenceLevel ?? 0;
    panes.push({
      title: first.reference ? 'Difference (denoised − reference)' : `Difference (denoised − ${roleTitle(detail.role).toLowerCase()})`,
      metrics: '',
      footer: differenceNote ?? framed(lowDose, `Im ${index + 1}/${count} · ${differenceWindowText({ windowCenter: dLevel, windowWidth: dWidth }, units, fmt)}`),
      image: denoisedImage && against ? { kind: 'difference', denoised: denoisedImage, against, what: first.reference ? 'reference' : 'source' } : null,
      window: { lo: dLevel - dWidth / 2, hi: dLevel + dWidth / 2 },
      colours: differenceColours(),
    });
    // The first method's uncertainty series, as the viewer hangs it last: Hot Iron in the written
    // series' window (calibrated: 0 to 4 × the threshold its own header states; raw spread: 0 to the slice's p99).
    // One its run did not finish (uncertaintyIncomplete) says so on the metrics line, and where it
    // has no slice, that the blank is its missing slice, not σ below the window.
    if (first.uncertainty) {
      const slice = first.alignment.uncertainty?.[index] ?? -1;
      const image = slice >= 0 ? await data.slices.read(first.uncertainty, slice) : null;
      const sigmaUnits = first.uncertainty.series.units === 'SUVbw' ? 'SUV' : first.uncertainty.series.units;
      const threshold = first.uncertaintyThreshold;
      const window = image ? uncertaintyWindow(image.data, image.padding ?? null, threshold, sigmaUnits) : { lo: 0, hi: 1 };
      const incomplete = first.uncertaintyIncomplete;
      panes.push({
        title: 'Uncertainty (σ)',
        metrics: incomplete ? incompletePaneText('uncertainty series', incomplete) : '',
        footer: image
          ? framed(first.uncertainty, `Im ${slice + 1}/${first.uncertainty.series.slices.length} · ${uncertaintyWindowText(window, threshold, sigmaUnits, fmt)}`)
          : incomplete ? incompleteNoSliceText('uncertainty series', incomplete) : 'no matching slice',
        image,
        window: { lo: window.lo, hi: window.hi },
        colours: uncertaintyColours(),
      });
    }
  }
  // The real size, now that the texts are known: a title or footer wider than its pane wraps onto
  // more lines and makes every bar of the figure taller than the one-line bars checked above.
  checkFigureLayout(panes.map((p) => ({ title: p.title, metrics: p.metrics, footer: p.footer, image: paneMatrix(p.image) })), q.scale ?? 1, maxPixels, figureAdvice(q.scale ?? 1, set));
  const png = await data.exports.run('figure', { panes, options: { window: { lo: centre - width / 2, hi: centre + width / 2 }, scale: q.scale ?? 1, shapes } });
  return Buffer.from(png.buffer, png.byteOffset, png.byteLength);
}

function fmt(value: number): string {
  const a = Math.abs(value);
  return a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/**
 * The anatomy panes of a hanging at low-dose slice `index`, keyed as the viewer keys them, and the
 * low-dose slice's grid (the shapes' frame). Each pane's slice is the one at the same position
 * along the slice normal and its grid places the shapes over the same anatomy
 * (src/metrics/grid-mapping.ts), as the viewer does; without slice geometry, the server's pairing.
 */
async function tablePanes(data: DataServices, comparisonIds: readonly string[] | null, seriesId: string | null, index: number, maxPixels: number): Promise<TablePaneSource[]> {
  const lowDose = seriesId ? data.index.series(seriesId) : methodSet(data.index, comparisonIds!).lowDose;
  // The slices the table reads, one per pane, at their series' matrix: refused before any is read.
  const read = comparisonIds ? (() => {
    const { comparisons } = methodSet(data.index, comparisonIds);
    return [lowDose, ...comparisons.map((c) => c.denoised), ...(comparisons[0]!.reference ? [comparisons[0]!.reference] : [])];
  })() : [lowDose];
  const pixels = read.reduce((sum, entry) => sum + entry.series.rows * entry.series.columns, 0);
  checkPixels(pixels, maxPixels, `the table's ${read.length} slice(s) hold`, 'name fewer comparisons');
  if (index >= lowDose.series.slices.length) throw new LowdoseError('E_NOT_FOUND', `series ${lowDose.id} has no slice ${index} (${lowDose.series.slices.length} slices)`);
  const units = lowDose.series.units === 'SUVbw' ? 'SUV' : lowDose.series.units;
  const frame = sliceGrid(lowDose, index);
  const pane = async (key: string, entry: IndexedSeries | null, alignment: readonly number[] | null | undefined, matchedBy: MatchedBy | null | undefined): Promise<TablePaneSource> => {
    const pairing = entry && entry !== lowDose ? slicesAlongNormal(stackOf(lowDose), stackOf(entry)) : null;
    const slice = entry === lowDose ? index : pairing ? pairing.nearest[index] : alignment?.[index];
    const image = entry && slice !== undefined && slice >= 0 ? await data.slices.read(entry, slice) : null;
    // Paired by order (the server's pairing, none along the normal), pixel for pixel as the scores (gridAsPaired).
    const by = pairing ? 'position' : (matchedBy ?? 'position');
    const place = entry && slice !== undefined && slice >= 0 ? { from: gridAsPaired(frame, by), to: gridAsPaired(sliceGrid(entry, slice), by), toleranceMm: pairing?.toleranceMm ?? Infinity } : undefined;
    return { key, slice: index + 1, units, image, ...(place ? { place } : {}) };
  };
  const panes = [await pane('lowDose', lowDose, null, null)];
  if (comparisonIds) {
    const { comparisons } = methodSet(data.index, comparisonIds);
    for (const [k, c] of comparisons.entries()) panes.push(await pane(k === 0 ? 'denoised' : `denoised-${k + 1}`, c.denoised, c.alignment.denoised, c.alignment.matchedBy?.denoised));
    const first = comparisons[0]!;
    if (first.reference) panes.push(await pane('reference', first.reference, first.alignment.reference, first.alignment.matchedBy?.reference));
  }
  return panes;
}

function stackOf(entry: IndexedSeries): StackGeometry {
  return { orientation: entry.series.orientation, positions: entry.series.slices.map((s) => s.position), frameOfReferenceUid: entry.series.frameOfReferenceUid ?? null };
}

function sliceGrid(entry: IndexedSeries, slice: number): SliceGrid {
  return seriesSliceGrid(entry.series, slice);
}

/** The metrics CSV; `signal`: the client's interest (its metrics stop when every client asking has gone). */
async function csvOf(data: DataServices, comparisons: readonly IndexedComparison[], signal: AbortSignal): Promise<string> {
  const metrics = await Promise.all(comparisons.map((c) => data.metrics.all(c, signal)));
  const lowDose = comparisons[0]!.lowDose;
  return metricsCsv(
    { seriesId: lowDose.id, description: lowDose.series.seriesDescription, locations: lowDose.series.slices.map((s) => s.location) },
    comparisons.map((c, k) => ({ comparisonId: c.id, method: c.report?.method ?? '', seriesId: c.denoised.id, description: c.denoised.series.seriesDescription, metrics: metrics[k]!, pairingWarnings: c.pairingWarnings })),
  );
}

function sendCsv(reply: { header(name: string, value: string): unknown; type(t: string): unknown; send(body: string): unknown }, body: string, name: string): void {
  reply.type('text/csv; charset=utf-8');
  reply.header('Content-Disposition', `attachment; filename="${name}"`);
  reply.send(body);
}

function sendFigure<R extends { header(name: string, value: string): unknown; type(t: string): unknown; send(body: Buffer): R }>(reply: R, png: Buffer, scale: number | undefined): R {
  reply.type('image/png');
  reply.header('Content-Disposition', `attachment; filename="${scale === 2 ? 'lowdose-figure@2x.png' : 'lowdose-figure.png'}"`);
  return reply.send(png);
}

export default exportsRoutes;
