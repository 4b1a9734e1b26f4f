/**
 * A reference reconstructed with another field of view: the same patient in the same frame of
 * reference whose first pixel lies elsewhere. Made from the real Mayo L192 B30f full-dose slices
 * (../shared/ldct-mayo, read in place): every other slice, its pixels moved by 64 columns and 32
 * rows and ImagePositionPatient moved with them (45 x 22.5 mm on 0.703 mm pixels), so every stored
 * pixel still sits where that part of the patient is (what scripts/experiments/shift-reference-fov.py
 * writes from the files). Its slices lie at the test's positions along the slice normal but 50 mm
 * away in 3-D, more than a quarter of the sparse slices' median spacing: compared in 3-D they paired
 * nothing and, with 4 slices against 7, the run stopped ("cannot match slices"); with 7 they were
 * paired by order and scored 13.1 dB as if aligned.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { pairSlices, pixelGridMismatch } from '../../src/metrics/slice-pairing.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { buildApp } from '../../src/server/app.js';
import type { StudiesResponse } from '../../src/server/api-types.js';

const MAYO_L192_B30F_FULL = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L192/B30f/full');
const SHIFT_COLUMNS = 64;
const SHIFT_ROWS = 32;
const IN_PLANE_REASON = `the in-plane origins (ImagePositionPatient) differ by ${Math.hypot(SHIFT_COLUMNS, SHIFT_ROWS).toFixed(2)} pixels`;

let root: string;
let test: Series;
/** Every other slice of the test, moved in-plane, in the test's frame of reference. */
let shiftedDir: string;
let shifted: Series;
/** The same pixels and positions in another frame of reference (another patient's scan). */
let otherFrameDir: string;
let otherFrame: Series;
/** All seven slices moved, in another frame of reference: paired by order as before. */
let otherFrameAll: Series;

/**
 * Writes slices `keep` of `source` moved by SHIFT_COLUMNS x SHIFT_ROWS pixels (air outside the
 * original field), each at its own ImagePositionPatient moved by as many millimetres.
 */
async function writeShifted(source: Series, keep: number[], dir: string, frameOfReferenceUid: string, seed: string): Promise<void> {
  const [rowMm, columnMm] = source.spacing;
  const { rows, columns } = source;
  for (const k of keep) {
    const image = await readSliceImage(source, k);
    const moved = new Float32Array(rows * columns).fill(-1000);
    for (let r = 0; r + SHIFT_ROWS < rows; r++) {
      for (let c = 0; c + SHIFT_COLUMNS < columns; c++) moved[r * columns + c] = image.data[(r + SHIFT_ROWS) * columns + c + SHIFT_COLUMNS]!;
    }
    const [x, y, z] = source.slices[k]!.position!;
    await writeVolumeSeries(
      { modality: 'CT', units: 'HU', rows, columns, slices: [moved], spacing: [rowMm, columnMm, 3], description: 'full dose, FOV shifted' },
      dir,
      {
        uidSeed: `${seed}-${k}`,
        seriesInstanceUid: `2.25.${seed === 'same-frame' ? 7101 : 7102}`,
        studyInstanceUid: source.studyInstanceUid,
        frameOfReferenceUid,
        origin: [x + SHIFT_COLUMNS * columnMm, y + SHIFT_ROWS * rowMm, z],
        filePrefix: `S${k}_`,
        patientName: 'Anonymous',
      },
    );
  }
}

async function runCli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    return { code: await main(['node', 'lowdose', ...args]), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe.runIf(existsSync(MAYO_L192_B30F_FULL))('a reference of another field of view (real Mayo L192 slices)', () => {
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'lowdose-reference-fov-'));
    [test] = (await scanPaths([MAYO_L192_B30F_FULL])).series as [Series];
    expect(test.slices).toHaveLength(7);
    expect(test.frameOfReferenceUid).toMatch(/^1\.3\.12\.2\.1107\./);
    const everyOther = [0, 2, 4, 6];
    shiftedDir = path.join(root, 'shifted');
    otherFrameDir = path.join(root, 'other-frame');
    const otherFrameAllDir = path.join(root, 'other-frame-all');
    await writeShifted(test, everyOther, shiftedDir, test.frameOfReferenceUid!, 'same-frame');
    await writeShifted(test, everyOther, otherFrameDir, '2.25.7103', 'other-frame');
    await writeShifted(test, [0, 1, 2, 3, 4, 5, 6], otherFrameAllDir, '2.25.7103', 'other-frame');
    [shifted] = (await scanPaths([shiftedDir])).series as [Series];
    [otherFrame] = (await scanPaths([otherFrameDir])).series as [Series];
    [otherFrameAll] = (await scanPaths([otherFrameAllDir])).series as [Series];
  }, 120_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('pairs each slice of the shifted reference with the real slice at its position along the normal, and names the in-plane origin', () => {
    const pairing = pairSlices(shifted, test);
    expect(pairing).toMatchObject({ matchedBy: 'position', along: 'normal' });
    expect(pairing.pairs).toEqual([
      [0, 0],
      [1, 2],
      [2, 4],
      [3, 6],
    ]);
    // The same places along the normal, 50 mm apart in 3-D.
    const [x, y] = shifted.slices[0]!.position!;
    const [u, v] = test.slices[0]!.position!;
    expect(Math.hypot(x - u, y - v)).toBeCloseTo(Math.hypot(45, 22.5), 3);
    expect(pixelGridMismatch(shifted, test, pairing.pairs[0]!, pairing.matchedBy)).toBe(IN_PLANE_REASON);
  });

  it('`lowdose metrics` refuses it with exit 2 naming the in-plane origin (before: "cannot match slices")', async () => {
    const run = await runCli('metrics', '--reference', shiftedDir, '--test', MAYO_L192_B30F_FULL);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`not on one pixel grid (${IN_PLANE_REASON})`);
  });

  it('in another frame of reference keeps comparing whole positions: 4 against 7 slices cannot be matched, 7 against 7 pair by order', async () => {
    expect(() => pairSlices(otherFrame, test)).toThrow(/cannot match slices/);
    const run = await runCli('metrics', '--reference', otherFrameDir, '--test', MAYO_L192_B30F_FULL);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot match slices: no slice positions in common and the reference has 4 slices but the test 7');
    const byOrder = pairSlices(otherFrameAll, test);
    expect(byOrder.matchedBy).toBe('order');
    expect(byOrder.along).toBeUndefined();
  });

  it('`denoise --reference` links it as unscoredReference with the in-plane reason; the server shows it unscored and measures the same anatomy in it', async () => {
    const denoisedDir = path.join(root, 'denoised');
    await denoisePaths([MAYO_L192_B30F_FULL], { outDir: denoisedDir, method: 'gaussian', reference: [shiftedDir] });
    const report = JSON.parse(readFileSync(path.join(denoisedDir, 'report.json'), 'utf8')) as {
      series: Array<{ metrics?: unknown; unscoredReference?: { seriesInstanceUid: string; files: number; reason: string } }>;
    };
    expect(report.series[0]!.metrics).toBeUndefined();
    expect(report.series[0]!.unscoredReference).toEqual({ seriesInstanceUid: shifted.seriesInstanceUid, files: 4, reason: IN_PLANE_REASON });

    const viewerDir = path.join(root, 'viewer');
    await mkdir(viewerDir);
    await writeFile(path.join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
    const app = await buildApp({ data: [MAYO_L192_B30F_FULL, shiftedDir, denoisedDir], workDir: path.join(root, 'work'), viewerDir, logger: { level: 'silent' } });
    try {
      const comparison = ((await app.inject({ url: '/api/studies' })).json() as StudiesResponse).studies.flatMap((s) => s.comparisons)[0]!;
      expect(comparison.reference).not.toBeNull();
      const detail = (await app.inject({ url: `/api/comparisons/${comparison.id}` })).json() as { alignment: { reference: number[] | null } };
      expect(detail.alignment.reference).toEqual([0, -1, 1, -1, 2, -1, 3]);
      const slice = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/2` })).json() as { denoised: unknown; lowDose: unknown };
      expect(slice).toMatchObject({ denoised: null, lowDose: null });
      // A 20-pixel disc at the low-dose image centre reads the same pixels in the reference 64 columns and 32 rows up-left.
      const response = await app.inject({
        method: 'POST',
        url: '/api/measurements.csv',
        payload: { comparisons: [comparison.id], index: 2, measurements: [{ shape: { kind: 'ellipse', ellipse: { cx: 256, cy: 256, rx: 20, ry: 20 } } }] },
      });
      expect(response.statusCode, response.body).toBe(200);
      const rows = response.body.split('\n\n')[0]!.trim().split('\n').slice(1).map((line) => line.split(','));
      const mean = (pane: string) => Number(rows.find((r) => r[2] === pane)![5]);
      const pixels = (pane: string) => Number(rows.find((r) => r[2] === pane)![9]);
      expect(pixels('reference')).toBe(pixels('lowDose'));
      // The reference stores HU to 0.1 HU.
      expect(Math.abs(mean('reference') - mean('lowDose'))).toBeLessThan(0.05);
    } finally {
      await app.close();
    }
  }, 120_000);
});
