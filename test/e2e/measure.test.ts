/// <reference lib="dom" />
/**
 * Measuring in the viewer, in real headless Chromium (./harness.ts): the pixel probe under the
 * cursor against the DICOM files' own values (HU of a real scanner CT, SUV of a PET comparison in
 * every pane); several ROIs and a length mirrored in every pane, their table and its CSV download;
 * the layout as a PNG figure.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { PNG } from 'pngjs';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';
import { INSERT_A, LOW_GRID, lowDoseEllipse, writeResampledReferenceStudy, writeTurnedReferenceStudy } from '../server/resampled-reference.js';

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
    // CT whose reference has 0.9 mm pixels and 4 mm slices against the low-dose 0.7 mm and 2 mm.
    await writeResampledReferenceStudy(path.join(data, 'grid'));
    // CT whose reference stores the same field turned a quarter (rows run posterior).
    await writeTurnedReferenceStudy(path.join(data, 'turned'));
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
    // A pane laid out again after its pixels came can be detached for a moment: wait until it shows.
    const image = session.page.locator('.pane[data-pane="lowDose"] .pane-image');
    await image.waitFor({ state: 'visible' });
    const box = (await image.boundingBox())!;
    await session.page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 3 });
  };

  it('reads the HU under the cursor of a real CT, equal to the DICOM value of that pixel', async () => {
    const { page } = session;
    const ct = session.studies.studies.find((s) => s.modalities.includes('CT') && !['resampled reference', 'turned reference'].includes(s.description))!.series[0]!;
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

  it('keeps every image box, and the image in it, where it was when the probe fills the pane footers', async () => {
    const { page } = session;
    const comparison = session.studies.studies.find((s) => s.modalities.includes('PT'))!.comparisons[0]!;
    await page.mouse.move(5, 5);
    // A fresh page (a hash change alone would not open it).
    await page.goto('about:blank');
    await page.goto(`${session.url}/#c=${comparison.id}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    for (const key of ['lowDose', 'denoised', 'reference']) await probes.expectRealPixels(key);
    // Each pane's image box and its canvas, and whether a footer has text yet.
    const boxes = () =>
      page.$$eval('.pane:not([hidden])', (panes) =>
        panes.map((pane) => {
          const image = pane.querySelector<HTMLElement>('.pane-image')!;
          const canvas = image.querySelector('canvas')!;
          return { height: image.clientHeight, width: image.clientWidth, canvas: `${canvas.width}x${canvas.height}`, footer: (pane.querySelector('.pane-info')?.textContent ?? '').trim() };
        }),
      );
    const before = await boxes();
    expect(before.every((b) => b.footer === '')).toBe(true);
    // The readouts (a late re-layout used to move the image off the box's centre: ROIs drawn at the box's coordinates missed).
    await hover(0.5, 0.5);
    await expect.poll(async () => (await boxes()).every((b) => b.footer !== ''), POLL).toBe(true);
    const after = await boxes();
    expect(after.map(({ width, height, canvas }) => ({ width, height, canvas }))).toEqual(before.map(({ width, height, canvas }) => ({ width, height, canvas })));
    for (const b of after) expect(b.canvas).toBe(`${b.width}x${b.height}`);
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

  it('mirrors an ellipse, a rectangle and a length in every pane, with a table, CNR and a CSV equal to it', async () => {
    const { page } = session;
    // Still on the PET comparison. Draws with the mouse over the source pane, from / to fractions of its box.
    const box = (await page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    const at = (fx: number, fy: number) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height });
    const drag = async (from: readonly [number, number], to: readonly [number, number]) => {
      const a = at(...from);
      const b = at(...to);
      await page.mouse.move(a.x, a.y);
      await page.mouse.down();
      await page.mouse.move(b.x, b.y, { steps: 6 });
      await page.mouse.up();
    };
    await page.keyboard.press('r');
    await drag([0.33, 0.39], [0.39, 0.45]); // R1: ellipse in the hot sphere
    await page.keyboard.press('b');
    await drag([0.55, 0.55], [0.65, 0.65]); // R2: rectangle in the warm background
    await page.keyboard.press('m');
    // L1: its end points' pixels from the probe, for the expected length.
    const pixelAt = async (fx: number, fy: number) => {
      await page.mouse.move(at(fx, fy).x, at(fx, fy).y);
      await expect.poll(async () => (await probeReadings())[0]?.column, POLL).not.toBeNaN();
      const [r] = await probeReadings();
      return { column: r!.column, row: r!.row };
    };
    const p0 = await pixelAt(0.2, 0.7);
    const p1 = await pixelAt(0.8, 0.7);
    await drag([0.2, 0.7], [0.8, 0.7]);
    await page.keyboard.press('Escape');

    const tableRows = () =>
      page.$$eval('#measurements tbody tr', (rows) => rows.map((tr) => [(tr as HTMLElement).dataset.measurement!, (tr as HTMLElement).dataset.pane!, ...Array.from(tr.children).map((td) => td.textContent ?? '')]));
    const panes = await probes.paneKeys();
    await expect.poll(async () => (await tableRows()).length, POLL).toBe(2 * panes.length + 1);
    const rows = await tableRows();
    for (const name of ['R1', 'R2']) expect(rows.filter((r) => r[0] === name).map((r) => r[1])).toEqual(panes);
    const cnrText = await page.textContent('#measurements .measure-cnr');
    expect(cnrText).toMatch(/^CNR R1 vs R2: /);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#measure-csv')]);
    expect(download.suggestedFilename()).toBe('lowdose-measurements.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    const [regions, cnrPart] = csv.trim().split('\n\n') as [string, string];
    const [header, ...lines] = regions.split('\n');
    expect(header).toBe('measurement,kind,pane,slice,units,mean,sd,min,max,pixels,area_mm2,length_mm,note');
    const records = lines.map((line) => line.split(','));
    expect(records.length).toBe(rows.length);
    const fixed = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
    for (const [k, record] of records.entries()) {
      const row = rows[k]!;
      const [name, kind, pane, , units, mean, sd, min, max, pixels, area, length] = record as string[] as [string, string, string, string, string, string, string, string, string, string, string, string];
      expect([name, pane]).toEqual([row[0], row[1]]);
      if (kind === 'length') {
        // The length in mm: the pixels under its end points at the PET pixel spacing (within a pixel at each end).
        const spacing = (await seriesIn('pet/low')).spacing[1];
        expect(Number(length)).toBeCloseTo(Number(row[9]), 1);
        expect(Math.abs(Number(length) - Math.hypot(p1.column - p0.column, p1.row - p0.row) * spacing)).toBeLessThan(2 * spacing);
        continue;
      }
      expect(kind).toBe(name === 'R1' ? 'ellipse' : 'rectangle');
      expect(units).toBe('SUV');
      // What the table shows is the CSV's number at the table's precision.
      expect(row.slice(4, 8)).toEqual([mean, sd, min, max].map((v) => fixed(Number(v))));
      expect(row[8]).toBe(Number(area).toFixed(1));
      expect(Number(pixels)).toBeGreaterThan(10);
      expect(Number(min)).toBeLessThanOrEqual(Number(mean));
      expect(Number(max)).toBeGreaterThanOrEqual(Number(mean));
    }
    // The hot sphere against the background: a clear contrast in every pane, the CSV's CNR what the page says.
    const cnr = cnrPart.split('\n').slice(1).map((line) => line.split(','));
    expect(cnr.map((c) => c[2])).toEqual(panes.filter((p) => records.some((r) => r[0] === 'R1' && r[2] === p)));
    for (const c of cnr) expect(cnrText).toContain(Number(c[3]).toFixed(2));
    const mean = (name: string, pane: string) => Number(records.find((r) => r[0] === name && r[2] === pane)![5]);
    // The ellipse takes the sphere's edge too (partial volume): its mean well above the background's, not the 4:1 of the sphere's core.
    expect(mean('R1', 'reference')).toBeGreaterThan(1.5 * mean('R2', 'reference'));
    // The API gives the anatomy panes' rows from the same shapes (image pixels, as the rows carry them): the same numbers.
    const shapes = await page.$$eval('#measurements tbody tr', (trs) => [...new Map(trs.map((tr) => [(tr as HTMLElement).dataset.measurement!, JSON.parse((tr as HTMLElement).dataset.shape!)])).entries()]);
    const comparison = session.studies.studies.find((s) => s.modalities.includes('PT'))!.comparisons[0]!;
    const index = Number(await page.getAttribute('body', 'data-index'));
    const response = await session.app.inject({
      method: 'POST',
      url: '/api/measurements.csv',
      payload: { comparisons: [comparison.id], index, measurements: shapes.map(([name, shape]) => ({ name, shape })) },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-disposition']).toBe('attachment; filename="lowdose-measurements.csv"');
    const [apiRegions, apiCnr] = response.body.trim().split('\n\n') as [string, string];
    const [apiHeader, ...apiLines] = apiRegions.split('\n');
    expect(apiHeader).toBe(header);
    const anatomy = records.filter((r) => ['lowDose', 'denoised', 'reference'].includes(r[2]!));
    const apiRecords = apiLines.map((line) => line.split(','));
    expect(apiRecords.map((r) => r.slice(0, 5))).toEqual(anatomy.map((r) => r.slice(0, 5)));
    for (const [k, r] of apiRecords.entries()) {
      for (let c = 5; c < r.length; c++) {
        // The page's values are the server's slices as sent (float32 SUV): equal within float precision.
        if (r[c] === '') expect(anatomy[k]![c]).toBe('');
        else expect(Number(r[c])).toBeCloseTo(Number(anatomy[k]![c]), 4);
      }
    }
    expect(apiCnr.split('\n').slice(1).map((line) => line.split(',').slice(0, 3))).toEqual(cnr.filter((c) => ['lowDose', 'denoised', 'reference'].includes(c[2]!)).map((c) => c.slice(0, 3)));
    // Del removes them all.
    await page.keyboard.press('Delete');
    await expect.poll(async () => page.isHidden('#measurements'), POLL).toBe(true);
  });

  it('saves the layout as a PNG figure of the panes box, at screen and at twice the resolution', async () => {
    const { page } = session;
    const size = await page.evaluate(() => {
      const r = document.getElementById('panes')!.getBoundingClientRect();
      return { width: r.width, height: r.height };
    });
    for (const [button, scale, name] of [
      ['#figure-button', 1, 'lowdose-figure.png'],
      ['#figure2x-button', 2, 'lowdose-figure@2x.png'],
    ] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      expect(download.suggestedFilename()).toBe(name);
      const png = PNG.sync.read(readFileSync((await download.path())!));
      expect([png.width, png.height]).toEqual([Math.round(size.width * scale), Math.round(size.height * scale)]);
      // The source pane's image lies where it is on screen: its pixel at the pane's centre is the canvas's.
      const centre = await page.evaluate(() => {
        const panes = document.getElementById('panes')!.getBoundingClientRect();
        const canvas = document.querySelector<HTMLCanvasElement>('.pane[data-pane="reference"] canvas')!;
        const r = canvas.getBoundingClientRect();
        const d = canvas.getContext('2d')!.getImageData(Math.floor(canvas.width * 0.4), Math.floor(canvas.height * 0.42), 1, 1).data;
        return { x: r.left - panes.left + 0.4 * r.width, y: r.top - panes.top + 0.42 * r.height, rgb: [d[0]!, d[1]!, d[2]!] };
      });
      const o = 4 * (Math.floor(centre.y * scale) * png.width + Math.floor(centre.x * scale));
      const figure = [png.data[o]!, png.data[o + 1]!, png.data[o + 2]!];
      for (let c = 0; c < 3; c++) expect(Math.abs(figure[c]! - centre.rgb[c]!), `channel ${c}`).toBeLessThanOrEqual(40);
      expect(Math.max(...centre.rgb)).toBeGreaterThan(30);
      // The labels are drawn: the title bar's row is not all background.
      let lit = 0;
      const titleRow = Math.round(8 * scale);
      for (let x = 0; x < png.width; x++) if (png.data[4 * (titleRow * png.width + x)]! > 150) lit++;
      expect(lit).toBeGreaterThan(20);
    }
    expect(await page.getAttribute('body', 'data-figure')).toBe(`${Math.round(size.width * 2)}x${Math.round(size.height * 2)}`);
  });
  it('measures an ROI over the same anatomy in a reference of other pixel and slice spacing, and says where it cannot', async () => {
    const { page } = session;
    const comparison = session.studies.studies.find((s) => s.description === 'resampled reference')!.comparisons[0]!;
    await page.goto('about:blank');
    // Low-dose slice 3 (z = 4 mm), where the reference has a slice.
    await page.goto(`${session.url}/#c=${comparison.id}&i=2`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    for (const key of ['lowDose', 'reference']) await probes.expectRealPixels(key);
    // Screen point of a low-dose image pixel (the square image fitted to its box, centred), checked with the probe.
    const box = (await page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    const scale = Math.min(box.width, box.height) / LOW_GRID.size;
    const screen = (x: number, y: number) => ({ x: box.x + box.width / 2 + (x - LOW_GRID.size / 2) * scale, y: box.y + box.height / 2 + (y - LOW_GRID.size / 2) * scale });
    const roi = lowDoseEllipse(INSERT_A.x, INSERT_A.y, 5);
    const centre = screen(roi.cx, roi.cy);
    await page.mouse.move(centre.x, centre.y);
    await expect.poll(async () => (await probeReadings())[0]?.column, POLL).toBe(Math.floor(roi.cx));
    expect((await probeReadings())[0]!.row).toBe(Math.floor(roi.cy));
    // The probe reads the reference at the same place of the patient: its own pixel of insert A's centre (0.9 mm pixels from the same first pixel).
    await expect.poll(async () => (await probeReadings()).find((r) => r.key === 'reference')?.value ?? null, POLL).toBeCloseTo(INSERT_A.hu(4), 0);
    const onReference = (await probeReadings()).find((r) => r.key === 'reference')!;
    // Within the pixel that a screen pixel of cursor placement may move it (the low-dose one is 0.7 mm).
    expect(Math.abs(onReference.column + 0.5 - (0.5 + (INSERT_A.x - LOW_GRID.origin[0]) / 0.9))).toBeLessThan(1);
    expect(Math.abs(onReference.row + 0.5 - (0.5 + (INSERT_A.y - LOW_GRID.origin[1]) / 0.9))).toBeLessThan(1);
    expect(onReference.column).not.toBe((await probeReadings())[0]!.column);
    // The reference is shown at the same millimetres per screen pixel, the same place at the same point of its box.
    const scaleOf = async (key: string) => Number(await page.getAttribute(`.pane[data-pane="${key}"]`, 'data-scale'));
    expect((await scaleOf('reference')) / (await scaleOf('lowDose'))).toBeCloseTo(0.9 / 0.7, 3);
    // Settled: the panes do not keep redrawing each other (a view through the mapping and back is the same view).
    const settled = await scaleOf('lowDose');
    await page.waitForTimeout(300);
    expect(await scaleOf('lowDose')).toBe(settled);
    const referenceBox = (await page.locator('.pane[data-pane="reference"] .pane-image').boundingBox())!;
    await page.mouse.move(referenceBox.x + (centre.x - box.x), referenceBox.y + (centre.y - box.y));
    await expect.poll(async () => (await probeReadings()).find((r) => r.key === 'reference')?.column, POLL).toBe(onReference.column);
    expect((await probeReadings()).find((r) => r.key === 'reference')!.row).toBe(onReference.row);
    expect((await probeReadings())[0]!.column).toBe(Math.floor(roi.cx));
    // Fit (F) keeps that: the source pane fitted, the reference following it, not fitted on its own.
    await page.keyboard.press('f');
    await expect.poll(async () => (await scaleOf('reference')) / (await scaleOf('lowDose')), POLL).toBeCloseTo(0.9 / 0.7, 3);
    expect(await scaleOf('lowDose')).toBeCloseTo(settled, 3);
    await page.mouse.move(centre.x, centre.y);
    await page.keyboard.press('r');
    const a = screen(roi.cx - roi.rx, roi.cy - roi.ry);
    const b = screen(roi.cx + roi.rx, roi.cy + roi.ry);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 6 });
    await page.mouse.up();
    const readout = (key: string) => probes.paneText(key, '.pane-roi');
    const meanOf = (text: string) => Number(/^mean (-?[\d.]+) ±/.exec(text)?.[1] ?? NaN);
    // Insert A is 100 + 10·z HU: 140 at z = 4 in both panes (the same pixel indices in the reference lie in the body's 40 HU).
    await expect.poll(async () => meanOf(await readout('reference')), POLL).toBeCloseTo(INSERT_A.hu(4), 0);
    expect(meanOf(await readout('lowDose'))).toBeCloseTo(INSERT_A.hu(4), 0);
    await expect.poll(async () => page.$$eval('#measurements tbody tr[data-pane="reference"]', (trs) => trs.map((tr) => tr.children[2]?.textContent)), POLL).toEqual(['140']);
    // The difference is pixel by pixel: against a reference on another grid there is none.
    expect(await page.$eval('.pane[data-pane="difference"]', (e) => e.classList.contains('no-slice'))).toBe(true);
    // z = 2 mm lies between the reference's 0 and 4 mm slices: its nearest slice shows, and no number for it.
    await page.keyboard.press('Escape');
    await page.keyboard.press('k');
    await expect.poll(async () => readout('reference'), POLL).toBe("not measured: this series' nearest slice is 2.0 mm away");
    expect(meanOf(await readout('lowDose'))).toBeCloseTo(INSERT_A.hu(2), 0);
    await expect
      .poll(async () => page.$$eval('#measurements tbody tr[data-pane="reference"]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.note)), POLL)
      .toEqual(["not measured: this series' nearest slice is 2.0 mm away"]);
    await page.keyboard.press('Delete');
  });

  it('turns a pane whose reference is stored turned a quarter, so the same anatomy lies at the same point of its box, with the edge letters of the low-dose pane', async () => {
    const { page } = session;
    const comparison = session.studies.studies.find((s) => s.description === 'turned reference')!.comparisons[0]!;
    await page.goto('about:blank');
    await page.goto(`${session.url}/#c=${comparison.id}&i=2`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    for (const key of ['lowDose', 'reference']) await probes.expectRealPixels(key);
    await expect.poll(() => page.getAttribute('.pane[data-pane="reference"]', 'data-turn'), POLL).toBe('90,false,false');
    expect(await page.getAttribute('.pane[data-pane="lowDose"]', 'data-turn')).toBe('0,false,false');
    for (const edge of ['top', 'right', 'bottom', 'left']) {
      expect(await probes.paneText('reference', `.ov-${edge}`), edge).toBe(await probes.paneText('lowDose', `.ov-${edge}`));
    }
    expect(await probes.paneText('reference', '.ov-right')).toBe('L');
    const box = (await page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    const scale = Math.min(box.width, box.height) / LOW_GRID.size;
    const roi = lowDoseEllipse(INSERT_A.x, INSERT_A.y, 5);
    const centre = { x: box.x + box.width / 2 + (roi.cx - LOW_GRID.size / 2) * scale, y: box.y + box.height / 2 + (roi.cy - LOW_GRID.size / 2) * scale };
    await page.mouse.move(centre.x, centre.y);
    await expect.poll(async () => (await probeReadings())[0]?.column, POLL).toBe(Math.floor(roi.cx));
    // Insert A (140 HU at z = 4 mm) at the reference's own pixel of that place: its column runs along y, its row along −x.
    await expect.poll(async () => (await probeReadings()).find((r) => r.key === 'reference')?.value ?? null, POLL).toBeCloseTo(INSERT_A.hu(4), 0);
    const onReference = (await probeReadings()).find((r) => r.key === 'reference')!;
    const onLowDose = (await probeReadings())[0]!;
    expect(onReference.column).toBe(onLowDose.row);
    expect(onReference.row).toBe(LOW_GRID.size - 1 - onLowDose.column);
    // The same point of the reference pane's box shows that same pixel: the pane is turned, not only re-centred.
    const referenceBox = (await page.locator('.pane[data-pane="reference"] .pane-image').boundingBox())!;
    await page.mouse.move(referenceBox.x + (centre.x - box.x), referenceBox.y + (centre.y - box.y));
    await expect.poll(async () => (await probeReadings()).find((r) => r.key === 'reference')?.column, POLL).toBe(onReference.column);
    expect((await probeReadings()).find((r) => r.key === 'reference')!.row).toBe(onReference.row);
    expect((await probeReadings())[0]!.column).toBe(Math.floor(roi.cx));
    // Fit (F) keeps the turn.
    await page.keyboard.press('f');
    await expect.poll(() => page.getAttribute('.pane[data-pane="reference"]', 'data-turn'), POLL).toBe('90,false,false');
    // The difference pane is empty against a reference on another grid, and says so rather than 'no matching slice'.
    expect(await probes.paneText('difference', '.ov-bl')).toContain('no difference: the slices are flipped or turned against each other (ImageOrientationPatient)');
  });
});

