/**
 * Writes what an sFRC hallucination map run finds (src/metrics/sfrc.ts), one slice at a time: the
 * map as a derived DICOM series (each pixel the lowest FRC score of the judged patches over it, 1
 * where none was judged), a PNG overlay for every slice with a flagged patch, and the JSON summary
 * of ../shared/CONTRACT.md, `{ patchSizeMm, patches, flagged: [{ slice, xMm, yMm, sizeMm, score }] }`.
 * Used by `metrics --hallucination` (test against reference) and `denoise --hallucination` (one
 * half of the ensemble against the other).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { patientPosition } from '../dicom/geometry.js';
import type { Series } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';
import type { ProcessingEquipment } from '../dicom/contributing-equipment.js';
import { createDerivedSeriesWriter, type DerivedSeriesWriter } from '../dicom/write-derived.js';
import { sfrcScoreMap, type ResolvedSfrcOptions, type SfrcSliceResult } from '../metrics/sfrc.js';
import { realPathOrSelf, writeFileAtomic } from '../util/fs.js';
import { recoverStagedFolders, stageFolders, type StagedFolders } from '../util/staged-folders.js';
import { roundTo } from '../util/round.js';
import { defaultWindow, encodePanels, markPatches, windowToGray } from './preview.js';

export interface FlaggedPatch {
  /**
   * 0-based index of the slice in the series the map is made for, sorted by position: the test
   * series of `metrics --hallucination` (the map's and the overlays' file numbers, `map.files`), the
   * input series (= the denoised output's) of `denoise --hallucination`.
   */
  readonly slice: number;
  /**
   * `metrics --hallucination`: 0-based index of the reference slice the test slice was compared
   * with, the `slices[].index` of the per-slice table (which the text prints). It differs from
   * `slice` when the test holds only some of the reference's slices. Absent for `denoise`, which
   * compares no reference.
   */
  readonly referenceSlice?: number;
  /** Patient coordinates (mm) of the patch centre. */
  readonly xMm: number;
  readonly yMm: number;
  readonly zMm: number;
  readonly sizeMm: number;
  /** The lowest FRC over the band (flagged below the threshold). */
  readonly score: number;
  /** Frequency (cycles/mm) of that lowest FRC. */
  readonly frequency: number;
  /** Patch origin in pixels. */
  readonly row: number;
  readonly column: number;
}

/** The run's findings, with the sFRC settings it ran with (`ResolvedSfrcOptions`'s fields). */
export interface HallucinationSummary extends ResolvedSfrcOptions {
  readonly patchSizeMm: number;
  /** Patches judged (mostly-air patches are not). */
  readonly patches: number;
  readonly flagged: FlaggedPatch[];
  readonly flaggedFraction: number;
  readonly skipped: number;
  /** What the test was compared with: a reference series, or one half of the ensemble with the other. */
  readonly against: 'reference' | 'samples';
  readonly map: { readonly seriesInstanceUid: string; readonly dir: string; readonly files: string[] };
  readonly overlays: string[];
}

/** The folders under `--hallucination <dir>` a run writes: the map series and the overlays. */
const HALLUCINATION_FOLDERS = ['map', 'overlays'] as const;

/**
 * Readies `dir` for a new map before any is written (`metrics --hallucination`; the caller holds
 * the folder's lock): a `map/` or `overlays/` that holds anything (an earlier run's map series) is
 * refused with E_EXISTS naming it, so that two map series are never mixed in one folder; with
 * `overwrite` it is replaced, unless one holds a file of `inputs` (the series being compared), which
 * is refused always. The new map is written into a hidden sibling (the returned folders' `dir`) and
 * put in place of the earlier one only when the run completes (`commit`, src/util/staged-folders.ts):
 * a run that fails or is killed before leaves the earlier map as it was, and what a killed run left
 * is settled here first. The frames of a dynamic or gated acquisition write one map series in one
 * run, so this is called once per run, not per frame.
 */
export async function prepareHallucinationFolder(
  dir: string,
  overwrite: boolean,
  inputs: readonly string[],
  log: (message: string) => void = () => {},
): Promise<StagedFolders> {
  await recoverStagedFolders(dir, HALLUCINATION_FOLDERS, log);
  const held = HALLUCINATION_FOLDERS.map((name) => path.resolve(dir, name)).filter((folder) => entries(folder).length > 0);
  if (held.length > 0 && !overwrite) {
    const what = held.length === 1 ? `${held[0]} already holds` : `${held.join(' and ')} already hold`;
    throw new LowdoseError('E_EXISTS', `${what} an earlier map (use --overwrite to replace it, or another --hallucination folder)`, { path: held[0]! });
  }
  for (const folder of held) {
    const inside = realPathOrSelf(folder) + path.sep;
    const input = inputs.find((file) => realPathOrSelf(file).startsWith(inside) || path.resolve(file).startsWith(folder + path.sep));
    if (input) throw new LowdoseError('E_EXISTS', `${folder} holds an input file (${input}); choose another --hallucination folder`, { path: folder });
  }
  return stageFolders(dir, HALLUCINATION_FOLDERS);
}

/** The summary with the paths of a map written into `staged` where they lie once committed. */
export function committedSummary(summary: HallucinationSummary, staged: Pick<StagedFolders, 'finalPath'>): HallucinationSummary {
  return {
    ...summary,
    map: { ...summary.map, dir: staged.finalPath(summary.map.dir), files: summary.map.files.map(staged.finalPath) },
    overlays: summary.overlays.map(staged.finalPath),
  };
}

/** The names in `folder`, none when it does not exist or is no folder. */
function entries(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}

export interface HallucinationRecorderOptions {
  /** Where `map/` (DICOM) and `overlays/` (PNG) go. */
  readonly outDir: string;
  readonly sfrc: ResolvedSfrcOptions;
  readonly against: 'reference' | 'samples';
  /** Goes into DerivationDescription: what was compared with what. */
  readonly description: string;
  /**
   * The Contributing Equipment item's model and versions: the denoiser's for an ensemble map
   * (`denoise --hallucination`); default `sfrc` (`metrics --hallucination`, two given series).
   */
  readonly equipment?: ProcessingEquipment;
  readonly overwrite?: boolean;
  /**
   * The map series' UID and the frame tag its file names start with (`t01-IM0001.dcm`,
   * `t01-slice-0001.png`), when the map is one frame's share of the map series of a dynamic or gated
   * PET acquisition (src/pipeline/frame-output.ts). Default: a new UID, names without a tag.
   */
  readonly shared?: { readonly seriesInstanceUid: string; readonly frameTag: string };
}

export class HallucinationRecorder {
  private readonly writer: DerivedSeriesWriter;
  private readonly flagged: FlaggedPatch[] = [];
  private readonly overlays: string[] = [];
  private judged = 0;
  private skipped = 0;
  private readonly spacingMm: number;

  constructor(
    private readonly series: Series,
    private readonly options: HallucinationRecorderOptions,
  ) {
    const o = options.sfrc;
    this.spacingMm = (series.spacing[0] + series.spacing[1]) / 2;
    this.writer = createDerivedSeriesWriter(series, {
      outDir: path.join(options.outDir, 'map'),
      derivationDescription:
        `lowdose sFRC hallucination map: lowest FRC per pixel over ${o.patchSize}-pixel patches, stride ${o.stride}, ` +
        `band ${o.band[0]}-${o.band[1]} cycles/mm, threshold ${o.threshold}, noise compensation ${o.noiseCompensation ? `on (z ${o.significance})` : 'off'}; ${options.description}`,
      seriesDescriptionSuffix: ' sFRC map',
      equipment: options.equipment ?? { modelName: 'sfrc' },
      resolution: 0.001,
      rescaleType: 'US',
      // Scores are unitless: a PET map says Units NONE and stores them as they are (not Bq/ml).
      unitless: true,
      // Scores lie in 0..1: the source's window would show the whole map as one grey.
      window: { lo: 0, hi: 1, explanation: 'SFRC SCORE 0-1' },
      overwrite: options.overwrite ?? true,
      ...(options.shared ? { seriesInstanceUid: options.shared.seriesInstanceUid, filePrefix: `${options.shared.frameTag}-IM` } : {}),
    });
  }

  /**
   * Records slice `index` of the series: writes its map, and an overlay PNG of `panels` (e.g. test
   * and reference, in the series' units) with the flagged patches marked when it has any.
   * `referenceIndex`: the reference slice it was compared with (`FlaggedPatch.referenceSlice`).
   */
  async add(index: number, result: SfrcSliceResult, panels: readonly Float32Array[], referenceIndex?: number): Promise<void> {
    const { rows, columns } = this.series;
    const size = this.options.sfrc.patchSize;
    this.judged += result.patches.length;
    this.skipped += result.skipped;
    await this.writer.writeSlice(index, sfrcScoreMap(result, rows, columns, size));
    const marked = result.patches.filter((p) => p.flagged);
    for (const p of marked) {
      const centre = (size - 1) / 2;
      const [x, y, z] = patientPosition(this.series, index, p.row + centre, p.column + centre);
      this.flagged.push({
        slice: index,
        ...(referenceIndex !== undefined ? { referenceSlice: referenceIndex } : {}),
        xMm: roundTo(x, 2),
        yMm: roundTo(y, 2),
        zMm: roundTo(z, 2),
        sizeMm: roundTo(size * this.spacingMm, 2),
        score: roundTo(p.score, 4),
        frequency: roundTo(p.frequency, 4),
        row: p.row,
        column: p.column,
      });
    }
    if (marked.length > 0 && panels.length > 0) {
      const window = defaultWindow(this.series.units, panels[0]);
      const patches = marked.map((p) => ({ row: p.row, column: p.column, size }));
      const file = path.resolve(this.options.outDir, 'overlays', `${this.options.shared ? `${this.options.shared.frameTag}-` : ''}slice-${String(index + 1).padStart(4, '0')}.png`);
      const png = encodePanels(
        panels.map((data) => {
          const gray = windowToGray(data, window);
          return { gray, rows, columns, rgb: markPatches(gray, rows, columns, patches) };
        }),
      );
      await writeFileAtomic(file, png);
      this.overlays.push(file);
    }
  }

  summary(): HallucinationSummary {
    const o = this.options.sfrc;
    return {
      patchSizeMm: roundTo(o.patchSize * this.spacingMm, 2),
      patches: this.judged,
      flagged: [...this.flagged],
      flaggedFraction: this.judged > 0 ? roundTo(this.flagged.length / this.judged, 5) : 0,
      skipped: this.skipped,
      against: this.options.against,
      patchSize: o.patchSize,
      stride: o.stride,
      band: [o.band[0], o.band[1]],
      threshold: o.threshold,
      noiseCompensation: o.noiseCompensation,
      significance: o.significance,
      map: { seriesInstanceUid: this.writer.seriesInstanceUid, dir: this.writer.dir, files: this.writer.files },
      overlays: [...this.overlays],
    };
  }
}
