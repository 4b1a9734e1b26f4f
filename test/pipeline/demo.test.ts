/** The demo (`npm start`) end to end on a small phantom, and the shipped models on the fixtures. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/index.js';
import { listModelNames } from '../../src/models/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { formatDemoTable, runDemo } from '../../src/pipeline/demo.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function middleSliceNoise(dir: string): Promise<number> {
  const { series } = await scanPaths([dir]);
  const only = series[0]!;
  return estimateNoise(await readSliceImage(only, Math.floor(only.slices.length / 2)), { valueRange: SOFT_TISSUE_HU }).std;
}

describe('lowdose demo', () => {
  it('writes phantom, full- and low-dose scans and denoised series, and tabulates them against full dose', async () => {
    const result = await runDemo({ outDir: join(root, 'demo'), size: 96, slices: 2, model: MODEL, device: 'cpu' });
    expect(result.rows.map((r) => r.name)).toEqual([
      'low-dose input (25 %)',
      'gaussian',
      'diffusion bench-conv (4 steps)',
      'full-dose reference',
    ]);
    const [input, , , reference] = result.rows;
    expect(input!.psnr).toBeGreaterThan(10);
    // The simulated 25 % scan is noisier than the full-dose one (about 2x the noise SD).
    expect(input!.noise).toBeGreaterThan(1.3 * reference!.noise);
    const table = formatDemoTable(result);
    expect(table.split('\n')).toHaveLength(5);
    expect(table).toMatch(/PSNR dB\s+SSIM\s+noise HU\s+ms\/slice\s+device/);
  });
});

describe('the shipped models', () => {
  it('ship a CT and a PET model whose cards match their graphs', async () => {
    expect(await listModelNames()).toEqual(expect.arrayContaining(['lowdose-ct', 'lowdose-pet']));
  });

  it('run on the 25 % dose fixtures with default settings, and the CT model lowers the noise', async () => {
    const ct = await denoisePaths([fixture('body/dose25')], { outDir: join(root, 'ct'), device: 'cpu' });
    expect(ct.errors).toEqual([]);
    expect(ct.series[0]!.model).toBe('lowdose-ct');
    expect(await middleSliceNoise(ct.series[0]!.output.dir)).toBeLessThan(await middleSliceNoise(fixture('body/dose25')));
    const pet = await denoisePaths([fixture('iec/dose25')], { outDir: join(root, 'pet'), device: 'cpu' });
    expect(pet.errors).toEqual([]);
    expect(pet.series[0]!.model).toBe('lowdose-pet');
  });
});
