/**
 * The out-of-field mask of the corpus' lossy-compressed CT slices against the mask of the same
 * slice stored losslessly (its twin), under the exact-value rule lossless slices use and the rule
 * lossy slices use now (src/dicom/out-of-field.ts; docs/metrics.md "Valid pixels"). Each mask is
 * the union the reader builds: PixelPaddingValue matches and out-of-field fill.
 *
 * Run: npx tsx scripts/dev/lossy-out-of-field.ts
 */
import { decodeFrameStoredValues, outOfFieldMask, paddingMask, readSlicePixels, scanPaths, unionMasks } from '../../src/dicom/index.js';
import { CT1_J2KI_TWIN, CTIMAGE_LOSSY_TWINS, J2KI_693_TWIN } from '../../test/helpers/lossy-twins.js';

const CORPUS = '../shared/dicom/';
const PAIRS: ReadonlyArray<readonly [string, string]> = [CT1_J2KI_TWIN, J2KI_693_TWIN, ...CTIMAGE_LOSSY_TWINS];

async function masks(file: string): Promise<{ exact: Uint8Array; lossy: Uint8Array; read: Uint8Array }> {
  const { series } = await scanPaths([CORPUS + file]);
  const slice = series[0]!.slices[0]!;
  const { values, pixel } = await decodeFrameStoredValues(slice.file);
  const none = new Uint8Array(values.length);
  const mask = (lossy: boolean) =>
    unionMasks(paddingMask(values, pixel), outOfFieldMask(values, pixel.rows, pixel.columns, slice.rescaleSlope, slice.rescaleIntercept, { lossy })) ?? none;
  return { exact: mask(false), lossy: mask(true), read: (await readSlicePixels(slice, series[0]!.units)).padding ?? none };
}

function against(mask: Uint8Array, truth: Uint8Array): string {
  let marked = 0;
  let extra = 0;
  let missed = 0;
  for (let i = 0; i < mask.length; i++) {
    marked += mask[i]!;
    if (mask[i] && !truth[i]) extra++;
    if (!mask[i] && truth[i]) missed++;
  }
  return `${marked} (extra ${extra}, missed ${missed})`;
}

for (const [lossy, twin] of PAIRS) {
  const truth = (await masks(twin)).read;
  const { exact, lossy: rule, read } = await masks(lossy);
  const name = lossy.split('/').pop()!.replace('CTImage.dcm_', 'CTImage ');
  console.log(`${name}\n  twin ${truth.reduce((a, b) => a + b, 0)} | exact-value rule ${against(exact, truth)} | lossy rule ${against(rule, truth)} | read ${read.reduce((a, b) => a + b, 0)}`);
}
