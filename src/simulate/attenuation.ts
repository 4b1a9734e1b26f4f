/**
 * Linear attenuation coefficients and the HU scale. CT numbers are defined relative to water at
 * the scanner's effective energy: HU = 1000 (mu - mu_water) / mu_water, so mu = mu_water (1 + HU/1000).
 */

/** Water at ~70 keV, the effective energy of a 120 kVp beam (NIST XCOM: 0.1929 cm^2/g), per mm. */
export const MU_WATER_CT_PER_MM = 0.01929;

/** Water at 511 keV, the PET annihilation photon energy (NIST XCOM: 0.0960 cm^2/g), per mm. */
export const MU_WATER_PET_PER_MM = 0.0096;

/**
 * HU to linear attenuation per mm. Values below -1000 HU (the padding some scanners put outside
 * the reconstruction circle, e.g. -2048 or -3024) are air: attenuation never goes negative.
 */
export function huToMu(hu: Float32Array, muWater = MU_WATER_CT_PER_MM, out = new Float32Array(hu.length)): Float32Array {
  const scale = muWater / 1000;
  for (let i = 0; i < hu.length; i++) {
    const mu = muWater + hu[i]! * scale;
    out[i] = mu > 0 ? mu : 0;
  }
  return out;
}

/** Linear attenuation per mm back to HU. */
export function muToHu(mu: ArrayLike<number>, muWater = MU_WATER_CT_PER_MM, out = new Float32Array(mu.length)): Float32Array {
  const scale = 1000 / muWater;
  for (let i = 0; i < mu.length; i++) out[i] = mu[i]! * scale - 1000;
  return out;
}
