/**
 * A multi-frame PET source whose frames name two radiopharmaceuticals is denoised into one classic
 * PET series per agent, both in one output folder under one completion marker
 * (`output.seriesInstanceUids`; src/dicom/derived-pet-series.ts). The server pairs each with the
 * source and shows both as finished: the marker vouches for each series' own files, not for all
 * of them being one series, and each series' files state its own count (2), which tells one that
 * lost a file short although the marker is there. The source comes from test/dicom/data/make-enhanced-pet.py (pydicom).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { readDicomFile } from '../../src/dicom/index.js';
import { CORPUS } from '../dicom/helpers/corpus.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('../dicom/data/make-enhanced-pet.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

let root = '';
const seriesUidOf = async (file: string) => (await readDicomFile(file)).dataSet.string('x0020000e');
let app: FastifyInstance | undefined;

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!hasPydicom)('the per-agent series of a two-radiopharmaceutical PET source in the server', () => {
  it('pairs each agent series with the source and shows neither as incomplete; one that lost a file is, by its own count', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pet-agents-'));
    const generated = path.join(root, 'generated');
    const run = spawnSync(PYTHON, [GENERATOR, CORPUS, generated], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const data = path.join(root, 'data');
    cpSync(path.join(generated, 'two-agents-split'), path.join(data, 'low'), { recursive: true });
    const report = await denoisePaths([path.join(data, 'low')], { outDir: path.join(data, 'denoised'), method: 'gaussian' });
    expect(report.errors).toEqual([]);
    expect(report.series[0]!.output.seriesInstanceUids).toHaveLength(2);
    app = await serverOver(path.join(root, 'server'), data);
    const listed = await listedComparisons(app);
    expect(listed).toHaveLength(2);
    expect(new Set(listed.map((c) => JSON.stringify(c.denoised))).size).toBe(2);
    for (const comparison of listed) expect(comparison.incomplete).toBeNull();
    // One file of one agent's series gone, the folder's marker still there: the marker lists both
    // series' files together, and the files' own count (2 each) tells that series short.
    const copy = path.join(root, 'short');
    cpSync(data, copy, { recursive: true });
    const [dir] = readdirSync(path.join(copy, 'denoised'), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'previews').map((e) => path.join(copy, 'denoised', e.name));
    const files = readdirSync(dir!).filter((f) => f.endsWith('.dcm')).sort();
    const uids = await Promise.all(files.map((f) => seriesUidOf(path.join(dir!, f))));
    const lost = files.find((f, k) => k > 0 && uids[k] === uids[0])!;
    unlinkSync(path.join(dir!, lost));
    const shortApp = await serverOver(path.join(root, 'short-server'), copy);
    try {
      const judged = (await listedComparisons(shortApp)).map((c) => c.incomplete).sort((a, b) => (a === null ? -1 : b === null ? 1 : 0));
      expect(judged[0]).toBeNull();
      expect(judged[1]).toMatchObject({ slices: 1, expected: 2 });
      expect(judged[1]!.message).toContain('lists the files of several series together, and its files say the series has 2 files numbered 1-2: 1 is here');
    } finally {
      await shortApp.close();
    }
  }, 120_000);
});
