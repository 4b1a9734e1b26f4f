/**
 * Is a CT reconstruction kernel (ConvolutionKernel, 0018,1210) a sharp lung / bone kernel?
 *
 * Why it matters: a sharp kernel's normal-dose image carries much more noise of its own (the
 * Lung-PET-CT-Dx kernel L test volume: 50 HU in flat tissue against 8 HU for kernel B of the same
 * raw data). Against such a reference every smoothing denoiser removes the kernel's own texture
 * with the dose noise; in models/README.md (per-volume table) the shipped CT model keeps 24.1 HU
 * of that volume's 50 at 25 % dose and is only level with the tuned bilateral filter there (0.09 dB
 * above it; stage 8 scored 0.36 dB below it, and on the CT simulator before its calibration,
 * f9c55ef, it and NLM scored below the untouched input). So
 * `lowdose` says so instead of staying silent.
 *
 * Kernel names are vendor vocabularies, so this recognises only names whose meaning is
 * unambiguous; anything else is "not known to be sharp", not "soft".
 */

export interface SharpKernel {
  /** The kernel value as stored. */
  readonly kernel: string;
  /** Which rule recognised it, for the warning text. */
  readonly why: string;
}

// Siemens names: a letter for the use (B body, H head, I iterative body, Q quantitative, ...),
// optionally a second letter (r, l, v, f, ...), a two-digit sharpness and suffix letters:
// 60 and above are the sharp lung / bone kernels (B60f, B70f, Br64, I70f, Hr68, ...).
const SIEMENS = /^[A-Z][a-z]?(\d{2})[a-z]?\d?$/;
// Vendor words for sharp kernels: GE LUNG / BONE / BONEPLUS / EDGE, and generic names.
const SHARP_WORDS = /\b(LUNG|BONE|BONEPLUS|EDGE|SHARP|ULTRA ?SHARP)\b/i;
// Philips single-letter kernels: L is the lung kernel (the sharp test volume of the model card).
const PHILIPS_SHARP = new Set(['L']);

/** The sharp-kernel reading of one ConvolutionKernel value (backslash-separated values allowed). */
export function sharpKernel(value: string | null | undefined): SharpKernel | null {
  if (!value) return null;
  for (const part of value.split('\\').map((s) => s.trim()).filter(Boolean)) {
    if (SHARP_WORDS.test(part)) return { kernel: value, why: `"${part}" names a lung / bone kernel` };
    if (PHILIPS_SHARP.has(part.toUpperCase())) return { kernel: value, why: `"${part}" is the Philips lung kernel` };
    const siemens = SIEMENS.exec(part);
    if (siemens && Number(siemens[1]) >= 60) {
      return { kernel: value, why: `"${part}" has Siemens-style sharpness ${siemens[1]} (60 and up: lung / bone)` };
    }
  }
  return null;
}
