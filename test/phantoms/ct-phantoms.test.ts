/** CT `water` and `acr` phantoms: nominal HU where the exported geometry says, sizes, determinism. */
import { describe, expect, it } from 'vitest';
import { ACR_HU, acrGeometry, generateAcr, generateLcd, generateWater, getPhantom, phantomNames } from '../../src/phantoms/index.js';
import { roi, sameBytes, valueAt } from './helpers.js';

describe('water phantom', () => {
  const { volume, geometry } = generateWater({ size: 256, slices: 3, spacing: 5 });

  it('is 0 HU water with no structure inside a 200 mm diameter', () => {
    const centre = roi(volume, 1, 0, 0, 80);
    expect(centre.mean).toBe(0);
    expect(centre.std).toBe(0);
    expect(geometry.waterRadius).toBe(100);
    // Equivalent diameter of the water region, counting edge pixels by their water fraction.
    // Inside the wall's middle every pixel is a water/acrylic mix: water fraction = 1 - HU / 120.
    const [dy, dx] = volume.spacing;
    const slice = volume.slices[1]!;
    let waterArea = 0;
    for (let r = 0; r < volume.rows; r++) {
      for (let c = 0; c < volume.columns; c++) {
        const x = (c - (volume.columns - 1) / 2) * dx;
        const y = (r - (volume.rows - 1) / 2) * dy;
        if (Math.hypot(x, y) < 101.5) waterArea += (1 - slice[r * volume.columns + c]! / 120) * dx * dy;
      }
    }
    const innerDiameter = 2 * Math.sqrt(waterArea / Math.PI);
    expect(Math.abs(innerDiameter - 200)).toBeLessThan(1);
  });

  it('has a 3 mm acrylic wall (+120 HU) and air (-1000 HU) outside', () => {
    expect(valueAt(volume, 1, 0, -101.5)).toBeCloseTo(120, 0);
    expect(valueAt(volume, 1, 101.5, 0)).toBeCloseTo(120, 0);
    expect(valueAt(volume, 1, 0, -115)).toBe(-1000);
    expect(valueAt(volume, 1, 120, 120)).toBe(-1000);
  });

  it('is the same for every seed and call', () => {
    expect(sameBytes(volume, generateWater({ size: 256, slices: 3, spacing: 5, seed: 9 }).volume)).toBe(true);
  });
});

describe('ACR phantom', () => {
  const geometry = acrGeometry();
  // Default: four slices at the four module centres.
  const { volume, origin } = generateAcr({ size: 256 });
  const moduleSlice = (m: number) => m - 1;

  it('places one slice at each module centre by default', () => {
    expect(volume.slices).toHaveLength(4);
    expect(volume.spacing[2]).toBe(40);
    geometry.modules.forEach((m, k) => expect(origin[2] + k * volume.spacing[2]).toBe(m.zCentre));
  });

  it('has every module 1 insert at its nominal HU where the geometry says', () => {
    const inserts = geometry.inserts.filter((i) => i.kind === 'hu');
    expect(inserts.map((i) => i.name).sort()).toEqual(['acrylic', 'air', 'bone', 'polyethylene', 'water']);
    for (const insert of inserts) {
      const stats = roi(volume, moduleSlice(1), insert.centre[0], insert.centre[1], insert.radius * 0.6);
      expect(stats.mean, insert.name).toBeCloseTo(insert.hu, 3);
      expect(stats.std).toBe(0);
      expect(stats.count).toBeGreaterThan(50);
    }
    expect(ACR_HU).toMatchObject({ air: -1000, polyethylene: -95, acrylic: 120, bone: 955, water: 0 });
  });

  it('has 2 to 6 mm and 25 mm low-contrast rods 6 HU over a 90 HU background', () => {
    const rods = geometry.inserts.filter((i) => i.kind === 'low-contrast');
    expect(new Set(rods.map((r) => r.radius * 2))).toEqual(new Set([2, 3, 4, 5, 6, 25]));
    expect(rods).toHaveLength(21);
    const background = geometry.rois.find((r) => r.name === 'low-contrast background')!;
    const bg = roi(volume, moduleSlice(2), background.centre[0], background.centre[1], background.radius);
    expect(bg.mean).toBeCloseTo(90, 3);
    for (const rod of rods.filter((r) => r.radius >= 2)) {
      const stats = roi(volume, moduleSlice(2), rod.centre[0], rod.centre[1], rod.radius * 0.4);
      expect(stats.mean - bg.mean, rod.name).toBeCloseTo(6, 1);
    }
  });

  it('is uniform water in module 3 at the five uniformity ROIs', () => {
    const rois = geometry.rois.filter((r) => r.module === 3);
    expect(rois).toHaveLength(5);
    for (const r of rois) {
      const stats = roi(volume, moduleSlice(3), r.centre[0], r.centre[1], r.radius);
      expect(stats.mean).toBe(0);
      expect(stats.std).toBe(0);
    }
  });

  it('has resolvable 4 lp/cm bars, an edge rod and a wire in module 4', () => {
    const bars = geometry.inserts.filter((i) => i.kind === 'bar-pattern');
    expect(bars.map((b) => b.lpPerCm).sort((a, b) => a! - b!)).toEqual([4, 5, 6, 7, 8, 9, 10, 12]);
    const coarse = bars.find((b) => b.lpPerCm === 4)!;
    // Profile across the bars (tangential to the ring): alternating bar / gap.
    const angle = (coarse.angleDeg * Math.PI) / 180;
    const tx = -Math.sin(angle);
    const ty = Math.cos(angle);
    const profile: number[] = [];
    for (let s = -6; s <= 6; s += 0.25) profile.push(valueAt(volume, moduleSlice(4), coarse.centre[0] + s * tx, coarse.centre[1] + s * ty));
    expect(Math.max(...profile) - Math.min(...profile)).toBeGreaterThan(600);
    const rod = geometry.inserts.find((i) => i.kind === 'edge-rod')!;
    expect(roi(volume, moduleSlice(4), rod.centre[0], rod.centre[1], rod.radius * 0.6).mean).toBeCloseTo(ACR_HU.highContrast, 3);
    const wire = geometry.inserts.find((i) => i.kind === 'wire')!;
    expect(valueAt(volume, moduleSlice(4), wire.centre[0], wire.centre[1])).toBeGreaterThan(50);
  });

  it('renders one module on request, slices centred on it', () => {
    const m2 = generateAcr({ size: 64, module: 2, slices: 3 });
    const [z0, z1] = geometry.modules[1]!.z;
    for (let k = 0; k < 3; k++) {
      const z = m2.origin[2] + k * m2.volume.spacing[2];
      expect(z).toBeGreaterThan(z0);
      expect(z).toBeLessThan(z1);
    }
    expect(() => generateAcr({ module: 5 as 1 })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});

describe('lcd phantom', () => {
  const { volume, geometry, origin } = generateLcd({ size: 256, slices: 2 });
  const pixel = volume.spacing[0];
  /** Mean of the pixels whose centres lie within `radius` mm of (x, y) on slice k. */
  const discMean = (k: number, x: number, y: number, radius: number) => {
    let sum = 0;
    let n = 0;
    for (let r = 0; r < volume.rows; r++) {
      for (let c = 0; c < volume.columns; c++) {
        const px = origin[0] + c * pixel;
        const py = origin[1] + r * pixel;
        if (Math.hypot(px - x, py - y) > radius) continue;
        sum += volume.slices[k]![r * volume.columns + c]!;
        n++;
      }
    }
    return sum / n;
  };

  it('has 37 places, each with one disk kind, signal-present on exactly one slice of the pair', () => {
    expect(geometry.places).toHaveLength(37);
    expect(geometry.kinds.map((k) => k.name)).toEqual(['10 mm +10 HU', '15 mm +5 HU']);
    expect(geometry.places.filter((p) => p.kind === 0)).toHaveLength(19);
    geometry.places.forEach((_, index) => expect(geometry.disks.filter((d) => d.place === index)).toHaveLength(1));
    // Half the disks on each slice.
    expect(Math.abs(geometry.disks.filter((d) => d.z[1] <= 0).length - geometry.disks.filter((d) => d.z[0] >= 0).length)).toBeLessThanOrEqual(1);
  });

  it('renders each disk at its nominal contrast on its slice and nothing on the other; each ROI holds no other disk and stays in the water', () => {
    for (const d of geometry.disks) {
      const k = d.z[1] <= 0 ? 0 : 1;
      expect(discMean(k, d.centre[0], d.centre[1], d.diameter / 2 - 1)).toBeCloseTo(d.contrastHu, 3);
      expect(discMean(1 - k, d.centre[0], d.centre[1], d.diameter / 2 + 1)).toBeCloseTo(0, 6);
      for (const other of geometry.disks) {
        if (other === d) continue;
        expect(Math.hypot(other.centre[0] - d.centre[0], other.centre[1] - d.centre[1]) - other.diameter / 2).toBeGreaterThan(geometry.roiRadius + 2);
      }
      expect(Math.hypot(d.centre[0], d.centre[1]) + geometry.roiRadius).toBeLessThanOrEqual(geometry.waterRadius - 10 + 1e-3);
    }
  });
});

describe('phantom registry', () => {
  it('knows water, acr, body, iec and lcd, and refuses other names with E_USAGE', () => {
    expect(phantomNames().sort()).toEqual(['acr', 'body', 'iec', 'lcd', 'water']);
    expect(getPhantom('iec').modality).toBe('PT');
    expect(() => getPhantom('catphan')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('validates sizes', () => {
    expect(() => generateWater({ size: 8 })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => generateWater({ slices: 0 })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});
