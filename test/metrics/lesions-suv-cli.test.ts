/**
 * `lowdose metrics --lesions` end to end on PET DICOM whose SUVs are known by hand: a sphere of
 * known activity (Bq/ml) in a series with a known injected dose, weight and injection-to-scan
 * time. SUVbw = activity x weight (g) / (dose x 2^(-t / T½)); the sphere is uniform and larger
 * than the 12 mm peak sphere, so SUVmean, SUVmax and SUVpeak all equal it; the voxel count is the
 * voxel centres inside the sphere, counted on the grid.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { Volume } from '../../src/image.js';
import { runCli } from '../helpers/cli.js';

const SIZE = 32;
const SLICES = 9;
const MM = 4;
const CENTRE = [2, -2, 0] as const;
const RADIUS = 15;
const BACKGROUND_BQML = 5000;
const SPHERE_BQML = 20000;
const INJECTED_BQ = 3.7e8;
const HALF_LIFE_S = 6586.2;
const WEIGHT_KG = 75;
/** Injection 09:00:00, series start 10:00:00 (DecayCorrection START). */
const UPTAKE_S = 3600;

const suvOf = (bqml: number) => (bqml * WEIGHT_KG * 1000) / (INJECTED_BQ * 2 ** (-UPTAKE_S / HALF_LIFE_S));

/** Voxel centres of the default centred grid: x, y = (index - 15.5) x 4 mm, z = (slice - 4) x 4 mm. */
function petVolume(sphereBqml: number): Volume {
  const slices = Array.from({ length: SLICES }, (_, k) => {
    const data = new Float32Array(SIZE * SIZE);
    for (let r = 0; r < SIZE; r++) {
      for (let c = 0; c < SIZE; c++) {
        const p = [(c - (SIZE - 1) / 2) * MM, (r - (SIZE - 1) / 2) * MM, (k - (SLICES - 1) / 2) * MM];
        data[r * SIZE + c] = Math.hypot(p[0]! - CENTRE[0], p[1]! - CENTRE[1], p[2]! - CENTRE[2]) <= RADIUS ? sphereBqml : BACKGROUND_BQML;
      }
    }
    return data;
  });
  return {
    modality: 'PT',
    units: 'BQML',
    rows: SIZE,
    columns: SIZE,
    slices,
    spacing: [MM, MM, MM],
    description: 'lesion suv known answer',
    pet: { injectedDoseBq: INJECTED_BQ, halfLifeSeconds: HALF_LIFE_S, patientWeightKg: WEIGHT_KG, radionuclide: '^18^Fluorine', injectionTime: '090000.00', seriesTime: '100000.00' },
  };
}

let root: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-lesion-suv-'));
  await writeVolumeSeries(petVolume(SPHERE_BQML), path.join(root, 'full'), { uidSeed: 'full' });
  await writeVolumeSeries(petVolume(0.8 * SPHERE_BQML), path.join(root, 'low'), { uidSeed: 'low' });
  writeFileSync(path.join(root, 'lesions.json'), JSON.stringify({ lesions: [{ name: 'sphere', centre: CENTRE, radius: RADIUS }] }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('metrics --lesions on PET DICOM of known activity', () => {
  it('reads SUVmean, SUVmax and SUVpeak as activity x weight / decayed dose, the voxel count of the sphere, and their recovery', async () => {
    const run = await runCli('metrics', '--reference', path.join(root, 'full'), '--test', path.join(root, 'low'), '--lesions', path.join(root, 'lesions.json'), '--json');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.units).toBe('SUVbw');
    const [lesion] = json.lesions;
    // 2^(-3600 / 6586.2) = 0.6847: the sphere reads 5.922 SUV, the background 1.480.
    const expected = suvOf(SPHERE_BQML);
    expect(expected).toBeCloseTo(5.922, 3);
    // Voxel centres (4 mm grid through the sphere's centre) within 15 mm: i² + j² + k² <= 14.06.
    let voxels = 0;
    for (let i = -4; i <= 4; i++) for (let j = -4; j <= 4; j++) for (let k = -4; k <= 4; k++) if (16 * (i * i + j * j + k * k) <= RADIUS ** 2) voxels++;
    for (const [side, factor] of [
      ['reference', 1],
      ['test', 0.8],
    ] as const) {
      const s = lesion[side];
      expect(s.voxels).toBe(voxels);
      // Every candidate centre is a lesion voxel (slices at z = 0, ±4, …, ±16, lesion within 15 mm of
      // z = 0): |z| ≤ 12, so the 6 mm sphere reaches at most ±18, the volume's edge: never cut.
      expect(s.peakSphereCut).toBe(false);
      // Stored as 16-bit integers with a rescale slope: within 1e-4 of the value written.
      for (const key of ['mean', 'max', 'peak'] as const) expect(Math.abs(s[key] / (factor * expected) - 1)).toBeLessThan(1e-4);
    }
    for (const key of ['mean', 'max', 'peak'] as const) expect(lesion.recovery[key]).toBeCloseTo(0.8, 4);
    // The peak sphere is centred on a voxel of the lesion (every 6 mm sphere about one holding only
    // lesion voxels ties at the sphere's SUV).
    expect(Math.hypot(...lesion.reference.peakCentre.map((v: number, a: number) => v - CENTRE[a]!))).toBeLessThanOrEqual(RADIUS);
  });
});
