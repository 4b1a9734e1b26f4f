/**
 * Padding and out-of-field pixels through `lowdose denoise` and `simulate` on real padded slices:
 * GE ct-3slice (PixelPaddingValue -2000 = -3024 HU outside the reconstruction circle) and a
 * Toshiba slice that fills -2048 HU without declaring it. They come out with the input's stored
 * values and PixelPaddingValue, metrics leave them out, and the denoisers see a tissue-neutral fill
 * instead (src/padding.ts), so the field-of-view edge shows no artefact.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrameStoredValues, readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { fillPadding, paddingDistance, restorePadding, type PaddingFill } from '../../src/padding.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import type { DenoiseMethod, DenoiseReport } from '../../src/pipeline/types.js';
import { corpus, parse, storedValues, temporaryDirectory, type DataSet } from '../dicom-write/helpers.js';
import { runCli } from '../helpers/cli.js';

const GE = corpus('QIICR__dcmqi/data/segmentations/ct-3slice');
const TOSHIBA = corpus('cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/CT2_J2KR');
const root = temporaryDirectory('padding');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dicomFiles = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.dcm') && !e.parentPath.includes('previews'))
    .map((e) => join(e.parentPath, e.name));

/** Output files of one series folder, keyed by the SOPInstanceUID of the source slice. */
function bySource(dir: string): Map<string, DataSet> {
  return new Map(dicomFiles(dir).map((file) => {
    const ds = parse(file);
    return [ds.elements.x00082112!.items![0]!.dataSet!.string('x00081155')!, ds];
  }));
}

/** Checks every output slice against its source: padding's stored values and PixelPaddingValue. */
async function expectPaddingKept(inputs: string[], outputs: Map<string, DataSet>, fill: number, declared: boolean): Promise<void> {
  expect(outputs.size).toBe(inputs.length);
  for (const file of inputs) {
    const input = parse(file);
    const output = outputs.get(input.string('x00080018')!)!;
    // The source may be compressed: decoded by our reader; the output is read by dicom-parser alone.
    const before = (await decodeFrameStoredValues(file)).values;
    const after = storedValues(output);
    let padded = 0;
    let wrong = 0;
    for (let i = 0; i < before.length; i++) {
      if (before[i] === fill) {
        padded++;
        if (after[i] !== fill) wrong++;
      } else if (after[i] === fill) {
        wrong++; // an image pixel that a reader would now take for padding
      }
    }
    expect(padded).toBeGreaterThan(55_000);
    expect(wrong).toBe(0);
    const slope = output.floatString('x00281053')!;
    const intercept = output.floatString('x00281052')!;
    expect(fill * slope + intercept).toBe(fill * (input.floatString('x00281053') ?? 1) + (input.floatString('x00281052') ?? 0));
    if (declared) expect(output.int16('x00280120')).toBe(input.int16('x00280120'));
    else expect(output.elements.x00280120).toBeUndefined();
  }
}

/** Mean over slices of the RMSE over the pixels that are not padding, from the files alone. */
function rmseOutsidePadding(inputs: string[], outputs: Map<string, DataSet>, fill: number): number {
  let total = 0;
  for (const file of inputs) {
    let sum = 0;
    let n = 0;
    const input = parse(file);
    const output = outputs.get(input.string('x00080018')!)!;
    const a = storedValues(input);
    const b = storedValues(output);
    const [sa, ia] = [input.floatString('x00281053') ?? 1, input.floatString('x00281052') ?? 0];
    const [sb, ib] = [output.floatString('x00281053')!, output.floatString('x00281052')!];
    for (let i = 0; i < a.length; i++) {
      if (a[i] === fill) continue;
      sum += (a[i]! * sa + ia - (b[i]! * sb + ib)) ** 2;
      n++;
    }
    total += Math.sqrt(sum / n);
  }
  return total / inputs.length;
}

describe('padding through lowdose denoise', () => {
  const geInputs = dicomFiles(GE);

  it.each(['gaussian', 'diffusion'])(
    '%s: every padded pixel keeps its stored value and PixelPaddingValue, and metrics against the input leave padding out',
    async (method) => {
      const out = join(root, `ge-${method}`);
      const { code, stdout } = await runCli(
        'denoise', GE, '-o', out, '--method', method, '--device', 'cpu', '--reference', GE, '--json', '--no-progress',
      );
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as DenoiseReport;
      const entry = report.series[0]!;
      if (method === 'diffusion') expect(entry.model).toBe('lowdose-ct');
      const outputs = bySource(entry.output.dir);
      await expectPaddingKept(geInputs, outputs, -2000, true);

      // Against the input itself: padding identical, so only the denoising counts (889 HU when
      // padding was written as -1100 HU and scored).
      const direct = rmseOutsidePadding(geInputs, outputs, -2000);
      expect(direct).toBeLessThan(40);
      expect(entry.metrics!.rmse).toBeCloseTo(direct, 1);
      expect(entry.metrics!.input!.rmse).toBe(0);
      const metrics = await runCli('metrics', '--reference', GE, '--test', entry.output.dir, '--json');
      expect(metrics.code).toBe(0);
      expect(JSON.parse(metrics.stdout).mean.rmse).toBeCloseTo(direct, 6);
    },
  );

  it('keeps padding in the uncertainty series of an ensemble', async () => {
    const out = join(root, 'ge-ensemble');
    const { code, stdout } = await runCli('denoise', GE, '-o', out, '--device', 'cpu', '--samples', '2', '--json', '--no-progress');
    expect(code).toBe(0);
    const entry = (JSON.parse(stdout) as DenoiseReport).series[0]!;
    await expectPaddingKept(geInputs, bySource(entry.uncertainty!.dir), -2000, true);
  });

  it('passes undeclared out-of-field fill through with its stored values and declares nothing new', async () => {
    const out = join(root, 'toshiba');
    const { code, stdout } = await runCli('denoise', TOSHIBA, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
    expect(code).toBe(0);
    await expectPaddingKept([TOSHIBA], bySource((JSON.parse(stdout) as DenoiseReport).series[0]!.output.dir), -2048, false);
  });
});

describe('padding through lowdose simulate', () => {
  it('keeps the padding stored values and PixelPaddingValue of the low-dose copy', async () => {
    const out = join(root, 'simulate');
    const file = join(GE, '01.dcm');
    const { code } = await runCli('simulate', file, '--dose', '0.25', '-o', out, '--seed', '1', '--i0', '200000', '--workers', '1', '--json');
    expect(code).toBe(0);
    await expectPaddingKept([file], bySource(out), -2000, true);
  });
});

/**
 * The ring of valid pixels along the field-of-view edge, denoised with a field shrunk to a circle
 * of 225 px (outside set to -3024 HU and marked as padding) against the same slice denoised as
 * scanned: a denoiser that saw the padding as tissue leaves its artefact there. Bounds: measured
 * values (scripts/dev/padding-fill.ts: nearest fill 1.2 / 24 HU mean / 99th percentile for the
 * Gaussian at its 0.35 mm CT default, unfilled 46.7 HU mean; 4.7 / 37 HU for the shipped model,
 * over the three slices) with room for another model. The Gaussian's bounds were 6 / 100 HU and
 * unfilled > 50 HU at the earlier 0.5 mm default (3.1 / 64 measured, unfilled 130): they shrink
 * with the kernel so that the check still separates filled from unfilled by a wide margin.
 */
describe('no artefact at the field-of-view edge', () => {
  const cases: Array<[DenoiseMethod, { mean: number; p99: number }, { mean: number }]> = [
    ['gaussian', { mean: 3, p99: 50 }, { mean: 30 }],
    ['diffusion', { mean: 8, p99: 60 }, { mean: 10 }],
  ];
  it.each(cases)('%s: the ring 1-3 px from the padding stays within %o of the unpadded result', async (method, bound, unfilled) => {
    const { series } = await scanPaths([GE]);
    const only: Series = series[0]!;
    const denoiser = await createSliceDenoiser('CT', { outDir: root, method, device: 'cpu', seed: 0 }, () => {});
    try {
      await denoiser.prepare(only);
      const image = await readSliceImage(only, 0);
      const { rows, columns } = image;
      const run = async (data: Float32Array, padding: Uint8Array | null | undefined, fill: PaddingFill | null) =>
        restorePadding(
          (await denoiser.denoise([{ index: 0, image: fill ? fillPadding(data, padding, rows, columns, fill) : data }])).denoised[0]!,
          data,
          padding,
        );
      const scanned = await run(image.data, image.padding, { kind: 'nearest' });
      const padding = Uint8Array.from(image.data, (_, i) =>
        image.padding![i] || Math.hypot(Math.floor(i / columns) - (rows - 1) / 2, (i % columns) - (columns - 1) / 2) > 225 ? 1 : 0,
      );
      const padded = Float32Array.from(image.data, (v, i) => (padding[i] ? -3024 : v));
      const distance = paddingDistance(padding, rows, columns);
      const ring = (out: Float32Array) => {
        const d: number[] = [];
        for (let i = 0; i < out.length; i++) if (distance[i]! >= 1 && distance[i]! <= 3) d.push(Math.abs(out[i]! - scanned[i]!));
        d.sort((a, b) => a - b);
        return { mean: d.reduce((a, b) => a + b, 0) / d.length, p99: d[Math.floor(0.99 * (d.length - 1))]! };
      };
      const filled = ring(await run(padded, padding, { kind: 'nearest' }));
      expect(filled.mean).toBeLessThan(bound.mean);
      expect(filled.p99).toBeLessThan(bound.p99);
      // The same slice handed over with its padding as tissue fails the bound.
      expect(ring(await run(padded, padding, null)).mean).toBeGreaterThan(unfilled.mean);
    } finally {
      await denoiser.release();
    }
  });
});

describe('padding fill', () => {
  const rows = 3;
  const columns = 4;
  const data = Float32Array.from([-3024, 10, 20, -3024, -3024, 30, 40, -3024, -3024, -3024, -3024, -3024]);
  const padding = Uint8Array.from(data, (v) => (v === -3024 ? 1 : 0));

  it('copies a nearest valid value into padding, or a constant, and restores the input after', () => {
    // Breadth-first from the valid pixels in scan order: ties go to the first one reached.
    expect(Array.from(fillPadding(data, padding, rows, columns))).toEqual([10, 10, 20, 20, 10, 30, 40, 20, 30, 30, 30, 40]);
    expect(Array.from(fillPadding(data, padding, rows, columns, { kind: 'constant', value: -1000 }))).toEqual(
      Array.from(data, (v) => (v === -3024 ? -1000 : v)),
    );
    expect(fillPadding(data, null, rows, columns)).toBe(data);
    const out = new Float32Array(data.length).fill(5);
    expect(Array.from(restorePadding(out, data, padding))).toEqual(Array.from(data, (v) => (v === -3024 ? v : 5)));
    expect(Array.from(paddingDistance(padding, rows, columns))).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  });
});
