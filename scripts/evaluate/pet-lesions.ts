/**
 * Hot lesions inserted into the held-out real PET volume (sts-001, the test volume of
 * `lowdose-pet`'s split), scored as `lowdose metrics --lesions` scores them: SUVmean, SUVmax and
 * SUVpeak of each lesion in the low-count input, the denoised images and the filters, against the
 * full-count reconstruction of the same events. Writes <out>.json and <out>.md (default
 * models/eval/pet-lesions).
 *
 *   npx tsx scripts/evaluate/pet-lesions.ts                       # 3 placements x 25 % / 10 % counts
 *   npx tsx scripts/evaluate/pet-lesions.ts --doses 0.5,0.25,0.1,0.05 --realisations 2
 *   npx tsx scripts/evaluate/pet-lesions.ts --consistency '{"strength":1,"scaleMm":6,"threshold":1}'   # one more model row
 *   npx tsx scripts/evaluate/pet-lesions.ts --samples 4                 # one more row: the card's settings, mean of 4 samples
 *   npx tsx scripts/evaluate/pet-lesions.ts --nlm-h 0.5,1,1.5,2,3       # NLM's curve: one row per h factor
 *   npx tsx scripts/evaluate/pet-lesions.ts --noise-realisations 8 --rows input,nlm,card   # expectations over 8 noise draws
 *   npx tsx scripts/evaluate/pet-lesions.ts --dose-unknown        # the model rows without the dose declared
 *
 * Per realisation (seed s = --seed + index): 2 lesions of each diameter (10, 13, 17, 22, 28, 37 mm)
 * are placed in uniform-ish tissue of ordinary uptake (pet-lesions/lesions.ts: liver, lung, muscle,
 * soft tissue; never within 10 mm of the bladder, brain, heart, kidneys or the patient's tumour) at
 * 2 to 10 times the local background, inserted into the full-count activity with partial volume,
 * and every slice a lesion or its SUVpeak sphere reaches is simulated with the toolkit's PET physics
 * (`simulatePet`, the code behind `lowdose simulate`: attenuated projection, Poisson counts at the
 * fraction, OSEM 3 x 12, 4 mm post-filter; the full-count image from the same events plus the rest).
 * Simulations are cached in .cache/eval/pet-lesions/ (about 0.3 to 1 s per slice and dose on 2 cores).
 *
 * --noise-realisations N simulates each placement N times with distinct Poisson seeds (draw 0: the
 * placement's seed, the events of the single-draw tables; draw n: seed x 1000 + n,
 * pet-lesions/draws.ts), each draw scored against the full-count reconstruction of its own events.
 * The report then adds, per method and dose, the expected bias per lesion size with its standard
 * error over lesions (each lesion's draws averaged first; placements and noise both in it, and
 * apart: pet-lesions/expected.ts). --rows picks the standard rows (default all:
 * input,gaussian,nlm,card,off); --consistency, --samples and --nlm-h rows are always added.
 *
 * Rows: the low-count input; Gaussian and NLM with the settings the card's evaluation tuned on the
 * validation volume per dose (`quality.gaussianSigmaFromValidation`, `classicalFromValidation`;
 * 50 % takes the 25 % setting, 5 % the 10 % one); the model with its card (consistency as the card
 * says), with consistency off, one row per --consistency and per --samples. The model is told the dose, as
 * `lowdose qa` tells it; with --dose-unknown it is not (as `lowdose denoise` without --dose and
 * `lowdose qa --dose-unknown` run it: the network's unknown-dose condition, no dose-gated consistency
 * step). The input and filter rows do not depend on it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classicalDenoise } from '../../src/filters/denoise.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { Rng } from '../../src/util/random.js';
import { readNiftiVolume } from '../train/nifti-volume.js';
import { insertLesions, placeLesions, slicesNeeded, type PlacedLesion, type VolumeGrid } from './pet-lesions/lesions.js';
import { backgroundSds, placeStack, scoreLesions, summarizeBySize, targetVerdict, volumeEdges, type LesionScore } from './pet-lesions/score.js';
import { noiseSeed, simulateDraw, type SimulatedDraw } from './pet-lesions/draws.js';
import { expectedBackgroundSd, expectedBySize, expectedVerdict, type Expectation, type ExpectedLimit } from './pet-lesions/expected.js';
import { PEAK_RADIUS_MM } from '../../src/metrics/lesions.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const all = (name: string) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]!] : []));
const list = (text: string) => text.split(',').map(Number);
const log = (m: string) => process.stderr.write(`${m}\n`);

const VOLUME = path.resolve(REPO, opt('volume', '../shared/pet/sts-001-pet.nii.gz'));
const CARD = path.resolve(REPO, opt('card', 'models/lowdose-pet.json'));
const REALISATIONS = Number(opt('realisations', '3'));
const SEED = Number(opt('seed', '1'));
const DOSES = list(opt('doses', '0.25,0.1'));
const DIAMETERS = list(opt('diameters', '10,13,17,22,28,37'));
const PER_SIZE = Number(opt('per-size', '2'));
const THREADS = Number(opt('threads', '2'));
const OUT = path.resolve(REPO, opt('out', 'models/eval/pet-lesions'));
const CACHE = path.join(REPO, '.cache/eval/pet-lesions');
const VARIANTS = all('consistency').map((text) => JSON.parse(text) as Record<string, number>);
/** --samples K: one more row, the card's settings with a K-sample ensemble mean. */
const SAMPLES = all('samples').map(Number);
const NLM_H = opt('nlm-h', '') ? list(opt('nlm-h', '')) : [];
/** --noise-realisations N: noise draws per placement (distinct Poisson seeds, pet-lesions/draws.ts). */
const NOISE = Number(opt('noise-realisations', '1'));
/** --dose-unknown: the model rows are not told the dose (the path of a denoise run without --dose). */
const DOSE_DECLARED = !args.includes('--dose-unknown');
const STANDARD_ROWS = ['input', 'gaussian', 'nlm', 'card', 'off'] as const;
const ROWS = new Set(opt('rows', STANDARD_ROWS.join(',')).split(','));
for (const r of ROWS) if (!(STANDARD_ROWS as readonly string[]).includes(r)) throw new Error(`--rows: ${r} is not one of ${STANDARD_ROWS.join(', ')}`);
if (!Number.isInteger(NOISE) || NOISE < 1) throw new Error(`--noise-realisations: a whole number >= 1, got ${opt('noise-realisations', '1')}`);

const nv = readNiftiVolume(VOLUME);
const volume = nv.volume;
const grid: VolumeGrid = { rows: volume.rows, columns: volume.columns, slices: volume.slices.length, dy: volume.spacing[0], dx: volume.spacing[1], dz: volume.spacing[2] };
/** The whole volume's first and last slice: the stacks scored hold only the slices near the lesions. */
const edges = volumeEdges(grid);
const suv = volume.slices.map((s) => s.map((v) => v * nv.suvFactor));
const card = JSON.parse(readFileSync(CARD, 'utf8')) as {
  name: string;
  sampler: { consistency?: unknown };
  quality?: { gaussianSigmaFromValidation?: Record<string, number>; classicalFromValidation?: Record<string, { nlmHFactor: number }> };
};

/** The card's validation-tuned filter setting for `dose` (the nearest dose it has). */
function tuned<T>(table: Record<string, T> | undefined, dose: number): T {
  if (!table) throw new Error(`${CARD} has no validation-tuned filter settings (quality.*FromValidation)`);
  const keys = Object.keys(table).map(Number);
  const nearest = keys.reduce((a, b) => (Math.abs(Math.log(b / dose)) < Math.abs(Math.log(a / dose)) ? b : a));
  return table[String(nearest)]!;
}

/** A copy of the card with `sampler.consistency` replaced (null: removed), its ONNX path absolute. */
function cardWith(consistency: unknown, label: string): string {
  const raw = JSON.parse(readFileSync(CARD, 'utf8')) as { onnx: string; sampler: { consistency?: unknown } };
  raw.onnx = path.resolve(path.dirname(CARD), raw.onnx);
  if (consistency === null) delete raw.sampler.consistency;
  else raw.sampler.consistency = consistency;
  // A folder name holds at most 255 bytes: a long setting is named by its hash.
  const name = label.replace(/[^A-Za-z0-9.]+/g, '-');
  const dir = path.join(CACHE, 'cards', name.length <= 200 ? name : `sha256-${createHash('sha256').update(label).digest('hex').slice(0, 32)}`);
  makeDirectoriesSync(dir);
  const file = path.join(dir, path.basename(CARD));
  writeFileSync(file, `${JSON.stringify(raw, null, 1)}\n`);
  return file;
}

/** Low-count and full-count reconstructions (SUV) of `indices` for Poisson seed `seed`, from the cache when there. */
function simulate(withLesions: readonly Float32Array[], indices: number[], dose: number, seed: number, key: string): SimulatedDraw {
  const file = path.join(CACHE, `sim-${key}-seed${seed}-dose${dose}.f32`);
  const n = grid.rows * grid.columns;
  if (existsSync(file)) {
    const all = new Float32Array(readFileSync(file).buffer.slice(0));
    if (all.length === 2 * indices.length * n) {
      const at = (j: number) => all.slice(j * n, (j + 1) * n);
      return { indices, low: indices.map((_, j) => at(j)), ref: indices.map((_, j) => at(indices.length + j)) };
    }
  }
  const started = Date.now();
  const sim = simulateDraw(withLesions, grid, indices, dose, seed, nv.suvFactor, (done) => {
    if (done % 20 === 0) log(`  simulated ${done}/${indices.length} slices at ${dose * 100} %, seed ${seed} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });
  makeDirectoriesSync(CACHE);
  const out = new Float32Array(2 * indices.length * n);
  [...sim.low, ...sim.ref].forEach((slice, j) => out.set(slice, j * n));
  writeFileSync(file, Buffer.from(out.buffer));
  return sim;
}

interface Row {
  readonly method: string;
  readonly realisation: number;
  /** Noise draw of the placement (0: the placement's own seed) and its Poisson seed. */
  readonly draw: number;
  readonly noiseSeed: number;
  readonly dose: number;
  readonly settings: string;
  readonly scores: LesionScore[];
  /** SD of the voxels 5 to 10 mm outside each lesion's surface, mean over lesions, SUV. */
  readonly backgroundSd: number;
  /** The same per lesion, in the order of `scores`. */
  readonly backgroundSds: number[];
}

const modelRows: Array<{ method: string; card: string; samples?: number }> = [
  ...(ROWS.has('card') ? [{ method: `${card.name} (card: ${JSON.stringify(card.sampler.consistency ?? 'consistency off')})`, card: CARD }] : []),
  ...(ROWS.has('off') ? [{ method: `${card.name}, consistency off`, card: cardWith(null, 'off') }] : []),
  ...VARIANTS.map((c) => ({ method: `${card.name}, consistency ${JSON.stringify(c)}`, card: cardWith(c, JSON.stringify(c)) })),
  ...SAMPLES.map((k) => ({ method: `${card.name} (card), mean of ${k} samples`, card: CARD, samples: k })),
];
const denoisers = await Promise.all(
  modelRows.map((m) => Denoiser.load(m.card, { modality: 'PT', device: 'cpu', threads: THREADS, ...(m.samples ? { samples: m.samples } : {}) })),
);

const rows: Row[] = [];
const placements: Array<{ realisation: number; seed: number; slices: number[]; lesions: PlacedLesion[] }> = [];
const started = Date.now();
for (let q = 0; q < REALISATIONS; q++) {
  const seed = SEED + q;
  const lesions = placeLesions(suv, grid, new Rng(seed, 0x1e51), { diametersMm: DIAMETERS, perSize: PER_SIZE });
  const indices = slicesNeeded(grid, lesions, PEAK_RADIUS_MM + grid.dz);
  placements.push({ realisation: q, seed, slices: indices, lesions });
  log(`realisation ${q} (seed ${seed}): ${lesions.length} lesions, ${indices.length} slices: ${lesions.map((l) => `${l.name} at slice ${l.voxel[0]} x${l.contrast.toFixed(1)} on ${l.background.toFixed(2)} SUV`).join('; ')}`);
  // Lesions go into the activity (Bq/ml) the simulator projects; their activity was set in SUV.
  const bqLesions = lesions.map((l) => ({ ...l, activity: l.activity / nv.suvFactor, background: l.background / nv.suvFactor }));
  const withLesions = insertLesions(volume.slices, grid, bqLesions);
  // The cache is keyed by what was simulated: the volume, the lesions and the slices.
  const key = `${path.basename(VOLUME, '.nii.gz')}-${createHash('sha256').update(JSON.stringify({ lesions, indices })).digest('hex').slice(0, 12)}`;
  for (const dose of DOSES) {
    for (let draw = 0; draw < NOISE; draw++) {
      const drawSeed = noiseSeed(seed, draw);
      const sim = simulate(withLesions, indices, dose, drawSeed, key);
      // Each draw is scored against the full-count reconstruction of its own events.
      const reference = placeStack(grid, indices, sim.ref);
      const score = (method: string, settings: string, data: Float32Array[]) => {
        const test = placeStack(grid, indices, data);
        const sds = backgroundSds(test, lesions);
        rows.push({
          method,
          realisation: q,
          draw,
          noiseSeed: drawSeed,
          dose,
          settings,
          scores: scoreLesions(reference, test, lesions, edges),
          backgroundSd: sds.reduce((a, b) => a + b, 0) / sds.length,
          backgroundSds: sds,
        });
      };
      if (ROWS.has('input')) score('low-count input', 'untouched', sim.low);
      const shape = { rows: grid.rows, columns: grid.columns, pixelSpacing: [grid.dy, grid.dx] as [number, number] };
      if (ROWS.has('gaussian')) {
        const sigmaPx = tuned(card.quality?.gaussianSigmaFromValidation, dose);
        score('gaussian (tuned)', `sigma ${sigmaPx} px`, sim.low.map((data) => classicalDenoise('gaussian', { ...shape, data }, { modality: 'PT', sigmaPx }).data));
      }
      if (ROWS.has('nlm')) {
        const hFactor = tuned(card.quality?.classicalFromValidation, dose).nlmHFactor;
        score('non-local means (tuned)', `h ${hFactor} x noise SD`, sim.low.map((data) => classicalDenoise('nlm', { ...shape, data }, { modality: 'PT', units: 'SUV', hFactor }).data));
      }
      for (const h of NLM_H) {
        score(`non-local means h ${h}`, `h ${h} x noise SD`, sim.low.map((data) => classicalDenoise('nlm', { ...shape, data }, { modality: 'PT', units: 'SUV', hFactor: h }).data));
      }
      for (const [m, row] of modelRows.entries()) {
        const d = denoisers[m]!.with({ doseLevel: DOSE_DECLARED ? dose : 0 });
        const result = await d.denoise(sim.low.map((image, j) => ({ index: indices[j]!, image })), shape);
        score(row.method, d.description, result.denoised);
      }
      log(`  ${dose * 100} %, draw ${draw + 1}/${NOISE} (seed ${drawSeed}) done (${((Date.now() - started) / 60000).toFixed(1)} min)`);
    }
  }
}
await Promise.all(denoisers.map((d) => d.release()));

// ---- Report ----------------------------------------------------------------------------------
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
const methods = [...new Set(rows.map((r) => r.method))];
const command = `npx tsx scripts/evaluate/pet-lesions.ts ${args.join(' ')}`.trim();
const lines: string[] = [
  `Command: \`${command}\``,
  '',
  `Lesions inserted into ${path.basename(VOLUME)} (the held-out test volume), ${REALISATIONS} placement(s) x ${PER_SIZE} lesion(s) per diameter at 2 to 10 x the local background; ` +
    'bias of each statistic against the full-count reconstruction of the same events, %, mean over the lesions of a size (worst single lesion in brackets); ' +
    'background SD: voxels 5 to 10 mm outside each lesion, mean over lesions, SUV.' +
    (DOSE_DECLARED ? ' The model is told the dose.' : ' The model is not told the dose (--dose-unknown: its unknown-dose condition, no dose-gated consistency step).') +
    (NOISE > 1 ? ` The first tables are noise draw 0 alone (each placement's own seed: the events a single-draw run scores); "Expected over ${NOISE} noise draws" below averages every draw.` : ''),
];
// A SUVpeak sphere cut by the volume's edges averages fewer voxels: named, so its peak bias is not
// read as the method's. Placed lesions keep clear of the ends, so this is for other placements.
const cutSpheres = rows.flatMap((r) => r.scores.filter((s) => s.peakSphereCut).map((s) => `${s.lesion} (${r.method}, ${r.dose * 100} %, placement ${r.realisation}, draw ${r.draw})`));
if (cutSpheres.length > 0) lines.push('', `SUVpeak sphere cut by the volume's first or last slice or its rows / columns (peakSphereCut: its SUVpeak is the mean of a partial sphere): ${cutSpheres.join('; ')}.`);
const limitsAt = (dose: number) => ({ meanLimit: dose >= 0.25 ? 0.05 : 0.1, maxLimit: 0.1 });
for (const dose of DOSES) {
  const { meanLimit } = limitsAt(dose);
  lines.push('', `### ${dose * 100} % counts${NOISE > 1 ? ', noise draw 0' : ''}`, '');
  const stats = (method: string) => {
    const of = rows.filter((r) => r.method === method && r.dose === dose && r.draw === 0);
    const summary = summarizeBySize(of.flatMap((r) => r.scores));
    return { summary, verdict: targetVerdict(summary, meanLimit, 0.1), sd: of.reduce((a, r) => a + r.backgroundSd, 0) / of.length };
  };
  // NLM's (worst |SUVmean bias| >= 17 mm, background SD) over its h factors, sorted by bias. As h
  // goes to 0 NLM's weights keep only the pixel's own patch, so the input is the curve's h = 0 end.
  const curve = (NLM_H.length ? [...(ROWS.has('input') ? ['low-count input'] : []), ...NLM_H.map((h) => `non-local means h ${h}`)] : [])
    .map(stats)
    .map((c) => ({ bias: Math.abs(c.verdict.worstMeanBias), sd: c.sd }))
    .sort((a, b) => a.bias - b.bias);
  const nlmAt = (b: number): string => {
    for (let i = 1; i < curve.length; i++) {
      const lo = curve[i - 1]!;
      const hi = curve[i]!;
      if (b >= lo.bias && b <= hi.bias) return (lo.sd + ((b - lo.bias) / (hi.bias - lo.bias || 1)) * (hi.sd - lo.sd)).toFixed(3);
    }
    return '-';
  };
  const nlmHead = curve.length ? " | NLM's background SD at the same worst SUVmean bias" : '';
  lines.push(`| method | background SD${nlmHead} | SUVmean ${DIAMETERS.join(' / ')} mm | SUVmax ${DIAMETERS.join(' / ')} mm | SUVpeak ${DIAMETERS.join(' / ')} mm | >= 17 mm: worst SUVmean / SUVmax (limits ${meanLimit * 100} / 10 %) |`);
  lines.push(`| --- | ---${curve.length ? ' | ---' : ''} | --- | --- | --- | --- |`);
  for (const method of methods) {
    const { summary, verdict, sd } = stats(method);
    lines.push(
      `| ${method} | ${sd.toFixed(3)}${curve.length ? ` | ${nlmAt(Math.abs(verdict.worstMeanBias))}` : ''} | ${summary.map((s) => `${pct(s.meanBias)} (${pct(s.worstMeanBias)})`).join(' / ')} | ` +
        `${summary.map((s) => pct(s.maxBias)).join(' / ')} | ${summary.map((s) => pct(s.peakBias)).join(' / ')} | ` +
        `${pct(verdict.worstMeanBias)} ${verdict.meanMet ? 'met' : 'missed'} / ${pct(verdict.worstMaxBias)} ${verdict.maxMet ? 'met' : 'missed'} |`,
    );
  }
}

// ---- Expectations over noise draws (--noise-realisations N > 1) ------------------------------
const ci = (e: Expectation) => `${pct(e.mean)} ± ${e.se === null ? '-' : (100 * e.se).toFixed(1)}`;
const expected: Array<{ method: string; dose: number; bySize: ReturnType<typeof expectedBySize>; backgroundSd: Expectation; verdict: ReturnType<typeof expectedVerdict> | null }> = [];
if (NOISE > 1) {
  lines.push(
    '',
    `## Expected over ${NOISE} noise draws`,
    '',
    `Each of the ${REALISATIONS} placement(s) simulated ${NOISE} times (Poisson seed of draw n: the placement's seed for n = 0, seed x 1000 + n otherwise), ` +
      'every draw scored against the full-count reconstruction of its own events. Bias %, mean ± standard error: each lesion\'s bias is averaged over its draws, ' +
      'the mean is over the lesions of a size (equal draws per lesion: the mean of every per-draw score) and the standard error is the SD of those lesion means / sqrt(lesions), ' +
      'which holds both the placement-to-placement spread and the noise left after averaging the draws. ' +
      '"noise SD" is one lesion\'s SUVmean SD between draws (pooled); "noise-only SE" = noise SD / sqrt(lesions x draws), the standard error for these very lesions; ' +
      '"between-lesion SD" the spread of the lesions\' own expected SUVmean bias, which only more placements average down. Background SD in SUV.',
  );
  for (const dose of DOSES) {
    const { meanLimit, maxLimit } = limitsAt(dose);
    lines.push('', `### ${dose * 100} % counts, expected over ${NOISE} noise draws`, '');
    lines.push(`| method | | ${DIAMETERS.map((d) => `${d} mm`).join(' | ')} |`, `| --- | --- |${DIAMETERS.map(() => ' --- |').join('')}`);
    const verdicts: string[] = [];
    for (const method of methods) {
      const draws = rows.filter((r) => r.method === method && r.dose === dose).map((r) => ({ placement: r.realisation, draw: r.draw, scores: r.scores, backgroundSds: r.backgroundSds }));
      const bySize = expectedBySize(draws);
      const bg = expectedBackgroundSd(draws);
      const verdict = bySize.some((x) => x.diameterMm >= 17) ? expectedVerdict(bySize, meanLimit, maxLimit) : null;
      expected.push({ method, dose, bySize, backgroundSd: bg, verdict });
      const cells = (f: (s: (typeof bySize)[number]) => string) => DIAMETERS.map((d) => { const s = bySize.find((x) => x.diameterMm === d); return s ? f(s) : '-'; }).join(' | ');
      const n = bySize[0]!.mean;
      lines.push(
        `| ${method} | SUVmean (${n.lesions} lesions x ${n.samples / n.lesions} draws) | ${cells((s) => ci(s.mean))} |`,
        `| | SUVmean noise SD / noise-only SE / between-lesion SD | ${cells((s) => [s.mean.noiseSd, s.mean.noiseSe, s.mean.betweenSd].map((v) => (v === null ? '-' : (100 * v).toFixed(1))).join(' / '))} |`,
        `| | SUVmax | ${cells((s) => ci(s.max))} |`,
        `| | SUVpeak | ${cells((s) => ci(s.peak))} |`,
        `| | background SD | ${cells((s) => `${s.backgroundSd.mean.toFixed(3)} ± ${s.backgroundSd.se === null ? '-' : s.backgroundSd.se.toFixed(3)}`)} |`,
      );
      const says = (v: ExpectedLimit, limit: number) =>
        `${pct(v.worst)} ± ${v.worstSe === null ? '-' : (100 * v.worstSe).toFixed(1)} (${v.worstDiameterMm} mm): ${v.met ? 'met' : 'missed'}${v.decided ? '' : ` (not beyond 2 SE: ${v.closeCalls.map((d) => `${d} mm`).join(', ')} within 2 SE of the ${limit * 100} % limit)`}`;
      verdicts.push(
        `- ${method}: background SD ${bg.mean.toFixed(3)} ± ${bg.se === null ? '-' : bg.se.toFixed(3)} SUV${verdict ? `; >= 17 mm worst expected SUVmean ${says(verdict.mean, meanLimit)}; SUVmax ${says(verdict.max, maxLimit)}` : ''}`,
      );
    }
    lines.push('', `Limits for 17 mm and up: |SUVmean| <= ${meanLimit * 100} %, |SUVmax| <= ${maxLimit * 100} %.`, '', ...verdicts);
  }
}
makeDirectoriesSync(path.dirname(OUT));
writeFileSync(
  `${OUT}.json`,
  `${JSON.stringify({ command, volume: path.basename(VOLUME), card: path.relative(REPO, CARD), doseDeclared: DOSE_DECLARED, doses: DOSES, noiseRealisations: NOISE, placements, rows, ...(NOISE > 1 ? { expected } : {}) }, null, 1)}\n`,
);
writeFileSync(`${OUT}.md`, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
log(`wrote ${path.relative(REPO, OUT)}.json and .md (${((Date.now() - started) / 60000).toFixed(1)} min)`);
