import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ctKernelOf, type Sidecar } from '../../scripts/train/nifti-volume.js';

// The training export, the filter tuning and the uncertainty calibration simulate each shared CT
// volume's noise with the kernel `lowdose simulate --kernel auto` would pick for its scanner kernel
// (src/simulate/scanner-kernels.ts), so data made for training looks like the CLI's simulation.
const sidecar = (name: string) => JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../../shared/ct', `${name}.json`), 'utf8')) as Sidecar;

describe('ctKernelOf', () => {
  it('gives the shared volumes the family preset of their GE / Philips kernel, standard when none is stored', () => {
    expect(ctKernelOf(sidecar('lidc-0001-chest'))).toBe('standard'); // GE STANDARD
    expect(ctKernelOf(sidecar('crlm-1004-abdomen'))).toBe('standard'); // GE STANDARD
    expect(ctKernelOf(sidecar('crlm-1006-abdomen'))).toBe('standard'); // no ConvolutionKernel
    expect(ctKernelOf(sidecar('lidc-0314-chest'))).toBe('sharp'); // Philips D
    expect(ctKernelOf(sidecar('lungdx-a0001-chest-kernelB'))).toBe('standard'); // Philips B
    expect(ctKernelOf(sidecar('lungdx-a0001-chest-kernelL'))).toBe('sharp'); // Philips L
  });

  it('gives Siemens kernels the presets fitted to real quarter-dose noise, also when multi-valued', () => {
    expect(ctKernelOf({ ConvolutionKernel: 'B30f' })).toBe('siemens-b30f');
    expect(ctKernelOf({ ConvolutionKernel: 'D45f' })).toBe('siemens-d45f');
    expect(ctKernelOf({ ConvolutionKernel: ['Br40', '2'] })).toBe('siemens-d45f');
    expect(ctKernelOf({ ConvolutionKernel: 'FC13' })).toBe('standard');
  });
});
