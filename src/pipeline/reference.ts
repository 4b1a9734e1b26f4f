/**
 * `denoise --reference`: scores each denoised series (and its low-dose input, for comparison)
 * against the matching series of a reference (normal-dose) study, slice by slice as they are
 * produced, with the CONTRACT's PSNR / SSIM / RMSE conventions.
 */
import { readSliceImage, sameFrame, scanPaths, type Series } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';
import { SeriesComparison, defaultRange, maxValue, pairingGridMismatch, pairSlices, type IntensityRange, type Pixels } from '../metrics/index.js';
import { pairingWarnings, type PairingWarning } from '../metrics/pairing-warnings.js';
import type { SeriesMetrics, UnscoredReference } from './types.js';
import { framesOfAgent, framesOfPart, sliceAgents } from './agent-reference.js';
import { plannedDerivedSeries, type PlannedDerivedSeries, type WrittenSeriesPart } from '../dicom/write-derived.js';
import { LISTED_PER_CODE, type ErrorCounts } from '../util/code-sample.js';

export interface ReferenceSet extends ErrorCounts {
  readonly series: Series[];
  /** The reference files that could not be read: at most LISTED_PER_CODE of each code, all counted. */
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
}

/** `onError`: told every reference file that could not be read, listed in `errors` or not (the whole list, ../util/error-list-file.ts). */
export async function openReference(paths: readonly string[], log: (message: string) => void, onError?: (error: LowdoseError) => void): Promise<ReferenceSet> {
  const scan = await scanPaths(paths, { listedPerCode: LISTED_PER_CODE, ...(onError ? { onError } : {}) });
  if (scan.missing.length > 0) throw new LowdoseError('E_NOT_FOUND', `--reference ${scan.missing.join(', ')}: no such file or directory`);
  if (scan.series.length === 0) throw new LowdoseError('E_USAGE', `--reference ${paths.join(', ')}: no readable image series`);
  log(`reference: ${scan.series.length} series`);
  return { series: scan.series, errors: scan.errors.map((e) => e.toJSON()), errorCount: scan.errorCount, errorsByCode: scan.errorsByCode };
}

interface Candidate {
  readonly series: Series;
  readonly inputToReference: Map<number, number>;
  /** Null when the candidate lies on the input's pixel grid. */
  readonly offGrid: string | null;
}

/**
 * The reference series that shares the most slice positions with `input` (same modality and
 * units; any matrix), preferring one on the input's pixel grid: only that one is scored pixel by pixel. The
 * input series itself comes last: when --reference names the study folder that holds it, it
 * would otherwise win the tie with the real reference and score the input against itself (PSNR
 * infinite, SSIM 1); named alone, it is still the reference (what the denoiser changed).
 */
function matchReference(reference: ReferenceSet, input: Series): Candidate | null {
  const others = reference.series.filter((candidate) => candidate.seriesInstanceUid !== input.seriesInstanceUid);
  const itself = reference.series.filter((candidate) => candidate.seriesInstanceUid === input.seriesInstanceUid);
  const fromOthers = candidates(others, input);
  const fromItself = candidates(itself, input);
  const best = (pool: Candidate[]) => pool.reduce<Candidate | null>((b, c) => (!b || c.inputToReference.size > b.inputToReference.size ? c : b), null);
  const onGrid = (pool: Candidate[]) => best(pool.filter((c) => c.offGrid === null));
  return onGrid(fromOthers) ?? onGrid(fromItself) ?? best([...fromOthers, ...fromItself]);
}

function candidates(series: readonly Series[], input: Series): Candidate[] {
  const out: Candidate[] = [];
  for (const candidate of series) {
    // Another matrix (a cropped or wider field of view) is kept: at the input's slice positions it is
    // linked as unscoredReference (pixelGridMismatch names the matrix), which the viewer shows.
    if (candidate.modality !== input.modality || candidate.units !== input.units) continue;
    // The time points (gates) of a dynamic (gated) acquisition share every slice position: a frame
    // of one is scored against the same frame of the other.
    if (!sameFrame(candidate, input)) continue;
    let pairing: ReturnType<typeof pairSlices>;
    try {
      pairing = pairSlices(candidate, input);
      // Pairing by order is pairSlices' last resort. Between two series that both say where their
      // slices are and share none of those places (another patient, another part of the body), it
      // would score unrelated slices against each other.
      if (pairing.matchedBy === 'order' && pairing.bothPositioned) continue;
    } catch {
      continue;
    }
    const map = new Map<number, number>();
    for (const [r, t] of pairing.pairs) if (t >= 0) map.set(t, r);
    if (map.size === 0) continue;
    // Scored pixel by pixel, a reference on another pixel grid (spacing, origin, orientation)
    // would compare other places of the patient: such a one is linked for the viewer, not scored.
    out.push({ series: candidate, inputToReference: map, offGrid: pairingGridMismatch(candidate, input, pairing) });
  }
  return out;
}

/** What `denoise --reference` found for one input series. */
export interface ReferenceMatch {
  /** Scores the output against a reference on the input's pixel grid; null when there is none. */
  readonly scorer: ReferenceScorer | null;
  /** The reference at the input's slice positions on another pixel grid, when that is all there is. */
  readonly unscored: UnscoredReference | null;
  /** The matched reference is another reconstruction or frame: W_KERNEL_MISMATCH, W_THICKNESS_MISMATCH, W_GATE_AGAINST_UNGATED (`pairingWarnings`). */
  readonly warnings: PairingWarning[];
}

/**
 * One part of a scored series: its slices of one radiopharmaceutical (`agent`), else all of them
 * (null); or (`output`) the slices of one of the several series it is written as.
 */
interface ScoredPart {
  readonly agent: number | null;
  readonly output?: WrittenSeriesPart;
  readonly reference: Series;
  /** Input slice index -> the part's reference slice index. */
  readonly inputToReference: Map<number, number>;
  readonly range: IntensityRange;
  readonly denoised: SeriesComparison;
  readonly input: SeriesComparison;
}

export class ReferenceScorer {
  private readonly partsOf = new Map<number, ScoredPart[]>();

  private constructor(
    private readonly parts: readonly ScoredPart[],
    private readonly outputParts: readonly ScoredPart[],
  ) {
    for (const part of [...parts, ...outputParts]) {
      for (const index of part.inputToReference.keys()) this.partsOf.set(index, [...(this.partsOf.get(index) ?? []), part]);
    }
  }

  /**
   * A scorer for `input` against the reference series at its slice positions and on its pixel
   * grid; when the only such series lies on another grid, no scorer but that series as
   * `unscored`; neither (with a message) when nothing matches. A multi-frame PET input whose frames
   * name several radiopharmaceuticals (written as one series per agent), against a reference that
   * does too, is scored per agent: each agent's slices against the reference's frames of that agent
   * only (./agent-reference.ts, the rule of `lowdose metrics`), paired among them, the PET range
   * their maximum. An input written as several series (`outputs`: one per agent and respiratory
   * gate) is also scored per written series, where the reference's frames are planned into series
   * of the same agents and gates: each against the reference's frames of its own agent and gate
   * only, the range their maximum (`metrics.series`).
   */
  static async create(reference: ReferenceSet, input: Series, log: (message: string) => void, outputs: readonly WrittenSeriesPart[] = []): Promise<ReferenceMatch> {
    const match = matchReference(reference, input);
    if (!match) {
      log(`no reference series matches ${input.seriesInstanceUid} (modality, units and slice positions); no metrics`);
      return { scorer: null, unscored: null, warnings: [] };
    }
    // The input itself as its reference is documented (what the denoiser changed): no warning for it.
    const warnings = pairingWarnings(match.series, input, 'input').filter((w) => w.code !== 'W_TEST_IS_REFERENCE');
    for (const w of warnings) log(`warning [${w.code}] ${w.message}`);
    if (match.offGrid !== null) {
      log(
        `reference series ${match.series.seriesInstanceUid} lies at the slice positions of ${input.seriesInstanceUid} but on another pixel grid (${match.offGrid}); ` +
          "no metrics (pixel-by-pixel scores would compare other places of the patient: resample the reference onto the input's grid); linked as unscoredReference",
      );
      return { scorer: null, unscored: { seriesInstanceUid: match.series.seriesInstanceUid, files: match.series.slices.length, reason: match.offGrid }, warnings };
    }
    const parts: ScoredPart[] = [];
    const byAgent = await agentParts(match.series, input);
    for (const { agent, reference: partReference, inputToReference } of byAgent ?? [{ agent: null, reference: match.series, inputToReference: match.inputToReference }]) {
      const range = await scoringRange(input, partReference);
      const of = agent === null ? '' : ` (its ${partReference.slices.length} of ${match.series.slices.length} slices of radiopharmaceutical agent ${agent})`;
      log(`reference series ${match.series.seriesInstanceUid}${of}: ${inputToReference.size} matching slices, range [${range[0]}, ${range[1]}]`);
      parts.push({ agent, reference: partReference, inputToReference, range, denoised: new SeriesComparison(range), input: new SeriesComparison(range) });
    }
    if (parts.length === 0) {
      log(`no radiopharmaceutical of ${input.seriesInstanceUid} has frames at its slice positions in reference series ${match.series.seriesInstanceUid}; no metrics`);
      return { scorer: null, unscored: null, warnings };
    }
    const outputParts: ScoredPart[] = [];
    for (const { output, reference: partReference, inputToReference } of outputSeriesParts(match.series, input, outputs)) {
      const range = await scoringRange(input, partReference);
      log(`output series ${output.seriesInstanceUid}${partWords(output)}: ${inputToReference.size} slices against the reference's ${partReference.slices.length} of that agent and gate, range [${range[0]}, ${range[1]}]`);
      outputParts.push({ agent: output.agent, output, reference: partReference, inputToReference, range, denoised: new SeriesComparison(range), input: new SeriesComparison(range) });
    }
    return { scorer: new ReferenceScorer(parts, outputParts), unscored: null, warnings };
  }

  /**
   * Scores slice `index`: the denoised output (which carries the input's padding) and the input
   * against the reference slice, leaving out pixels either side marks as padding.
   */
  async add(index: number, input: Pixels, denoised: Float32Array): Promise<void> {
    for (const part of this.partsOf.get(index) ?? []) {
      const r = part.inputToReference.get(index);
      if (r === undefined) continue;
      const reference = await readSliceImage(part.reference, r);
      part.denoised.add(index, reference, { rows: input.rows, columns: input.columns, data: denoised, padding: input.padding ?? null });
      part.input.add(index, reference, input);
    }
  }

  /**
   * The scores; of an input scored per radiopharmaceutical, the first agent's (its first output
   * series), each agent's in `agents`; of one scored per written series, each one's in `series`.
   */
  result(): SeriesMetrics {
    const scoresOf = (part: ScoredPart) => {
      const d = part.denoised.result().mean;
      const i = part.input.result().mean;
      return {
        psnr: d.psnr,
        ssim: d.ssim,
        rmse: d.rmse,
        input: { psnr: i.psnr, ssim: i.ssim, rmse: i.rmse },
        range: [part.range[0], part.range[1]] as [number, number],
        reference: { seriesInstanceUid: part.reference.seriesInstanceUid, files: part.reference.slices.length },
      };
    };
    const scores = this.parts.map(scoresOf);
    const series =
      this.outputParts.length > 0
        ? {
            series: this.outputParts.map((part) => {
              const { seriesInstanceUid, agent, respiratoryGate, cardiacGate } = part.output!;
              return { seriesInstanceUid, agent, ...(respiratoryGate ? { respiratoryGate } : {}), ...(cardiacGate ? { cardiacGate } : {}), ...scoresOf(part) };
            }),
          }
        : {};
    if (this.parts[0]!.agent === null) return { ...scores[0]!, ...series };
    return { ...scores[0]!, agents: this.parts.map((part, k) => ({ agent: part.agent!, ...scores[k]! })), ...series };
  }
}

/** The range a part is scored on: CT's fixed one; PET [0, max of its reference], over the whole reference series (of the part) as the CONTRACT says. */
async function scoringRange(input: Series, reference: Series): Promise<IntensityRange> {
  if (input.modality === 'CT') return defaultRange('CT');
  let max = 0;
  for (let i = 0; i < reference.slices.length; i++) max = Math.max(max, maxValue([(await readSliceImage(reference, i)).data]));
  return defaultRange(input.modality, max);
}

/** " agent 2 respiratory gate 1 of 2": what a written series holds, for the log. */
function partWords(part: PlannedDerivedSeries): string {
  const agent = part.agent !== null ? ` agent ${part.agent}` : '';
  const respiratory = part.respiratoryGate ? ` respiratory gate ${part.respiratoryGate.gate} of ${part.respiratoryGate.gates}` : '';
  return `${agent}${respiratory}${part.cardiacGate ? ` gate ${part.cardiacGate.gate} of ${part.cardiacGate.gates}` : ''}`;
}

/**
 * Each of the several series `input` is written as (`outputs`), its slices paired with the
 * reference's frames of the same agent and gates, when the reference's frames are planned into
 * several series too (the same structure); none otherwise. A written series the reference has no
 * such part of, or no slice of at its positions, is left out (not scored).
 */
function outputSeriesParts(reference: Series, input: Series, outputs: readonly WrittenSeriesPart[]): Array<{ output: WrittenSeriesPart; reference: Series; inputToReference: Map<number, number> }> {
  if (outputs.length < 2) return [];
  const out: Array<{ output: WrittenSeriesPart; reference: Series; inputToReference: Map<number, number> }> = [];
  for (const output of outputs) {
    const partReference = framesOfPart(reference, output);
    if (!partReference) continue;
    const map = pairPart(partReference, input, output.slices);
    if (map) out.push({ output, reference: partReference, inputToReference: map });
  }
  return out;
}

/**
 * Input slices `indices` of `input` paired with `reference`'s slices (input slice index -> reference
 * slice index); null when they cannot be paired, pair by order alone though both say where their
 * slices are (unrelated places), or share none.
 */
function pairPart(reference: Series, input: Series, indices: readonly number[]): Map<number, number> | null {
  let pairing: ReturnType<typeof pairSlices>;
  try {
    pairing = pairSlices(reference, { ...input, slices: indices.map((i) => input.slices[i]!) });
  } catch {
    return null;
  }
  if (pairing.matchedBy === 'order' && pairing.bothPositioned) return null;
  const map = new Map<number, number>();
  for (const [r, t] of pairing.pairs) if (t >= 0) map.set(indices[t]!, r);
  return map.size > 0 ? map : null;
}

/**
 * `input` split by radiopharmaceutical, each agent's slices paired with `reference`'s frames of that
 * agent (./agent-reference.ts), when both are multi-frame PET series whose frames name several
 * agents; null otherwise. A frame of the input naming none goes with the first agent, as the writer
 * puts it in the first agent's series (src/dicom/derived-pet-series.ts). An agent the reference has
 * no frame of, or none at the input's slice positions, is left out (not scored).
 */
async function agentParts(reference: Series, input: Series): Promise<Array<{ agent: number; reference: Series; inputToReference: Map<number, number> }> | null> {
  const inputAgents = await sliceAgents(input);
  if (!inputAgents || !(await sliceAgents(reference))) return null;
  const named = [...new Set(inputAgents.filter((a): a is number => a !== null))].sort((a, b) => a - b);
  const out: Array<{ agent: number; reference: Series; inputToReference: Map<number, number> }> = [];
  for (const agent of named) {
    const own = await framesOfAgent(reference, agent);
    if (!own) continue;
    const indices = inputAgents.flatMap((a, i) => ((a ?? named[0]) === agent ? [i] : []));
    const map = gatewisePairing(reference, own, input, agent) ?? pairPart(own, input, indices);
    if (map) out.push({ agent, reference: own, inputToReference: map });
  }
  return out;
}

/**
 * An agent's slices of `input` paired gate by gate, when both `input` and `reference` are planned
 * into series per agent and gate (respiratory or cardiac): each gate's slices with the reference's
 * frames of that agent and gate only, as indices into `own` (the reference's frames of the agent).
 * By position alone the gates, which share every position, would pair ambiguously: two gates'
 * slices against one reference slice, the other gate's frames never scored. A gate the reference
 * has no frames of is left out. Null when the input is not split by gate, or no gate of the agent
 * pairs (then the agent is paired by position, as a reference of no gates allows).
 */
function gatewisePairing(reference: Series, own: Series, input: Series, agent: number): Map<number, number> | null {
  const gated = (plannedDerivedSeries(input) ?? []).filter((part) => part.agent === agent && (part.respiratoryGate || part.cardiacGate));
  if (gated.length === 0) return null;
  const ownIndex = new Map(own.slices.map((slice, k) => [slice, k]));
  const map = new Map<number, number>();
  for (const part of gated) {
    const partReference = framesOfPart(reference, part);
    const pairs = partReference ? pairPart(partReference, input, part.slices) : null;
    for (const [i, r] of pairs ?? []) {
      const k = ownIndex.get(partReference!.slices[r]!);
      if (k !== undefined) map.set(i, k);
    }
  }
  return map.size > 0 ? map : null;
}

/**
 * The `metrics` / `unscoredReference` of a series finished by an earlier run, scored now against
 * this run's reference from the files that run wrote (`outputFiles`, slice order). A rerun that
 * skips a finished series would otherwise hand back the first run's scores: none when it had no
 * `--reference`, or scores against another reference. The stored output differs from the float
 * one a fresh run scores by its quantisation (at most half a rescale step). `outputs`: the several
 * series it was written as, from the first run's `output.series`, each scored too (`metrics.series`).
 */
export async function scoreFinishedSeries(
  reference: ReferenceSet,
  input: Series,
  outputFiles: readonly string[],
  log: (message: string) => void,
  outputs: readonly WrittenSeriesPart[] = [],
): Promise<{ metrics?: SeriesMetrics; unscoredReference?: UnscoredReference; warnings: PairingWarning[] }> {
  const { scorer, unscored, warnings } = await ReferenceScorer.create(reference, input, log, outputs);
  if (!scorer) return unscored ? { unscoredReference: unscored, warnings } : { warnings };
  if (outputFiles.length !== input.slices.length) {
    throw new LowdoseError('E_IO', `the finished output of ${input.seriesInstanceUid} lists ${outputFiles.length} files for ${input.slices.length} slices: --overwrite to redo it`);
  }
  // One series, or several (a multi-frame PET source written as one per agent and respiratory gate).
  const { series, errors } = await scanPaths([...outputFiles]);
  const read = series.reduce((n, s) => n + s.slices.length, 0);
  if (series.length === 0 || errors.length > 0 || read !== outputFiles.length) {
    const why = errors[0]?.message ?? `${series.length} series in ${outputFiles.length} files`;
    throw new LowdoseError(
      'E_IO',
      `cannot read the finished output of ${input.seriesInstanceUid} back to score it (${why}): --overwrite to redo it`,
      outputFiles[0] ? { path: outputFiles[0] } : {},
    );
  }
  // Output file k holds input slice k; the reader sorts the output's slices by geometry.
  const fileIndex = new Map(outputFiles.map((file, k) => [file, k]));
  for (const output of series) {
    for (let k = 0; k < output.slices.length; k++) {
      const index = fileIndex.get(output.slices[k]!.file);
      if (index === undefined) continue;
      const denoised = await readSliceImage(output, k);
      await scorer.add(index, await readSliceImage(input, index), denoised.data);
    }
  }
  return { metrics: scorer.result(), warnings };
}
