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
  readonly uncertaintyUid: string | null;
  readonly hallucinationUid: string | null;
  /** The series the report's metrics were computed against, else its unscoredReference (another pixel grid). */
  readonly referenceUid: string | null;
  readonly facts: ReportFacts;
}

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
    links.push({
      reportPath,
      inputUid,
      inputFiles: (Array.isArray(input.files) ? input.files : [])
        .filter((f): f is string => typeof f === 'string')
        .map((f) => path.resolve(dir, f)),
      inputUrl: str(input.url),
      outputUid,
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
          metrics && typeof metrics.ssim === 'number' && typeof metrics.rmse === 'number'
            ? { psnr: num(metrics.psnr), ssim: metrics.ssim, rmse: metrics.rmse }
            : null,
        warnings: (Array.isArray(entry.warnings) ? entry.warnings : []).flatMap((w) => {
          if (!isRecord(w) || typeof w.code !== 'string' || !RUN_WARNING_CODES.has(w.code)) return [];
          const lesionBias = w.code === 'E_LESION_BIAS' ? readLesionBias(w.lesionBias) : null;
          return [{ code: w.code, message: typeof w.message === 'string' ? w.message : '', ...(lesionBias ? { lesionBias } : {}) }];
        }),
      },
    });
  }
  return links;
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
