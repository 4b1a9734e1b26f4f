/**
 * What a derived series was written with besides its denoised pixels: its uncertainty series (the
 * calibrated σ of `--uncertainty`, or the raw ensemble spread of `--samples` > 1), `--hallucination`'s
 * map, and the σ threshold both depend on (the calibrated series' window and summaries, the map's
 * gate). The settings fingerprint (./made-with.ts) leaves them out: they change no denoised pixel.
 *
 * A rerun skips a finished series only if it holds what the run asks for (./denoise.ts): a
 * calibrated σ series where the first run wrote the raw spread, a map the first run did not write,
 * or another threshold is E_EXISTS naming what the finished series lacks, since the extras come
 * from the same ensemble samples as the denoised series and cannot be added without redoing it.
 * A finished series holding more than asked (a calibrated series, a map) is skipped.
 *
 * The completion marker records them (SeriesReport.extraOutputs). A marker an older lowdose wrote
 * is read from its `uncertainty` and `hallucination` fields; the threshold only where its
 * `uncertainty.calibration` records it (a map with a raw spread series does not say it): what a
 * marker does not show is not compared.
 */

export interface ExtraOutputs {
  /** The uncertainty series: the calibrated σ, the raw ensemble spread, or none (one sample). */
  readonly uncertainty: 'calibrated' | 'spread' | null;
  /** Whether the hallucination map series (and its overlays) was written. */
  readonly hallucination: boolean;
  /**
   * The σ threshold the calibrated series' window and summaries and the map's gate used, in the
   * card's uncertainty units; null when neither was written. Absent where a marker does not show it.
   */
  readonly sigmaThreshold?: number | null;
}

/** What a run writes besides the denoised series (the conditions denoiseSeries writes them under). */
export function extraOutputsOf(run: {
  readonly samples: number;
  /** `--uncertainty` asked and the card's calibration found. */
  readonly calibrated: boolean;
  /** `--hallucination` asked and the card's calibration found. */
  readonly hallucination: boolean;
  /** The calibration's threshold, null without one. */
  readonly threshold: number | null;
}): ExtraOutputs {
  const uncertainty = run.samples > 1 ? (run.calibrated ? 'calibrated' : 'spread') : null;
  const usesThreshold = uncertainty === 'calibrated' || run.hallucination;
  return { uncertainty, hallucination: run.hallucination, sigmaThreshold: usesThreshold ? run.threshold : null };
}

/** What a run with this denoiser and these options writes besides the denoised series (extraOutputsOf). */
export function extraOutputsOfDenoiser(
  denoiser: { readonly samples: number; readonly uncertainty: { readonly threshold: number } | null },
  options: { readonly uncertainty?: boolean; readonly hallucination?: boolean },
): ExtraOutputs {
  return extraOutputsOf({
    samples: denoiser.samples,
    calibrated: Boolean(options.uncertainty && denoiser.uncertainty),
    hallucination: Boolean(options.hallucination && denoiser.uncertainty),
    threshold: denoiser.uncertainty?.threshold ?? null,
  });
}

/** The fields of a completion marker (a SeriesReport) that show its extra outputs. */
export interface ReportedExtraOutputs {
  readonly extraOutputs?: unknown;
  readonly uncertainty?: { readonly calibrated?: boolean; readonly calibration?: { readonly threshold?: unknown } } | undefined;
  readonly hallucination?: unknown;
}

/** What a finished series was written with, from its completion marker. */
export function extraOutputsOfReport(report: ReportedExtraOutputs): ExtraOutputs {
  if (isExtraOutputs(report.extraOutputs)) return report.extraOutputs;
  // An older marker: the uncertainty block says calibrated (or has a calibration) or not.
  const u = report.uncertainty;
  const uncertainty = u ? (u.calibrated === true || u.calibration !== undefined ? 'calibrated' : 'spread') : null;
  const threshold = u?.calibration?.threshold;
  return {
    uncertainty,
    hallucination: report.hallucination !== undefined && report.hallucination !== null,
    ...(typeof threshold === 'number' ? { sigmaThreshold: threshold } : {}),
  };
}

/**
 * What the finished series lacks of what this run asks for, for a message (empty when it holds it
 * all): `without an uncertainty series`, `with the raw ensemble spread as its uncertainty series,
 * not the calibrated σ`, `without a hallucination map`, `with σ threshold 10 HU, this run 20 HU`.
 */
export function missingExtraOutputs(recorded: ExtraOutputs, asked: ExtraOutputs, units: string | null): string {
  const parts: string[] = [];
  if (asked.uncertainty !== null && recorded.uncertainty === null) parts.push('without an uncertainty series');
  else if (asked.uncertainty === 'calibrated' && recorded.uncertainty === 'spread') {
    parts.push('with the raw ensemble spread as its uncertainty series, not the calibrated σ (--uncertainty)');
  }
  if (asked.hallucination && !recorded.hallucination) parts.push('without a hallucination map (--hallucination)');
  const a = asked.sigmaThreshold;
  const r = recorded.sigmaThreshold;
  if (a !== undefined && a !== null && r !== undefined && r !== null && a !== r) {
    const unit = units ? ` ${units}` : '';
    parts.push(`with σ threshold ${r}${unit}, this run ${a}${unit} (--uncertainty-threshold)`);
  }
  return parts.join('; ');
}

/**
 * How two differ, for a message (empty when they agree on what both show): the frames of one
 * acquisition share its uncertainty and map series, so a frame joining it must be written as the
 * finished ones were: `uncertainty series calibrated σ, no hallucination map, this run raw ensemble
 * spread, hallucination map`.
 */
export function extraOutputsDifference(recorded: ExtraOutputs, asked: ExtraOutputs, units: string | null): string {
  const r = recorded.sigmaThreshold;
  const a = asked.sigmaThreshold;
  const thresholds = r !== undefined && r !== null && a !== undefined && a !== null && r !== a;
  if (recorded.uncertainty === asked.uncertainty && recorded.hallucination === asked.hallucination && !thresholds) return '';
  const describe = (e: ExtraOutputs, threshold: boolean) =>
    [
      e.uncertainty === 'calibrated' ? 'uncertainty series calibrated σ' : e.uncertainty === 'spread' ? 'uncertainty series raw ensemble spread' : 'no uncertainty series',
      e.hallucination ? 'hallucination map' : 'no hallucination map',
      ...(threshold ? [`σ threshold ${e.sigmaThreshold}${units ? ` ${units}` : ''}`] : []),
    ].join(', ');
  return `${describe(recorded, thresholds)}, this run ${describe(asked, thresholds)}`;
}

/** Whether a value read from a file is an ExtraOutputs. */
export function isExtraOutputs(value: unknown): value is ExtraOutputs {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.uncertainty === null || v.uncertainty === 'calibrated' || v.uncertainty === 'spread') &&
    typeof v.hallucination === 'boolean' &&
    (v.sigmaThreshold === undefined || v.sigmaThreshold === null || typeof v.sigmaThreshold === 'number')
  );
}
