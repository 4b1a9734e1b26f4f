/**
 * Series grouping and sorting: real multi-slice series from the corpus (axial, oblique, several
 * small series in one folder) and synthetic headers for the awkward cases.
 */
import { describe, expect, it } from 'vitest';
import { buildSeries, scanPaths, sliceNormal, type ImageHeader } from '../../src/dicom/index.js';
import type { Orientation, Vec3 } from '../../src/dicom/types.js';
import { corpusPath } from './helpers/corpus.js';

describe('series from the corpus', () => {
  it('sorts QIICR ct-3slice from inferior to superior with 1 mm spacing', async () => {
    const { series, errors } = await scanPaths([corpusPath('QIICR__dcmqi/data/segmentations/ct-3slice')]);
    expect(errors).toEqual([]);
    expect(series).toHaveLength(1);
    const s = series[0]!;
    expect(s.modality).toBe('CT');
    expect(s.units).toBe('HU');
    expect(s.slices.map((slice) => slice.file.split('/').pop())).toEqual(['03.dcm', '02.dcm', '01.dcm']);
    const z = s.slices.map((slice) => slice.position![2]);
    expect(z[0]!).toBeLessThan(z[1]!);
    expect(z[1]!).toBeLessThan(z[2]!);
    expect(s.spacing[2]).toBe(1);
    expect(s.spacing[0]).toBeCloseTo(0.810547, 6);
    expect(s.warnings).toEqual([]);
  });

  it('sorts the oblique rt-utils stack along its own normal, with the spacing measured along it', async () => {
    const { series } = await scanPaths([corpusPath('qurit__rt-utils/tests/oriented_data')]);
    expect(series).toHaveLength(1);
    const s = series[0]!;
    const normal = sliceNormal(s.orientation!);
    // The orientation is oblique: the normal is far from every axis.
    expect(Math.max(...normal.map(Math.abs))).toBeLessThan(0.95);
    expect(s.slices.map((slice) => slice.file.split('/').pop())).toEqual(['0.dcm', '1.dcm', '2.dcm']);
    const locations = s.slices.map((slice) => slice.location!);
    expect(locations[1]! - locations[0]!).toBeCloseTo(4.5, 4);
    expect(locations[2]! - locations[1]!).toBeCloseTo(4.5, 4);
    expect(s.spacing).toEqual([3.5, 2.5, 4.5]);
  });

  it('finds the separate series of the dicomdirtests folders and sorts each', async () => {
    const base = 'pydicom__pydicom/src/pydicom/data/test_files/dicomdirtests/';
    const { series, errors } = await scanPaths([corpusPath(`${base}77654033`), corpusPath(`${base}98892001`)]);
    expect(errors).toEqual([]);
    const byDescription = new Map(series.map((s) => [s.seriesDescription, s]));
    const smartScore = byDescription.get('SmartScore - Gated 0.5 sec')!;
    expect(smartScore.slices).toHaveLength(5);
    expect(smartScore.spacing[2]).toBe(2.5);
    const locations = smartScore.slices.map((s) => s.location!);
    expect([...locations].sort((a, b) => a - b)).toEqual(locations);
    // Three single CR views, each its own series.
    expect(series.filter((s) => s.modality === 'CR')).toHaveLength(3);
    // CT2 holds 4 slices with one large jump: reported as a gap.
    const brain = byDescription.get('Routine Brain')!;
    expect(brain.slices).toHaveLength(4);
    expect(brain.warnings.map((w) => w.code)).toContain('E_INCONSISTENT_SERIES');
    expect(brain.warnings[0]!.message).toMatch(/gap/);
    // One scout UID with two orientations → two stacks with keys uid#1, uid#2.
    const scouts = series.filter((s) => s.seriesDescription === 'Scout');
    expect(scouts.map((s) => s.key.split('#')[1])).toEqual(['1', '2']);
    expect(scouts.every((s) => s.warnings.some((w) => w.code === 'E_INCONSISTENT_SERIES'))).toBe(true);
  });

  it('counts a slice stored in many transfer syntaxes once and says so', async () => {
    const dir = 'cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/';
    const files = ['CTImage.dcm', 'CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm', 'CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm'];
    const { series } = await scanPaths(files.map((f) => corpusPath(dir + f)));
    expect(series).toHaveLength(1);
    expect(series[0]!.slices).toHaveLength(1);
    expect(series[0]!.warnings.map((w) => w.message).join(' ')).toMatch(/2 duplicate instance/);
  });
});

function header(
  path: string,
  position: Vec3 | null,
  options: { uid?: string; sop?: string; rows?: number; orientation?: Orientation; instance?: number; kernel?: string; modality?: string } = {},
): ImageHeader {
  return {
    path,
    rows: options.rows ?? 4,
    columns: 4,
    frames: 1,
    samplesPerPixel: 1,
    photometricInterpretation: 'MONOCHROME2',
    planarConfiguration: 0,
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 1,
    padding: null,
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    sopInstanceUid: options.sop ?? `sop-${path}`,
    studyInstanceUid: 'study',
    seriesInstanceUid: options.uid ?? 'series',
    frameOfReferenceUid: 'frame',
    modality: options.modality ?? 'CT',
    seriesDescription: '',
    derivationDescription: '',
    convolutionKernel: options.kernel ?? null,
    instanceNumber: options.instance ?? null,
    statedCount: null,
    spacingBetweenSlices: null,
    rescaleType: null,
    units: null,
    hasModalityLutSequence: false,
    frameGeometry: [
      {
        position,
        orientation: options.orientation ?? [1, 0, 0, 0, 1, 0],
        pixelSpacing: [0.7, 0.7],
        sliceThickness: 3,
        rescaleSlope: 1,
        rescaleIntercept: -1024,
      },
    ],
    pet: null,
    notes: [],
    geometryIssues: [],
  };
}

describe('buildSeries', () => {
  it('sorts by position whatever the file order, and takes the median step as spacing', () => {
    const [s] = buildSeries([header('c', [0, 0, 4]), header('a', [0, 0, 0]), header('b', [0, 0, 2]), header('d', [0, 0, 6])]);
    expect(s!.slices.map((x) => x.file)).toEqual(['a', 'b', 'c', 'd']);
    expect(s!.spacing).toEqual([0.7, 0.7, 2]);
    expect(s!.warnings).toEqual([]);
  });

  it('warns E_SHARP_KERNEL on a CT series reconstructed with a lung kernel, and keeps the kernel name', () => {
    const [s] = buildSeries([header('a', [0, 0, 0], { kernel: 'LUNG' }), header('b', [0, 0, 2], { kernel: 'LUNG' })]);
    expect(s!.convolutionKernel).toBe('LUNG');
    expect(s!.warnings.map((w) => w.code)).toEqual(['E_SHARP_KERNEL']);
    expect(s!.warnings[0]!.message).toMatch(/LUNG.*lung \/ bone kernel/);
  });

  it('does not warn for a standard kernel, or for a non-CT series whatever its kernel field says', () => {
    const [ct] = buildSeries([header('a', [0, 0, 0], { kernel: 'STANDARD' }), header('b', [0, 0, 2], { kernel: 'STANDARD' })]);
    expect(ct!.warnings).toEqual([]);
    const pet = buildSeries([header('p', [0, 0, 0], { kernel: 'B70f', modality: 'MR' })]);
    expect(pet[0]!.warnings.filter((w) => w.code === 'E_SHARP_KERNEL')).toEqual([]);
  });

  it('sorts a coronal stack along y through the normal (row x column)', () => {
    const coronal: Orientation = [1, 0, 0, 0, 0, -1];
    // normal = (1,0,0) x (0,0,-1) = (0,1,0)
    const [s] = buildSeries([
      header('y5', [0, 5, 0], { orientation: coronal }),
      header('y1', [0, 1, 0], { orientation: coronal }),
      header('y3', [0, 3, 0], { orientation: coronal }),
    ]);
    expect(s!.slices.map((x) => x.file)).toEqual(['y1', 'y3', 'y5']);
    expect(s!.slices.map((x) => x.location)).toEqual([1, 3, 5]);
  });

  it('warns about two slices at one position and about a gap', () => {
    const [s] = buildSeries([
      header('a', [0, 0, 0]),
      header('b', [0, 0, 1]),
      header('b2', [0, 0, 1]),
      header('c', [0, 0, 2]),
      header('d', [0, 0, 6]),
    ]);
    const messages = s!.warnings.map((w) => `${w.code} ${w.message}`);
    expect(messages.some((m) => /E_INCONSISTENT_SERIES .*share a position/.test(m))).toBe(true);
    expect(messages.some((m) => /E_INCONSISTENT_SERIES .*gap/.test(m))).toBe(true);
    expect(s!.spacing[2]).toBe(1);
  });

  it('splits one SeriesInstanceUID holding two image sizes into uid#1 and uid#2', () => {
    const series = buildSeries([header('a', [0, 0, 0]), header('b', [0, 0, 1], { rows: 8 }), header('c', [0, 0, 2])]);
    expect(series.map((s) => [s.key, s.slices.length])).toEqual([
      ['series#1', 2],
      ['series#2', 1],
    ]);
    expect(series.every((s) => s.warnings.some((w) => w.code === 'E_INCONSISTENT_SERIES'))).toBe(true);
  });

  it('falls back to instance numbers when positions are missing', () => {
    const [s] = buildSeries([
      header('x', null, { instance: 3 }),
      header('y', null, { instance: 1 }),
      header('z', null, { instance: 2 }),
    ]);
    expect(s!.slices.map((x) => x.file)).toEqual(['y', 'z', 'x']);
    // No positions: the spacing comes from SliceThickness.
    expect(s!.spacing[2]).toBe(3);
  });
});
