/**
 * Reads denoise `report.json` files (docs/contract.md; `DenoiseReport` in
 * src/pipeline/types.ts) leniently: a report from an older or newer version, or a half-written
 * one, gives what it can and never stops the index from building.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RUN_WARNING_CODES } from '../../errors.js';
import { readLesionBias } from '../../models/lesion-bias.js';
import type { ReportFacts } from '../api-types.js';


/** One series entry of a report: which series became which. */
export interface ReportLink {
  readonly reportPath: string;
  readonly inputUid: string;
  /** Absolute paths of the input files (the report may hold relative ones). */
  readonly inputFiles: string[];
  /** The input series' address on the PACS it was pulled from (`input.url`, a PACS run); null for files or folders. */
  readonly inputUrl: string | null;
  readonly outputUid: string;
  /**
   * One of several series the input was written as (`output.series`: one per agent and respiratory
   * gate): the input's frames it was made from (`frameKey`: SOPInstanceUID and 0-based frame, so a
   * folder moved since the run still pairs) and the
   * agent and gates it holds. Null for an output that is one series.
   */
  readonly part: OutputPart | null;
  readonly uncertaintyUid: string | null;
  readonly hallucinationUid: string | null;
  /** The series the report's metrics were computed against, else its unscoredReference (another pixel grid). */
  readonly referenceUid: string | null;
  readonly facts: ReportFacts;
}

export interface OutputPart {
  readonly frames: ReadonlySet<string>;
  readonly agent: number | null;
  readonly respiratoryGate?: { readonly gate: number; readonly gates: number; readonly words: string };
  readonly cardiacGate?: { readonly gate: number; readonly gates: number };
}

/** A slice's key in `OutputPart.frames`: its SOPInstanceUID and 0-based frame. */
export const frameKey = (sopInstanceUid: string, frame: number): string => `${sopInstanceUid}#${frame}`;

export async function readReportLinks(reportPath: string): Promise<ReportLink[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(reportPath, 'utf8'));
  } catch {
    return [];
  }
  const dir = path.dirname(reportPath);
  const entries = isRecord(json) && Array.isArray(json.series) ? json.series : [];
  const links: ReportLink[] = [];
  for (const entry of entries) {
    // A series a rerun skipped as already done (`skipped: true`) is still the pair its entry names,
    // with the facts its first run recorded (method, model, calibration): it is read as any other.
    if (!isRecord(entry)) continue;
    const input = isRecord(entry.input) ? entry.input : {};
    const output = isRecord(entry.output) ? entry.output : {};
    const inputUid = str(input.seriesInstanceUid);
    const outputUid = str(output.seriesInstanceUid);
    if (!inputUid || !outputUid) continue;
    const uncertainty = isRecord(entry.uncertainty) ? str(entry.uncertainty.seriesInstanceUid) : null;
    const calibration = isRecord(entry.uncertainty) && isRecord(entry.uncertainty.calibration) ? entry.uncertainty.calibration : null;
    const hallucination = isRecord(entry.hallucination) ? entry.hallucination : null;
    const hallucinationUid = hallucination && isRecord(hallucination.map) ? str(hallucination.map.seriesInstanceUid) : null;
    const metrics = isRecord(entry.metrics) ? entry.metrics : null;
    // The scored reference, else one at the same slice positions on another pixel grid (shown, not scored).
    const unscored = isRecord(entry.unscoredReference) ? str(entry.unscoredReference.seriesInstanceUid) : null;
    const reference = (metrics && isRecord(metrics.reference) ? str(metrics.reference.seriesInstanceUid) : null) ?? unscored;
    // An input written as several series (one per agent and respiratory gate): a link for each, with
    // the frames it was made from and its own scores (`metrics.series`, else its agent's).
    const parts = (Array.isArray(output.series) ? output.series : []).flatMap((o) => {
      const part = outputPartOf(o);
      return part ? [part] : [];
    });
    for (const { uid, part } of parts.length > 0 ? parts : [{ uid: outputUid, part: null }]) {
      const scored = part ? partMetrics(metrics, uid, part.agent) : metrics;
      links.push({
        reportPath,
        inputUid,
        inputFiles: (Array.isArray(input.files) ? input.files : [])
          .filter((f): f is string => typeof f === 'string')
          .map((f) => path.resolve(dir, f)),
        inputUrl: str(input.url),
        outputUid: uid,
        part,
        uncertaintyUid: uncertainty,
        hallucinationUid,
        referenceUid: reference,
        facts: {
          method: str(entry.method),
          model: str(entry.model),
          settings: str(entry.settings),
          device: str(entry.device),
          steps: num(entry.steps),
          seed: num(entry.seed),
          samples: num(entry.samples),
          msPerSlice: num(entry.msPerSlice),
          uncertaintyThreshold: calibration ? num(calibration.threshold) : null,
          hallucinationThreshold: hallucination ? num(hallucination.threshold) : null,
          metrics:
            scored && typeof scored.ssim === 'number' && typeof scored.rmse === 'number'
              ? { psnr: num(scored.psnr), ssim: scored.ssim, rmse: scored.rmse }
              : null,
          warnings: (Array.isArray(entry.warnings) ? entry.warnings : []).flatMap((w) => {
            if (!isRecord(w) || typeof w.code !== 'string' || !RUN_WARNING_CODES.has(w.code)) return [];
            const lesionBias = w.code === 'E_LESION_BIAS' ? readLesionBias(w.lesionBias) : null;
            return [{ code: w.code, message: typeof w.message === 'string' ? w.message : '', ...(lesionBias ? { lesionBias } : {}) }];
          }),
        },
      });
    }
  }
  return links;
}

/** One `output.series` entry as a link's part; null when it does not say its series and frames. */
function outputPartOf(entry: unknown): { uid: string; part: OutputPart } | null {
  if (!isRecord(entry) || !Array.isArray(entry.sourceFrames)) return null;
  const uid = str(entry.seriesInstanceUid);
  const frames = entry.sourceFrames.flatMap((f) => (isRecord(f) && typeof f.sopInstanceUid === 'string' && typeof f.frame === 'number' ? [frameKey(f.sopInstanceUid, f.frame)] : []));
  if (!uid || frames.length === 0) return null;
  const gate = (g: unknown) => (isRecord(g) && typeof g.gate === 'number' && typeof g.gates === 'number' ? { gate: g.gate, gates: g.gates } : null);
  const respiratory = gate(entry.respiratoryGate);
  const cardiac = gate(entry.cardiacGate);
  return {
    uid,
    part: {
      frames: new Set(frames),
      agent: num(entry.agent),
      ...(respiratory ? { respiratoryGate: { ...respiratory, words: isRecord(entry.respiratoryGate) ? (str(entry.respiratoryGate.words) ?? '') : '' } } : {}),
      ...(cardiac ? { cardiacGate: cardiac } : {}),
    },
  };
}

/** The scores of written series `uid`: its own (`metrics.series`), else its agent's (`metrics.agents`); null when the report has neither. */
function partMetrics(metrics: Record<string, unknown> | null, uid: string, agent: number | null): Record<string, unknown> | null {
  if (!metrics) return null;
  const records = (list: unknown) => (Array.isArray(list) ? (list as unknown[]) : []).filter(isRecord);
  return records(metrics.series).find((s) => s.seriesInstanceUid === uid) ?? records(metrics.agents).find((s) => s.agent === agent) ?? null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
