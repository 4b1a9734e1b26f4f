/**
 * A small CT study written for the server and viewer tests: a body phantom as the normal-dose
 * series, a noisy copy derived from it as the simulated low-dose series, and optionally a denoised
 * series, either by the real pipeline (report.json) or written by hand with derivation headers only.
 */
import path from 'node:path';
import { scanPaths, type Series } from '../../src/dicom/index.js';
import { readSliceImage } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateBody } from '../../src/phantoms/body/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { Rng } from '../../src/util/random.js';

export interface FixtureStudy {
  readonly root: string;
  readonly fullDoseDir: string;
  readonly lowDoseDir: string;
  readonly denoisedDir: string | null;
  readonly fullDose: Series;
  readonly lowDose: Series;
  readonly report: DenoiseReport | null;
}

export interface FixtureOptions {
  readonly size?: number;
  readonly slices?: number;
  /** 'pipeline': `denoisePaths` with non-local means; 'headers': a blurred copy with derivation headers; 'none'. */
  readonly denoised?: 'pipeline' | 'headers' | 'none';
  /** Low-dose noise, HU. */
  readonly noiseHu?: number;
}

export async function writeFixtureStudy(root: string, options: FixtureOptions = {}): Promise<FixtureStudy> {
  const size = options.size ?? 64;
  const { volume, origin } = generateBody({ size, slices: options.slices ?? 4, seed: 3 });
  const fullDoseDir = path.join(root, 'full-dose');
  await writeVolumeSeries(volume, fullDoseDir, {
    origin,
    uidSeed: `lowdose-server-test-${size}`,
    studyDescription: 'lowdose server test',
    patientName: 'DOE^JANE',
    patientId: 'SECRET-ID-123',
    seriesNumber: 1,
  });
  const fullDose = await onlySeries(fullDoseDir);

  const lowDoseDir = path.join(root, 'low-dose');
  const rng = new Rng(11);
  const low = createDerivedSeriesWriter(fullDose, {
    outDir: lowDoseDir,
    derivationDescription: 'lowdose simulate: CT noise insertion, dose 0.25, seed 11 (test fixture)',
    seriesDescriptionSuffix: ' simulated 25% dose',
    seriesNumber: 2,
  });
  const sigma = options.noiseHu ?? 60;
  for (let i = 0; i < fullDose.slices.length; i++) {
    const { data } = await readSliceImage(fullDose, i);
    const noisy = new Float32Array(data.length);
    for (let k = 0; k < data.length; k++) noisy[k] = data[k]! + sigma * rng.normal();
    await low.writeSlice(i, noisy);
  }
  const lowDose = await onlySeries(lowDoseDir);

  let denoisedDir: string | null = null;
  let report: DenoiseReport | null = null;
  if (options.denoised === 'pipeline' || options.denoised === undefined) {
    denoisedDir = path.join(root, 'denoised');
    report = await denoisePaths([lowDoseDir], { outDir: denoisedDir, method: 'nlm' });
  } else if (options.denoised === 'headers') {
    denoisedDir = path.join(root, 'denoised-by-hand');
    const writer = createDerivedSeriesWriter(lowDose, {
      outDir: denoisedDir,
      derivationDescription: 'lowdose gaussian filter: 3x3 box (test fixture)',
      seriesDescriptionSuffix: ' lowdose gaussian',
      seriesNumber: 3,
    });
    for (let i = 0; i < lowDose.slices.length; i++) {
      const image = await readSliceImage(lowDose, i);
      await writer.writeSlice(i, boxBlur(image.data, image.rows, image.columns));
    }
  }
  return { root, fullDoseDir, lowDoseDir, denoisedDir, fullDose, lowDose, report };
}

export async function onlySeries(dir: string): Promise<Series> {
  const scan = await scanPaths([dir]);
  if (scan.series.length !== 1) throw new Error(`${dir}: expected one series, found ${scan.series.length}`);
  return scan.series[0]!;
}

function boxBlur(data: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let sum = 0;
      let n = 0;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= rows || cc >= columns) continue;
          sum += data[rr * columns + cc]!;
          n++;
        }
      }
      out[r * columns + c] = sum / n;
    }
  }
  return out;
}
