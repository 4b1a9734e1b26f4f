/**
 * report.json is the record of what the output folder holds, over reruns: a rerun that fails on
 * every series (E_EXISTS, other settings) and a run of other input into the same -o list, after
 * their own series, the finished series earlier runs left there (`earlierRun: true`, as those runs
 * recorded them), not an empty run. A series whose completion marker is gone is not listed. A
 * series a rerun skips as already done names the input files this run read, not the first run's.
 * On the body phantom fixtures (4 slices of CT each), with --method gaussian / bilateral.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseOptions, DenoiseReport, SeriesReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const DOSE25 = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const DOSE10 = fileURLToPath(new URL('../../fixtures/body/dose10', import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-report-reruns-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const denoise = (input: string, out: string, extra: Partial<DenoiseOptions> = {}) => denoisePaths([input], { outDir: out, method: 'gaussian', ...extra });
const reportJson = (out: string) => JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
/** A series entry without the fields a rerun may set: what the run that made it recorded. */
const made = ({ earlierRun: _earlier, ...rest }: SeriesReport) => rest;

describe('report.json over reruns into one -o', () => {
  it('a rerun with other settings that fails on every series keeps the finished series in report.json; --json is its own run', async () => {
    const out = path.join(root, 'settings');
    const first = await denoise(DOSE25, out);
    expect(first.series).toHaveLength(1);
    const { code, stdout } = await runCli('denoise', DOSE25, '-o', out, '--method', 'bilateral', '--json');
    expect(code).toBe(1);
    const run = JSON.parse(stdout) as DenoiseReport;
    expect(run.series).toEqual([]);
    expect(run.errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    const written = reportJson(out);
    // The rerun's errors, and the series the folder still holds, as its first run recorded it.
    expect(written.errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    expect(written.series).toHaveLength(1);
    expect(written.series[0]!.earlierRun).toBe(true);
    expect(made(written.series[0]!)).toEqual(first.series[0]);
    expect(existsSync(path.join(first.series[0]!.output.dir, '.lowdose-complete.json'))).toBe(true);
  });

  it('a run of other input into the same -o lists its series, then the earlier run\'s; one whose marker is gone is not listed', async () => {
    const out = path.join(root, 'two-inputs');
    const a = await denoise(DOSE25, out);
    const b = await denoise(DOSE10, out);
    expect(b.series.map((s) => s.input.seriesInstanceUid)).toEqual([b.series[0]!.input.seriesInstanceUid]);
    const written = reportJson(out);
    expect(written.series.map((s) => [s.input.seriesInstanceUid, s.earlierRun ?? false])).toEqual([
      [b.series[0]!.input.seriesInstanceUid, false],
      [a.series[0]!.input.seriesInstanceUid, true],
    ]);
    expect(made(written.series[1]!)).toEqual(a.series[0]);
    // Without its completion marker the first series is not finished: the next run does not list it.
    rmSync(path.join(a.series[0]!.output.dir, '.lowdose-complete.json'));
    await denoise(DOSE10, out);
    expect(reportJson(out).series.map((s) => [s.input.seriesInstanceUid, s.skipped ?? false, s.earlierRun ?? false])).toEqual([[b.series[0]!.input.seriesInstanceUid, true, false]]);
  });

  it("a series a rerun skipped as done is listed by a later run as the finished series, not as skipped", async () => {
    const out = path.join(root, 'skipped-then-other');
    const first = await denoise(DOSE25, out);
    const rerun = await denoise(DOSE25, out);
    expect(rerun.series[0]!.skipped).toBe(true);
    expect(reportJson(out).series[0]!.skipped).toBe(true);
    // A run of other input: the rerun's report.json entry is the earlier run's record of the series.
    await denoise(DOSE10, out);
    const earlier = reportJson(out).series.filter((s) => s.earlierRun);
    expect(earlier.map((s) => [s.output.seriesInstanceUid, s.skipped ?? false])).toEqual([[first.series[0]!.output.seriesInstanceUid, false]]);
    expect(made(earlier[0]!)).toEqual(first.series[0]);
  });

  it('a skipped series names the files this run read: its input moved since the first run', async () => {
    const dir = path.join(root, 'moved');
    const before = path.join(dir, 'before');
    const after = path.join(dir, 'after');
    const out = path.join(dir, 'out');
    cpSync(DOSE25, before, { recursive: true });
    const first = await denoise(before, out);
    renameSync(before, after);
    const rerun = await denoise(after, out);
    const series = rerun.series[0]!;
    expect(series.skipped).toBe(true);
    expect(series.input.files.length).toBe(4);
    for (const file of series.input.files) {
      expect(file.startsWith(after + path.sep)).toBe(true);
      expect(existsSync(file)).toBe(true);
    }
    // The recorded fields stay: the content the marker recorded (the rerun matched it), the output.
    expect(series.input.content).toEqual(first.series[0]!.input.content);
    expect(series.input.seriesInstanceUid).toBe(first.series[0]!.input.seriesInstanceUid);
    expect(series.output).toEqual(first.series[0]!.output);
    expect(reportJson(out).series[0]!.input.files).toEqual(series.input.files);
    // The marker is the first run's record, left as it was.
    const marker = JSON.parse(readFileSync(path.join(series.output.dir, '.lowdose-complete.json'), 'utf8')) as SeriesReport;
    expect(marker.input.files).toEqual(first.series[0]!.input.files);
  });
});
