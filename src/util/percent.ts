/** Dose fractions and measured changes as the run warnings quote them (E_LESION_BIAS, E_TEXTURE_NOT_FULL_DOSE). */

/** 0.25 -> "25 %", 0.125 -> "12.5 %". */
export function fractionPercent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}

/** A change already in percent to 0.1 %: -5.78 -> "-5.8 %", 12.5 -> "+12.5 %". */
export function signedPercentText(percent: number): string {
  const text = percent.toFixed(1);
  return `${percent > 0 && text !== '0.0' ? '+' : ''}${text} %`;
}
