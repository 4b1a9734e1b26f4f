/**
 * The one-line lesion SUV caveat under a denoised PET pane's ROI readout, from the run's
 * E_LESION_BIAS warning (src/models/lesion-bias.ts writes it): the count level quoted and the worst
 * SUVmean / SUVmax bias measured there. The whole message is in the warning bar above the panes.
 */
export interface LesionCaveat {
  /** "lesion bias ≥17 mm at 10 %: SUVmean -10.6 %, SUVmax -9.2 %" (the count level, the worst at 17 mm and up). */
  readonly line: string;
  readonly message: string;
}

const MEASURED = /at ([\d.]+ %) counts .*?lesions >= (\d+) mm worst SUVmean ([+-]?[\d.]+ %) .*?worst SUVmax ([+-]?[\d.]+ %)/;

/** The caveat of a run's warnings, or null without E_LESION_BIAS. */
export function lesionCaveat(warnings: ReadonlyArray<{ code: string; message: string }> | undefined): LesionCaveat | null {
  const warning = warnings?.find((w) => w.code === 'E_LESION_BIAS');
  if (!warning) return null;
  const m = MEASURED.exec(warning.message);
  // A message in another wording still gets a line; the warning bar has it whole.
  const line = m ? `lesion bias ≥${m[2]} mm at ${m[1]}: SUVmean ${m[3]}, SUVmax ${m[4]}` : 'lesion SUV bias measured for this model: see E_LESION_BIAS above';
  return { line, message: warning.message };
}
