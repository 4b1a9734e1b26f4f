/**
 * `lowdose simulate` regenerates the same study: the same input, options and seed write the same
 * bytes (UIDs derived from the source, the settings and the seed; no creation time), so a
 * researcher can check a regenerated series and a PACS receiving it twice keeps one copy. Another
 * seed or dose is another series: new UIDs, none shared. Every UID is valid and dcmtk reads the files.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSimulate, type SimulateOptions } from '../../src/pipeline/simulate.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateIec } from '../../src/phantoms/iec.js';
import { generateWater } from '../../src/phantoms/water.js';
import dicomParser from 'dicom-parser';
import { scanPaths } from '../../src/dicom/index.js';
import { isValidUid } from '../../src/dicom/uid.js';
import { dcmdump, hasDcmdump, temporaryDirectory } from '../dicom-write/helpers.js';

const root = temporaryDirectory('simulate-reproducible');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ct = path.join(root, 'water');
const pet = path.join(root, 'iec');
const inputs = Promise.all([
  writeVolumeSeries(generateWater({ size: 96, slices: 2, fov: 250 }).volume, ct, { uidSeed: 'reproducible water' }),
  writeVolumeSeries(generateIec({ size: 48, slices: 2, spacing: 3, fov: 350 }).volume, pet, { uidSeed: 'reproducible iec' }),
]);

/** Runs simulate on both phantoms into `out`; resolves to every file written, by path relative to `out`. */
async function simulate(out: string, options: Partial<SimulateOptions> = {}): Promise<Map<string, Buffer>> {
  await inputs;
  const outDir = path.join(root, out);
  const base = { dose: 0.25, outDir, seed: 7, workers: 1, ...options };
  const runs = [
    await runSimulate([ct], { ...base, mode: 'truth', i0: 1e5, withReference: true }),
    await runSimulate([pet], { ...base, withReference: true }),
  ];
  for (const { result, exitCode } of runs) {
    expect(result.errors).toEqual([]);
    expect(exitCode).toBe(0);
  }
  const files = new Map<string, Buffer>();
  for (const dir of readdirSync(outDir)) {
    // The DICOM files; the completion marker beside them records the run (its folder, its time per slice).
    for (const name of readdirSync(path.join(outDir, dir)).filter((n) => n.endsWith('.dcm'))) files.set(path.join(dir, name), readFileSync(path.join(outDir, dir, name)));
  }
  return files;
}

interface FileUids {
  readonly study: string;
  readonly series: string;
  readonly sop: string;
  readonly mediaSop: string;
  readonly created: string | undefined;
}

function uidsOf(bytes: Buffer): FileUids {
  const ds = dicomParser.parseDicom(new Uint8Array(bytes));
  return {
    study: ds.string('x0020000d') ?? '',
    series: ds.string('x0020000e') ?? '',
    sop: ds.string('x00080018') ?? '',
    mediaSop: ds.string('x00020003') ?? '',
    created: ds.string('x00080012'),
  };
}

describe('lowdose simulate output is reproducible', () => {
  it('the same input, options and seed write byte-identical files, CT and PET, the full-dose reference too', async () => {
    const first = await simulate('first');
    const second = await simulate('second');
    // CT and PET, each a low-dose and a full-dose series of 2 slices.
    expect(first.size).toBe(8);
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    const differing = [...first].filter(([name, bytes]) => !bytes.equals(second.get(name)!)).map(([name]) => name);
    expect(differing).toEqual([]);
  });

  it('another seed or dose is another series: no UID shared, every UID valid, the study kept, no creation time, dcmtk reads every file', async () => {
    const runs = { base: await simulate('base'), seed: await simulate('seed', { seed: 8 }), dose: await simulate('dose', { dose: 0.5 }) };
    const sources = new Map((await scanPaths([ct, pet])).series.map((s) => [s.modality, s.studyInstanceUid]));
    const series = new Map<string, Set<string>>();
    const instances = new Map<string, Set<string>>();
    for (const [run, files] of Object.entries(runs)) {
      series.set(run, new Set());
      instances.set(run, new Set());
      for (const [name, bytes] of files) {
        const uids = uidsOf(bytes);
        for (const uid of [uids.study, uids.series, uids.sop]) expect(isValidUid(uid), `${run} ${name}: ${uid}`).toBe(true);
        expect(uids.mediaSop).toBe(uids.sop);
        expect(uids.study).toBe(sources.get(name.slice(0, 2)));
        expect(uids.created).toBeUndefined();
        series.get(run)!.add(uids.series);
        instances.get(run)!.add(uids.sop);
      }
      // Four series (CT and PET, reduced and full dose), each instance its own UID.
      expect(series.get(run)!.size).toBe(4);
      expect(instances.get(run)!.size).toBe(8);
    }
    for (const [a, b] of [['base', 'seed'], ['base', 'dose'], ['seed', 'dose']] as const) {
      expect([...series.get(a)!].filter((uid) => series.get(b)!.has(uid)), `${a} vs ${b}`).toEqual([]);
      expect([...instances.get(a)!].filter((uid) => instances.get(b)!.has(uid)), `${a} vs ${b}`).toEqual([]);
    }
    if (!hasDcmdump) return;
    const outDir = path.join(root, 'base');
    for (const name of runs.base.keys()) {
      const dump = dcmdump(path.join(outDir, name));
      expect(dump.status, name).toBe(0);
      expect(dump.stderr, name).toBe('');
    }
  });
});
