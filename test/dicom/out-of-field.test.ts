/**
 * Out-of-field fill of CT slices without a matching PixelPaddingValue (src/dicom/out-of-field.ts),
 * checked on the real slices of ../shared/dicom and ../shared/ldct-mayo, and on lossy-compressed
 * copies of corpus slices against their lossless twins.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeFrameStoredValues, outOfFieldMask, paddingMask, readSliceImage, readSlicePixels, scanPaths } from '../../src/dicom/index.js';
import { CT1_J2KI_TWIN, CTIMAGE_LOSSY_TWINS, J2KI_693_TWIN } from '../helpers/lossy-twins.js';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
const DICOM = join(SHARED, 'dicom');
const at = (path: string) => join(DICOM, path);

/** GE slices that declare PixelPaddingValue -2000 and use it (-3024 HU). */
const DECLARED = [
  'QIICR__dcmqi/data/segmentations/ct-3slice/01.dcm',
  'QIICR__dcmqi/data/segmentations/ct-3slice/02.dcm',
  'QIICR__dcmqi/data/segmentations/ct-3slice/03.dcm',
  'cornerstonejs__dicomParser/testImages/CT1_UNC.explicit_little_endian.dcm',
  'pydicom__pydicom-data/data_store/data/693_UNCR.dcm',
  'qurit__rt-utils/tests/mock_data/ct_1.dcm',
  'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH1308.dcm',
];

/** Fill without a usable PixelPaddingValue: GE declaring -32768 but filling -2000, Toshiba -2048 HU, Hitachi -2000 HU. */
const UNDECLARED = [
  'cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm',
  'cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/CT2_J2KR',
  'pydicom__pydicom/src/pydicom/data/test_files/J2K_pixelrep_mismatch.dcm',
];

async function onlySlice(file: string) {
  const { series } = await scanPaths([file]);
  expect(series).toHaveLength(1);
  return { series: series[0]!, image: await readSliceImage(series[0]!, 0) };
}

describe('out-of-field detection in CT', () => {
  it.each(DECLARED)('finds exactly the declared padding of %s without looking at PixelPaddingValue', async (file) => {
    const { series } = await scanPaths([at(file)]);
    const slice = series[0]!.slices[0]!;
    const { values, pixel } = await decodeFrameStoredValues(slice.file);
    const declared = paddingMask(values, pixel)!;
    const detected = outOfFieldMask(values, pixel.rows, pixel.columns, slice.rescaleSlope, slice.rescaleIntercept)!;
    expect(declared.reduce((a, b) => a + b, 0)).toBeGreaterThan(50_000);
    expect(detected.length).toBe(declared.length);
    expect(detected.filter((v, i) => v !== declared[i]).length).toBe(0);
  });

  it.each(UNDECLARED)('marks the fill outside the reconstruction circle of %s', async (file) => {
    const { image, series } = await onlySlice(at(file));
    const mask = image.padding!;
    expect(mask).toBeTruthy();
    const { rows, columns } = image;
    let marked = 0;
    let wrong = 0;
    for (let i = 0; i < mask.length; i++) {
      const r = Math.hypot(Math.floor(i / columns) - (rows - 1) / 2, (i % columns) - (columns - 1) / 2);
      // The fill is the outside of the inscribed circle (r 255.5 px) and nothing inside it; it is
      // at -2000 HU or below, every image pixel above -1100 HU.
      if ((r < 255 && mask[i]) || (r > 258 && !mask[i])) wrong++;
      if (mask[i] ? image.data[i]! > -2000 : image.data[i]! <= -1100) wrong++;
      marked += mask[i]!;
    }
    expect(wrong).toBe(0);
    expect(marked).toBeGreaterThan(55_000);
    // Only CT in HU is looked at: the same pixels read without units are not marked.
    expect((await readSlicePixels(series.slices[0]!)).padding).toBeNull();
  });

  it('marks nothing on the Siemens quarter / full-dose pairs, whose image reaches the corners', async () => {
    const root = join(SHARED, 'ldct-mayo');
    let files = 0;
    for (const patient of readdirSync(root).filter((d) => d.startsWith('L'))) {
      for (const kernel of readdirSync(join(root, patient))) {
        for (const dose of ['full', 'quarter']) {
          const { series } = await scanPaths([join(root, patient, kernel, dose)]);
          for (let i = 0; i < series[0]!.slices.length; i++) {
            expect((await readSliceImage(series[0]!, i)).padding ?? null).toBeNull();
            files++;
          }
        }
      }
    }
    expect(files).toBe(44);
  });

  it('leaves a low pixel alone unless it is the minimum, at or below -1500 HU and joined to the border', () => {
    // 5x5, intercept -1024: -2000 stored is -3024 HU.
    const stored = Int32Array.from([
      -2000, -2000, 0, 0, 0,
      -2000, 0, 0, 0, 0,
      0, 0, -2000, 0, 0, // an island inside: not out of field
      0, 0, 0, 0, 0,
      0, 0, 0, 0, -2000,
    ]);
    expect(Array.from(outOfFieldMask(stored, 5, 5, 1, -1024)!)).toEqual([
      1, 1, 0, 0, 0,
      1, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 1,
    ]);
    // The same minimum at -1476 HU could be noisy air: no mask.
    expect(outOfFieldMask(stored, 5, 5, 1, 524)).toBeNull();
    // Only an island at the minimum: no mask.
    const island = Int32Array.from(stored, (v, i) => (i === 12 ? v : 0));
    expect(outOfFieldMask(island, 5, 5, 1, -1024)).toBeNull();
  });

  it('marks, in lossy mode, every pixel at or below -1500 HU joined to the border, whatever its value', () => {
    // 5x5, intercept -1024: a fill of -2000 stored that a codec moved by up to a few hundred.
    const stored = Int32Array.from([
      -2315, -1998, 0, 0, 0,
      -1661, 0, 0, 0, 0,
      0, 0, -2000, 0, 0, // an island inside: not out of field
      0, 0, 0, 0, -400, // -1424 HU: above the bound, not fill
      0, 0, 0, 0, -2003,
    ]);
    expect(Array.from(outOfFieldMask(stored, 5, 5, 1, -1024, { lossy: true })!)).toEqual([
      1, 1, 0, 0, 0,
      1, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 1,
    ]);
    // The exact-value rule sees only the minimum's one pixel.
    expect(outOfFieldMask(stored, 5, 5, 1, -1024)!.reduce((a, b) => a + b, 0)).toBe(1);
    // Nothing at or below -1500 HU: no mask, lossy or not.
    expect(outOfFieldMask(Int32Array.from(stored, (v) => Math.max(v, -400)), 5, 5, 1, -1024, { lossy: true })).toBeNull();
  });
});

/** Lossy-compressed slices and the same slice stored losslessly (the lossless twin's mask is the truth). */
const LOSSY_TWINS: readonly (readonly [string, string])[] = [CT1_J2KI_TWIN, ...CTIMAGE_LOSSY_TWINS];

async function sliceMask(file: string): Promise<Uint8Array> {
  const { image } = await onlySlice(at(file));
  return image.padding ?? new Uint8Array(image.rows * image.columns);
}

function compare(mask: Uint8Array, truth: Uint8Array): { marked: number; extra: number[]; missed: number } {
  const extra: number[] = [];
  let marked = 0;
  let missed = 0;
  for (let i = 0; i < mask.length; i++) {
    marked += mask[i]!;
    if (mask[i] && !truth[i]) extra.push(i);
    if (!mask[i] && truth[i]) missed++;
  }
  return { marked, extra, missed };
}

describe('out-of-field detection in lossy-compressed CT', () => {
  it.each(LOSSY_TWINS)('marks exactly the fill of the lossless twin in %s', async (lossy, twin) => {
    const truth = await sliceMask(twin);
    expect(truth.reduce((a, b) => a + b, 0)).toBe(55_772);
    const { marked, extra, missed } = compare(await sliceMask(lossy), truth);
    expect({ marked, extra: extra.length, missed }).toEqual({ marked: 55_772, extra: 0, missed: 0 });
  });

  it('marks the fill of 693_J2KI (JPEG 2000 at ratio 339, fill moved by up to 2080) up to the circle edge', async () => {
    const [lossy, twin] = J2KI_693_TWIN;
    const truth = await sliceMask(twin);
    const { marked, extra, missed } = compare(await sliceMask(lossy), truth);
    // Before: the 494 pixels still at PixelPaddingValue -2000. Now all but 24; the 931 extra are
    // the codec's undershoot on the reconstruction circle itself (radius 255.5 px).
    expect(marked).toBe(56_679);
    expect(missed).toBe(24);
    expect(extra).toHaveLength(931);
    for (const i of extra) {
      const r = Math.hypot(Math.floor(i / 512) - 255.5, (i % 512) - 255.5);
      expect(r).toBeGreaterThan(254.5);
      expect(r).toBeLessThan(257);
    }
  });
});
