/**
 * Slices pair only with the section at their own place, also in a series whose gaps are
 * irregular. The real AAPM-Mayo L143 B30f slices (../shared/ldct-mayo, read in place) lie at
 * -488.9, -388.9, -348.9, -312.9, -250.9, -64.9 and -58.9 mm: a median spacing of 51 mm, but the
 * last two 6 mm apart. A test series without the last slice (a partial denoise) had its
 * reference slice at -58.9 mm paired with the test's slice at -64.9 mm, a quarter of the median
 * (12.75 mm) counting as "the same position": `lowdose metrics` printed 7 pairs for a 6-slice test,
 * that extra pair read 22.98 dB (the true pairs 35 to 41 dB) and the mean PSNR 35.64 dB instead
 * of 37.75; `denoise --reference` scored the same extra pair.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orientation, Series, Vec3 } from '../../src/dicom/index.js';
import { pairSlices } from '../../src/metrics/slice-pairing.js';
import { runMetrics, type MetricsResult } from '../../src/pipeline/metrics.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];

/** An axial stack at the given z positions, its spacing[2] the median gap (as buildSeries gives it). */
function stackAt(z: readonly number[], medianSpacing: number, frame: string | null = '2.25.1'): Series {
  return {
    rows: 64,
    columns: 64,
    spacing: [0.8, 0.8, medianSpacing],
    orientation: AXIAL,
    frameOfReferenceUid: frame,
    slices: z.map((v) => ({ position: [-25, -25, v] as Vec3 })),
  } as unknown as Series;
}

describe('pairSlices on a series with irregular gaps', () => {
  it('leaves a reference slice unpaired when the test lacks its section and has a neighbour closer than a quarter of the median spacing', () => {
    // Gaps 40, 40, 6: median 40, so a quarter of it (10 mm) would reach the section 6 mm away.
    const reference = stackAt([0, 40, 80, 86], 40);
    for (const frame of ['2.25.1', '2.25.2']) {
      // Within one frame (along the normal) and across frames (whole positions) alike.
      expect(pairSlices(reference, stackAt([0, 40, 80], 40, frame)).pairs).toEqual([
        [0, 0],
        [1, 1],
        [2, 2],
        [3, -1],
      ]);
    }
    // The test's own small gap counts too: its sections 68 and 74 mm are 6 mm apart, so 74 is not the reference's 80.
    expect(pairSlices(stackAt([0, 40, 80], 40), stackAt([0, 40, 68, 74], 34)).pairs).toEqual([
      [0, 0],
      [1, 1],
      [2, -1],
    ]);
  });

  it('still pairs sections within a quarter of the smallest gap (a position written to fewer decimals)', () => {
    expect(pairSlices(stackAt([0, 40, 80, 86], 40), stackAt([0.4, 40, 80, 86.4], 40)).pairs).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });
});

const MAYO = fileURLToPath(new URL('../../../shared/ldct-mayo/L143/B30f/', import.meta.url));

describe.runIf(existsSync(MAYO))('a test series lacking one of the real L143 B30f slices', () => {
  let root: string;
  let partial: string;
  let whole: MetricsResult;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'lowdose-irregular-pairing-'));
    // quarter/000.IMA is the slice at -58.9 mm (files are named by rank of location).
    partial = join(root, 'quarter-without-000');
    mkdirSync(partial);
    for (const n of ['001', '002', '003', '004', '005', '006']) symlinkSync(join(MAYO, 'quarter', `${n}.IMA`), join(partial, `${n}.IMA`));
    whole = (await runMetrics({ reference: join(MAYO, 'full'), test: join(MAYO, 'quarter') })).result;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lowdose metrics scores the six pairs at one place each, with the numbers of the whole series', async () => {
    const { result } = await runMetrics({ reference: join(MAYO, 'full'), test: partial });
    expect(result.matchedBy).toBe('position');
    expect(result.slices.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.slices).toEqual(whole.slices.slice(0, 6));
    const meanPsnr = whole.slices.slice(0, 6).reduce((sum, s) => sum + s.psnr!, 0) / 6;
    expect(result.mean.psnr).toBeCloseTo(meanPsnr, 12);
  });

  it('denoise --reference scores the input against the same six reference slices', async () => {
    const run = await runCli('denoise', partial, '-o', join(root, 'out'), '--method', 'gaussian', '--reference', join(MAYO, 'full'), '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const metrics = (JSON.parse(run.stdout) as DenoiseReport).series[0]!.metrics!;
    const six = whole.slices.slice(0, 6);
    expect(metrics.input!.psnr).toBeCloseTo(six.reduce((sum, s) => sum + s.psnr!, 0) / 6, 10);
    expect(metrics.input!.rmse).toBeCloseTo(six.reduce((sum, s) => sum + s.rmse, 0) / 6, 10);
  });
});

describe('pairSlices on sparse slices thinner than their gaps', () => {
  it('pairs only sections within a quarter of the slice thickness, when that is less than the gaps', () => {
    // 3 mm thick slices 18 mm and more apart: a quarter of the gap (4.5 mm) would reach a section 4 mm away.
    const thin = (z: readonly number[], frame: string) => ({ ...stackAt(z, 40, frame), sliceThickness: 3 }) as Series;
    const reference = thin([0, 18, 60, 100], '2.25.1');
    const test = thin([4, 22, 60.5, 160], '2.25.2');
    expect(pairSlices(reference, test).pairs).toEqual([
      [0, -1],
      [1, -1],
      [2, 2],
      [3, -1],
    ]);
    // Without a thickness (a Series built without one) the gaps alone decide, as before.
    expect(pairSlices(stackAt([0, 18, 60, 100], 40, '2.25.1'), stackAt([4, 22, 60.5, 160], 40, '2.25.2')).pairs[0]).toEqual([0, 0]);
  });
});

const L192 = fileURLToPath(new URL('../../../shared/ldct-mayo/L192/', import.meta.url));

describe.runIf(existsSync(L192))('the real L192 B30f full dose against the D45f quarter dose', () => {
  // B30f slices at -476.6 ... -58.6 mm, D45f at -242.6 ... -82.6 mm, all 3 mm thick: none at one
  // place (the nearest, -206.6 and -202.6 mm, share no tissue), so there is nothing to score.
  it('lowdose metrics pairs no slices and exits 2, where it scored -206.6 mm against -202.6 mm as one place', async () => {
    const run = await runCli('metrics', '--reference', join(L192, 'B30f/full'), '--test', join(L192, 'D45f/quarter'), '--json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      errors: [{ path: null, code: 'E_USAGE', message: 'cannot match slices: no slice positions in common and the reference has 7 slices but the test 4' }],
    });
  });

  it('denoise --reference finds no matching reference and writes no metrics', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lowdose-thin-pairing-'));
    try {
      const run = await runCli('denoise', join(L192, 'D45f/quarter'), '-o', join(root, 'out'), '--method', 'gaussian', '--reference', join(L192, 'B30f/full'), '--json', '--no-progress');
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as DenoiseReport).series[0]!.metrics).toBeUndefined();
      expect(run.stderr).toMatch(/no reference series matches/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
