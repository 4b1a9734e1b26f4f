/**
 * `lowdose qa --json` and qa.json record their paths (settings.fixtures, settings.config, a model
 * given as a path, outDir, report) relative to the working directory where they lie inside it, so
 * a result committed from the repository root (models/eval/qa-*.json) names no machine's checkout;
 * paths outside it stay absolute. Before, every one was absolute: /work/<checkout>/fixtures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonResult, loadQaConfig, runQa } from '../../src/qa/index.js';
import { recordedModel, recordedPath } from '../../src/util/recorded-path.js';
import { runCli } from '../helpers/cli.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-qa-paths-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('recordedPath', () => {
  it('is relative with / inside the working directory, absolute outside it', () => {
    expect(recordedPath('/repo/fixtures', '/repo')).toBe('fixtures');
    expect(recordedPath('/repo/qa/thresholds.json', '/repo/')).toBe('qa/thresholds.json');
    expect(recordedPath('/repo', '/repo')).toBe('.');
    expect(recordedPath('.cache/qa-ct', '/repo')).toBe('.cache/qa-ct');
    expect(recordedPath('/tmp/lowdose-qa-1', '/repo')).toBe('/tmp/lowdose-qa-1');
    expect(recordedPath('/repository/fixtures', '/repo')).toBe('/repository/fixtures');
    expect(recordedPath('/repo/../elsewhere/x', '/repo')).toBe('/elsewhere/x');
  });

  it('keeps a model name, and records a model path as recordedPath does', () => {
    expect(recordedModel('lowdose-ct', '/repo')).toBe('lowdose-ct');
    expect(recordedModel('/repo/models/lowdose-ct.json', '/repo')).toBe('models/lowdose-ct.json');
    expect(recordedModel('/repo/lowdose-ct.json', '/repo')).toBe('lowdose-ct.json');
    expect(recordedModel('/elsewhere/card.onnx', '/repo')).toBe('/elsewhere/card.onnx');
  });
});

describe('qa --json paths', () => {
  it('from the repository root: the shipped fixtures and thresholds as fixtures and qa/thresholds.json; an -o outside it absolute; qa.json the same', async () => {
    expect(path.resolve(process.cwd())).toBe(path.resolve(REPO));
    const out = path.join(root, 'cli');
    const { code, stdout, stderr } = await runCli('qa', '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--method', 'gaussian', '-o', out, '--json', '--no-progress');
    expect(code === 0 || code === 1, stderr).toBe(true);
    const printed = JSON.parse(stdout) as ReturnType<typeof jsonResult>;
    expect(printed.settings).toMatchObject({ fixtures: 'fixtures', config: 'qa/thresholds.json', model: null, petModel: null });
    expect(printed.outDir).toBe(out);
    expect(printed.report).toBe(path.join(out, 'qa-report.html'));
    expect(JSON.parse(readFileSync(path.join(out, 'qa.json'), 'utf8'))).toEqual(printed);
  });

  it('jsonResult records against the working directory it is given; the QaResult keeps absolute paths', async () => {
    const out = path.join(root, 'lib', 'qa');
    const result = await runQa({ config: loadQaConfig(), outDir: out, phantoms: ['water'], doses: [0.25], realisations: 1, denoise: { method: 'gaussian' } });
    expect(result.settings.fixtures).toBe(path.join(REPO, 'fixtures'));
    expect(result.outDir).toBe(out);
    const fromRoot = jsonResult(result, root);
    expect(fromRoot.outDir).toBe('lib/qa');
    expect(fromRoot.report).toBe('lib/qa/qa-report.html');
    expect(fromRoot.settings.fixtures).toBe(path.join(REPO, 'fixtures'));
    const fromRepo = jsonResult(result, REPO);
    expect(fromRepo.settings).toMatchObject({ fixtures: 'fixtures', config: 'qa/thresholds.json' });
    expect(fromRepo.outDir).toBe(out);
  });
});
