/**
 * CT `body`: each tissue where the anatomy puts it with plausible HU for its phase, lesions where
 * the geometry says, the same bytes for the same seed and a different patient for another.
 */
import { describe, expect, it } from 'vitest';
import { BodyFrame } from '../../src/phantoms/body/frame.js';
import { sampleBodyParams } from '../../src/phantoms/body/params.js';
import { CONTRAST_PHASES, generateBody } from '../../src/phantoms/index.js';
import { roi, roiValues, sameBytes } from './helpers.js';

/** One 1 mm-pixel slice of patient `seed` at reference height `zRef` (mm from L1). */
function sliceAt(seed: number, zRef: number, phase?: 'none' | 'arterial' | 'portal') {
  const result = generateBody({ seed, ...(phase ? { phase } : {}), size: 192, fov: 420, slices: 1, spacing: 2, centreZ: zRef });
  const frame = new BodyFrame(sampleBodyParams(seed, phase));
  /** ROI mean (radius mm) around a reference-anatomy point in this slice. */
  const at = (xr: number, yr: number, radius = 3) => roi(result.volume, 0, frame.x(xr), frame.y(yr), radius, result.origin).mean;
  return { ...result, frame, at, hu: result.geometry.params.hu };
}

/** Centre of the fullest `bin`-wide histogram bin. */
function mode(values: number[], bin: number): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(Math.floor(v / bin), (counts.get(Math.floor(v / bin)) ?? 0) + 1);
  const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
  return (best + 0.5) * bin;
}

describe('body phantom tissues', () => {
  it('has skin, fat, muscle, bone and air in plausible HU at the level of L1', () => {
    const { at, frame, hu, volume, origin } = sliceAt(3, 0, 'portal');
    const p = frame.params;
    // Subcutaneous fat: between skin and muscle, anteriorly.
    const fatY = -(p.halfDepthAnterior - 2 - p.fatAnterior / 2);
    expect(roi(volume, 0, p.offsetX, p.offsetY + fatY, 1.5, origin).mean).toBeGreaterThan(-130);
    expect(roi(volume, 0, p.offsetX, p.offsetY + fatY, 1.5, origin).mean).toBeLessThan(-60);
    // Vertebral body (cancellous bone) and the erector spinae.
    expect(at(0, 35, 5)).toBeGreaterThan(100);
    expect(at(0, 35, 5)).toBeLessThan(350);
    expect(at(32, 74, 6)).toBeGreaterThan(30);
    expect(at(32, 74, 6)).toBeLessThan(80);
    // Air around the patient.
    expect(roi(volume, 0, origin[0] + 10, origin[1] + 10, 5, origin).mean).toBe(-1000);
    expect(hu.fat).toBeLessThan(-90);
  });

  it('has liver, kidney cortex and an enhanced aorta per phase', () => {
    for (const phase of CONTRAST_PHASES) {
      const liver = sliceAt(5, 35, phase);
      // The most common value of a large ROI in the right lobe: vessels cross any small one.
      const values = roiValues(liver.volume, liver.frame.x(-75), liver.frame.y(20), 20, liver.origin);
      expect(Math.abs(mode(values, 4) - liver.hu.liver), `liver ${phase}`).toBeLessThan(8);
      expect(liver.hu.liver).toBeGreaterThan(20);
      expect(liver.hu.liver).toBeLessThan(150);
      const low = sliceAt(5, -30, phase);
      // Aorta: in front of the vertebral body, slightly left.
      expect(Math.abs(low.at(14, 4, 3) - low.hu.aorta), `aorta ${phase}`).toBeLessThan(15);
      if (phase === 'arterial') expect(low.hu.aorta).toBeGreaterThan(200);
      if (phase === 'none') expect(low.hu.aorta).toBeLessThan(60);
      // Left kidney: its cortex, 20 mm lateral of the centre along the kidney's own axis.
      const p = low.frame.params;
      const centre = low.frame.p(75, 38, -30);
      const reach = low.frame.r(20) * p.kidneyScale;
      const cortex = roi(low.volume, 0, centre[0] + reach * Math.cos(0.35), centre[1] + reach * Math.sin(0.35), 1.5, low.origin).mean;
      expect(Math.abs(cortex - low.hu.kidneyCortex), `kidney ${phase}`).toBeLessThan(15);
    }
  });

  it('has aerated lungs with vessels above the diaphragm', () => {
    const chest = sliceAt(4, 150);
    // Parenchyma: the median of a lung ROI (vessels cross it).
    const values = roiValues(chest.volume, chest.frame.x(-85), chest.frame.y(20), 10, chest.origin);
    const median = values[values.length >> 1]!;
    expect(median).toBeLessThan(-750);
    expect(median).toBeGreaterThan(-950);
    // Vessels: some lung pixels are much denser than parenchyma.
    const slice = chest.volume.slices[0]!;
    const vessels = slice.filter((v) => v > -300 && v < 400).length;
    expect(vessels).toBeGreaterThan(1000);
  });

  it('puts each lesion where the geometry says, with its HU', () => {
    const seed = [...Array(40).keys()].find((s) => sampleBodyParams(s).lesionCount >= 3)!;
    const full = generateBody({ seed, size: 64, slices: 1 });
    const frame = new BodyFrame(full.geometry.params);
    let checked = 0;
    for (const lesion of full.geometry.lesions.filter((l) => l.radius >= 5 && l.organ !== 'lung')) {
      const r = generateBody({ seed, size: 256, fov: 420, slices: 1, spacing: 1, centreZ: frame.zRef(lesion.centre[2]), zSamples: 1 });
      const stats = roi(r.volume, 0, lesion.centre[0], lesion.centre[1], lesion.radius * 0.35, r.origin);
      expect(Math.abs(stats.mean - lesion.hu), `${lesion.organ} ${lesion.type}`).toBeLessThan(8);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('body phantom variety and determinism', () => {
  it('gives the same bytes for the same seed', () => {
    const a = generateBody({ seed: 12, size: 64, slices: 2, spacing: 20 });
    const b = generateBody({ seed: 12, size: 64, slices: 2, spacing: 20 });
    expect(sameBytes(a.volume, b.volume)).toBe(true);
    expect(a.geometry).toEqual(b.geometry);
  });

  it('gives a different patient for another seed', () => {
    const a = generateBody({ seed: 1, size: 64, slices: 1 });
    const b = generateBody({ seed: 2, size: 64, slices: 1 });
    expect(sameBytes(a.volume, b.volume)).toBe(false);
    expect(a.geometry.params.halfWidth).not.toBe(b.geometry.params.halfWidth);
    const widths = [...Array(20).keys()].map((s) => sampleBodyParams(s).halfWidth);
    expect(Math.max(...widths) - Math.min(...widths)).toBeGreaterThan(30);
    const phases = new Set([...Array(20).keys()].map((s) => sampleBodyParams(s).phase));
    expect(phases).toEqual(new Set(CONTRAST_PHASES));
    const lesionCounts = new Set([...Array(20).keys()].map((s) => sampleBodyParams(s).lesionCount));
    expect(lesionCounts.size).toBeGreaterThan(2);
  });

  it('refuses an unknown phase', () => {
    expect(() => generateBody({ phase: 'delayed' as 'none' })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});
