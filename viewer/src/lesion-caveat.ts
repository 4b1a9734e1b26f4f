/**
 * The one-line lesion SUV caveat under a denoised PET pane's ROI readout, from the run's
 * E_LESION_BIAS warning (src/models/lesion-bias.ts writes it): the count level quoted and the worst
 * SUVmean / SUVmax bias measured there (the dose unknown: the worst over the measured levels, each
 * with its level). The whole message is in the warning bar above the panes.
 *
 * The numbers come from the warning's `lesionBias` field. Reports written before that field (and
 * a rerun's skipped series, which keep the warnings their first run wrote) have the message only:
 * for those the numbers are read out of its wording.
 */
import type { ReportFacts } from './api.js';

type RunWarning = ReportFacts['warnings'][number];
type LesionBias = NonNullable<RunWarning['lesionBias']>;

export interface LesionCaveat {
  /**
   * "lesion bias ≥17 mm at 10 %: SUVmean -10.6 %, SUVmax -9.2 %" (the count level, the worst at 17 mm
   * and up); without a dose "... at 10 % and 25 %, dose unknown: SUVmean -9.8 % (25 %), ..." (the worst
   * over the measured levels, each with its own).
   */
  readonly line: string;
  readonly message: string;
}

/** The message's wording before `lesionBias` existed (and since: the same words). */
const MEASURED = /at ([\d.]+ %) counts .*?lesions >= (\d+) mm worst SUVmean ([+-]?[\d.]+ %) .*?worst SUVmax ([+-]?[\d.]+ %)/;

/** The caveat of a run's warnings, or null without E_LESION_BIAS. */
export function lesionCaveat(warnings: ReadonlyArray<Pick<RunWarning, 'code' | 'message' | 'lesionBias'>> | undefined): LesionCaveat | null {
  const warning = warnings?.find((w) => w.code === 'E_LESION_BIAS');
  if (!warning) return null;
  if (warning.lesionBias) return { line: lineOf(warning.lesionBias), message: warning.message };
  const m = MEASURED.exec(warning.message);
  // A message in another wording still gets a line; the warning bar has it whole.
  const line = m ? `lesion bias ≥${m[2]} mm at ${m[1]}: SUVmean ${m[3]}, SUVmax ${m[4]}` : 'lesion SUV bias measured for this model: see E_LESION_BIAS above';
  return { line, message: warning.message };
}

function lineOf(b: LesionBias): string {
  const runDeclared = b.picked !== 'dose unknown';
  // With the dose unknown the numbers are the worst over every measured level (`levels`), each
  // from its own level; reports written before `levels` quoted one level for all.
  const levels = b.levels ?? [b.level];
  const perLevel = levels.length > 1;
  // Where the count level came from, and (rarely) that the measurements took the other path.
  const level = `${levels.map(pct).join(' and ')}${runDeclared ? '' : ', dose unknown'}${b.doseDeclared === runDeclared ? '' : b.doseDeclared ? ', measured with dose declared' : ', measured without dose'}`;
  const value = (m: LesionBias['suvmean']) => `${signed(m.percent)}${perLevel ? ` (${pct(m.level ?? b.level)})` : ''}`;
  return `lesion bias ≥${b.minDiameterMm} mm at ${level}: SUVmean ${value(b.suvmean)}, SUVmax ${value(b.suvmax)}`;
}

/** 0.25 -> "25 %" (as the message writes it). */
function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}

/** -5.78 -> "-5.8 %", 12.5 -> "+12.5 %" (as the message writes it). */
function signed(percent: number): string {
  const text = percent.toFixed(1);
  return `${percent > 0 && text !== '0.0' ? '+' : ''}${text} %`;
}
