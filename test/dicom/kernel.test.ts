/**
 * Sharp-kernel recognition from ConvolutionKernel names: only names whose meaning is unambiguous
 * count as sharp; every kernel name found in the shared corpus is not.
 */
import { describe, expect, it } from 'vitest';
import { sharpKernel } from '../../src/dicom/kernel.js';
import { scanPaths } from '../../src/dicom/scan.js';
import { corpusPath } from './helpers/corpus.js';

describe('sharpKernel', () => {
  it.each(['LUNG', 'BONE', 'BONEPLUS', 'EDGE', 'lung', 'B70f', 'B60s', 'Br64', 'I70f', 'Hr68', 'L', 'Sharp'])(
    'recognises %s as a sharp (lung / bone) kernel',
    (name) => {
      expect(sharpKernel(name)).not.toBeNull();
    },
  );

  it.each(['STANDARD', 'SOFT', 'DETAIL', 'B', 'D', 'B30s', 'B45f', 'Br40', 'I30f', 'FC21', '000000', '11', 'XYZ Gauss6.00', ''])(
    'does not call %s sharp',
    (name) => {
      expect(sharpKernel(name)).toBeNull();
    },
  );

  it('looks at every value of a multi-valued kernel', () => {
    expect(sharpKernel('Br40\\3')).toBeNull();
    expect(sharpKernel('I70f\\3')?.why).toMatch(/sharpness 70/);
    expect(sharpKernel(null)).toBeNull();
  });

  it('reads ConvolutionKernel from a real CT file (STANDARD) and raises no kernel warning', async () => {
    const { series } = await scanPaths([corpusPath('cornerstonejs__dicomParser/testImages/CT1_UNC.explicit_little_endian.dcm')]);
    expect(series[0]!.convolutionKernel).toBe('STANDARD');
    expect(series[0]!.warnings.filter((w) => w.code === 'E_SHARP_KERNEL')).toEqual([]);
  });
});
