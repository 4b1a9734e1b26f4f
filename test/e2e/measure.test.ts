/// <reference lib="dom" />
/**
 * Measuring in the viewer, in real headless Chromium (./harness.ts): the pixel probe under the
 * cursor against the DICOM files' own values (HU of a real scanner CT, SUV of a PET comparison in
 * every pane).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const CT_3SLICE = path.resolve(REPO, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');

if (!hasChromium) console.warn('viewer measuring tests skipped: /usr/bin/chromium not found');

describe.skipIf(!hasChromium)('measuring in the viewer (headless Chromium)', () => {
  let root: string;
  let data: string;
  let session: ViewerSession;
  let probes: ReturnType<typeof paneProbes>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-measure-'));
    data = path.join(root, 'data');
    cpSync(CT_3SLICE, path.join(data, 'ct'), { recursive: true });
    // PET: the IEC fixture at 25 % counts, smoothed, against its full-count scan.
    const iec = path.join(REPO, 'fixtures/iec');
    cpSync(path.join(iec, 'dose25'), path.join(data, 'pet', 'low'), { recursive: true });
    cpSync(path.join(iec, 'dose100'), path.join(data, 'pet', 'full'), { recursive: true });
    await denoisePaths([path.join(data, 'pet', 'low')], { outDir: path.join(data, 'pet', 'denoised'), method: 'gaussian', reference: [path.join(data, 'pet', 'full')] });
    session = await startViewer({ data: [data], root });
    probes = paneProbes(session.page);
  });

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const seriesIn = async (dir: string): Promise<Series> => (await scanPaths([path.join(data, dir)])).series[0]!;

  /** Each shown pane's probe: the image pixel, the value and the slice (Im n, 1-based) it reads. */
  const probeReadings = () =>
    session.page.$$eval('.pane:not([hidden])', (panes) =>
      panes.map((pane) => {
        const box = pane.querySelector<HTMLElement>('.pane-probe');
        return {
          key: (pane as HTMLElement).dataset.pane!,
          column: Number(box?.dataset.column ?? NaN),
          row: Number(box?.dataset.row ?? NaN),
          value: box?.dataset.value === undefined ? null : Number(box.dataset.value),
          text: box?.textContent ?? '',
          slice: Number(/Im (\d+) \//.exec(pane.querySelector('.pane-slice')?.textContent ?? '')?.[1] ?? NaN),
        };
      }),
    );

  /** Moves the mouse to fraction (fx, fy) of the source pane's image box. */
  const hover = async (fx: number, fy: number): Promise<void> => {
    const box = (await session.page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    await session.page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 3 });
  };

  it('reads the HU under the cursor of a real CT, equal to the DICOM value of that pixel', async () => {
    const { page } = session;
    const ct = session.studies.studies.find((s) => s.modalities.includes('CT'))!.series[0]!;
    await page.goto(`${session.url}/#s=${ct.id}&i=1`);
    await page.waitForSelector(`body[data-view="s:${ct.id}"]`);
    await probes.expectRealPixels('lowDose');
    const series = await seriesIn('ct');
    // Two places: soft tissue near the centre and further out; each reading is the file's value at the pixel it names.
    for (const [fx, fy] of [
      [0.5, 0.55],
      [0.35, 0.45],
    ] as const) {
      await hover(fx, fy);
      await expect.poll(async () => (await probeReadings())[0]?.value ?? null, POLL).not.toBeNull();
      const [reading] = await probeReadings();
      const { column, row, value, text, slice } = reading!;
      expect(slice).toBe(2);
      const pixels = await readSliceImage(series, slice - 1);
      expect(value).toBeCloseTo(pixels.data[row * series.columns + column]!, 3);
      expect(text).toMatch(new RegExp(`^\\(${column}, ${row}\\) -?\\d+(\\.\\d+)? HU$`));
    }
    // Off the image: no reading.
    await page.mouse.move(5, 5);
    await expect.poll(async () => (await probeReadings())[0]?.text, POLL).toBe('');
  });

  it('reads the SUV under the cursor at the same pixel in every pane of a PET comparison', async () => {
    const comparison = session.studies.studies.find((s) => s.modalities.includes('PT'))!.comparisons[0]!;
    await probes.openFromList(`c:${comparison.id}`);
    for (const key of ['lowDose', 'denoised', 'reference']) await probes.expectRealPixels(key);
    const files: Record<string, Series> = { lowDose: await seriesIn('pet/low'), denoised: await seriesIn('pet/denoised'), reference: await seriesIn('pet/full') };
    // Inside the largest hot sphere, and in the warm background.
    for (const [fx, fy] of [
      [0.36, 0.42],
      [0.6, 0.6],
    ] as const) {
      await hover(fx, fy);
      await expect.poll(async () => (await probeReadings()).filter((r) => r.value !== null).length, POLL).toBeGreaterThanOrEqual(4);
      const readings = await probeReadings();
      const source = readings.find((r) => r.key === 'lowDose')!;
      for (const reading of readings) {
        // The same image pixel in every pane.
        expect([reading.column, reading.row]).toEqual([source.column, source.row]);
        const series = files[reading.key];
        if (!series) continue;
        const pixels = await readSliceImage(series, reading.slice - 1);
        expect(series.units).toBe('SUVbw');
        expect(reading.value!, `${reading.key} at (${reading.column}, ${reading.row})`).toBeCloseTo(pixels.data[reading.row * series.columns + reading.column]!, 4);
        expect(reading.text).toMatch(/ \d+\.\d\d SUV$/);
      }
      // The difference pane reads denoised − reference at that pixel (its int16 grid: within 0.01 SUV).
      const by = (key: string) => readings.find((r) => r.key === key)!.value!;
      expect(Math.abs(by('difference') - (by('denoised') - by('reference')))).toBeLessThan(0.01);
    }
  });
});
