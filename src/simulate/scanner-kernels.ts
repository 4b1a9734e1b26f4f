/**
 * Which simulator kernel reproduces the noise texture of a scanner's reconstruction kernel, from
 * the series' ConvolutionKernel (0018,1210). Noise insertion only matches a real low-dose scan when
 * the inserted noise is reconstructed like the scan was: a sharp kernel's noise peaks at two to
 * three times the frequency of a soft kernel's (docs/simulation.md).
 *
 * Two kinds of answer:
 *  - `fitted`: the preset was fitted to real quarter-dose noise of that very kernel (Siemens B30f
 *    and D45f, AAPM-Mayo pairs): magnitude and NPS peak within 10 % (test/simulate/mayo-noise.test.ts).
 *  - `family`: a vendor name whose family the preset resembles (GE STANDARD, a sharp lung / bone
 *    kernel...), not checked against real low-dose scans of that kernel.
 * Anything else gets no answer: callers fall back to `standard` and say so.
 */
import { DEFAULT_KERNEL, type KernelPreset } from './filters.js';

export interface ScannerKernelMatch {
  readonly preset: KernelPreset;
  readonly basis: 'fitted' | 'family';
  /** The ConvolutionKernel value that was matched. */
  readonly convolutionKernel: string;
}

const FITTED: ReadonlyArray<readonly [RegExp, KernelPreset]> = [
  [/^B30f$/i, 'siemens-b30f'],
  [/^D45f$/i, 'siemens-d45f'],
];

const FAMILIES: ReadonlyArray<readonly [RegExp, KernelPreset]> = [
  // GE: STANDARD is what `standard` was designed to resemble; SOFT / DETAIL / LUNG / BONE.
  [/^(STANDARD|STND|STD)$/i, 'standard'],
  [/^SOFT$/i, 'smooth'],
  [/^(LUNG|BONE|BONEPLUS|EDGE|SHARP)$/i, 'sharp'],
  // Philips single letters: B standard body, C / A smoother, D / L sharp (as scripts/train uses them).
  [/^B$/, 'standard'],
  [/^[AC]$/, 'smooth'],
  [/^[DL]$/, 'sharp'],
  // Siemens body / head kernels by sharpness number (B20f, Br36, I30f, H40s...): up to 35 soft
  // tissue, 36-49 medium-sharp, 50 and up sharp (lung / bone).
  [/^[BIH][a-z]?(?:[0-2]\d|3[0-5])[a-z]?\d?$/, 'siemens-b30f'],
  [/^[BDIH][a-z]?(?:3[6-9]|4\d)[a-z]?\d?$/, 'siemens-d45f'],
  [/^[A-Z][a-z]?(?:[5-9]\d)[a-z]?\d?$/, 'sharp'],
];

/**
 * The simulator dose (photon fraction) whose added noise equals that of the AAPM-Mayo "quarter
 * dose" (25 % nominal, ../shared/ldct-mayo). The Mayo quarter-dose images carry about 1.2 times the
 * extra noise variance that a quarter of the photons gives this model once --i0 auto has matched the
 * full-dose image's noise ((1/0.22 - 1) / (1/0.25 - 1) = 1.18): fitted on patient L143 (both
 * kernels, simulated / real SD 0.91 at 0.25), checked on the held-out L192 (docs/simulation.md).
 * `--dose` stays the photon fraction; use this value to reproduce those real quarter-dose scans.
 */
export const MAYO_QUARTER_DOSE = 0.22;

/** The simulator kernel for a ConvolutionKernel value (multi-valued: the first part that matches). */
export function scannerKernel(value: string | null | undefined): ScannerKernelMatch | null {
  if (!value) return null;
  const parts = value.split('\\').map((s) => s.trim()).filter(Boolean);
  for (const [table, basis] of [[FITTED, 'fitted'], [FAMILIES, 'family']] as const) {
    for (const part of parts) {
      for (const [pattern, preset] of table) if (pattern.test(part)) return { preset, basis, convolutionKernel: part };
    }
  }
  return null;
}

/**
 * The preset to simulate a scan of this ConvolutionKernel with: the matching one, else the default
 * (`standard`), as `lowdose simulate --kernel auto` does. For scripts that build data from volumes
 * (training export, filter tuning), so every simulated scan picks its kernel by one rule.
 */
export function scannerKernelPreset(value: string | null | undefined): KernelPreset {
  return scannerKernel(value)?.preset ?? DEFAULT_KERNEL;
}
