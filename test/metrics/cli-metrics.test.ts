import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseRange, parseRegion } from '../../src/cli/commands/metrics.js';
import { main } from '../../src/cli/main.js';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { centredOrigin, writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { Volume } from '../../src/image.js';
import { compareSeries, compareSlices } from '../../src/metrics/compare.js';
import { patientOutline } from '../../src/metrics/patient-outline.js';
import { CT_RANGE, maxValue } from '../../src/metrics/range.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import { loadQaConfig, runQa } from '../../src/qa/index.js';
import { bodyOutline } from '../../src/simulate/mu-map.js';
import { borderConnectedFill } from '../../src/util/border-connected.js';
import { Rng } from '../../src/util/random.js';
import { piecewiseBody } from './synthetic.js';

const CT_3SLICE = path.resolve(import.meta.dirname, '../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const MAYO_L192_B30F = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L192/B30f');
const IEC = path.resolve(import.meta.dirname, '../../fixtures/iec');

let root: string;
const size = 48;
const spacing: [number, number, number] = [0.8, 0.8, 2.5];

/** Three CT slices of a piecewise body, optionally with seeded noise. */
function ctVolume(noise: number, seed: number, slices = 3): Volume {
  const rng = new Rng(seed);
  const base = piecewiseBody(size, spacing[0]).data;
  return {
    modality: 'CT',
    units: 'HU',
    rows: size,
    columns: size,
    slices: Array.from({ length: slices }, (_, k) => base.map((v) => v + 10 * k + noise * rng.normal())),
    spacing,
    description: 'metrics cli test',
  };
}

/** Two PET slices in Bq/ml with SUV-able headers. */
function petVolume(noise: number, seed: number): Volume {
  const rng = new Rng(seed);
  const base = Float32Array.from(piecewiseBody(size, 4).data, (v) => (v > -500 ? 5000 + Math.max(0, v) * 20 : 0));
  return {
    modality: 'PT',
    units: 'BQML',
    rows: size,
    columns: size,
    slices: [0, 1].map(() => base.map((v) => Math.max(0, v + noise * rng.normal()))),
    spacing: [4, 4, 4],
    description: 'metrics cli pet',
    pet: {
      injectedDoseBq: 3.7e8,
      halfLifeSeconds: 6586.2,
      patientWeightKg: 75,
      radionuclide: '^18^Fluorine',
      injectionTime: '090000.00',
      seriesTime: '100000.00',
    },
  };
}

async function write(volume: Volume, name: string, origin?: [number, number, number]): Promise<string> {
  const dir = path.join(root, name);
  await writeVolumeSeries(volume, dir, { uidSeed: name, ...(origin ? { origin } : {}) });
  return dir;
}

/** The scores computed straight from the slices as read back, for comparison with the command. */
async function expectedScores(referenceDir: string, testDir: string, range: [number, number], testOffset = 0) {
  return compareSeries(await readPairs(referenceDir, testDir, testOffset), range);
}

/** The slice pairs of two series as read back, test slice t against reference slice t + testOffset. */
async function readPairs(referenceDir: string, testDir: string, testOffset = 0) {
  const [reference] = (await scanPaths([referenceDir])).series;
  const [test] = (await scanPaths([testDir])).series;
  const pairs = [];
  for (let t = 0; t < test!.slices.length; t++) {
    pairs.push({ index: t + testOffset, reference: await readSliceImage(reference!, t + testOffset), test: await readSliceImage(test!, t) });
  }
  return pairs;
}

/** Runs the CLI, returning its exit code, stdout and stderr. */
async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await main(['node', 'lowdose', 'metrics', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-metrics-'));
  await write(ctVolume(0, 1), 'ref');
  await write(ctVolume(20, 2), 'noisy');
  await write(petVolume(0, 1), 'pet-ref');
  await write(petVolume(1000, 2), 'pet-test');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe('lowdose metrics', () => {
  it('scores a noisy CT series against its reference slice by slice in [-1000, 1000] HU', async () => {
    const reference = path.join(root, 'ref');
    const test = path.join(root, 'noisy');
    const { result, exitCode } = await runMetrics({ reference, test });
    expect(exitCode).toBe(0);
    expect(result.matchedBy).toBe('position');
    expect(result.units).toBe('HU');
    const expected = await expectedScores(reference, test, [-1000, 1000]);
    expect(result.range).toEqual([-1000, 1000]);
    expect(result.slices).toEqual(expected.slices);
    expect(result.mean).toEqual(expected.mean);
    // Noise SD 20 HU: RMSE near 20 and PSNR near 20 log10(2000 / 20) = 40 dB.
    expect(result.mean.rmse).toBeGreaterThan(18);
    expect(result.mean.rmse).toBeLessThan(22);
    expect(result.mean.psnr!).toBeGreaterThan(39);
    expect(result.mean.psnr!).toBeLessThan(41.5);
  });

  it('matches a partial test series by slice position and honours --range', async () => {
    const reference = path.join(root, 'ref');
    // Slices 1 and 2 of the volume, written with the positions they have in the reference.
    const full = ctVolume(20, 3);
    const partial: Volume = { ...full, slices: full.slices.slice(1) };
    const origin: [number, number, number] = [(-(size - 1) / 2) * 0.8, (-(size - 1) / 2) * 0.8, 0];
    const test = await write(partial, 'partial', origin);
    const { result, exitCode } = await runMetrics({ reference, test, range: [-160, 240] });
    expect(exitCode).toBe(0);
    expect(result.matchedBy).toBe('position');
    expect(result.slices.map((s) => s.index)).toEqual([1, 2]);
    expect(result.range).toEqual([-160, 240]);
    const expected = await expectedScores(reference, test, [-160, 240], 1);
    expect(result.slices).toEqual(expected.slices);
  });

  it('falls back to matching by order when no positions coincide', async () => {
    const reference = path.join(root, 'ref');
    const test = await write(ctVolume(5, 4), 'shifted', [0, 0, 500]);
    const messages: string[] = [];
    const { result } = await runMetrics({ reference, test, progress: (m) => messages.push(m) });
    expect(result.matchedBy).toBe('order');
    // Both carry positions and none coincide: paired by order as the contract says, with a warning.
    expect(messages.join('\n')).toMatch(/warning: no test slice lies at a reference slice position .*paired by order/);
    expect(result.slices.map((s) => s.index)).toEqual([0, 1, 2]);
  });

  describe('pixel by pixel only on one pixel grid', () => {
    // The reference's first pixel: write() centres a volume on the origin.
    const referenceOrigin = (): [number, number, number] => centredOrigin(ctVolume(0, 1));

    it('refuses a test series at the same slice positions and first pixel but with 0.9 mm pixels instead of 0.8 (exit 2)', async () => {
      const coarse: Volume = { ...ctVolume(5, 5), spacing: [0.9, 0.9, spacing[2]] };
      const test = await write(coarse, 'coarse-pixels', referenceOrigin());
      await expect(runMetrics({ reference: path.join(root, 'ref'), test })).rejects.toMatchObject({
        code: 'E_USAGE',
        message: expect.stringMatching(/not on one pixel grid \(pixel spacing 0\.800 x 0\.800 mm against 0\.900 x 0\.900 mm\)/),
      });
      const run = await runCli('--reference', path.join(root, 'ref'), '--test', test, '--json');
      expect(run.code).toBe(2);
    });

    it('refuses a test series shifted by half a pixel in-plane, which still pairs by position', async () => {
      const [x, y, z] = referenceOrigin();
      const test = await write(ctVolume(5, 6), 'half-pixel', [x + 0.4, y, z]);
      await expect(runMetrics({ reference: path.join(root, 'ref'), test })).rejects.toMatchObject({
        message: expect.stringMatching(/in-plane origins \(ImagePositionPatient\) differ by 0\.50 pixels/),
      });
    });

    it('scores a test series whose first pixel lies 0.05 pixel from the reference one', async () => {
      const [x, y, z] = referenceOrigin();
      const test = await write(ctVolume(5, 7), 'rounding-shift', [x + 0.04, y, z]);
      const { result, exitCode } = await runMetrics({ reference: path.join(root, 'ref'), test });
      expect(exitCode).toBe(0);
      expect(result.matchedBy).toBe('position');
    });
  });

  it('uses [0, max of the reference] for PET in SUV', async () => {
    const reference = path.join(root, 'pet-ref');
    const test = path.join(root, 'pet-test');
    const { result, exitCode } = await runMetrics({ reference, test });
    expect(exitCode).toBe(0);
    expect(result.units).toBe('SUVbw');
    const [series] = (await scanPaths([reference])).series;
    const max = maxValue([(await readSliceImage(series!, 0)).data, (await readSliceImage(series!, 1)).data]);
    expect(result.range).toEqual([0, max]);
    expect(max).toBeGreaterThan(1);
    expect(max).toBeLessThan(50);
  });

  it('gives psnr null for identical slices of a real CT series', async () => {
    const { result } = await runMetrics({ reference: CT_3SLICE, test: CT_3SLICE });
    expect(result.slices).toHaveLength(3);
    for (const s of result.slices) expect(s).toMatchObject({ psnr: null, ssim: 1, rmse: 0 });
    expect(result.mean.psnr).toBeNull();
  });

  it("says in the text mean row when it averages only the finite PSNRs (an identical slice's is inf); JSON keeps its shape", async () => {
    // Slice 1 identical to the reference (PSNR inf), slices 0 and 2 noisy.
    const clean = ctVolume(0, 1);
    const noisy = ctVolume(20, 2);
    const mixed = await write({ ...noisy, slices: [noisy.slices[0]!, clean.slices[1]!, noisy.slices[2]!] }, 'mixed');
    const text = await runCli('--reference', path.join(root, 'ref'), '--test', mixed);
    expect(text.code).toBe(0);
    const json = JSON.parse((await runCli('--reference', path.join(root, 'ref'), '--test', mixed, '--json')).stdout);
    expect(json.slices.map((s: { psnr: number | null }) => s.psnr === null)).toEqual([false, true, false]);
    expect(json.mean.psnr).toBeCloseTo((json.slices[0].psnr + json.slices[2].psnr) / 2, 9);
    expect(Object.keys(json.mean).sort()).toEqual(['psnr', 'rmse', 'ssim']);
    const meanRow = text.stdout.split('\n').find((line) => line.trimStart().startsWith('mean'))!;
    expect(meanRow).toContain(json.mean.psnr.toFixed(3));
    expect(meanRow).toMatch(/\(PSNR: mean of 2 finite of 3\)$/);
    // All finite, or all inf (the mean is inf, as printed): nothing to say.
    const allNoisy = await runCli('--reference', path.join(root, 'ref'), '--test', path.join(root, 'noisy'));
    const allSame = await runCli('--reference', path.join(root, 'ref'), '--test', path.join(root, 'ref'));
    for (const run of [allNoisy, allSame]) expect(run.stdout).not.toMatch(/finite of/);
    expect(allSame.stdout).toMatch(/ mean +inf /);
    // The RMSE column names its units (the modality's), not a bare "RMSE".
    expect(text.stdout).toMatch(/^slice +PSNR dB +SSIM +RMSE HU$/m);
  });

  it('scores what it can and exits 1 when a test file is unreadable', async () => {
    const broken = path.join(root, 'broken');
    cpSync(path.join(root, 'noisy'), broken, { recursive: true });
    const victim = path.join(broken, readdirSync(broken).sort()[1]!);
    const bytes = readFileSync(victim);
    writeFileSync(victim, bytes.subarray(0, bytes.length - 1000));
    const { result, exitCode } = await runMetrics({ reference: path.join(root, 'ref'), test: broken });
    expect(exitCode).toBe(1);
    expect(result.errors.map((e) => e.path)).toContain(victim);
    expect(result.slices).toHaveLength(2);
  });

  it('prints only the CONTRACT JSON on stdout with --json and exits 0', async () => {
    const chunks: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      chunks.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await main(['node', 'lowdose', 'metrics', '--reference', path.join(root, 'ref'), '--test', path.join(root, 'noisy'), '--json']);
    expect(code).toBe(0);
    const json = JSON.parse(chunks.join(''));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['slices', 'mean', 'range']));
    expect(Object.keys(json.slices[0]).sort()).toEqual(['index', 'psnr', 'rmse', 'ssim']);
    expect(Object.keys(json.mean).sort()).toEqual(['psnr', 'rmse', 'ssim']);
  });

  it('exits 2 on bad usage and unusable input', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const ref = path.join(root, 'ref');
    const run = (...args: string[]) => main(['node', 'lowdose', 'metrics', ...args]);
    expect(await run('--reference', ref)).toBe(2);
    expect(await run('--reference', ref, '--test', path.join(root, 'does-not-exist'))).toBe(2);
    expect(await run('--reference', ref, '--test', ref, '--range', '5')).toBe(2);
    // Different grid, different modality, a folder of two series.
    expect(await run('--reference', ref, '--test', CT_3SLICE)).toBe(2);
    expect(await run('--reference', ref, '--test', path.join(root, 'pet-ref'))).toBe(2);
    expect(await run('--reference', root, '--test', ref)).toBe(2);
  });

  it('--lesions on CT gives the difference in HU and no recovery ratio (0 HU is water: a ratio of HU means nothing)', async () => {
    const file = path.join(root, 'ct-lesions.json');
    writeFileSync(file, JSON.stringify({ lesions: [{ name: 'centre', centre: [0, 0, 0], radius: 6 }] }));
    const { result } = await runMetrics({ reference: path.join(root, 'ref'), test: path.join(root, 'noisy'), lesions: [{ name: 'centre', centre: [0, 0, 0], radius: 6 }] });
    const lesion = result.lesions![0]!;
    expect(lesion.recovery).toEqual({ mean: null, max: null, peak: null });
    for (const key of ['mean', 'max', 'peak'] as const) expect(lesion.difference[key]).toBeCloseTo(lesion.test[key] - lesion.reference[key], 12);
    const run = await runCli('--reference', path.join(root, 'ref'), '--test', path.join(root, 'noisy'), '--lesions', file);
    expect(run.code).toBe(0);
    const d = lesion.difference.mean;
    expect(run.stdout).toMatch(/HUmean ref -> test \(diff\)/);
    expect(run.stdout).toContain(`(${d >= 0 ? '+' : ''}${Math.abs(d) < 0.1 ? d.toPrecision(4) : d.toFixed(3)})`);
  });

  it('--lesions adds SUVmean / SUVmax / SUVpeak per lesion and their recovery, the numbers qa reports for the same spheres', async () => {
    const iec = path.resolve(import.meta.dirname, '../../fixtures/iec');
    const geometry = JSON.parse(readFileSync(path.join(iec, 'fixture.json'), 'utf8')).geometry as { spheres: { diameter: number; centre: number[] }[] };
    const file = path.join(root, 'iec-lesions.json');
    writeFileSync(file, JSON.stringify({ lesions: geometry.spheres.map((s) => ({ name: `${s.diameter}mm`, centre: s.centre, radius: s.diameter / 2 })) }));
    const chunks: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      chunks.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const args = ['node', 'lowdose', 'metrics', '--reference', path.join(iec, 'dose100'), '--test', path.join(iec, 'dose25'), '--lesions', file];
    expect(await main([...args, '--json'])).toBe(0);
    const json = JSON.parse(chunks.join(''));
    // CONTRACT fields unchanged, `lesions` added.
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['slices', 'mean', 'range', 'lesions']));
    expect(json.lesions.map((l: { name: string }) => l.name)).toEqual(geometry.spheres.map((s) => `${s.diameter}mm`));
    const big = json.lesions.find((l: { name: string }) => l.name === '37mm');
    expect(Object.keys(big).sort()).toEqual(['centre', 'difference', 'name', 'radius', 'recovery', 'reference', 'test']);
    expect(Object.keys(big.test).sort()).toEqual(['max', 'mean', 'peak', 'peakCentre', 'peakSphereCut', 'voxels']);
    expect(big.recovery.mean).toBeCloseTo(big.test.mean / big.reference.mean, 12);
    expect(big.difference.mean).toBeCloseTo(big.test.mean - big.reference.mean, 12);
    // SUVmax >= SUVpeak, and the 37 mm sphere's peak (a 12 mm sphere inside it) >= its mean.
    for (const l of json.lesions) expect(l.test.max).toBeGreaterThanOrEqual(l.test.peak);
    expect(big.reference.peak).toBeGreaterThan(big.reference.mean);

    // qa measures the same spheres with the same code: its input / full-dose SUVmean and peaks agree.
    // The committed series alone: with all realisations, measured.input / full are their means.
    const qa = await runQa({ config: loadQaConfig(), outDir: path.join(root, 'qa-iec'), phantoms: ['iec'], doses: [0.25], realisations: 1, denoise: { method: 'gaussian' } });
    for (const l of json.lesions.filter((x: { radius: number }) => x.radius >= 8.5)) {
      const check = qa.checks.find((c) => c.name === `iec/dose25/suvmean-bias/${l.name}`)!;
      expect(check.measured.input).toBeCloseTo(l.test.mean, 10);
      expect(check.measured.full).toBeCloseTo(l.reference.mean, 10);
      expect(check.measured.inputPeak).toBeCloseTo(l.test.peak, 10);
    }

    chunks.length = 0;
    expect(await main(args)).toBe(0);
    expect(chunks.join('')).toMatch(/37mm\s+556\s+3\.570 -> 3\.500 \(0\.980\)/);
    writeFileSync(file, JSON.stringify({ lesions: [{ centre: [0, 0, 500], radius: 5 }] }));
    expect(await main(args)).toBe(2);
    writeFileSync(file, JSON.stringify({ lesions: [{ centre: [0, 0], radius: 5 }] }));
    expect(await main(args)).toBe(2);
  });

  it('refuses an unknown --region with exit 2 (E_USAGE) before reading any image', async () => {
    const ref = path.join(root, 'ref');
    const run = await runCli('--reference', ref, '--test', ref, '--region', 'body');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--region must be field or patient, got "body".*E_USAGE/);
    expect(parseRegion('field')).toBe('field');
    expect(parseRegion('patient')).toBe('patient');
    for (const bad of ['', 'Patient', 'body', 'field,patient']) expect(() => parseRegion(bad)).toThrow(/--region/);
  });

  it('--region patient refuses a series whose reference shows no patient (exit 2)', async () => {
    const air: Volume = { ...ctVolume(0, 1), slices: [0, 1, 2].map(() => new Float32Array(size * size).fill(-1000)) };
    const reference = await write(air, 'air');
    await expect(runMetrics({ reference, test: reference, region: 'patient' })).rejects.toMatchObject({ code: 'E_USAGE' });
    const run = await runCli('--reference', reference, '--test', reference, '--region', 'patient');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no reference slice shows a patient outline/);
  });

  it('--region patient on PET scores inside the IEC phantom and leaves out the air around it', async () => {
    const reference = path.join(IEC, 'dose100');
    const test = path.join(IEC, 'dose25');
    const field = (await runMetrics({ reference, test })).result;
    const { result, exitCode } = await runMetrics({ reference, test, region: 'patient' });
    expect(exitCode).toBe(0);
    expect(result.region).toBe('patient');
    expect(result.units).toBe('SUVbw');
    expect(result.range).toEqual(field.range);
    const pairs = await readPairs(reference, test);
    const outlines = pairs.map((p) => bodyOutline(p.reference.data, p.reference.rows, p.reference.columns));
    // The body outline of the reference slice in SUV, scored with compareSlices directly.
    const expected = compareSeries(
      pairs.map((p, k) => ({ ...p, valid: outlines[k]! })),
      field.range,
    );
    expect(result.slices).toEqual(expected.slices);
    expect(result.mean).toEqual(expected.mean);
    // The outline holds the whole phantom (the noise-free truth > 0, its cold lung insert filled)
    // and nothing more than 3 pixels (8 mm) outside it: the air around the phantom is left out.
    const [truth] = (await scanPaths([path.join(IEC, 'truth')])).series;
    for (const [k, outline] of outlines.entries()) {
      const { rows, columns, data } = await readSliceImage(truth!, k);
      const phantom = borderConnectedFill(rows, columns, (i) => !(data[i]! > 0)).mask.map((outside) => (outside ? 0 : 1));
      let inPhantom = 0;
      for (let i = 0; i < phantom.length; i++) {
        if (phantom[i]) {
          inPhantom++;
          expect(outline[i], `slice ${k} pixel ${i} of the phantom`).toBe(1);
        }
        if (!outline[i]) continue;
        const r = Math.floor(i / columns);
        const c = i % columns;
        let near = false;
        for (let dr = -3; dr <= 3 && !near; dr++) for (let dc = -3; dc <= 3 && !near; dc++) near = phantom[(r + dr) * columns + c + dc] === 1;
        expect(near, `slice ${k} pixel ${i} of the outline lies more than 3 pixels from the phantom`).toBe(true);
      }
      expect(inPhantom).toBeLessThan(0.6 * rows * columns);
    }
    expect(result.mean.psnr!).not.toBeCloseTo(field.mean.psnr!, 1);
  });

  it('parses --range', () => {
    expect(parseRange('-1000,1000')).toEqual([-1000, 1000]);
    expect(parseRange(' 0 , 7.5 ')).toEqual([0, 7.5]);
    for (const bad of ['5', '5,5', '10,0', 'a,b', ',3', '1,2,3']) expect(() => parseRange(bad)).toThrow(/--range/);
  });
});

describe.runIf(existsSync(MAYO_L192_B30F))('lowdose metrics --region on a real quarter-dose pair (ldct-mayo L192 B30f)', () => {
  const reference = path.join(MAYO_L192_B30F, 'full');
  const test = path.join(MAYO_L192_B30F, 'quarter');

  it('keeps the default over the field: the numbers it gave before --region existed, with region "field"', async () => {
    const { result } = await runMetrics({ reference, test });
    expect(result.region).toBe('field');
    expect(result).toEqual((await runMetrics({ reference, test, region: 'field' })).result);
    const expected = compareSeries(await readPairs(reference, test), CT_RANGE);
    expect(result.slices).toEqual(expected.slices);
    expect(result.mean).toEqual(expected.mean);
    // `node bin/lowdose.js metrics --reference .../L192/B30f/full --test .../quarter --json` before --region.
    expect(result.mean.psnr).toBeCloseTo(40.31943375414237, 10);
    expect(result.mean.ssim).toBeCloseTo(0.9378012100724096, 12);
  });

  it('--region patient scores only the pixels inside the full-dose patient outline, so the quarter-dose PSNR is lower', async () => {
    const run = await runCli('--reference', reference, '--test', test, '--region', 'patient', '--json');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.region).toBe('patient');
    const field = JSON.parse((await runCli('--reference', reference, '--test', test, '--json')).stdout);
    expect(field.region).toBe('field');
    const pairs = await readPairs(reference, test);
    expect(json.slices).toHaveLength(pairs.length);
    for (const [k, p] of pairs.entries()) {
      const outline = patientOutline(p.reference);
      // The outline is a proper part of the field: the air around the patient is left out.
      const inside = outline.reduce((n, v) => n + v, 0);
      expect(inside).toBeGreaterThan(0.3 * outline.length);
      expect(inside).toBeLessThan(0.8 * outline.length);
      const direct = compareSlices(p.reference, p.test, CT_RANGE, outline);
      expect(json.slices[k]).toEqual({ index: p.index, psnr: direct.psnr, ssim: direct.ssim, rmse: direct.rmse });
      expect(json.slices[k].psnr).toBeLessThan(field.slices[k].psnr);
    }
    expect(json.mean.psnr).toBeLessThan(field.mean.psnr - 1);
    expect(json.mean.ssim).toBeLessThan(field.mean.ssim);
    expect(json.mean.rmse).toBeGreaterThan(field.mean.rmse);
    const human = await runCli('--reference', reference, '--test', test, '--region', 'patient');
    expect(human.stdout).toMatch(/inside the patient outline of the reference/);
  });
});
