/**
 * Schedules experiment, part 1 (no model needed): how long does each β schedule keep a slice's
 * structure recognisable along the forward process?
 *
 * Slices: 20 body phantom slices (seeds 0..19, 256 px, centred from the lower abdomen to the lower
 * chest) and the 4 ACR modules (256 px). For each schedule (T = 1000, default parameters) and each
 * t = round(f T) - 1, f = k/32, the forward frame x_t = sqrt(ᾱ) x_0 + sqrt(1 - ᾱ) ε (one noise field per
 * slice) is scored with src/trace/forward.ts: `ssimCoarse` (SSIM of x_t/sqrt(ᾱ) and x_0 over 4x4
 * pixel blocks; recognisable when > 0.3), pixel-level SSIM and correlation.
 *
 * Run: npx tsx scripts/experiments/schedules.ts
 * Writes docs/experiments/schedules.json, schedules-alphabar.png, schedules-structure.png,
 * schedules-frames.png.
 */
import { fillGaussian } from '../../src/diffusion/gaussian.js';
import { NoiseSchedule, type BetaScheduleKind } from '../../src/diffusion/schedules.js';
import { CT_RANGE } from '../../src/metrics/range.js';
import { generateAcr, generateBody } from '../../src/phantoms/index.js';
import { forwardProcess, fractionLabel, STRUCTURE_THRESHOLD, type ForwardFrame } from '../../src/trace/forward.js';
import { Rng } from '../../src/util/random.js';
import { imageGrid, linePlot, PALETTE, saveFigure, saveJson } from './figures.js';

const SIZE = 256;
const KINDS: readonly BetaScheduleKind[] = ['linear', 'cosine', 'aggressive'];
const FRACTIONS = Array.from({ length: 33 }, (_, k) => k / 32);
const HALF = 16; // index of f = 1/2
const THRESHOLDS = [0.2, 0.3, 0.5];
const CT_NORM = { units: 'HU', transform: 'linear', offset: 0, scale: 1000 } as const;

interface Slice {
  readonly name: string;
  readonly image: Float32Array;
}

const slices: Slice[] = [];
for (let seed = 0; seed < 20; seed++) {
  const centreZ = -100 + (seed % 5) * 60;
  const body = generateBody({ size: SIZE, slices: 1, seed, centreZ });
  slices.push({ name: `body seed ${seed} z ${centreZ}`, image: body.volume.slices[0]! });
}
generateAcr({ size: SIZE, slices: 4, spacing: 40 }).volume.slices.forEach((image, i) => slices.push({ name: `acr module ${i + 1}`, image }));
console.error(`${slices.length} slices`);

const results: Record<string, { alphaBar: number[]; frames: Array<Array<Omit<ForwardFrame, 'image'>>> }> = {};
for (const kind of KINDS) {
  const schedule = new NoiseSchedule({ kind, trainSteps: 1000 });
  const frames = slices.map((slice, s) => {
    const noise = fillGaussian(new Rng(2024, s), new Float32Array(SIZE * SIZE));
    return forwardProcess(slice.image, { rows: SIZE, columns: SIZE, normalization: CT_NORM, schedule, noise, range: CT_RANGE, fractions: FRACTIONS })
      .map(({ image: _image, ...rest }) => rest);
  });
  results[kind] = { alphaBar: frames[0]!.map((f) => f.alphaBar), frames };
  console.error(`${kind} done`);
}

/** The last fraction of T at which a slice's frames are still recognisable (linear between grid points). */
function horizon(frames: ReadonlyArray<Omit<ForwardFrame, 'image'>>, threshold: number): number {
  for (let k = 1; k < frames.length; k++) {
    const a = frames[k - 1]!.ssimCoarse!;
    const b = frames[k]!.ssimCoarse!;
    if (b <= threshold) return frames[k - 1]!.fraction + ((a - threshold) / (a - b)) * (frames[k]!.fraction - frames[k - 1]!.fraction);
  }
  return 1;
}

const summary = KINDS.map((kind) => {
  const r = results[kind]!;
  const group = (prefix: string) => r.frames.filter((_, s) => slices[s]!.name.startsWith(prefix));
  const frac = (fs: typeof r.frames, threshold: number) => fs.filter((f) => f[HALF]!.ssimCoarse! > threshold).length / fs.length;
  const horizons = r.frames.map((f) => horizon(f, STRUCTURE_THRESHOLD));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const half = r.frames.map((f) => f[HALF]!);
  return {
    schedule: kind,
    alphaBarAtHalf: r.alphaBar[HALF]!,
    recognisableAtHalf: {
      all: frac(r.frames, STRUCTURE_THRESHOLD),
      body: frac(group('body'), STRUCTURE_THRESHOLD),
      acr: frac(group('acr'), STRUCTURE_THRESHOLD),
    },
    sensitivity: Object.fromEntries(THRESHOLDS.map((t) => [String(t), frac(r.frames, t)])),
    ssimCoarseAtHalf: { mean: mean(half.map((f) => f.ssimCoarse!)), min: Math.min(...half.map((f) => f.ssimCoarse!)), max: Math.max(...half.map((f) => f.ssimCoarse!)) },
    ssimAtHalf: { mean: mean(half.map((f) => f.ssim)), max: Math.max(...half.map((f) => f.ssim)) },
    correlationAtHalf: { mean: mean(half.map((f) => f.correlation)), min: Math.min(...half.map((f) => f.correlation)), max: Math.max(...half.map((f) => f.correlation)) },
    horizon: { mean: mean(horizons), min: Math.min(...horizons), max: Math.max(...horizons) },
  };
});
for (const s of summary) {
  console.log(
    `${s.schedule.padEnd(10)} ᾱ(T/2) ${s.alphaBarAtHalf.toFixed(4)}  recognisable at T/2: ${(100 * s.recognisableAtHalf.all).toFixed(0)} % ` +
      `(body ${(100 * s.recognisableAtHalf.body).toFixed(0)} %, acr ${(100 * s.recognisableAtHalf.acr).toFixed(0)} %)  ` +
      `ssimCoarse ${s.ssimCoarseAtHalf.mean.toFixed(3)} [${s.ssimCoarseAtHalf.min.toFixed(3)}, ${s.ssimCoarseAtHalf.max.toFixed(3)}]  ` +
      `pixel SSIM ${s.ssimAtHalf.mean.toFixed(3)}  horizon t/T ${s.horizon.mean.toFixed(3)} [${s.horizon.min.toFixed(3)}, ${s.horizon.max.toFixed(3)}]  ` +
      `thresholds ${JSON.stringify(s.sensitivity)}`,
  );
}

saveJson('schedules.json', {
  command: 'npx tsx scripts/experiments/schedules.ts',
  criterion: `ssimCoarse > ${STRUCTURE_THRESHOLD}: SSIM of x_t/sqrt(alphaBar) and x_0 over 4x4 pixel blocks, model space, CT range`,
  slices: slices.map((s) => s.name),
  summary,
  curves: Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      {
        fraction: FRACTIONS,
        alphaBar: results[kind]!.alphaBar,
        ssimCoarseMean: FRACTIONS.map((_, k) => results[kind]!.frames.reduce((a, f) => a + f[k]!.ssimCoarse!, 0) / slices.length),
        ssimMean: FRACTIONS.map((_, k) => results[kind]!.frames.reduce((a, f) => a + f[k]!.ssim, 0) / slices.length),
      },
    ]),
  ),
});

const colors = Object.fromEntries(KINDS.map((k, i) => [k, PALETTE[i]!]));
saveFigure(
  'schedules-alphabar.png',
  linePlot({
    title: 'noise schedules: signal kept, ᾱ_t, against t/T (T = 1000)',
    xLabel: 't / T',
    yLabel: 'ᾱ_t',
    xRange: [0, 1],
    yRange: [0, 1],
    vLines: [{ x: 0.5, label: 'T/2' }],
    series: KINDS.map((kind) => ({ name: kind, color: colors[kind]!, points: FRACTIONS.map((f, k) => [f, results[kind]!.alphaBar[k]!] as const) })),
  }),
);
saveFigure(
  'schedules-structure.png',
  linePlot({
    title: `structure left in x_t: SSIM over 4x4 blocks, mean of ${slices.length} slices (thin: min, max)`,
    xLabel: 't / T',
    yLabel: 'coarse SSIM(x_t/sqrt(ᾱ), x_0)',
    xRange: [0, 1],
    yRange: [0, 1],
    hLines: [{ y: STRUCTURE_THRESHOLD, label: `recognisable > ${STRUCTURE_THRESHOLD}` }],
    vLines: [{ x: 0.5, label: 'T/2' }],
    series: KINDS.flatMap((kind) => {
      const frames = results[kind]!.frames;
      const at = (k: number, pick: (xs: number[]) => number) => pick(frames.map((f) => f[k]!.ssimCoarse!));
      return [
        { name: kind, color: colors[kind]!, points: FRACTIONS.map((f, k) => [f, at(k, (xs) => xs.reduce((a, b) => a + b, 0) / xs.length)] as const) },
        { name: `${kind} min`, dim: true, color: colors[kind]!, points: FRACTIONS.map((f, k) => [f, at(k, (xs) => Math.min(...xs))] as const) },
        { name: `${kind} max`, dim: true, color: colors[kind]!, points: FRACTIONS.map((f, k) => [f, at(k, (xs) => Math.max(...xs))] as const) },
      ];
    }),
  }),
);

// One body slice under each schedule at x_0, T/8, T/4, 3T/8, T/2, 3T/4.
const shown = [0, 4, 8, 12, 16, 24];
const example = 2;
const noise = fillGaussian(new Rng(2024, example), new Float32Array(SIZE * SIZE));
saveFigure(
  'schedules-frames.png',
  imageGrid(
    KINDS.map((kind) => {
      const frames = forwardProcess(slices[example]!.image, {
        rows: SIZE,
        columns: SIZE,
        normalization: CT_NORM,
        schedule: new NoiseSchedule({ kind, trainSteps: 1000 }),
        noise,
        range: CT_RANGE,
        fractions: shown.map((k) => FRACTIONS[k]!),
      });
      return {
        title: `${kind}`,
        cells: frames.map((f) => ({
          image: f.image,
          rows: SIZE,
          columns: SIZE,
          label: [f.timestep === null ? 'x_0 (clean)' : `t=${f.timestep} ${fractionLabel(f.fraction)}`, `ᾱ=${f.alphaBar.toFixed(3)}`, `coarse ${f.ssimCoarse!.toFixed(2)}${f.recognisable ? ' ok' : ''}`],
        })),
      };
    }),
    { lo: -1000, hi: 1000 },
    96,
    `forward process of ${slices[example]!.name} (window -1000..1000 HU); "ok" = recognisable`,
  ),
);
