import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fillGaussian } from '../../src/diffusion/gaussian.js';
import { NoiseSchedule, type BetaScheduleKind } from '../../src/diffusion/schedules.js';
import { generateBody } from '../../src/phantoms/index.js';
import { CT_RANGE } from '../../src/metrics/range.js';
import {
  forwardProcess,
  forwardTimestep,
  fractionLabel,
  textWidth,
  traceGridLayout,
  type TraceReport,
} from '../../src/trace/index.js';
import { Rng } from '../../src/util/random.js';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODELS = path.join(ROOT, 'test/fixtures-models');
const BODY_25 = path.join(ROOT, 'fixtures/body/dose25');
const CT_NORM = { units: 'HU', transform: 'linear', offset: 0, scale: 1000 } as const;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lowdose-trace-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SIZE = 96;
const body = generateBody({ size: SIZE, slices: 1, seed: 5 }).volume.slices[0]!;
const noise = fillGaussian(new Rng(3, 0), new Float32Array(SIZE * SIZE));
const FRACTIONS = [0, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 5 / 8, 3 / 4];
const schedules = Object.fromEntries(
  (['linear', 'cosine', 'aggressive'] as BetaScheduleKind[]).map((kind) => [kind, new NoiseSchedule({ kind, trainSteps: 1000 })]),
) as Record<BetaScheduleKind, NoiseSchedule>;
const forward = (kind: BetaScheduleKind, fractions = FRACTIONS) =>
  forwardProcess(body, { rows: SIZE, columns: SIZE, normalization: CT_NORM, schedule: schedules[kind], noise, range: CT_RANGE, fractions });

describe('forward frames', () => {
  it('start with the input itself at t = 0 (ᾱ = 1)', () => {
    const [first] = forward('cosine', [0, 0.5]);
    expect(first!.timestep).toBeNull();
    expect(first!.alphaBar).toBe(1);
    expect(Array.from(first!.image)).toEqual(Array.from(body));
  });

  it('are x_t = sqrt(ᾱ) x_0 + sqrt(1 - ᾱ) ε at t = round(f T) - 1', () => {
    const [, half] = forward('linear', [0, 0.5]);
    expect(half!.timestep).toBe(499);
    const ab = schedules.linear.alphaCumprod(499);
    expect(half!.alphaBar).toBe(ab);
    for (const i of [0, 1234, SIZE * SIZE - 1]) {
      expect(half!.image[i]!).toBeCloseTo(1000 * (Math.sqrt(ab) * (body[i]! / 1000) + Math.sqrt(1 - ab) * noise[i]!), 1);
    }
    expect([0, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1].map((f) => forwardTimestep(f, 1000))).toEqual([null, 124, 249, 499, 749, 999]);
    expect([0, 1 / 8, 1 / 2, 3 / 4, 1, 0.3].map(fractionLabel)).toEqual(['0', 'T/8', 'T/2', '3T/4', 'T', '0.30T']);
  });

  for (const kind of ['linear', 'cosine', 'aggressive'] as const) {
    it(`lose structure as t grows under the ${kind} schedule (SSIM and correlation to x_0 fall)`, () => {
      const frames = forward(kind);
      for (let k = 1; k < frames.length; k++) {
        expect(frames[k]!.ssim, `${kind} ${fractionLabel(frames[k]!.fraction)}`).toBeLessThan(frames[k - 1]!.ssim);
        expect(frames[k]!.ssimRescaled).toBeLessThan(frames[k - 1]!.ssimRescaled);
        expect(frames[k]!.correlation).toBeLessThan(frames[k - 1]!.correlation);
        expect(frames[k]!.ssimCoarse!).toBeLessThan(frames[k - 1]!.ssimCoarse!);
      }
    });
  }

  it('the aggressive schedule destroys structure earliest', () => {
    const at = (kind: BetaScheduleKind, f: number) => forward(kind, [f])[0]!;
    // ᾱ at T/2: aggressive < linear < cosine.
    expect(at('aggressive', 0.5).alphaBar).toBeLessThan(at('linear', 0.5).alphaBar);
    expect(at('linear', 0.5).alphaBar).toBeLessThan(at('cosine', 0.5).alphaBar);
    // And at T/4 and T/2 its frames keep the least of the image.
    for (const f of [0.25, 0.5]) {
      expect(at('aggressive', f).correlation).toBeLessThan(Math.min(at('linear', f).correlation, at('cosine', f).correlation));
      expect(at('aggressive', f).ssimRescaled).toBeLessThan(Math.min(at('linear', f).ssimRescaled, at('cosine', f).ssimRescaled));
      expect(at('aggressive', f).ssimCoarse!).toBeLessThan(Math.min(at('linear', f).ssimCoarse!, at('cosine', f).ssimCoarse!));
    }
  });
});

describe('lowdose trace', () => {
  it('writes a labelled grid PNG of the expected size and reports every frame', async () => {
    const out = path.join(tmp, 'trace.png');
    const run = await runCli('trace', BODY_25, '-o', out, '--model', path.join(MODELS, 'oracle-epsilon-cosine.json'),
      '--steps', '3', '--schedule', 'aggressive', '--panel', '128', '--slice', '1', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as TraceReport;
    const png = PNG.sync.read(readFileSync(out));
    // 256x256 slice shrunk 2x to 128 px panels; 6 forward frames; 3 steps + the output per reverse row.
    const layout = traceGridLayout({ rows: 256, columns: 256, forwardFrames: 6, reverseFrames: 4, panel: 128 });
    expect(layout).toMatchObject({ factor: 2, panelRows: 128, gridColumns: 6, reverseChunks: 1 });
    expect(layout.width).toBe(8 + 6 * 128 + 5 * 4 + 8);
    expect(layout.height).toBe(8 + 2 * 10 + (10 + 128 + 30) + 8 + (10 + 2 * (128 + 30)) + 8);
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    expect(report.grid).toMatchObject({ width: png.width, height: png.height });

    expect(report.input).toMatchObject({ modality: 'CT', units: 'HU', rows: 256, columns: 256, slice: 1, slices: 4 });
    expect(report.forward.schedule.kind).toBe('aggressive');
    expect(report.forward.frames.map((f) => f.timestep)).toEqual([null, 124, 249, 499, 749, 999]);
    expect(report.forward.frames[0]).toMatchObject({ alphaBar: 1, ssim: 1 });
    expect(report.reverse.schedule.kind).toBe('cosine'); // the model's own, whatever the forward schedule
    expect(report.reverse.frames.map((f) => f.timestep)).toEqual([999, 666, 332]);
    // The oracle model predicts exactly the slice it is conditioned on, so every x̂_0 and the output are the input.
    for (const f of report.reverse.frames) expect(f.ssimPrediction).toBeGreaterThan(0.999);
    expect(report.reverse.output.ssim).toBeGreaterThan(0.999);
    // x_t goes from noise towards the image.
    const s = report.reverse.frames.map((f) => f.ssimSample);
    expect(s[0]).toBeLessThan(0.05);
    expect(s[2]).toBeGreaterThan(s[1]!);
    expect(s[1]).toBeGreaterThan(s[0]!);
    expect(report.consistency).toBe(0);

    // With measurement consistency on: the oracle's x̂_0 is the input, the measurement itself, so the step keeps it.
    const consistent = await runCli('trace', BODY_25, '-o', path.join(tmp, 'trace-c.png'), '--model', path.join(MODELS, 'oracle-epsilon-cosine.json'),
      '--steps', '2', '--panel', '64', '--slice', '1', '--consistency', '1', '--json');
    expect(consistent.code, consistent.stderr).toBe(0);
    const withStep = JSON.parse(consistent.stdout) as TraceReport;
    expect(withStep.consistency).toBe(1);
    expect(withStep.reverse.output.ssim).toBeGreaterThan(0.999);
  });

  it('numbers the slice on its human output as the PNG header does (1-based, with the 0-based --slice)', async () => {
    const out = path.join(tmp, 'trace-first.png');
    const run = await runCli('trace', BODY_25, '-o', out, '--model', path.join(MODELS, 'oracle-epsilon-cosine.json'), '--steps', '1', '--panel', '64', '--slice', '0');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${out}: `);
    expect(run.stdout).toMatch(/ px, slice 1 of 4 \(--slice 0\)/);
  });

  it('wraps long reverse processes into balanced rows', () => {
    const base = { rows: 512, columns: 512, forwardFrames: 6 };
    expect(traceGridLayout({ ...base, reverseFrames: 9 })).toMatchObject({ factor: 2, gridColumns: 9, reverseChunks: 1 });
    expect(traceGridLayout({ ...base, reverseFrames: 51 })).toMatchObject({ gridColumns: 9, reverseChunks: 6 });
    expect(traceGridLayout({ ...base, reverseFrames: 9, maxColumns: 8 })).toMatchObject({ gridColumns: 6, reverseChunks: 2 });
    expect(traceGridLayout({ ...base, reverseFrames: 2 })).toMatchObject({ gridColumns: 6, reverseChunks: 1 });
  });

  it('refuses a schedule it does not know', async () => {
    const run = await runCli('trace', BODY_25, '-o', path.join(tmp, 'x.png'), '--schedule', 'quadratic');
    expect(run.code).toBe(2);
  });

  it('draws labels with the built-in font, unknown characters as ?', () => {
    expect(textWidth('t=499')).toBe(5 * 6 - 1);
    expect(textWidth('ᾱ=1')).toBe(3 * 6 - 1); // ᾱ is one cell (α with a macron over it)
    expect(textWidth('x̂_0')).toBe(3 * 6 - 1);
  });
});
