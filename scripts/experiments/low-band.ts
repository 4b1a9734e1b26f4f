/**
 * Low-band denoising after the network (src/filters/low-band.ts), measured on training-side water:
 * water phantom realisations with noise seeds that are not the QA fixture's (1100, 1101), at the
 * QA fixture's geometry (256 px, 2 slices), 25 % and 10 % dose, with their simulated full-dose scan.
 *
 * Per candidate setting (filter:factor:strength) and dose, averaged over realisations:
 * - QA's NPS peak shift against the full-dose scan (npsOf, smoothedPeak: the `nps-peak-shift`
 *   check's own measurement), smooth and with full-dose texture (restoreTexture after the step);
 * - pooled ROI noise SD relative to full dose; PSNR against the full dose;
 * - T(f) = sqrt(NPS_out / NPS_in) at a few frequencies (cycles per pixel);
 * - low-contrast lesions: +10 HU disks of 10, 15 and 20 mm painted into the truth and into each
 *   noisy scan (truth-mode noise is additive in water), contrast kept (mean in the disk's inner
 *   70 % minus the ring 1.5..2.5 radii out, over 10 HU) and CNR, the model re-run on the painted input.
 *
 *   npx tsx scripts/experiments/low-band.ts [--seeds 51,52,53] [--candidates nlm:4:1,nlm:4:2,...] [--out low-band]
 *       [--transfer docs/experiments/low-band-transfer-1.json]   (per-frequency texture for the candidates)
 * Writes docs/experiments/<out>.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { restoreTexture } from '../../src/diffusion/texture.js';
import { smoothLowBand, type LowBandFilter } from '../../src/filters/low-band.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runSimulate } from '../../src/pipeline/simulate.js';
import { npsOf, pooledNoise, smoothedPeak } from '../../src/qa/checks/index.js';
import { pixelAt, readStack } from '../../src/qa/fixtures.js';
import { uniformDisc, uniformRois } from '../../src/qa/regions.js';
import type { QaCase, QaSlice, SliceStack } from '../../src/qa/types.js';
import { ROOT, saveJson } from './figures.js';
import { readTransferTable, restoreByTransfer } from './texture-transfer-gain.js';
import { denoiseStack, modelIdentity, openModel, round, scoreStack } from './fixture-runs.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'lowdose-ct' },
    seeds: { type: 'string', default: '51,52,53' },
    doses: { type: 'string', default: '0.25,0.1' },
    candidates: { type: 'string', default: 'nlm:4:1,nlm:4:2,nlm:4:3,nlm:8:2,bilateral:4:2,bilateral:4:3' },
    threads: { type: 'string', default: '1' },
    out: { type: 'string', default: 'low-band' },
    transfer: { type: 'string' },
  },
});
const QA_SEEDS = new Set([1100, 1101]);
/**
 * Per-frequency full-dose texture (./texture-transfer-gain.ts): the model alone with its own measured
 * T(f) (docs/experiments/texture-transfer.json), the candidates with --transfer, the T(f) of the model
 * followed by that candidate's low band (texture-transfer.ts --low-band <strength>); give one candidate.
 */
const modelTransfer = readTransferTable(ROOT) ?? undefined;
const candidateTransfer = args.transfer ? (readTransferTable(ROOT, args.transfer) ?? undefined) : undefined;
const seeds = args.seeds!.split(',').map(Number);
const doses = args.doses!.split(',').map(Number);
interface Candidate {
  readonly label: string;
  readonly filter: LowBandFilter | null;
  readonly factor: number;
  readonly strength: number;
}
const candidates: Candidate[] = [
  { label: 'model', filter: null, factor: 0, strength: 0 },
  ...args.candidates!.split(',').map((s) => {
    const [filter, factor, strength] = s.split(':');
    return { label: s, filter: filter as LowBandFilter, factor: Number(factor), strength: Number(strength) };
  }),
];
const LESION_MM = [10, 15, 20];
const LESION_HU = 10;
const T_AT = [0.016, 0.031, 0.047, 0.063, 0.094, 0.125, 0.188, 0.25];

const model = await openModel({ model: args.model!, device: 'cpu', threads: args.threads });
const scratch = mkdtempSync(path.join(tmpdir(), 'lowdose-low-band-'));
type Acc = Record<string, number[]>;
const acc = new Map<string, Acc>();
const push = (key: string, name: string, v: number) => {
  const a = acc.get(key) ?? {};
  (a[name] ??= []).push(v);
  acc.set(key, a);
};
const pushLesions = (key: string, stats: ReturnType<typeof lesionStats>) => {
  for (const st of stats) {
    push(key, `lesion${st.mm}`, st.contrast / LESION_HU);
    push(key, `cnr${st.mm}`, st.cnr);
  }
};
const withData = (s: SliceStack, data: readonly Float32Array[]): SliceStack => ({ ...s, slices: s.slices.map((x, i) => ({ ...x, data: data[i]! })) });

/** +LESION_HU disks on each slice, at half the water radius, four directions; returns the lesion list. */
function lesions(disc: { centre: readonly [number, number]; radius: number }, slice: QaSlice) {
  const spacing = slice.pixelSpacing[1];
  const [row, column] = pixelAt(slice, disc.centre);
  return LESION_MM.map((mm, k) => {
    const angle = (k * 2 * Math.PI) / LESION_MM.length;
    const r = (disc.radius * 0.55) / spacing;
    return { mm, cx: column + r * Math.cos(angle), cy: row + r * Math.sin(angle), radius: mm / 2 / spacing };
  });
}
function paint(s: SliceStack, ls: ReturnType<typeof lesions>): SliceStack {
  return withData(
    s,
    s.slices.map((sl) => {
      const d = Float32Array.from(sl.data);
      for (const l of ls) {
        for (let y = 0; y < sl.rows; y++) for (let x = 0; x < sl.columns; x++) if ((x - l.cx) ** 2 + (y - l.cy) ** 2 <= l.radius ** 2) d[y * sl.columns + x]! += LESION_HU;
      }
      return d;
    }),
  );
}
function lesionStats(s: SliceStack, ls: ReturnType<typeof lesions>) {
  return ls.map((l) => {
    let ins = 0;
    let ni = 0;
    const ring: number[] = [];
    for (const sl of s.slices) {
      for (let y = 0; y < sl.rows; y++) {
        for (let x = 0; x < sl.columns; x++) {
          const r = Math.hypot(x - l.cx, y - l.cy) / l.radius;
          const v = sl.data[y * sl.columns + x]!;
          if (r <= 0.7) {
            ins += v;
            ni++;
          } else if (r >= 1.5 && r <= 2.5) ring.push(v);
        }
      }
    }
    const bg = ring.reduce((a, b) => a + b, 0) / ring.length;
    const sd = Math.sqrt(ring.reduce((a, b) => a + (b - bg) ** 2, 0) / ring.length);
    const contrast = ins / ni - bg;
    return { mm: l.mm, contrast, cnr: contrast / sd };
  });
}

try {
  for (const seed of seeds) {
    const phantom = await runPhantom('water', { outDir: path.join(scratch, `truth-${seed}`), size: 256, slices: 2, seed, uidSeed: `low-band-${seed}` });
    let full: SliceStack | null = null;
    for (const [k, dose] of doses.entries()) {
      const noiseSeed = seed * 100 + k;
      if (QA_SEEDS.has(noiseSeed)) throw new Error(`noise seed ${noiseSeed} is one of QA's fixtures': pick other --seeds`);
      const { result } = await runSimulate([phantom.dir], { dose, outDir: path.join(scratch, `sim-${seed}-${dose}`), seed: noiseSeed, mode: 'truth', withReference: k === 0 });
      const sim = result.series[0]!;
      const low = await readStack(sim.output.dir);
      if (sim.reference) full = await readStack(sim.reference.dir);
      if (!full) throw new Error('the first dose must write the full-dose reference');
      const c: QaCase = { phantom: 'water', dose, geometry: phantom.geometry as Record<string, unknown>, truth: full, full, low, denoised: low };
      const disc = uniformDisc(c)!;
      const rois = uniformRois(c);
      const fullPeak = smoothedPeak(npsOf(full, disc));
      const fullSd = pooledNoise(full, rois);
      const nIn = npsOf(low, disc);
      const spacing = low.slices[0]!.pixelSpacing[1];
      const ls = lesions(disc, low.slices[0]!);
      const lowL = paint(low, ls);
      const fullL = paint(full, ls);
      pushLesions(`full dose|${dose}`, lesionStats(fullL, ls));
      pushLesions(`input|${dose}`, lesionStats(lowL, ls));
      const run = await denoiseStack(model, low, { seed: 0, dose });
      const runL = await denoiseStack(model, lowL, { seed: 0, dose });
      const { rows, columns } = low.slices[0]!;
      for (const cand of candidates) {
        const step = (d: Float32Array) => (cand.filter ? smoothLowBand(d, rows, columns, { strength: cand.strength, factor: cand.factor, filter: cand.filter }).data : d);
        const started = performance.now();
        const smooth = run.denoised.map(step);
        const ms = (performance.now() - started) / smooth.length;
        const smoothL = runL.denoised.map(step);
        const transfer = cand.filter ? candidateTransfer : modelTransfer;
        for (const texture of ['smooth', 'full-dose', ...(transfer ? (['per-frequency'] as const) : [])] as const) {
          const tex = (d: Float32Array, i: number, input: SliceStack) =>
            texture === 'smooth'
              ? d
              : texture === 'full-dose'
                ? restoreTexture(input.slices[i]!.data, d, { dose, clip: [-1100, 3100] })
                : restoreByTransfer(input.slices[i]!.data, d, { dose, clip: [-1100, 3100], rows, columns, transfer });
          const out = withData(low, smooth.map((d, i) => tex(d, i, low)));
          const outL = withData(low, smoothL.map((d, i) => tex(d, i, lowL)));
          const key = `${cand.label}|${texture}|${dose}`;
          const nOut = npsOf(out, disc);
          push(key, 'peakShift', smoothedPeak(nOut) / fullPeak - 1);
          push(key, 'noiseVsFull', pooledNoise(out, rois) / fullSd - 1);
          push(key, 'psnr', scoreStack(full, out.slices.map((s) => s.data)).psnr);
          push(key, 'ms', ms);
          const f = [...nIn.radial.frequency].map((v) => v * spacing);
          for (const at of T_AT) {
            const b = f.reduce((best, v, i) => (Math.abs(v - at) < Math.abs(f[best]! - at) ? i : best), 0);
            push(key, `T${at}`, Math.sqrt(nOut.radial.nps[b]! / nIn.radial.nps[b]!));
          }
          pushLesions(key, lesionStats(outL, ls));
        }
      }
      console.error(`seed ${seed} dose ${dose} done`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await model.release();
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const rows = [...acc.entries()].map(([key, a]) => {
  const [label, texture, dose] = key.split('|').length === 3 ? key.split('|') : [key.split('|')[0], '', key.split('|')[1]];
  const o: Record<string, unknown> = { label, texture, dose: Number(dose) };
  for (const [name, v] of Object.entries(a)) {
    o[name] = round(mean(v), 3);
    if (name === 'peakShift') o.peakShiftRange = [round(Math.min(...v), 3), round(Math.max(...v), 3)];
  }
  return o;
});
for (const dose of doses) {
  console.log(`\ndose ${dose}`);
  console.table(
    rows
      .filter((r) => r.dose === dose)
      .map((r) => ({ label: r.label, texture: r.texture, peak: r.peakShift, range: JSON.stringify(r.peakShiftRange ?? ''), noise: r.noiseVsFull, psnr: r.psnr, l10: r.lesion10, l15: r.lesion15, l20: r.lesion20, cnr15: r.cnr15, ms: r.ms })),
  );
  console.table(rows.filter((r) => r.dose === dose && r.texture === 'smooth').map((r) => Object.fromEntries([['label', r.label], ...T_AT.map((at) => [at, r[`T${at}`]])])));
}
saveJson(`${args.out}.json`, {
  command: `npx tsx scripts/experiments/low-band.ts ${process.argv.slice(2).join(' ')}`.trim(),
  model: modelIdentity(model),
  seeds: seeds.flatMap((s) => doses.map((_, k) => s * 100 + k)),
  lesions: { diametersMm: LESION_MM, contrastHu: LESION_HU },
  rows,
});
