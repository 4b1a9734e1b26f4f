/**
 * `lowdose metrics --reference <path> --test <path> [--range lo,hi] [--region field|patient] [--lesions <file>] [--hallucination <dir> [--overwrite]] [--noise --input <path>] [--json]`:
 * PSNR, SSIM and RMSE per slice and their means between two series (docs/contract.md), over the
 * field or inside the patient, and
 * with `--lesions` SUVmean / SUVmax / SUVpeak per lesion and their recovery (per frame pair of two
 * dynamic or gated PET acquisitions, printed per lesion over the frames), with `--noise` the
 * test's noise without anatomy against the full dose's (src/metrics/noise-transfer.ts). The work is
 * src/pipeline/metrics.ts (`runMetrics`); this file registers the command, parses `--range` and
 * prints the result.
 */
import { reportStopped, stopOnSignal } from '../stop-on-signal.js';
import type { Command } from 'commander';
import type { IntensityRange } from '../../metrics/range.js';
import type { Lesion } from '../../metrics/lesions.js';
import { readLesionsFile } from '../../pipeline/lesions-file.js';
import { SFRC_DEFAULTS, type SfrcOptions } from '../../metrics/sfrc.js';
import { DETRENDS, type Detrend } from '../../metrics/detrend.js';
import { NOISE_ROI_KINDS, NOISE_WINDOWS, type NoiseRoiKind, type NoiseWindow } from '../../metrics/noise-transfer.js';
import { METRICS_REGIONS, runMetrics, type LesionResult, type MetricsFrame, type MetricsRegion, type MetricsResult, type MetricsNoiseReport } from '../../pipeline/metrics.js';
import type { HallucinationSummary } from '../../pipeline/hallucination.js';
import { msAsSeconds } from '../../dicom/index.js';
import { textTable } from '../../util/text-table.js';
import type { CommandRegistrar } from '../command.js';
import { errorsLeftOutLine } from '../../util/code-sample.js';
import { createOutput, decimalNumber, parseChoiceOption, parseIntOption, parseNumberOption, usageError } from '../output.js';

export function parseRange(text: string): IntensityRange {
  const parts = text.split(',').map((p) => p.trim());
  const numbers = parts.map(decimalNumber);
  if (parts.length !== 2 || parts.some((p) => p === '') || !numbers.every(Number.isFinite) || !(numbers[1]! > numbers[0]!)) {
    throw usageError(`--range must be "lo,hi" with lo < hi, got "${text}"`);
  }
  return [numbers[0]!, numbers[1]!];
}

export function parseRegion(text: string): MetricsRegion {
  const region = METRICS_REGIONS.find((r) => r === text);
  if (!region) throw usageError(`--region must be ${METRICS_REGIONS.join(' or ')}, got "${text}"`);
  return region;
}

function format(value: number | null, digits: number): string {
  return value === null ? 'inf' : value.toFixed(digits);
}

/**
 * A value in the series' units: 3 decimals, but 4 significant digits below 0.1, where 3 decimals
 * would print a PET series in PROPCPS (GE, values about 1e-4) as all zeros.
 */
function unitValue(v: number): string {
  return v !== 0 && Math.abs(v) < 0.1 ? v.toPrecision(4) : v.toFixed(3);
}

/** The range PSNR / SSIM used: one, or each frame's own when the frames of an acquisition used their own. */
function rangeText(result: MetricsResult): string {
  const frames = result.frames ?? [];
  const own = frames.length > 1 && frames.some((f) => f.range[0] !== result.range[0] || f.range[1] !== result.range[1]);
  const one = (r: readonly [number, number]) => `[${r[0]}, ${r[1]}]`;
  return own ? `range per frame (${frames.map((f) => `${f.tag} ${one(f.range)}`).join(', ')})` : `range ${one(result.range)}`;
}

function humanReport(result: MetricsResult): string {
  const lines = [
    `${rangeText(result)} ${result.units}, ${result.slices.length} slice pair(s) matched by ${result.matchedBy}` +
      (result.region === 'patient' ? ', inside the patient outline of the reference' : ''),
    // RMSE is in the modality's units (HU, SUVbw, ...), as the range line says: the header says it too.
    `slice   PSNR dB     SSIM      RMSE ${result.units}`,
  ];
  for (const s of result.slices) {
    const slice = s.frame ? `${s.frame}:${s.index}` : String(s.index);
    lines.push(`${slice.padStart(5)}  ${format(s.psnr, 3).padStart(8)}  ${s.ssim.toFixed(5)}  ${unitValue(s.rmse).padStart(8)}`);
  }
  // The frames of a dynamic or gated acquisition: each frame pair's means and timing, then all of them.
  const frames = result.frames && result.frames.length > 1 ? result.frames : [];
  const timeCells = frameTimeColumns(frames).filter((c) => c.inMeans);
  for (const [i, f] of frames.entries()) {
    const time = timeCells.map((c) => `${c.label} ${c.cells[i]!.padStart(Math.max(...c.cells.map((x) => x.length)))} ${c.unit}  `).join('');
    lines.push(`  ${f.tag}  ${format(f.mean.psnr, 3).padStart(8)}  ${f.mean.ssim.toFixed(5)}  ${unitValue(f.mean.rmse).padStart(8)}  ${time}(${f.test.key} against ${f.reference.key})`);
  }
  const m = result.mean;
  // An identical slice's PSNR is inf: the mean PSNR is over the finite ones, and says so.
  const finite = result.slices.filter((s) => s.psnr !== null).length;
  const note = finite > 0 && finite < result.slices.length ? `  (PSNR: mean of ${finite} finite of ${result.slices.length})` : '';
  lines.push(` mean  ${format(m.psnr, 3).padStart(8)}  ${m.ssim.toFixed(5)}  ${unitValue(m.rmse).padStart(8)}${note}`);
  if (result.lesions) lines.push('', ...lesionLines(result.lesions, result.units));
  if (result.frames?.some((f) => f.lesions)) lines.push('', ...lesionFrameLines(result.frames, result.units));
  if (result.hallucination) lines.push('', ...hallucinationLines(result.hallucination));
  for (const f of result.frames ?? []) if (f.hallucination) lines.push('', ...hallucinationLines(f.hallucination, f.tag));
  if (result.noise) lines.push('', ...noiseLines(result.noise, result.units));
  for (const w of result.warnings) lines.push('', `warning [${w.code}] ${w.message}`);
  if (result.errors.length > 0) {
    lines.push('', `${result.errorCount ?? result.errors.length} file(s) could not be read:`);
    for (const e of result.errors) lines.push(`  [${e.code}] ${e.message}`);
    const leftOut = errorsLeftOutLine(result.errors.length, result);
    if (leftOut) lines.push(`  ${leftOut}`);
  }
  return lines.join('\n');
}

/**
 * The `--hallucination` block: how many patches were flagged, where the map went, and the ten
 * lowest-scoring patches, each named by its reference slice's index as the slice table names it.
 * `frame`: the frame pair's tag, which starts the first line and the slice names (`t01:0`).
 */
function hallucinationLines(h: HallucinationSummary, frame?: string): string[] {
  const lines = [
    `${frame ? `${frame} ` : ''}sFRC hallucination map: ${h.flagged.length} of ${h.patches} patches flagged (${(100 * h.flaggedFraction).toFixed(1)} %; ` +
      `${h.patchSize} px = ${h.patchSizeMm} mm, FRC < ${h.threshold} in ${h.band[0]}-${h.band[1]} cycles/mm) -> ${h.map.dir}`,
  ];
  for (const f of [...h.flagged].sort((a, b) => a.score - b.score).slice(0, 10)) {
    // The reference's index, as the slice table prints it (the test's, `slice`, when there is none).
    const index = f.referenceSlice ?? f.slice;
    const slice = frame ? `${frame}:${index}` : String(index);
    lines.push(`  slice ${slice}  x ${f.xMm.toFixed(1)} mm  y ${f.yMm.toFixed(1)} mm  score ${f.score.toFixed(3)} at ${f.frequency.toFixed(3)} cycles/mm`);
  }
  if (h.flagged.length > 10) lines.push(`  ... ${h.flagged.length - 10} more in --json`);
  return lines;
}

/**
 * The `--lesions` block of the text output: per lesion its voxels and the reference and test reading
 * of mean, max and peak with their ratio (test / reference), or for CT their difference (HU has no
 * meaningful ratio: 0 is water). Columns as wide as their widest cell, so they line up for CT's
 * four-digit HU as for SUV; names are never cut.
 */
export function lesionLines(lesions: readonly LesionResult[], units: string): string[] {
  const u = lesionUnits(units);
  const byDifference = units === 'HU';
  const what = byDifference ? 'diff' : 'ratio';
  const cell = (r: number, t: number, ratio: number | null) => `${unitValue(r)} -> ${unitValue(t)} (${versus(r, t, ratio, byDifference)})`;
  const columns = [
    { header: 'lesion' },
    { header: 'voxels', right: true },
    ...(['mean', 'max', 'peak'] as const).map((k) => ({ header: `${u}${k} ref -> test (${what})`, gap: 3 })),
    { header: '', gap: 3 },
  ];
  const rows = lesions.map((l) => [
    l.name,
    String(l.reference.voxels),
    cell(l.reference.mean, l.test.mean, l.recovery.mean),
    cell(l.reference.max, l.test.max, l.recovery.max),
    cell(l.reference.peak, l.test.peak, l.recovery.peak),
    cutNote(l),
  ]);
  return textTable(columns, rows);
}

/** The lesion tables' name for `units`: SUV for SUVbw. */
function lesionUnits(units: string): string {
  return units === 'SUVbw' ? 'SUV' : units;
}

/** A test reading against the reference's: their ratio (`n/a` where null), or for HU the signed difference. */
function versus(reference: number, test: number, ratio: number | null, byDifference: boolean): string {
  if (!byDifference) return ratio === null ? 'n/a' : ratio.toFixed(3);
  const v = test - reference;
  return `${v >= 0 ? '+' : ''}${unitValue(v)}`;
}

/** A peak sphere cut by the first or last slice, the image's sides or padding is a mean over fewer voxels: said, not hidden. */
function cutNote(l: LesionResult): string {
  return l.reference.peakSphereCut || l.test.peakSphereCut ? "peak sphere cut by the volume's edge" : '';
}

/** Milliseconds as seconds to the ms, without trailing zeros (`?` for null): 60000 -> "60", 1500 -> "1.5". */
function seconds(ms: number | null): string {
  return ms === null ? '?' : String(msAsSeconds(ms));
}

/** A column of frame timing for the text: its label in the means lines, its header in the lesion tables, one cell per frame. */
interface FrameTimeColumn {
  readonly label: string;
  readonly header: string;
  readonly unit: string;
  readonly cells: string[];
  /** In the means lines too (the lesion tables show every column). */
  readonly inMeans: boolean;
}

/**
 * The timing columns of the frames' text, only those some frame carries: for time points the start,
 * duration and middle in s from the series reference time (`frames[].timing`); for gates the
 * TriggerTime and the R-R interval limits in ms (`frames[].gating`). None for frames without either.
 */
function frameTimeColumns(frames: readonly MetricsFrame[]): FrameTimeColumn[] {
  const columns: FrameTimeColumn[] = [];
  if (frames.some((f) => f.timing)) {
    const read = (k: 'startMs' | 'durationMs' | 'midMs') => frames.map((f) => seconds(f.timing?.[k] ?? null));
    columns.push(
      { label: 'start', header: 'start s', unit: 's', cells: read('startMs'), inMeans: true },
      { label: 'duration', header: 'duration s', unit: 's', cells: read('durationMs'), inMeans: true },
      { label: 'mid', header: 'mid s', unit: 's', cells: read('midMs'), inMeans: false },
    );
  }
  if (frames.some((f) => f.gating?.triggerTimeMs !== undefined)) {
    columns.push({ label: 'trigger', header: 'trigger ms', unit: 'ms', cells: frames.map((f) => String(f.gating?.triggerTimeMs ?? '?')), inMeans: true });
  }
  if (frames.some((f) => f.gating?.lowRRMs !== undefined || f.gating?.highRRMs !== undefined)) {
    const rr = (f: MetricsFrame) => `${f.gating?.lowRRMs ?? '?'}-${f.gating?.highRRMs ?? '?'}`;
    columns.push({ label: 'R-R', header: 'R-R ms', unit: 'ms', cells: frames.map(rr), inMeans: true });
  }
  return columns;
}

/**
 * The `--lesions` block for the frames of a dynamic or gated acquisition: per lesion, one line per
 * frame pair with the reference's and the test's mean, max and peak and their ratio (test /
 * reference; for HU the difference, as `lesionLines`), so each column read down is the lesion's
 * time-activity (or gate-activity) curve. The same cells and cut note as `lesionLines`.
 */
export function lesionFrameLines(frames: readonly MetricsFrame[], units: string): string[] {
  const u = lesionUnits(units);
  const byDifference = units === 'HU';
  const kinds = ['mean', 'max', 'peak'] as const;
  const withLesions = frames.filter((f) => f.lesions);
  const timeColumns = frameTimeColumns(withLesions);
  const columns = [
    { header: 'frame' },
    ...timeColumns.map((c) => ({ header: c.header, right: true })),
    { header: 'voxels', right: true },
    ...kinds.map((k) => ({ header: `${u}${k} ref`, right: true, gap: k === 'mean' ? 3 : 2 })),
    ...kinds.map((k) => ({ header: `${u}${k} test`, right: true, gap: k === 'mean' ? 3 : 2 })),
    ...kinds.map((k) => ({ header: `${byDifference ? 'diff' : 'ratio'} ${k}`, right: true, gap: k === 'mean' ? 3 : 2 })),
    { header: '', gap: 3 },
  ];
  const lines: string[] = [];
  for (const [i, first] of (withLesions[0]?.lesions ?? []).entries()) {
    if (i > 0) lines.push('');
    lines.push(`${first.name}: radius ${first.radius} mm at ${first.centre.join(', ')} mm, reference -> test per frame`);
    const rows = withLesions.map((f, j) => {
      const l = f.lesions![i]!;
      return [
        f.tag,
        ...timeColumns.map((c) => c.cells[j]!),
        String(l.reference.voxels),
        ...kinds.map((k) => unitValue(l.reference[k])),
        ...kinds.map((k) => unitValue(l.test[k])),
        ...kinds.map((k) => versus(l.reference[k], l.test[k], l.recovery[k], byDifference)),
        cutNote(l),
      ];
    });
    lines.push(...textTable(columns, rows));
  }
  return lines;
}

/**
 * A relative change as a signed percentage to 0.1 %: one that rounds to zero prints "+0.0 %" (the
 * same peak read on the same spectrum differs from it by float rounding, -1e-15, not "-0.0 %").
 */
export function signedPercent(v: number | null): string {
  if (v === null) return 'n/a';
  const text = (100 * v).toFixed(1);
  if (Number(text) === 0) return '+0.0 %';
  return `${v > 0 ? '+' : ''}${text} %`;
}

function noiseLines(n: MetricsNoiseReport, units: string): string[] {
  const peak = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  const lines = [
    `noise without anatomy (cross-spectrum with the extra noise input - reference; ${n.roi.count} ${n.roi.kind} ROIs of ${n.roi.size} px in ${n.slices} slice(s), ${n.detrend} detrend):`,
    `  kappa (full-dose / extra noise variance) ${n.kappa.toFixed(4)}: a full-dose scan keeps T = ${n.fullDoseTransfer.toFixed(3)} of the input's noise at every frequency`,
    `  noise SD test / full dose ${n.sdRatio.toFixed(3)} (${n.sd.test.toFixed(2)} against ${n.sd.reference.toFixed(2)} ${units}; the test's noise that follows its input's, a lower bound)`,
    `  NPS peak test ${peak(n.peakCyclesPerMm.test)} cycles/mm, full dose ${peak(n.peakCyclesPerMm.reference)} (${signedPercent(n.peakShift)})`,
    `  cycles/mm      T   NPS test   NPS full  (NPS in ${units}² mm²)`,
  ];
  n.frequencyCyclesPerMm.forEach((f, b) => {
    const t = n.transfer[b];
    if (b === 0 || t === null || t === undefined) return;
    lines.push(`  ${f.toFixed(3).padStart(9)}  ${t.toFixed(3).padStart(5)}  ${(n.nps.test[b] ?? NaN).toFixed(1).padStart(9)}  ${(n.nps.reference[b] ?? NaN).toFixed(1).padStart(9)}`);
  });
  return lines;
}

interface MetricsCliOptions {
  reference: string;
  test: string;
  range?: IntensityRange;
  region?: MetricsRegion;
  lesions?: string;
  hallucination?: string;
  patchSize?: number;
  stride?: number;
  band?: [number, number];
  frcThreshold?: number;
  noiseCompensation: boolean;
  overwrite?: boolean;
  noise?: boolean;
  input?: string;
  noiseRois?: NoiseRoiKind;
  noiseDetrend?: Detrend;
  noiseWindow?: NoiseWindow;
  json?: boolean;
}

function parseBand(text: string): [number, number] {
  const parts = text.split(',').map(decimalNumber);
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! >= 0) || !(parts[1]! > parts[0]!)) {
    throw usageError(`--band must be "lo,hi" in cycles/mm with 0 <= lo < hi, got "${text}"`);
  }
  return [parts[0]!, parts[1]!];
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('metrics')
    .description('PSNR, SSIM and RMSE per slice and overall between two series (matched by slice position, else by order)')
    .requiredOption('--reference <path>', 'the reference (normal-dose) series: its files or folder')
    .requiredOption('--test <path>', 'the series to score: its files or folder')
    .option('--range <lo,hi>', 'clip both to [lo, hi] for PSNR / SSIM (default CT -1000,1000 HU; PET 0,max of reference)', parseRange)
    .option(
      '--region <field|patient>',
      'pixels PSNR / SSIM / RMSE count: field (default: every pixel of the scanned field) or patient (only those inside the ' +
        "reference slice's patient outline, lungs and gas included: the air around the body, a third to a half of a CT field " +
        'where every method scores near perfect, no longer dilutes differences in the body)',
      parseRegion,
    )
    .option(
      '--lesions <file>',
      'JSON { "lesions": [ { "name"?, "centre": [x, y, z], "radius" } ] } in patient mm: adds SUVmean / SUVmax / SUVpeak per lesion ' +
        '(per frame pair for two dynamic or gated PET acquisitions: each lesion over the frames)',
    )
    .option('--hallucination <dir>', 'also write an sFRC hallucination map (DICOM series + PNG overlays) of test against reference into <dir>')
    .option('--patch-size <px>', `sFRC patch edge in pixels (default ${SFRC_DEFAULTS.patchSize})`, parseIntOption('--patch-size', 8, 512))
    .option('--stride <px>', 'sFRC step between patches (default patch size / 2)', parseIntOption('--stride', 1, 512))
    .option('--band <lo,hi>', `sFRC frequencies judged, cycles/mm (default ${SFRC_DEFAULTS.band.join(',')})`, parseBand)
    .option('--frc-threshold <t>', `sFRC: flagged when the FRC falls below t in the band (default ${SFRC_DEFAULTS.threshold})`, parseNumberOption('--frc-threshold', 0, 1))
    .option('--no-noise-compensation', "sFRC: the paper's plain FRC (no allowance for the images' noise)")
    .option('--overwrite', "replace an earlier map in --hallucination <dir> (its map/ and overlays/); without it such a folder is refused (E_EXISTS)")
    .option(
      '--noise',
      "CT: also the test's noise without anatomy against the full dose's (needs --input): the share T of its input's noise it keeps per " +
        "frequency, its noise SD and NPS peak against the reference's, from the cross-spectrum with the extra noise input - reference " +
        '(reference and input one acquisition at two doses; docs/metrics.md, "Noise without anatomy")',
    )
    .option('--input <path>', 'with --noise: the low-dose series the test was made from (the same slices as the reference, matched by position)')
    .option('--noise-rois <soft-tissue|flat>', 'with --noise: 64 px tiles wholly in soft tissue (default) or 32 px flat soft-tissue ROIs', parseChoiceOption('--noise-rois', NOISE_ROI_KINDS))
    .option('--noise-detrend <poly2|mean>', 'with --noise: trend taken off each ROI (default poly2, as QA and ICRU 87)', parseChoiceOption('--noise-detrend', DETRENDS))
    .option('--noise-window <none|hann>', 'with --noise: hann tapers each ROI (Welch), which reads the lowest frequencies closer (default none)', parseChoiceOption('--noise-window', NOISE_WINDOWS))
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: MetricsCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      const sfrcOptions: SfrcOptions = {
        ...(opts.patchSize !== undefined ? { patchSize: opts.patchSize } : {}),
        ...(opts.stride !== undefined ? { stride: opts.stride } : {}),
        ...(opts.band ? { band: opts.band } : {}),
        ...(opts.frcThreshold !== undefined ? { threshold: opts.frcThreshold } : {}),
        noiseCompensation: opts.noiseCompensation,
      };
      const given = ['patchSize', 'stride', 'band', 'frcThreshold'].filter((k) => (opts as unknown as Record<string, unknown>)[k] !== undefined);
      if (!opts.hallucination && (given.length > 0 || !opts.noiseCompensation || opts.overwrite)) {
        throw usageError('--patch-size, --stride, --band, --frc-threshold, --no-noise-compensation and --overwrite need --hallucination <dir>');
      }
      const noiseGiven = ['input', 'noiseRois', 'noiseDetrend', 'noiseWindow'].filter((k) => (opts as unknown as Record<string, unknown>)[k] !== undefined);
      if (opts.noise && opts.input === undefined) {
        throw usageError('--noise needs --input <low dose>: the series the test was made from, whose extra noise over the reference it measures against');
      }
      if (!opts.noise && noiseGiven.length > 0) throw usageError('--input, --noise-rois, --noise-detrend and --noise-window need --noise');
      // The file is checked before any image is read.
      const lesions: Lesion[] | undefined = opts.lesions !== undefined ? await readLesionsFile(opts.lesions) : undefined;
      // SIGINT / SIGTERM: the scoring stops between slices; a map being written is removed.
      const stop = stopOnSignal('the metrics', (message) => out.info(message), 'the scoring stops, a hallucination map being written is removed');
      let run: Awaited<ReturnType<typeof runMetrics>>;
      try {
        run = await runMetrics({
          signal: stop.signal,
          reference: opts.reference,
          test: opts.test,
          ...(opts.range ? { range: opts.range } : {}),
          ...(opts.region ? { region: opts.region } : {}),
          ...(lesions ? { lesions } : {}),
          ...(opts.hallucination ? { hallucination: { dir: opts.hallucination, options: sfrcOptions, overwrite: Boolean(opts.overwrite) } } : {}),
          ...(opts.noise && opts.input !== undefined
            ? {
                noise: {
                  input: opts.input,
                  ...(opts.noiseRois ? { rois: opts.noiseRois } : {}),
                  ...(opts.noiseDetrend ? { detrend: opts.noiseDetrend } : {}),
                  ...(opts.noiseWindow ? { window: opts.noiseWindow } : {}),
                },
              }
            : {}),
          progress: (m) => out.info(m),
        });
      } catch (error) {
        if (!stop.received) throw error;
        const map = opts.hallucination ? `; the hallucination map being written was removed (an earlier map in ${opts.hallucination}, if any, is kept)` : '';
        reportStopped(out, stop, `metrics stopped (interrupted by ${stop.received}): no result${map}`, opts.hallucination ?? null, setExitCode);
        return;
      } finally {
        stop.dispose();
      }
      const { result, exitCode } = run;
      out.result(result);
      out.print(humanReport(result));
      setExitCode(exitCode);
    });
};
