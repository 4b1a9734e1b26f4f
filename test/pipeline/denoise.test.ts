/**
 * `lowdose denoise` end to end: DICOM in, valid derived DICOM out, report fields, reruns,
 * determinism and partial failure. Runs on the body fixture (fixtures/body: 25 % dose scan and its
 * full-dose reference) with the small convolutional test model (test/fixtures-models/bench-conv),
 * so it takes seconds.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/index.js';
import { modelFingerprint } from '../../src/models/fingerprint.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { packageVersion } from '../../src/util/package-root.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { IecGeometry } from '../../src/phantoms/index.js';
import { sphereStats } from '../../src/qa/checks/pet.js';
import { readStack } from '../../src/qa/fixtures.js';
import { runCli } from '../helpers/cli.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const PET_FILE = fileURLToPath(new URL('../../../shared/dicom/suyashkumar__dicom/testdata/1.dcm', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-denoise-'));
const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const fullDoseDir = fileURLToPath(new URL('../../fixtures/body/dose100', import.meta.url));
const SLICES = readdirSync(lowDoseDir).filter((f) => f.endsWith('.dcm')).length;

const hashTree = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const file = join(e.parentPath, e.name);
        return [file, createHash('sha256').update(readFileSync(file)).digest('hex')];
      }),
  );

async function seriesValues(dir: string): Promise<Float32Array[]> {
  const { series } = await scanPaths([dir]);
  expect(series).toHaveLength(1);
  const only = series[0]!;
  return Promise.all(only.slices.map(async (_, i) => (await readSliceImage(only, i)).data));
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('lowdose denoise', () => {
  it('writes a new derived series in the same study, keeps geometry, and never touches the inputs', async () => {
    const before = hashTree(lowDoseDir);
    const out = join(root, 'out-basic');
    const { code, stdout } = await runCli('denoise', lowDoseDir, '-o', out, '--model', MODEL, '--reference', fullDoseDir, '--json', '--no-progress');
    expect(code).toBe(0);
    expect(hashTree(lowDoseDir)).toEqual(before);

    const report = JSON.parse(stdout) as DenoiseReport;
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(report);
    expect(report.errors).toEqual([]);
    const entry = report.series[0]!;
    expect(entry).toMatchObject({ model: 'bench-conv', device: 'cpu', steps: 4, seed: 0, samples: 1, method: 'diffusion' });
    expect(entry.msPerSlice).toBeGreaterThan(0);
    expect(entry.metrics).toMatchObject({ range: [-1000, 1000] });
    expect(entry.metrics!.ssim).toBeGreaterThan(-1);
    expect(entry.input.files).toHaveLength(SLICES);
    expect(entry.output.files).toHaveLength(SLICES);
    expect(existsSync(entry.previews[0]!)).toBe(true);

    const source = dicomParser.parseDicom(new Uint8Array(readFileSync(entry.input.files[0]!)));
    const derived = dicomParser.parseDicom(new Uint8Array(readFileSync(entry.output.files[0]!)));
    expect(derived.string('x00080008')).toMatch(/^DERIVED\\SECONDARY/);
    expect(derived.string('x0020000e')).toBe(entry.output.seriesInstanceUid);
    expect(derived.string('x0020000e')).not.toBe(source.string('x0020000e'));
    expect(derived.string('x00080018')).not.toBe(source.string('x00080018'));
    expect(derived.string('x0020000d')).toBe(source.string('x0020000d'));
    expect(derived.string('x00100020')).toBe(source.string('x00100020'));
    expect(derived.string('x00200032')).toBe(source.string('x00200032'));
    expect(derived.string('x00082111')).toContain('bench-conv');

    // Which software and which model files made it: in the report and in each file's Contributing Equipment item.
    const fingerprint = await modelFingerprint(MODEL);
    const toolkit = { name: 'lowdose', version: packageVersion() };
    expect(report.toolkit).toEqual(toolkit);
    expect(entry.toolkit).toEqual(toolkit);
    expect(entry.modelFingerprint).toEqual(fingerprint);
    const equipment = derived.elements.x0018a001!.items!.map((i) => i.dataSet!);
    expect(equipment).toHaveLength(1);
    expect(equipment[0]!.string('x00080070')).toBe('lowdose');
    expect(equipment[0]!.string('x00081090')).toBe('bench-conv');
    const versions = equipment[0]!.elements.x00181020!;
    expect(Buffer.from(derived.byteArray.slice(versions.dataOffset, versions.dataOffset + versions.length)).toString('latin1').trim())
      // The model's files, then the completion marker the series' folder holds once the run finished and how many files the series has.
      .toBe(`lowdose ${packageVersion()}\\model sha256:${fingerprint.sha256.slice(0, 16)}\\completion marker .lowdose-complete.json\\series of ${SLICES} files numbered 1-${SLICES}`);
    expect(derived.string('x00080070')).toBe(source.string('x00080070'));
    const uids = entry.output.files.map((f) => dicomParser.parseDicom(new Uint8Array(readFileSync(f))).string('x00080018'));
    expect(new Set(uids).size).toBe(SLICES);
  });

  it('gives bit-identical output for the same seed whatever the batch size, and different output for another seed', async () => {
    const run = async (name: string, extra: object) =>
      (await denoisePaths([lowDoseDir], { outDir: join(root, name), model: MODEL, device: 'cpu', seed: 7, ...extra })).series[0]!.output.dir;
    const a = await seriesValues(await run('seed-a', { batch: 1 }));
    const b = await seriesValues(await run('seed-b', { batch: SLICES }));
    const c = await seriesValues(await run('seed-c', { batch: 1, seed: 8 }));
    a.forEach((slice, i) => expect(Buffer.from(slice.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
    expect(a.some((slice, i) => slice.some((v, j) => v !== c[i]![j]))).toBe(true);
  });

  it('reports progress from 0 slices at the start of a series, so a display times the first batch too', async () => {
    const events: Array<[number, number]> = [];
    await denoisePaths([lowDoseDir], { outDir: join(root, 'out-progress'), model: MODEL, device: 'cpu', batch: 2, onProgress: (p) => events.push([p.slicesDone, p.slicesTotal]) });
    expect(events[0]).toEqual([0, SLICES]);
    expect(events.at(-1)).toEqual([SLICES, SLICES]);
    expect(events.map(([done]) => done)).toEqual([...events.map(([done]) => done)].sort((a, b) => a - b));
  });

  it('skips a finished series on rerun and redoes it with --overwrite', async () => {
    const out = join(root, 'out-rerun');
    const first = await denoisePaths([lowDoseDir], { outDir: out, model: MODEL, device: 'cpu' });
    const second = await denoisePaths([lowDoseDir], { outDir: out, model: MODEL, device: 'cpu' });
    expect(second.series[0]!.skipped).toBe(true);
    expect(second.series[0]!.output.seriesInstanceUid).toBe(first.series[0]!.output.seriesInstanceUid);
    const third = await denoisePaths([lowDoseDir], { outDir: out, model: MODEL, device: 'cpu', overwrite: true });
    expect(third.series[0]!.skipped).toBeUndefined();
    expect(third.series[0]!.output.seriesInstanceUid).not.toBe(first.series[0]!.output.seriesInstanceUid);
  });

  it('cancelled mid-series (network on its thread, batches in flight) stops with E_CANCELLED leaving whole files only, no temporaries, no completion marker; a rerun finishes it', async () => {
    const out = join(root, 'out-cancel');
    const controller = new AbortController();
    const cancelled = denoisePaths([lowDoseDir], {
      outDir: out,
      model: MODEL,
      device: 'cpu',
      batch: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.slicesDone >= 1) controller.abort();
      },
    });
    await expect(cancelled).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const folder = readdirSync(out, { withFileTypes: true }).find((e) => e.isDirectory() && e.name !== 'previews')!;
    const dir = join(out, folder.name);
    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(names).not.toContain('.lowdose-complete.json');
    const written = names.filter((n) => n.endsWith('.dcm'));
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(written.length).toBeLessThan(SLICES);
    for (const name of written) {
      const dataset = dicomParser.parseDicom(readFileSync(join(dir, name)));
      const pixels = dataset.elements['x7fe00010']!;
      expect(pixels.length).toBe(dataset.uint16('x00280010')! * dataset.uint16('x00280011')! * 2);
    }
    const rerun = await denoisePaths([lowDoseDir], { outDir: out, model: MODEL, device: 'cpu', batch: 1 });
    expect(rerun.series[0]!.skipped).toBeUndefined();
    expect(rerun.series[0]!.output.files).toHaveLength(SLICES);
    expect(readdirSync(dir)).toContain('.lowdose-complete.json');
  });

  it('writes an uncertainty series for an ensemble', async () => {
    const report = await denoisePaths([lowDoseDir], { outDir: join(root, 'out-ensemble'), model: MODEL, device: 'cpu', samples: 2 });
    const entry = report.series[0]!;
    expect(entry.samples).toBe(2);
    expect(entry.uncertainty?.files).toHaveLength(SLICES);
    const std = await seriesValues(entry.uncertainty!.dir);
    expect(std.every((slice) => slice.every((v) => v >= -0.05))).toBe(true);
    expect(std.some((slice) => slice.some((v) => v > 0))).toBe(true);
  });

  it('reports a series it cannot denoise and goes on with the others (exit 1)', async () => {
    const input = join(root, 'mixed');
    mkdirSync(input);
    for (const f of readdirSync(lowDoseDir)) copyFileSync(join(lowDoseDir, f), join(input, f));
    copyFileSync(PET_FILE, join(input, 'pet.dcm'));
    const { code, stdout } = await runCli('denoise', input, '-o', join(root, 'out-mixed'), '--model', MODEL, '--json', '--no-progress');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as DenoiseReport;
    expect(report.series.map((s) => s.input.modality)).toEqual(['CT']);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]!.code).toBe('E_MODEL');
    expect(report.errors[0]!.message).toMatch(/bench-conv is for CT, not PT/);
  });

  it('runs the classical baselines, which lower the noise, and scores them against the reference', async () => {
    const report = await denoisePaths([lowDoseDir], { outDir: join(root, 'out-nlm'), method: 'nlm', reference: [fullDoseDir] });
    const entry = report.series[0]!;
    expect(entry).toMatchObject({ method: 'nlm', model: null, steps: null });
    expect(entry.settings).toMatch(/non-local means/);
    expect(entry.metrics!.input!.psnr).toBeGreaterThan(0);
    const noise = async (dir: string) => {
      const { series } = await scanPaths([dir]);
      return estimateNoise(await readSliceImage(series[0]!, 1), { valueRange: SOFT_TISSUE_HU }).std;
    };
    expect(await noise(entry.output.dir)).toBeLessThan(0.7 * (await noise(lowDoseDir)));
  });

  it('reports a sharp-kernel series: E_SHARP_KERNEL in the series warnings of the JSON and on the human output', async () => {
    // The body fixture re-labelled as a lung-kernel reconstruction (pixels unchanged).
    const dcmjs = createRequire(import.meta.url)('dcmjs');
    dcmjs.log.setLevel('silent');
    const lungDir = join(root, 'lung-kernel');
    mkdirSync(lungDir);
    for (const file of readdirSync(lowDoseDir).filter((f) => f.endsWith('.dcm'))) {
      const bytes = readFileSync(join(lowDoseDir, file));
      const message = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      message.dict['00181210'] = { vr: 'SH', Value: ['LUNG'] };
      writeFileSync(join(lungDir, file), Buffer.from(message.write()));
    }
    const json = await runCli('denoise', lungDir, '-o', join(root, 'out-lung'), '--model', MODEL, '--json', '--no-progress');
    expect(json.code).toBe(0);
    const entry = (JSON.parse(json.stdout) as DenoiseReport).series[0]!;
    expect(entry.warnings.map((w) => w.code)).toEqual(['E_SHARP_KERNEL']);
    expect(entry.warnings[0]!.message).toMatch(/kernel LUNG/);
    const human = await runCli('denoise', lungDir, '-o', join(root, 'out-lung'), '--model', MODEL, '--no-progress');
    expect(human.stdout).toMatch(/warning \[E_SHARP_KERNEL\]/);
    const plain = await runCli('denoise', lowDoseDir, '-o', join(root, 'out-basic'), '--model', MODEL, '--json', '--no-progress');
    expect((JSON.parse(plain.stdout) as DenoiseReport).series[0]!.warnings).toEqual([]);
  });

  it('--consistency brings the shipped PET model back to the measured sphere mean, and says so in the report and DICOM', async () => {
    const iec = fileURLToPath(new URL('../../fixtures/iec/', import.meta.url));
    const geometry = (JSON.parse(readFileSync(join(iec, 'fixture.json'), 'utf8')) as { geometry: IecGeometry }).geometry;
    const sphere = geometry.spheres.find((s) => s.diameter === 17)!;
    const full = sphereStats(await readStack(join(iec, 'dose100')), sphere).mean;
    const bias = async (strength: number) => {
      const out = join(root, `out-iec-consistency-${strength}`);
      const { code, stdout } = await runCli('denoise', join(iec, 'dose25'), '-o', out, '--dose', '0.25', '--consistency', String(strength), '--json', '--no-progress');
      expect(code).toBe(0);
      const entry = (JSON.parse(stdout) as DenoiseReport).series[0]!;
      return { entry, bias: sphereStats(await readStack(entry.output.dir), sphere).mean / full - 1 };
    };
    const off = await bias(0);
    const on = await bias(1);
    expect(off.entry.consistency).toBeNull();
    expect(on.entry.consistency).toMatchObject({ strength: 1 });
    expect(on.entry.settings).toMatch(/consistency 1 \(\d+(\.\d+)? mm, \d+(\.\d+)? sd(; below dose [^;)]+)?(; large regions \(dose unknown\)[^;)]+)?(; estimate smoothed first: bilateral [^)]+)?\)/);
    const derived = dicomParser.parseDicom(new Uint8Array(readFileSync(on.entry.output.files[0]!)));
    expect(derived.string('x00082111')).toContain('consistency 1');
    // The shipped model alone loses a fifth of the 17 mm sphere's mean (models/eval/phantoms.md);
    // with the step on it is within the measurement's own noise, whatever the model.
    expect(Math.abs(on.bias)).toBeLessThan(0.05);
    expect(Math.abs(on.bias)).toBeLessThanOrEqual(Math.abs(off.bias) + 0.01);
    expect((await runCli('denoise', join(iec, 'dose25'), '-o', join(root, 'x'), '--consistency', '2')).code).toBe(2);
  });

  it('--consistency-pilot sets the pilot average of the consistency step from the CLI (0 removes it) and the report says so', async () => {
    const iec = fileURLToPath(new URL('../../fixtures/iec/', import.meta.url));
    const run = async (h: string) => {
      const { code, stdout } = await runCli('denoise', join(iec, 'dose25'), '-o', join(root, `out-iec-pilot-${h}`), '--dose', '0.25', '--consistency-pilot', h, '--json', '--no-progress');
      expect(code).toBe(0);
      return (JSON.parse(stdout) as DenoiseReport).series[0]!;
    };
    const on = await run('1.5');
    expect(on.consistency).toMatchObject({ strength: 1, pilot: { h: 1.5 } });
    expect(on.settings).toMatch(/the measurement averaged with the estimate's patch weights: patch \d+(\.\d+)? mm, search \d+(\.\d+)? mm, h 1\.5 sd/);
    const off = await run('0');
    expect(off.consistency).not.toHaveProperty('pilot');
    expect(off.settings).not.toMatch(/patch weights/);
    const noStep = await runCli('denoise', join(iec, 'dose25'), '-o', join(root, 'x-pilot'), '--consistency', '0', '--consistency-pilot', '1', '--json');
    expect(noStep.code).toBe(2);
  });

  it('full-dose texture moves the output toward the input by w(--dose) and records it in report.json and the DICOM', async () => {
    const smooth = await denoisePaths([lowDoseDir], { outDir: join(root, 'texture-smooth'), model: MODEL, device: 'cpu', seed: 3, doseLevel: 0.25 });
    const out = join(root, 'texture-full');
    const { code, stdout } = await runCli('denoise', lowDoseDir, '-o', out, '--model', MODEL, '--seed', '3', '--texture', 'full-dose', '--dose', '0.25', '--json', '--no-progress');
    expect(code).toBe(0);
    const entry = (JSON.parse(stdout) as DenoiseReport).series[0]!;
    expect(smooth.series[0]!.texture).toEqual({ mode: 'smooth' });
    // A card without a measured noise transfer (texture.transfer) keeps the single weight.
    expect(entry.texture).toMatchObject({ mode: 'full-dose', dose: 0.25, doseFrom: 'input', method: 'single-weight' });
    expect(entry.texture!.weight).toBeCloseTo(1 / 3, 10);
    expect(entry.warnings.map((w) => w.code)).not.toContain('E_DOSE_UNKNOWN');
    expect(entry.settings).toMatch(/texture full-dose \(w 0\.3333 of the removed noise put back, for dose 0\.25\)/);
    expect(smooth.series[0]!.settings).not.toMatch(/texture/);
    const derived = dicomParser.parseDicom(new Uint8Array(readFileSync(entry.output.files[0]!)));
    expect(derived.string('x00082111')).toContain('texture full-dose');

    const input = await seriesValues(lowDoseDir);
    const [smoothValues, textured] = [await seriesValues(smooth.series[0]!.output.dir), await seriesValues(entry.output.dir)];
    let worst = 0;
    textured.forEach((slice, i) =>
      slice.forEach((v, j) => {
        const expected = smoothValues[i]![j]! + (input[i]![j]! - smoothValues[i]![j]!) / 3;
        worst = Math.max(worst, Math.abs(v - expected));
      }),
    );
    // The derived series stores 0.1 HU steps.
    expect(worst).toBeLessThan(0.11);
  });

  it("assumes the model card's dose when --dose is not given, with an E_DOSE_UNKNOWN warning", async () => {
    const dir = join(root, 'card-with-texture');
    mkdirSync(dir);
    const card = JSON.parse(readFileSync(MODEL, 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'bench-conv.json'), JSON.stringify({ ...card, texture: { defaultDose: 0.1 } }));
    copyFileSync(MODEL.replace(/\.json$/, '.onnx'), join(dir, 'bench-conv.onnx'));
    const { code, stdout } = await runCli('denoise', lowDoseDir, '-o', join(root, 'texture-card'), '--model', join(dir, 'bench-conv.json'), '--texture', 'full-dose', '--json', '--no-progress');
    expect(code).toBe(0);
    const entry = (JSON.parse(stdout) as DenoiseReport).series[0]!;
    expect(entry.texture).toMatchObject({ mode: 'full-dose', dose: 0.1, doseFrom: 'model card' });
    const warning = entry.warnings.find((w) => w.code === 'E_DOSE_UNKNOWN');
    expect(warning?.message).toMatch(/assumes 0\.1 .*give --dose/);
    // A model card without a default and no --dose: the series cannot get full-dose texture.
    const none = await runCli('denoise', lowDoseDir, '-o', join(root, 'texture-none'), '--model', MODEL, '--texture', 'full-dose', '--json', '--no-progress');
    // Nothing could be denoised with these settings: bad usage, exit 2.
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).errors[0]).toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/needs the input's dose \(--dose\)/) });
  });

  it('exits 2 when the settings leave nothing it can denoise: a model that is not there', async () => {
    const { code, stdout } = await runCli('denoise', lowDoseDir, '-o', join(root, 'no-such-model'), '--model', 'no-such-model', '--json', '--no-progress');
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as DenoiseReport;
    expect(report.series).toEqual([]);
    expect(report.errors[0]).toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringMatching(/no model named 'no-such-model'/) });
  });

  it('exits 2 when there is nothing to denoise', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const { code, stderr } = await runCli('denoise', empty, '-o', join(root, 'out-empty'), '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toMatch(/no CT or PET series/);
  });

  it('rejects bad options with exit 2', async () => {
    expect((await runCli('denoise', lowDoseDir, '-o', join(root, 'x'), '--device', 'tpu')).code).toBe(2);
    expect((await runCli('denoise', lowDoseDir, '-o', join(root, 'x'), '--steps', '0')).code).toBe(2);
    expect((await runCli('denoise', lowDoseDir)).code).toBe(2);
    const texture = await runCli('denoise', lowDoseDir, '-o', join(root, 'x'), '--texture', 'plastic');
    expect([texture.code, texture.stderr]).toEqual([2, expect.stringMatching(/--texture must be one of smooth, full-dose/)]);
    const filter = await runCli('denoise', lowDoseDir, '-o', join(root, 'x'), '--method', 'nlm', '--texture', 'full-dose');
    expect([filter.code, filter.stderr]).toEqual([2, expect.stringMatching(/--texture full-dose needs --method diffusion/)]);
  });
});
