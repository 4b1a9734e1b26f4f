/**
 * A source that marks padding with a range (PixelPaddingValue + PixelPaddingRangeLimit) keeps it
 * declared in the denoised series (docs/dicom-writing.md: "with several padding values ... the
 * source's own rescale. The declared PixelPaddingValue is then written unchanged"). Before, the
 * stored values were kept but both attributes were dropped, so viewers showed the padding as image
 * and lowdose, reading its own output, counted it in metrics. Checked on fo-dicom's GH1376 (a
 * tomosynthesis slice, padding 0..16 unsigned) and on a seeded signed CT phantom with a range of
 * fill values; the output's tags are read with dicom-parser.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSlicePixels, scanPaths } from '../../src/dicom/index.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { buildDicom, imageElements } from '../dicom/helpers/synthetic-dicom.js';
import { corpus, parse, storedValues, temporaryDirectories } from './helpers.js';

const tmp = temporaryDirectories();

async function denoiseOne(input: string): Promise<{ source: string; output: string }> {
  const out = tmp('padding-range-out');
  const run = await runCli('denoise', input, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout) as DenoiseReport;
  return { source: report.series[0]!.input.files[0]!, output: report.series[0]!.output.files[0]! };
}

async function paddingMaskOf(file: string): Promise<Uint8Array | null> {
  const { series } = await scanPaths([file]);
  return (await readSlicePixels(series[0]!.slices[0]!)).padding;
}

/** Whether two masks are the same (a byte compare: toEqual on millions of elements takes minutes). */
function sameMask(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** A signed 64 x 64 CT slice: a disc of tissue in a field padded with stored -2048..-2000. */
function rangePaddedCt(path: string): void {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const size = 64;
  const values = new Int16Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = (x - 31.5) ** 2 + (y - 31.5) ** 2 < 28 ** 2;
      // Padding: several fill values of the range; tissue: about 40 HU (stored 1064) with noise.
      values[y * size + x] = inside ? 1064 + Math.round((random() - 0.5) * 120) : -2048 + Math.floor(random() * 49);
    }
  }
  const bytes = buildDicom({
    transferSyntax: '1.2.840.10008.1.2.1',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    elements: imageElements({
      rows: size,
      columns: size,
      pixelRepresentation: 1,
      intercept: -1024,
      extra: [
        { tag: 0x00280120, vr: 'SS', value: -2048 },
        { tag: 0x00280121, vr: 'SS', value: -2000 },
      ],
    }),
    pixelData: { native: new Uint8Array(values.buffer) },
  });
  writeFileSync(path, bytes);
}

describe('a padding range survives denoising', () => {
  it('GH1376 (unsigned, 0..16): PixelPaddingValue 0 and PixelPaddingRangeLimit 16 declared, same padded pixels', async () => {
    const { source, output } = await denoiseOne(corpus('fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH1376.dcm'));
    const ds = parse(output);
    expect(ds.uint16('x00280120')).toBe(0);
    expect(ds.uint16('x00280121')).toBe(16);
    expect(ds.uint16('x00280103')).toBe(0);
    const stored = storedValues(ds);
    const inRange = Array.from(stored).filter((v) => v >= 0 && v <= 16).length;
    const before = (await paddingMaskOf(source))!;
    expect(inRange).toBe(before.reduce((n, v) => n + v, 0));
    expect(sameMask(await paddingMaskOf(output), before)).toBe(true);
  }, 60_000);

  it('a signed CT phantom (-2048..-2000): declared as SS, padded pixels keep their stored values', async () => {
    const dir = tmp('padding-range-in');
    rangePaddedCt(join(dir, 'IM0001.dcm'));
    const { source, output } = await denoiseOne(dir);
    const ds = parse(output);
    expect(ds.int16('x00280120')).toBe(-2048);
    expect(ds.int16('x00280121')).toBe(-2000);
    const input = storedValues(parse(source));
    const written = storedValues(ds);
    const mask = (await paddingMaskOf(source))!;
    expect(mask.reduce((n, v) => n + v, 0)).toBeGreaterThan(0);
    for (let i = 0; i < mask.length; i++) if (mask[i]) expect(written[i]).toBe(input[i]);
    expect(sameMask(await paddingMaskOf(output), mask)).toBe(true);
  });
});
