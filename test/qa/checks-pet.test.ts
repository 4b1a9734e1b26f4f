/** PET sphere checks on the IEC fixture: SUVmean bias against full dose, SUVmax recovery against truth. */
import { beforeAll, describe, expect, it } from 'vitest';
import { noiseChecks, petChecks } from '../../src/qa/checks/index.js';
import { sphereStats } from '../../src/qa/checks/pet.js';
import type { IecGeometry } from '../../src/phantoms/index.js';
import { loadQaConfig, type QaCheck, type QaConfig } from '../../src/qa/index.js';
import { blur, caseOf, identity, loadFixture, scale, type FixtureSet } from './helpers.js';

let config: QaConfig;
let iec: FixtureSet;

beforeAll(async () => {
  config = loadQaConfig();
  iec = await loadFixture('iec', [0.1]);
});

const byKind = (checks: QaCheck[], kind: string) => checks.filter((c) => c.check === kind);

describe('PET sphere checks', () => {
  it('pass for the full-dose scan: no bias, and its RCmax (1.1 to 1.35) inside the band', () => {
    const checks = petChecks(caseOf(iec, () => iec.full, { dose: 0.1 }), config).checks;
    const bias = byKind(checks, 'suvmean-bias');
    const recovery = byKind(checks, 'suvmax-recovery');
    // Spheres of 17 mm and more: 37, 28, 22, 17.
    expect(bias.map((c) => c.name)).toEqual(['37', '28', '22', '17'].map((d) => `iec/dose10/suvmean-bias/${d}mm`));
    expect(recovery).toHaveLength(4);
    for (const c of bias) expect(c.value).toBe(0);
    for (const c of recovery) {
      expect(c.measured.true).toBeCloseTo(4, 3); // 4:1 sphere to background, background SUV 1
      expect(c.value!).toBeGreaterThan(1.05);
      expect(c.pass).toBe(true);
    }
  });

  it('fails SUVmax recovery on the noisy 10 % input itself (noise overshoot)', () => {
    const recovery = byKind(petChecks(caseOf(iec, identity, { dose: 0.1 }), config).checks, 'suvmax-recovery');
    for (const c of recovery) {
      expect(c.value!).toBeGreaterThan(1.4);
      expect(c.pass).toBe(false);
    }
  });

  it('reports a 10 % scale error as +10 % SUVmean bias and fails it', () => {
    const bias = byKind(petChecks(caseOf(iec, () => scale(1.1)(iec.full), { dose: 0.1 }), config).checks, 'suvmean-bias');
    for (const c of bias) {
      expect(c.value).toBeCloseTo(0.1, 5);
      expect(c.pass).toBe(false);
    }
  });

  it('catches blur: a 6 mm Gaussian on the full-dose scan lowers the small spheres’ SUVmean and RCmax', () => {
    const checks = petChecks(caseOf(iec, () => blur(6)(iec.full), { dose: 0.1 }), config).checks;
    const small = checks.filter((c) => c.name.endsWith('/17mm'));
    for (const c of small) {
      expect(c.value!).toBeLessThan(c.check === 'suvmean-bias' ? -0.05 : 0.85);
      expect(c.pass).toBe(false);
    }
  });

  it('says that the fixture (4 slices of 3 mm) cuts every SUVpeak sphere: 32 or 23 of its 33 voxels', () => {
    // Slices at z = -4.5, -1.5, 1.5, 4.5, 2.734375 mm pixels. The whole sphere on that grid, centred on a
    // voxel: 13 voxels in its own plane (i² + j² ≤ 4), 9 at ±3 mm (i² + j² ≤ 2), 1 at ±6 mm: 33. Centred
    // on an inner slice it loses the one at 6 mm past the stack (32), on an outer one 9 + 1 (23).
    for (const sphere of (iec.geometry as unknown as IecGeometry).spheres) {
      const s = sphereStats(iec.full, sphere);
      expect(s.peakSphereCut).toBe(true);
      expect(s.peakVoxels + s.peakSphereOutside).toBe(33);
      expect([32, 23]).toContain(s.peakVoxels);
    }
    for (const c of byKind(petChecks(caseOf(iec, identity, { dose: 0.1 }), config).checks, 'suvmean-bias')) {
      expect(c.measured.peakSphereCut).toBe(1);
      expect(c.detail).toMatch(/; SUVpeak sphere cut by the volume's edge in 3 of 3 readings \((32|23)( to 32)? of 33 voxels\)$/);
    }
  });

  it('measures background noise reduction in the sphere plane', () => {
    const [check] = noiseChecks(caseOf(iec, () => iec.full, { dose: 0.1 }), config).checks;
    expect(check!.name).toBe('iec/dose10/noise-reduction');
    // 10 % counts: about sqrt(10) times the full-count SD, so the full-dose scan is a ~2/3 reduction.
    expect(check!.value!).toBeGreaterThan(0.55);
    expect(check!.pass).toBe(true);
  });
});
