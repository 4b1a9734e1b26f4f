/**
 * An E_LESION_BIAS warning's `lesionBias` as a dose-unknown run writes it into report.json: each
 * number the worst over both measured levels, with its own level (src/models/lesion-bias.ts).
 * For tests of the readers that pass it on (report links, the comparison API).
 */
export function doseUnknownLesionBias(suvmax: { percent: number; source: string; diameterMm: number }, smallerSuvmean: { percent: number; source: string; diameterMm: number } | null) {
  return {
    level: 0.1,
    levels: [0.1, 0.25],
    picked: 'dose unknown',
    minDiameterMm: 17,
    suvmean: { percent: -5.9, source: 'sts-001 inserted lesions', diameterMm: 17, level: 0.1 },
    suvmax: { ...suvmax, level: 0.25 },
    smallerSuvmean: smallerSuvmean === null ? null : { ...smallerSuvmean, level: 0.25 },
    doseDeclared: false,
  };
}
