/**
 * What the server takes from a denoise report.json (src/server/data/reports.ts): among the report's
 * warnings only those about the run itself (E_PIXEL_SPACING, E_LESION_BIAS, E_DOSE_UNKNOWN) become the comparison's
 * `report.warnings`, which the viewer's warning bar shows beside the low-dose series' own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { readReportLinks } from '../../src/server/data/reports.js';
import { doseUnknownLesionBias } from '../helpers/lesion-bias.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-reports-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const entry = (warnings?: unknown) => ({
  input: { seriesInstanceUid: '1.2.3', files: ['in/1.dcm'] },
  output: { seriesInstanceUid: '1.2.4' },
  method: 'diffusion',
  model: 'lowdose-ct',
  ...(warnings === undefined ? {} : { warnings }),
});

describe('report warnings in the comparison facts', () => {
  it('keeps the run warnings and leaves the reading and writing warnings to the series', async () => {
    const file = path.join(root, 'report.json');
    const warnings = [
      { path: null, code: 'E_SHARP_KERNEL', message: 'kernel LUNG looks sharp' },
      { path: null, code: 'E_PIXEL_SPACING', message: '1.2.3: pixel spacing 1.45 x 1.45 mm is outside the 0.70 to 0.84 mm ...' },
      { path: 'in/1.dcm', code: 'W_VALUE_DROPPED', message: 'dropped' },
      { path: null, code: 'E_LESION_BIAS', message: 'lesion SUVs read on this series carry ...' },
      { path: null, code: 'E_DOSE_UNKNOWN', message: "the input's dose is unknown" },
    ];
    writeFileSync(file, JSON.stringify({ series: [entry(warnings)] }));
    const [link] = await readReportLinks(file);
    expect(link!.facts.warnings).toEqual([
      { code: 'E_PIXEL_SPACING', message: '1.2.3: pixel spacing 1.45 x 1.45 mm is outside the 0.70 to 0.84 mm ...' },
      { code: 'E_LESION_BIAS', message: 'lesion SUVs read on this series carry ...' },
      { code: 'E_DOSE_UNKNOWN', message: "the input's dose is unknown" },
    ]);
  });

  it("passes E_LESION_BIAS's numbers (lesionBias) on, and drops a malformed field but keeps the warning", async () => {
    // As written before `levels` and the per-quantity `level` (the test below has them).
    const lesionBias = {
      level: 0.1,
      picked: 'dose unknown',
      minDiameterMm: 17,
      suvmean: { percent: -5.7, source: 'IEC phantom', diameterMm: 17 },
      suvmax: { percent: 9.9, source: 'sts-001 inserted lesions', diameterMm: 22 },
      smallerSuvmean: null,
      doseDeclared: false,
    };
    const file = path.join(root, 'lesion.json');
    const warnings = [{ path: null, code: 'E_LESION_BIAS', message: 'm', lesionBias }];
    writeFileSync(file, JSON.stringify({ series: [entry(warnings), { ...entry([{ ...warnings[0], lesionBias: { ...lesionBias, level: '10 %' } }]), output: { seriesInstanceUid: '1.2.5' } }] }));
    const links = await readReportLinks(file);
    expect(links.map((l) => l.facts.warnings)).toEqual([[{ code: 'E_LESION_BIAS', message: 'm', lesionBias }], [{ code: 'E_LESION_BIAS', message: 'm' }]]);
  });

  it("passes the count level of each of E_LESION_BIAS's numbers on (levels, level)", async () => {
    const lesionBias = doseUnknownLesionBias({ percent: 30, source: 'IEC phantom', diameterMm: 22 }, null);
    const file = path.join(root, 'lesion-levels.json');
    writeFileSync(file, JSON.stringify({ series: [entry([{ path: null, code: 'E_LESION_BIAS', message: 'm', lesionBias }])] }));
    expect((await readReportLinks(file)).map((l) => l.facts.warnings)).toEqual([[{ code: 'E_LESION_BIAS', message: 'm', lesionBias }]]);
  });

  it('reads a report without warnings, or with malformed ones, as none', async () => {
    const file = path.join(root, 'old.json');
    writeFileSync(file, JSON.stringify({ series: [entry(), { ...entry([null, 3, { code: 7 }]), output: { seriesInstanceUid: '1.2.5' } }] }));
    const links = await readReportLinks(file);
    expect(links.map((l) => l.facts.warnings)).toEqual([[], []]);
  });
});

describe('a series a rerun skipped as already done', () => {
  it("keeps its pair and the facts its first run recorded: the viewer reads the skipped entry as any other", async () => {
    const input = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
    const out = path.join(root, 'skipped');
    const first = await denoisePaths([input], { outDir: out, method: 'gaussian' });
    const rerun = await denoisePaths([input], { outDir: out, method: 'gaussian' });
    expect(rerun.series.map((s) => s.skipped)).toEqual([true]);
    const links = await readReportLinks(path.join(out, 'report.json'));
    expect(links.map((l) => [l.inputUid, l.outputUid, l.facts.method, l.facts.settings])).toEqual([
      [first.series[0]!.input.seriesInstanceUid, first.series[0]!.output.seriesInstanceUid, 'gaussian', first.series[0]!.settings],
    ]);
  });
});
