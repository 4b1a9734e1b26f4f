/**
 * A small CT study written for the server and viewer tests: a body phantom as the normal-dose
 * series, a noisy copy derived from it as the simulated low-dose series, and optionally a denoised
 * series, either by the real pipeline (report.json) or written by hand with derivation headers only.
 *
 * The noisy copy is white Gaussian noise on the noise-free phantom unless `lowDose: 'physics'`:
 * fast and exact for testing the server, but not CT noise (a flat noise power spectrum, where a CT
 * scan's rises with frequency). On it non-local means beats the CT model (models/README.md, "Pixel
 * size and noise texture"), so a picture meant to show the methods takes 'physics': the body phantom
 * scanned by `lowdose simulate`'s CT physics at full and 25 % dose, as `lowdose demo` does.
 */
import path from 'node:path';
import { scanPaths, type Series } from '../../src/dicom/index.js';
import { readSliceImage } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateBody } from '../../src/phantoms/body/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { Rng } from '../../src/util/random.js';

export interface FixtureStudy {
  readonly root: string;
  readonly fullDoseDir: string;
  readonly lowDoseDir: string;
  /** The noise-free phantom (with white noise it is the full-dose series itself). */
  readonly truthDir: string;
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
  /** Low-dose noise, HU (white noise only). */
  readonly noiseHu?: number;
  /** 'white' (default): white Gaussian noise against the noise-free phantom; 'physics': `lowdose simulate` at 25 % dose against its full-dose scan. */
  readonly lowDose?: 'white' | 'physics';
}

export async function writeFixtureStudy(root: string, options: FixtureOptions = {}): Promise<FixtureStudy> {
  const { fullDoseDir, lowDoseDir, truthDir } = options.lowDose === 'physics' ? await scanPhantom(root, options) : await whiteNoiseStudy(root, options);
  const fullDose = await onlySeries(fullDoseDir);
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
  return { root, fullDoseDir, lowDoseDir, truthDir, denoisedDir, fullDose, lowDose, report };
}

async function whiteNoiseStudy(root: string, options: FixtureOptions): Promise<{ fullDoseDir: string; lowDoseDir: string; truthDir: string }> {
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
  const sigma = options.noiseHu ?? 60;
  const rng = new Rng(11);
  const low = createDerivedSeriesWriter(fullDose, {
    outDir: lowDoseDir,
    derivationDescription: `lowdose simulate: white Gaussian noise, SD ${sigma} HU, seed 11, not the CT physics (test fixture)`,
    seriesDescriptionSuffix: ` + white noise ${sigma} HU`,
    seriesNumber: 2,
  });
  for (let i = 0; i < fullDose.slices.length; i++) {
    const { data } = await readSliceImage(fullDose, i);
    const noisy = new Float32Array(data.length);
    for (let k = 0; k < data.length; k++) noisy[k] = data[k]! + sigma * rng.normal();
    await low.writeSlice(i, noisy);
  }
  return { fullDoseDir, lowDoseDir, truthDir: fullDoseDir };
}

/**
 * The body phantom scanned with the CT physics at full and 25 % dose. The phantom stays in the
 * study: the server pairs the two scans as twins through it (src/server/data/pairing.ts).
 */
async function scanPhantom(root: string, options: FixtureOptions): Promise<{ fullDoseDir: string; lowDoseDir: string; truthDir: string }> {
  const phantom = await runPhantom('body', { outDir: path.join(root, 'phantom'), size: options.size ?? 64, slices: options.slices ?? 4, seed: 3, uidSeed: `lowdose-server-test-physics-${options.size ?? 64}` });
  const simulated = await runSimulate([phantom.dir], { dose: 0.25, outDir: path.join(root, 'scans'), seed: 11, mode: 'truth', withReference: true });
  const scan = simulated.result.series[0]!;
  return { fullDoseDir: scan.reference!.dir, lowDoseDir: scan.output.dir, truthDir: phantom.dir };
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
