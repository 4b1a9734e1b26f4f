/**
 * The sFRC hallucination map holds unitless scores 0..1. Written for a PET source it says so
 * (Units (0054,1001) NONE, PS3.3 C.8.9.1.1.3) and stores the scores as they are, not as Bq/ml
 * through the slice's SUV factor: pydicom reads them back 0..1 with no SUV computed, lowdose reads
 * them in units NONE with no E_SUV_UNAVAILABLE warning, the map is still a lowdose-derived series
 * that `denoise` leaves alone, and a CT map is written byte for byte as without the option.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { decodeSlice, encodeSlice } from '../../src/server/slice-encoding.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom } from '../helpers/pet-timing.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const IEC = path.join(REPO, 'fixtures/iec');
const BODY_LOW = path.join(REPO, 'fixtures/body/dose25');
const PYTHON = '/usr/bin/python3';

/** Per file, as pydicom alone reads it: Units, rescale, modality values (stored x slope + intercept), Philips block, window. */
const READ_MAP = `
import json, sys, pydicom, numpy as np
out = []
for f in sys.argv[1:]:
    d = pydicom.dcmread(f)
    v = d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
    out.append({'units': d.Units, 'decay': d.DecayCorrection, 'slope': float(d.RescaleSlope),
                'min': float(v.min()), 'max': float(v.max()), 'values': v.ravel().tolist(),
                'philips': any(e.tag.group == 0x7053 for e in d),
                'window': [float(d.WindowCenter), float(d.WindowWidth)]})
print(json.dumps(out))
`;

interface PydicomMap {
  units: string;
  decay: string;
  slope: number;
  min: number;
  max: number;
  values: number[];
  philips: boolean;
  window: [number, number];
}

function readWithPydicom(files: readonly string[]): PydicomMap[] {
  const run = spawnSync(PYTHON, ['-c', READ_MAP, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`pydicom failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PydicomMap[];
}

let root = '';
let mapFiles: string[] = [];
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-map-units-'));
  const run = await runCli('metrics', '--reference', path.join(IEC, 'dose100'), '--test', path.join(IEC, 'dose25'), '--hallucination', path.join(root, 'pet'), '--json');
  expect(run.code, run.stderr).toBe(0);
  mapFiles = (JSON.parse(run.stdout) as { hallucination: { map: { files: string[] } } }).hallucination.map.files;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the sFRC map of a PET series is written as unitless scores', () => {
  it.skipIf(!hasPydicom)('stores the scores as they are under Units NONE: pydicom reads 0..1 with no SUV factor, and lowdose reads the same values', async () => {
    expect(mapFiles).toHaveLength(4);
    const files = readWithPydicom(mapFiles);
    const series = (await scanPaths([path.dirname(mapFiles[0]!)])).series[0]!;
    for (const [i, f] of files.entries()) {
      expect(f.units).toBe('NONE');
      // The IOD's PET Series attribute stays as the source says: it describes the acquisition.
      expect(f.decay).toBe('START');
      expect(f.philips).toBe(false);
      expect(f.min).toBeGreaterThanOrEqual(0);
      expect(f.max).toBeLessThanOrEqual(1 + 1e-8);
      // The window 0 (black) to 1 (white) in the stored values themselves (centre 1, width 2).
      expect(f.window).toEqual([1, 2]);
      const read = (await readSliceImage(series, i)).data;
      let worst = 0;
      for (let k = 0; k < read.length; k++) worst = Math.max(worst, Math.abs(read[k]! - f.values[k]!));
      expect(worst).toBeLessThan(1e-6);
    }
    // The first slice holds both ends of the score range (a flagged patch scores 0); 1 to the
    // digits of the DS RescaleSlope (65535 x 0.0000152590219).
    expect(files[0]!.min).toBe(0);
    expect(files[0]!.max).toBeCloseTo(1, 8);
  });

  it('reads back in units NONE with no SUV warning, info --stats gives the scores, and denoise still skips the map as lowdose-derived', async () => {
    const dir = path.dirname(mapFiles[0]!);
    const { series } = await scanPaths([dir]);
    expect(series.map((s) => [s.units, s.warnings])).toEqual([['NONE', []]]);
    expect(series[0]!.slices.every((s) => s.unitsScale === 1)).toBe(true);
    // What the server sends the viewer's overlay (flagged below the FRC threshold): the scores, unit NONE.
    const map = series[0]!;
    const image = await readSliceImage(map, 0);
    const sent = decodeSlice(encodeSlice(image, { index: 0, slice: map.slices[0]!, spacing: map.spacing, units: map.units, photometricInterpretation: 'MONOCHROME2' }, 'auto'));
    expect([sent.header.units, sent.header.min, sent.header.max]).toEqual(['NONE', 0, image.data.reduce((a, b) => Math.max(a, b))]);
    expect(sent.header.max).toBeCloseTo(1, 6);

    const info = await runCli('info', '--stats', dir, '--json');
    expect(info.code, info.stderr).toBe(0);
    const read = JSON.parse(info.stdout) as { series: Array<{ units: string; warnings: unknown[] }> };
    expect(read.series.map((s) => [s.units, s.warnings])).toEqual([['NONE', []]]);
    const text = await runCli('info', '--stats', dir);
    expect(text.stdout).toMatch(/ NONE /);
    expect(text.stdout).toMatch(/IM0001\.dcm: min 0 max 1 /);
    expect(text.stdout + text.stderr).not.toMatch(/SUV/);

    const denoise = await runCli('denoise', dir, '-o', path.join(root, 'denoised'), '--method', 'gaussian', '--no-progress', '--json');
    expect(denoise.code).not.toBe(0);
    expect(denoise.stdout + denoise.stderr).toMatch(/only series lowdose derived/);
  });

  it('the unitless option changes a PET source only: a CT map is the same bytes with and without it', async () => {
    const scores = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1001) / 1000);
    const write = async (input: string, name: string, unitless: boolean) => {
      const source = (await scanPaths([input])).series[0]!;
      const writer = createDerivedSeriesWriter(source, {
        outDir: path.join(root, name),
        derivationDescription: 'test map',
        resolution: 0.001,
        rescaleType: 'US',
        window: { lo: 0, hi: 1, explanation: 'SFRC SCORE 0-1' },
        unitless,
        uidSeed: 'map-units-test',
        now: null,
      });
      const file = await writer.writeSlice(0, scores(source.rows * source.columns));
      return { file, bytes: readFileSync(file) };
    };
    const ct = [await write(BODY_LOW, 'ct-plain', false), await write(BODY_LOW, 'ct-unitless', true)];
    expect(ct[1]!.bytes.equals(ct[0]!.bytes)).toBe(true);
    const pet = [await write(path.join(IEC, 'dose25'), 'pet-plain', false), await write(path.join(IEC, 'dose25'), 'pet-unitless', true)];
    expect(pet[1]!.bytes.equals(pet[0]!.bytes)).toBe(false);
    const [plain, unitless] = await Promise.all(pet.map(async (p) => (await scanPaths([path.dirname(p.file)])).series[0]!));
    expect([plain!.units, unitless!.units]).toEqual(['SUVbw', 'NONE']);
    const back = (await readSliceImage(unitless!, 0)).data;
    const want = scores(back.length);
    let worst = 0;
    for (let k = 0; k < back.length; k++) worst = Math.max(worst, Math.abs(back[k]! - want[k]!));
    expect(worst).toBeLessThan(1 / 65535);
  });
});
