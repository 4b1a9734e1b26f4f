/**
 * Every number the viewer's ROI tools show, against a phantom whose answer is known without the
 * code under test: HU and SD of a region of known values, area in mm² from anisotropic pixel
 * spacing, CNR of two regions of known contrast and noise, SUVmean / SUVmax / SUVpeak in a uniform
 * hot ball and the PERCIST 1 cm³ sphere's voxel count, and padded pixels (outside the scanned
 * field) left out as src/metrics leaves them out; a reference pane's sphere over its own slices,
 * a series without slice positions labelled as the 2-D disc it then is, and a sphere that the
 * volume's first or last slice, the image's sides or padding cut labelled as cut.
 */
import { describe, expect, it } from 'vitest';
import { PEAK_RADIUS_MM } from '../../src/metrics/lesions.js';
import { contrastToNoise, measurementTable, regionStats, tableCsv, type PixelValues } from '../../viewer/src/roi-stats.js';
import { ellipseUptake, formatUptake, sphereSlices, type SliceValues } from '../../viewer/src/uptake.js';

/** Rows 0.7 mm apart, columns 0.5 mm apart: an area or length that swaps them is wrong. */
const CT_SPACING: [number, number] = [0.7, 0.5];
const ROWS = 64;
const COLUMNS = 80;

/**
 * A CT slice: air (-1000 HU) with a block of soft tissue at rows 10–29, columns 10–19 whose
 * values alternate 30 / 50 HU in a checkerboard (mean 40, every deviation ±10), and a block of
 * 100 HU at rows 40–49, columns 10–19.
 */
function ctValue(index: number): number {
  const r = Math.floor(index / COLUMNS);
  const c = index % COLUMNS;
  if (r >= 10 && r < 30 && c >= 10 && c < 20) return (r + c) % 2 === 0 ? 30 : 50;
  if (r >= 40 && r < 50 && c >= 10 && c < 20) return 100;
  return -1000;
}
const ct: PixelValues = { rows: ROWS, columns: COLUMNS, value: ctValue, pixelSpacing: CT_SPACING };

describe('ROI readouts against a CT phantom of known HU', () => {
  it('reads the checkerboard block as 40 HU with SD 10·√(n/(n−1)), min 30, max 50 and 200 pixels of 0.35 mm²', () => {
    // The rectangle's corners are pixel corners: it holds exactly the 20 × 10 pixels of the block.
    const s = regionStats(ct, { kind: 'rectangle', from: { x: 10, y: 10 }, to: { x: 20, y: 30 } })!;
    expect(s.pixels).toBe(200);
    expect(s.mean).toBeCloseTo(40, 12);
    // Sample SD (n − 1): 200 deviations of ±10.
    expect(s.sd).toBeCloseTo(10 * Math.sqrt(200 / 199), 12);
    expect([s.min, s.max]).toEqual([30, 50]);
    // 20 rows × 0.7 mm by 10 columns × 0.5 mm = 14 mm × 5 mm.
    expect(s.areaMm2).toBeCloseTo(70, 12);
  });

  it('gives an ellipse the area π·a·b of its semi-axes in mm, within its boundary pixels', () => {
    // Semi-axes 30 columns × 0.5 mm = 15 mm and 20 rows × 0.7 mm = 14 mm.
    const s = regionStats(ct, { kind: 'ellipse', ellipse: { cx: 40, cy: 32, rx: 30, ry: 20 } })!;
    const exact = Math.PI * 15 * 14;
    expect(Math.abs(s.areaMm2 - exact) / exact).toBeLessThan(0.01);
    // The ellipse readout in the pane footer counts the same pixels.
    const u = ellipseUptake({ ...ct, location: 0 }, { cx: 40, cy: 32, rx: 30, ry: 20 }, null)!;
    expect(u.count).toBe(s.pixels);
    expect(u.areaMm2).toBeCloseTo(s.areaMm2, 12);
    expect(u.mean).toBeCloseTo(s.mean, 9);
    expect(u.std).toBeCloseTo(s.sd, 9);
  });

  it('reads the pane footer ellipse over the checkerboard block as 40 ± 10·√(n/(n−1)) HU', () => {
    // Centred on the block (rows 10–29, columns 10–19): its mirror image across column 15 swaps
    // every 30 for a 50, so it holds as many of each.
    const u = ellipseUptake({ ...ct, location: 0 }, { cx: 15, cy: 20, rx: 4.5, ry: 9 }, null)!;
    expect(u.count).toBeGreaterThan(50);
    expect(u.mean).toBeCloseTo(40, 12);
    expect(u.std).toBeCloseTo(10 * Math.sqrt(u.count / (u.count - 1)), 9);
    expect(u.max).toBe(50);
  });

  it('gives CNR |100 − 40| / SD of the checkerboard, in the table and its CSV', () => {
    const a = { kind: 'rectangle' as const, from: { x: 10, y: 40 }, to: { x: 20, y: 50 } };
    const b = { kind: 'rectangle' as const, from: { x: 10, y: 10 }, to: { x: 20, y: 30 } };
    const expected = 60 / (10 * Math.sqrt(200 / 199));
    expect(contrastToNoise(regionStats(ct, a)!, regionStats(ct, b)!)).toBeCloseTo(expected, 12);
    const { rows, cnr } = measurementTable([{ key: 'lowDose', slice: 1, units: 'HU', values: ct }], [
      { name: 'R1', shape: a },
      { name: 'R2', shape: b },
      { name: 'L1', shape: { kind: 'length', from: { x: 0, y: 0 }, to: { x: 10, y: 20 } } },
    ]);
    expect(cnr[0]!.value).toBeCloseTo(expected, 12);
    const csv = tableCsv(rows, cnr).split('\n');
    // R1: 100 HU, SD 0, 100 pixels = 35 mm²; L1: 10 columns × 0.5 mm by 20 rows × 0.7 mm.
    expect(csv[1]).toBe('R1,rectangle,lowDose,1,HU,100,0,100,100,100,35,,');
    expect(csv[2]!.split(',').slice(5, 11).map(Number)).toEqual([40, 10 * Math.sqrt(200 / 199), 30, 50, 200, 70].map((v) => Number(String(v))));
    expect(Number(csv[3]!.split(',')[11])).toBeCloseTo(Math.hypot(5, 14), 12);
    expect(Number(csv.at(-2)!.split(',')[3])).toBeCloseTo(expected, 12);
  });

  it('leaves padded pixels (outside the scanned field) out of mean, SD, min, max and area, as src/metrics does', () => {
    // Columns 15 and up of the checkerboard block are padding, stored as -3024 HU.
    const padding = Uint8Array.from({ length: ROWS * COLUMNS }, (_, i) => (i % COLUMNS >= 15 ? 1 : 0));
    const padded: PixelValues = { ...ct, value: (i) => (padding[i] ? -3024 : ctValue(i)), padding };
    const rect = { kind: 'rectangle' as const, from: { x: 10, y: 10 }, to: { x: 20, y: 30 } };
    const s = regionStats(padded, rect)!;
    // What is left: 20 rows × 5 columns of the checkerboard.
    expect(s.pixels).toBe(100);
    expect(s.mean).toBeCloseTo(40, 12);
    expect(s.sd).toBeCloseTo(10 * Math.sqrt(100 / 99), 12);
    expect([s.min, s.max]).toEqual([30, 50]);
    expect(s.areaMm2).toBeCloseTo(35, 12);
    const u = ellipseUptake({ ...padded, location: 0 }, { cx: 15, cy: 20, rx: 5, ry: 10 }, null)!;
    expect(u.mean).toBeGreaterThanOrEqual(30);
    expect(u.max).toBe(50);
    // An ROI wholly in padding has no statistics.
    expect(regionStats(padded, { kind: 'rectangle', from: { x: 30, y: 10 }, to: { x: 40, y: 20 } })).toBeNull();
    expect(ellipseUptake({ ...padded, location: 0 }, { cx: 35, cy: 15, rx: 3, ry: 3 }, null)).toBeNull();
  });
});

describe('PET ROI readouts against a phantom of known SUV', () => {
  /** 2 mm voxels in every direction (slices 2 mm apart), 41 × 41 × 11. */
  const N = 41;
  function stack(value: (r: number, c: number, k: number) => number, padding?: (r: number, c: number, k: number) => boolean): SliceValues[] {
    return Array.from({ length: 11 }, (_, k) => ({
      rows: N,
      columns: N,
      value: (i: number) => value(Math.floor(i / N), i % N, k),
      pixelSpacing: [2, 2] as const,
      location: 2 * k,
      ...(padding ? { padding: Uint8Array.from({ length: N * N }, (_, i) => (padding(Math.floor(i / N), i % N, k) ? 1 : 0)) } : {}),
    }));
  }

  it('reads SUVmean 5, SD 0, SUVmax 5 and SUVpeak 5 inside a uniform ball of SUV 5 on a background of 1', () => {
    // Ball of radius 30 mm around voxel (20, 20, 5): a 6 mm sphere round any pixel of the ROI stays in it.
    const slices = stack((r, c, k) => (Math.hypot(2 * (r - 20), 2 * (c - 20), 2 * (k - 5)) <= 30 ? 5 : 1));
    const u = ellipseUptake(slices[5]!, { cx: 20.5, cy: 20.5, rx: 5, ry: 5 }, slices)!;
    expect([u.mean, u.std, u.max, u.peak]).toEqual([5, 0, 5, 5]);
  });

  it('takes SUVpeak as the mean of the 123 voxels of 2 mm within 6 mm: PERCIST’s 1 cm³ sphere', () => {
    // Lattice points with i² + j² + k² ≤ 9 (radius 6 mm in 2 mm steps): 123 voxels, 984 mm³.
    expect(PEAK_RADIUS_MM).toBe(6);
    // Background SUV 1; one voxel 123 above it: every sphere holding it averages 1 + 123 / 123 = 2.
    const slices = stack((r, c, k) => (r === 20 && c === 20 && k === 5 ? 124 : 1));
    const u = ellipseUptake(slices[5]!, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, slices)!;
    expect(u.peak).toBeCloseTo(2, 12);
    expect(u.max).toBe(124);
  });

  it('leaves padded voxels out of the SUVpeak sphere, as lesionStats does', () => {
    // Uniform SUV 2, with the columns from 22 on padding stored as 0: the sphere's mean stays 2.
    const slices = stack(
      (_r, c) => (c >= 22 ? 0 : 2),
      (_r, c) => c >= 22,
    );
    const u = ellipseUptake(slices[5]!, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, slices)!;
    expect([u.mean, u.std, u.max]).toEqual([2, 0, 2]);
    expect(u.peak).toBe(2);
    // Its sphere lost the padded voxels, so the readout says it is cut.
    expect(u.peakTruncated).toBe(true);
  });

  it('labels SUVpeak as cut where its sphere reaches past the image\'s corner: 29 of the 123 voxels', () => {
    // One voxel 123 above a background of 1 at row 0, column 0 of the first slice: the sphere keeps the
    // lattice points with i, j, k ≥ 0 of i² + j² + k² ≤ 9, 29 voxels, and reads 1 + 123/29.
    const slices = stack((r, c, k) => (r === 0 && c === 0 && k === 0 ? 124 : 1));
    const sphere = sphereSlices(slices.map((s) => s.location), null, 0)!;
    const u = ellipseUptake(slices[0]!, { cx: 0.5, cy: 0.5, rx: 1, ry: 1 }, [slices[0]!, ...sphere.near.map((n) => slices[n.slice]!)], sphere.edges)!;
    expect([u.peakVoxels, u.peakTruncated]).toEqual([29, true]);
    expect(u.peak).toBeCloseTo(1 + 123 / 29, 12);
    expect(formatUptake(u, 'SUV', true)).toMatch(/ · SUVpeak \(sphere cut by the volume's edge\) 5\.24$/);
    // The same corner on a middle slice: only the image's sides cut it, 47 voxels; with no series
    // edges given the sides are still the slice's own.
    const middle = stack((r, c, k) => (r === 0 && c === 0 && k === 5 ? 124 : 1));
    const m = ellipseUptake(middle[5]!, { cx: 0.5, cy: 0.5, rx: 1, ry: 1 }, middle)!;
    expect([m.peakVoxels, m.peakTruncated]).toEqual([47, true]);
  });

  it('takes a reference pane\'s SUVpeak sphere over the reference\'s own slices, not the low-dose ones', () => {
    // Low-dose slices 4 mm apart (z = 0, 4, …, 20); the reference 2 mm apart (z = 0, 2, …, 20), each
    // low-dose slice shown against the reference slice at its z. On low-dose slice 2 (z = 8) the
    // reference pane shows its slice 4; its sphere holds reference slices 1–7 (z = 2 … 14), among
    // them slice 3 (z = 6), which no low-dose slice matches. One voxel 123 above a background of 1
    // there: 1 + 123 / 123 = 2. Chosen by the low-dose locations (slices 2, 4, 6) it would read 1.
    const reference = stack((r, c, k) => (r === 20 && c === 20 && k === 3 ? 124 : 1));
    const referenceLocations = reference.map((s) => s.location);
    const sliceMap = [0, 2, 4, 6, 8, 10];
    const sphere = sphereSlices(referenceLocations, sliceMap, 2)!;
    expect(sphere.slice).toBe(4);
    expect(sphere.location).toBe(8);
    expect(sphere.near.map((n) => n.slice)).toEqual([1, 2, 3, 5, 6, 7]);
    const u = ellipseUptake(reference[sphere.slice]!, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, sphere.near.map((n) => reference[n.slice]!))!;
    expect(u.peak).toBeCloseTo(2, 12);
    expect(u.peakIn2D).toBe(false);
  });

  it('reads each slice\'s own location when the reference sits at other positions than the low-dose', () => {
    // Reference at z = 1, 3, 5, …: the sphere around its slice 3 (z = 7) holds z = 1 … 13.
    const sphere = sphereSlices([1, 3, 5, 7, 9, 11, 13, 15], [0, 1, 3], 2)!;
    expect([sphere.slice, sphere.location]).toEqual([3, 7]);
    expect(sphere.near).toEqual([1, 3, 5, 9, 11, 13].map((z) => ({ slice: (z - 1) / 2, location: z })));
    // A low-dose slice the pane has no slice for (blank) has no sphere.
    expect(sphereSlices([1, 3], [-1, 0], 0)).toBeNull();
  });

  it('labels SUVpeak as a 2-D disc when the series has no slice positions', () => {
    // No location: the 6 mm "sphere" is the 29 pixels of 2 mm within 6 mm on the slice (i² + j² ≤ 9),
    // one of them 29 above a background of 1: 1 + 29 / 29 = 2. The hotter slice beside it is out.
    const slices = stack((r, c, k) => (k === 4 ? 50 : r === 20 && c === 20 && k === 5 ? 30 : 1)).map((s) => ({ ...s, location: null }));
    const sphere = sphereSlices(slices.map((s) => s.location), null, 5)!;
    expect(sphere).toEqual({ slice: 5, location: null, near: [], edges: null });
    const u = ellipseUptake(slices[5]!, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, slices)!;
    expect(u.peak).toBeCloseTo(2, 12);
    expect(u.peakIn2D).toBe(true);
    expect(formatUptake(u, 'SUV', true)).toMatch(/ · SUVmax 30\.00 · SUVpeak \(2-D, no slice positions\) 2\.00$/);
    const located = ellipseUptake({ ...slices[5]!, location: 10 }, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, [])!;
    expect(located.peakIn2D).toBe(false);
    expect(formatUptake(located, 'SUV', true)).toMatch(/ · SUVpeak \d/);
  });

  it('labels SUVpeak as cut where its sphere reaches past the first slice, keeping the mean over the voxels that exist', () => {
    // Slices z = 0, 2, …, 20: the volume ends 1 mm (half the spacing) outside z = 0 and z = 20.
    // One voxel 123 above a background of 1 on the first slice: the sphere round it holds only the
    // lattice points with k ≥ 0, 29 + 25 + 21 + 1 = 76 of PERCIST's 123, and reads 1 + 123/76.
    const hotAt = (slice: number) => stack((r, c, k) => (r === 20 && c === 20 && k === slice ? 124 : 1));
    const readout = (slices: SliceValues[], index: number) => {
      const sphere = sphereSlices(slices.map((s) => s.location), null, index)!;
      expect(sphere.edges).toEqual({ low: -1, high: 21, first: 0, last: 20 });
      const near = sphere.near.map((n) => slices[n.slice]!);
      return ellipseUptake(slices[index]!, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, [slices[index]!, ...near], sphere.edges)!;
    };
    const first = readout(hotAt(0), 0);
    expect(first.peakVoxels).toBe(76);
    expect(first.peak).toBeCloseTo(1 + 123 / 76, 12);
    expect(first.peakTruncated).toBe(true);
    expect(formatUptake(first, 'SUV', true)).toMatch(/ · SUVpeak \(sphere cut by the volume's edge\) 2\.62$/);
    // z = 4: the sphere reaches z = −2, past the edge at −1, and misses the one lattice point there: 122.
    const third = readout(hotAt(2), 2);
    expect([third.peakVoxels, third.peakTruncated]).toEqual([122, true]);
    expect(third.peak).toBeCloseTo(1 + 123 / 122, 12);
    // z = 6 reaches z = 0, inside the volume: the whole sphere, uncut, as on a middle slice.
    const fourth = readout(hotAt(3), 3);
    expect([fourth.peakVoxels, fourth.peakTruncated]).toEqual([123, false]);
    const middle = readout(hotAt(5), 5);
    expect([middle.peakVoxels, middle.peakTruncated]).toEqual([123, false]);
    expect(middle.peak).toBeCloseTo(2, 12);
    expect(formatUptake(middle, 'SUV', true)).toMatch(/ · SUVpeak 2\.00$/);
    // The last slice is cut the same way; without edges nothing is flagged.
    const last = readout(hotAt(10), 10);
    expect([last.peakVoxels, last.peakTruncated]).toEqual([76, true]);
    const slices = hotAt(0);
    expect(ellipseUptake(slices[0]!, { cx: 20.5, cy: 20.5, rx: 3, ry: 3 }, slices)!.peakTruncated).toBe(false);
  });
});
