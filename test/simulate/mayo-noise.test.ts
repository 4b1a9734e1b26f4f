/**
 * The calibrated CT simulator against real quarter-dose noise: AAPM-Mayo pairs (Siemens SOMATOM
 * Definition AS+, ../shared/ldct-mayo). For one slice per reconstruction kernel, the real added
 * noise (quarter minus full dose) is measured from the files, and the simulator inserts 25 % dose
 * noise into the full-dose slice the way `lowdose simulate` does by default (kernel from the
 * series' ConvolutionKernel, i0 calibrated on the slice's own noise, bowtie and tube-current
 * modulation), at MAYO_QUARTER_DOSE, the simulator dose fitted to the Mayo "quarter dose".
 * Magnitude and NPS peak must agree within 10 %.
 */
import { describe, expect, test } from 'vitest';
import path from 'node:path';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { addedNoise } from '../../src/metrics/added-noise.js';
import { estimateCtI0, insertCtNoise, MAYO_QUARTER_DOSE, scannerKernel } from '../../src/simulate/index.js';

const MAYO = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo');

async function pair(patient: string, kernel: string, index: number) {
  const full = (await scanPaths([path.join(MAYO, patient, kernel, 'full')])).series[0]!;
  const quarter = (await scanPaths([path.join(MAYO, patient, kernel, 'quarter')])).series[0]!;
  return { series: full, full: await readSliceImage(full, index), quarter: await readSliceImage(quarter, index) };
}

describe('CT noise insertion calibrated to real Siemens quarter-dose noise', () => {
  test.each([
    { patient: 'L143', kernel: 'B30f', index: 1, preset: 'siemens-b30f' },
    { patient: 'L143', kernel: 'D45f', index: 1, preset: 'siemens-d45f' },
  ] as const)(
    '$patient $kernel slice $index: simulated quarter-dose noise matches quarter minus full dose in SD and NPS peak within 10 percent',
    async ({ patient, kernel, index, preset }) => {
      const { series, full, quarter } = await pair(patient, kernel, index);
      const match = scannerKernel(series.convolutionKernel);
      expect(match).toMatchObject({ preset, basis: 'fitted' });
      const real = addedNoise(quarter, full);
      const { i0 } = estimateCtI0(full, { kernel: match!.preset, sliceIndex: index });
      const simulated = addedNoise(insertCtNoise(full, { dose: MAYO_QUARTER_DOSE, i0, kernel: match!.preset, sliceIndex: index }), full);
      expect(real.rois.length).toBeGreaterThanOrEqual(40);
      expect(Math.abs(simulated.std / real.std - 1)).toBeLessThan(0.1);
      expect(Math.abs(simulated.peakFrequency / real.peakFrequency - 1)).toBeLessThan(0.1);
      // The kernel, not the magnitude, sets the texture: the wrong preset misses the real peak.
      const wrong = kernel === 'B30f' ? 'siemens-d45f' : 'siemens-b30f';
      const other = addedNoise(insertCtNoise(full, { dose: MAYO_QUARTER_DOSE, i0, kernel: wrong, sliceIndex: index }), full);
      expect(Math.abs(other.peakFrequency / real.peakFrequency - 1)).toBeGreaterThan(0.3);
    },
    120_000,
  );
});

describe('scanner kernel to simulator kernel', () => {
  test('fitted Siemens kernels, vendor families, and unknown names', () => {
    expect(scannerKernel('B30f')).toEqual({ preset: 'siemens-b30f', basis: 'fitted', convolutionKernel: 'B30f' });
    expect(scannerKernel('D45f')?.preset).toBe('siemens-d45f');
    expect(scannerKernel('STANDARD')).toEqual({ preset: 'standard', basis: 'family', convolutionKernel: 'STANDARD' });
    expect(scannerKernel('BONE')?.preset).toBe('sharp');
    expect(scannerKernel('B70f')?.preset).toBe('sharp');
    expect(scannerKernel('Br40\\2')?.preset).toBe('siemens-d45f');
    expect(scannerKernel('L')?.preset).toBe('sharp');
    expect(scannerKernel('FC13')).toBeNull();
    expect(scannerKernel(null)).toBeNull();
  });
});
