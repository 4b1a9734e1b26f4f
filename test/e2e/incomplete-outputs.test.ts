/// <reference lib="dom" />
/**
 * The viewer in headless Chromium on a `denoise --uncertainty --hallucination` run stopped after 2
 * of 5 slices (the shipped CT model's 2-sample ensemble, one step, on a generated 64x64 CT): the
 * warning bar above the panes says, first, that the denoised series, its uncertainty series and its
 * hallucination map are incomplete, each with how many slices it has and the run's own reason from
 * report.json, so that a slice without a map overlay is not read as one where nothing was flagged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { writeDiscCt } from '../helpers/disc-ct.js';
import { hasChromium, startViewer, type ViewerSession } from './harness.js';

const SLICES = 5;
const SIZE = 64;
let root: string;
let session: ViewerSession | undefined;

describe.skipIf(!hasChromium)('viewer on a stopped run with an uncertainty series and a hallucination map', () => {
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-incomplete-'));
    const data = path.join(root, 'data');
    const low = path.join(data, 'low');
    await writeDiscCt(low, { slices: SLICES, size: SIZE, uidSeed: 'e2e-incomplete', seed: 11 });
    // Stopped as SIGINT stops a run (its signal aborted), once 2 slices are written.
    const controller = new AbortController();
    const run = denoisePaths([low], {
      outDir: path.join(data, 'denoised'),
      samples: 2,
      steps: 1,
      device: 'cpu',
      seed: 3,
      threads: 1,
      uncertainty: true,
      hallucination: true,
      batch: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.slicesDone >= 2) controller.abort(new Error('interrupted by SIGINT'));
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    session = await startViewer({ data: [data], root });
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('says the denoised series, its uncertainty series and its map are incomplete, with the run\'s reason, first in the warning bar', async () => {
    const { page, studies, url, pageErrors } = session!;
    const comparison = studies.studies.flatMap((s) => s.comparisons)[0]!;
    expect(comparison.uncertainty).not.toBeNull();
    expect(comparison.hallucination).not.toBeNull();
    await page.goto(`${url}/#c=${comparison.id}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    expect(await page.isVisible('#series-warnings')).toBe(true);
    const lines = await page.$$eval('#series-warnings > div', (divs) => divs.map((d) => ({ code: (d as HTMLElement).dataset.code, text: d.textContent ?? '' })));
    const incomplete = lines.filter((l) => l.code === 'E_OUTPUT_INCOMPLETE');
    expect(lines.slice(0, 3)).toEqual(incomplete);
    expect(incomplete.map((l) => /: (incomplete [a-z ]+): \d of 5 slices/.exec(l.text)?.[1])).toEqual(['incomplete output', 'incomplete uncertainty series', 'incomplete hallucination map']);
    for (const line of incomplete) expect(line.text).toMatch(/its report\.json says: CT series [0-9.]+ was stopped after \d of 5 slices \(interrupted by SIGINT\)/);
    expect(pageErrors).toEqual([]);
  });
});
