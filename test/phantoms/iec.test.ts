/** PET `iec` phantom: sphere ratios and volumes, cold lung, SUV-able headers with background SUV 1. */
import { rmSync } from 'node:fs';
import { calculateSUVScalingFactors } from '@cornerstonejs/calculate-suv';
import { afterAll, describe, expect, it } from 'vitest';
import { readSlice, scanPaths } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { IEC_MU_511, generateIec, iecAttenuation } from '../../src/phantoms/index.js';
import { parse, petMetadata, temporaryDirectory } from '../dicom-write/helpers.js';
import { roi, sameBytes } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('IEC body phantom', () => {
  const { volume, geometry, origin } = generateIec();
  const zOf = (k: number) => origin[2] + k * volume.spacing[2];
  const spherePlane = volume.slices.findIndex((_, k) => Math.abs(zOf(k) - geometry.spherePlaneZ) < 1e-9);

  it('has six spheres of 10 to 37 mm at 4:1 over a 5.3 kBq/ml background by default', () => {
    expect(spherePlane).toBeGreaterThanOrEqual(0);
    expect(geometry.spheres.map((s) => s.diameter)).toEqual([10, 13, 17, 22, 28, 37]);
    expect(geometry.backgroundBqml).toBe(5300);
    const background = geometry.backgroundRois.map(([x, y]) => roi(volume, spherePlane, x, y, 10));
    for (const b of background) expect(b.mean).toBeCloseTo(5300, 6);
    const largest = geometry.spheres[5]!;
    const hot = roi(volume, spherePlane, largest.centre[0], largest.centre[1], 8);
    // Partial volume along z (3 mm slices through a 37 mm sphere) leaves the core untouched.
    expect(hot.mean / background[0]!.mean).toBeCloseTo(4, 3);
  });

  it('has 8:1 spheres on request', () => {
    const eight = generateIec({ ratio: 8, slices: 5, spacing: 3 });
    const s = eight.geometry.spheres[5]!;
    expect(roi(eight.volume, 2, s.centre[0], s.centre[1], 8).mean).toBeCloseTo(8 * 5300, 3);
  });

  it('holds each sphere’s true volume of activity (partial-volume voxels counted by fraction)', () => {
    const [dy, dx, dz] = volume.spacing;
    const voxelMl = (dx * dy * dz) / 1000;
    const bg = geometry.backgroundBqml;
    for (const sphere of geometry.spheres) {
      const a = sphere.activityBqml;
      const reach = sphere.diameter / 2 + 4;
      let ml = 0;
      volume.slices.forEach((slice, k) => {
        if (Math.abs(zOf(k) - sphere.centre[2]) > reach) return;
        for (let r = 0; r < volume.rows; r++) {
          const y = origin[1] + r * dy;
          if (Math.abs(y - sphere.centre[1]) > reach) continue;
          for (let c = 0; c < volume.columns; c++) {
            const x = origin[0] + c * dx;
            if (Math.abs(x - sphere.centre[0]) > reach) continue;
            ml += ((slice[r * volume.columns + c]! - bg) / (a - bg)) * voxelMl;
          }
        }
      });
      const tolerance = sphere.diameter <= 10 ? 0.05 : 0.03;
      expect(Math.abs(ml - sphere.volumeMl) / sphere.volumeMl, `${sphere.diameter} mm`).toBeLessThan(tolerance);
    }
  });

  it('has a cold 50 mm lung insert on its axis', () => {
    expect(geometry.lungInsert.radius).toBe(25);
    expect(roi(volume, spherePlane, 0, 0, 20).mean).toBe(0);
  });

  it('writes headers from which SUVbw of the background is 1', async () => {
    const dir = temporaryDirectory('iec');
    dirs.push(dir);
    const written = await writeVolumeSeries(volume, dir);
    const ds = parse(written.files[spherePlane]!);
    const [factor] = calculateSUVScalingFactors([petMetadata(ds)]);
    expect(factor!.suvbw * geometry.backgroundBqml).toBeCloseTo(1, 4);
    // And our reader gives SUV directly.
    const { series } = await scanPaths([dir]);
    expect(series[0]!.units).toBe('SUVbw');
    const suv = await readSlice(series[0]!.slices[spherePlane]!);
    const sliceVolume = { ...volume, slices: volume.slices.map((s, k) => (k === spherePlane ? suv : s)) };
    const [x, y] = geometry.backgroundRois[0]!;
    expect(roi(sliceVolume, spherePlane, x, y, 10).mean).toBeCloseTo(1, 3);
  });

  it('gives an attenuation map on the same grid (water, acrylic wall, lung insert)', () => {
    const mu = iecAttenuation({ slices: 3, spacing: 3 });
    const muVolume = { ...volume, slices: mu };
    expect(roi(muVolume, 1, 0, 0, 15).mean).toBeCloseTo(IEC_MU_511.lungInsert, 6);
    expect(roi(muVolume, 1, 0, -110, 8).mean).toBeCloseTo(IEC_MU_511.water, 6);
    expect(roi(muVolume, 1, 0, -160, 5).mean).toBe(0);
  });

  it('is deterministic', () => {
    const a = generateIec({ slices: 4, size: 64 });
    const b = generateIec({ slices: 4, size: 64 });
    expect(sameBytes(a.volume, b.volume)).toBe(true);
  });
});
