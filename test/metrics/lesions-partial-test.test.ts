/**
 * `lowdose metrics --lesions` with a test series that holds only some of the reference's slices
 * (a partial denoise): both series are read over the slices they share, so the recovery compares
 * the same voxels. On the IEC fixture (fixtures/iec, 4 slices of 3 mm) with the reference's own
 * first two slices as the test, each series read over its own slices gave the 10 mm sphere 32
 * reference voxels against 16 and a "recovery" of 1.017 (SUVmean) and 0.919 (SUVpeak) on
 * identical pixels.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { Volume } from '../../src/image.js';
import { runMetrics } from '../../src/pipeline/metrics.js';

const IEC = path.resolve(import.meta.dirname, '../../fixtures/iec');
const REFERENCE = path.join(IEC, 'dose100');

interface FixtureSphere {
  diameter: number;
  centre: [number, number, number];
}

let root: string;
const lesions: Array<{ name: string; centre: [number, number, number]; radius: number }> = [];

/** A folder holding links to the reference slices numbered `keep` (1-based, sorted by name: REF0001 is z = -4.5 mm). */
async function referenceSlices(name: string, keep: number[]): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  const files = readdirSync(REFERENCE).sort();
  for (const k of keep) symlinkSync(path.join(REFERENCE, files[k - 1]!), path.join(dir, files[k - 1]!));
  return dir;
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-lesions-partial-'));
  const fixture = JSON.parse(readFileSync(path.join(IEC, 'fixture.json'), 'utf8')) as { geometry: { spheres: FixtureSphere[] } };
  for (const s of fixture.geometry.spheres) lesions.push({ name: `${s.diameter} mm`, centre: s.centre, radius: s.diameter / 2 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('metrics --lesions against a test that covers part of the reference', () => {
  it("reads the reference's own first two slices as the test with recovery 1 and the same voxels, and the shared slices' edge cuts both peak spheres", async () => {
    const messages: string[] = [];
    const { result } = await runMetrics({ reference: REFERENCE, test: await referenceSlices('first-two', [1, 2]), lesions, progress: (m) => messages.push(m) });
    expect(messages).toContain('lesions are measured on the 2 slice(s) both series hold');
    expect(result.lesions).toHaveLength(6);
    for (const l of result.lesions!) {
      expect(l.test.voxels).toBe(l.reference.voxels);
      expect(l.recovery).toEqual({ mean: 1, max: 1, peak: 1 });
      expect(l.reference.peakSphereCut).toBe(true);
      expect(l.test.peakSphereCut).toBe(true);
    }
    // The 10 mm sphere's voxel centres: 32 on the 4 slices, 16 on the two it shares with the test.
    expect(result.lesions![0]!.reference.voxels).toBe(16);
  });

  it('with a slice missing between the shared ones, flags the peak sphere as cut in both series (it lacks that slice) and still reads recovery 1', async () => {
    // A uniform 15 mm sphere in 9 slices of 4 mm: its peak sphere is whole on the full stack.
    const slices = Array.from({ length: 9 }, (_, k) => {
      const data = new Float32Array(32 * 32);
      for (let r = 0; r < 32; r++) {
        for (let c = 0; c < 32; c++) data[r * 32 + c] = Math.hypot((c - 15.5) * 4, (r - 15.5) * 4, (k - 4) * 4) <= 15 ? 20000 : 5000;
      }
      return data;
    });
    const volume: Volume = {
      modality: 'PT',
      units: 'BQML',
      rows: 32,
      columns: 32,
      slices,
      spacing: [4, 4, 4],
      description: 'lesions partial test',
      pet: { injectedDoseBq: 3.7e8, halfLifeSeconds: 6586.2, patientWeightKg: 75, radionuclide: '^18^Fluorine', injectionTime: '090000.00', seriesTime: '100000.00' },
    };
    const full = path.join(root, 'sphere');
    await writeVolumeSeries(volume, full, { uidSeed: 'lesions-partial' });
    const gapped = path.join(root, 'sphere-gapped');
    await mkdir(gapped);
    const files = readdirSync(full).filter((f) => f.endsWith('.dcm'));
    const middle = (await Promise.all(files.map(async (f) => ({ f, z: (await scanPaths([path.join(full, f)])).series[0]!.slices[0]!.position![2] })))).find((e) => e.z === 0)!.f;
    for (const f of files) if (f !== middle) symlinkSync(path.join(full, f), path.join(gapped, f));
    const sphere = [{ name: 'sphere', centre: [0, 0, 0] as [number, number, number], radius: 15 }];
    const whole = (await runMetrics({ reference: full, test: full, lesions: sphere })).result.lesions![0]!;
    expect(whole.reference.peakSphereCut).toBe(false);
    const { result } = await runMetrics({ reference: full, test: gapped, lesions: sphere });
    const l = result.lesions![0]!;
    expect(l.recovery).toEqual({ mean: 1, max: 1, peak: 1 });
    expect(l.test.voxels).toBe(l.reference.voxels);
    expect(l.reference.voxels).toBeLessThan(whole.reference.voxels);
    expect(l.reference.peakSphereCut).toBe(true);
    expect(l.test.peakSphereCut).toBe(true);
  });

  it('a test of every slice reads the whole reference, as before: 32 voxels in the 10 mm sphere', async () => {
    const messages: string[] = [];
    const { result } = await runMetrics({ reference: REFERENCE, test: await referenceSlices('all', [1, 2, 3, 4]), lesions, progress: (m) => messages.push(m) });
    expect(messages.some((m) => m.startsWith('lesions are measured on'))).toBe(false);
    expect(result.lesions![0]!.reference.voxels).toBe(32);
    expect(result.lesions![0]!.recovery).toEqual({ mean: 1, max: 1, peak: 1 });
  });
});
