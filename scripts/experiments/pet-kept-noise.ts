/**
 * How much of the low-count input's noise `lowdose-pet`'s network keeps in the IEC background, and
 * how much of it the training target shares. The target of PET training is the full-count
 * reconstruction of the *same* events as the input (scripts/train/export-dataset.ts), so its noise
 * and the input's are correlated: per unit activity, full = d·low + (1 − d)·rest, whose regression
 * on the input's noise has slope d. A least-squares network whose prior cannot tell flat noise
 * from structure then keeps about d of the input's noise (models/README.md, "What would close the
 * gaps"). Measured here on the IEC realisations of scripts/experiments/consistency-count-level.ts
 * (its cached network outputs, consistency off, and its fixtures): per background-ROI pixel, the
 * deviation of each realisation from the mean over realisations (the phantom is the same in all,
 * so that is noise), then the regression slope through 0 of the full-count image's and of the
 * network output's deviations on the input's.
 *
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39   # first: fixtures and cached outputs
 *   npx tsx scripts/experiments/pet-kept-noise.ts --realisations 0-4,20-39 [--card <candidate card>]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roiMaskFor } from '../../src/metrics/roi.js';
import { circleAt, readStack } from '../../src/qa/fixtures.js';
import { uniformRois } from '../../src/qa/regions.js';
import type { QaCase } from '../../src/qa/types.js';
import { indexRanges, optionReader } from './cli-args.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const opt = optionReader(process.argv.slice(2));
const REALISATIONS = indexRanges(opt('realisations', '0-4,20-39'));
/** `--card <file>`: the network outputs consistency-count-level.ts cached for a candidate card. */
const CARD_TAG = opt('card', '') ? path.basename(opt('card', ''), '.json') : '';
const dirOf = (k: number) => (k === 0 ? path.join(REPO, 'fixtures') : path.join(REPO, '.cache/eval/consistency', `fixtures-iec-${100 + k}`));

for (const dose of [0.25, 0.1]) {
  const input: Float32Array[][] = [];
  const full: Float32Array[][] = [];
  const net: Float32Array[][] = [];
  let mask: Uint8Array[] = [];
  for (const k of REALISATIONS) {
    const dir = path.join(dirOf(k), 'iec');
    const cache = path.join(REPO, '.cache/eval/count-level', CARD_TAG, `x0-${k}-${dose}.f32`);
    if (!existsSync(cache)) throw new Error(`${cache}: run consistency-count-level.ts for realisation ${k} first`);
    const low = await readStack(path.join(dir, `dose${Math.round(dose * 100)}`));
    const ref = await readStack(path.join(dir, 'dose100'));
    const n = low.slices[0]!.data.length;
    const x0 = new Float32Array(readFileSync(cache).buffer.slice(0));
    input.push(low.slices.map((s) => s.data));
    full.push(ref.slices.map((s) => s.data));
    net.push(low.slices.map((_, i) => x0.slice(i * n, (i + 1) * n)));
    if (mask.length === 0) {
      const geometry = (JSON.parse(readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { geometry: unknown }).geometry;
      const rois = uniformRois({ phantom: 'iec', geometry, low } as unknown as QaCase);
      mask = low.slices.map(() => new Uint8Array(n));
      for (const roi of rois) {
        const s = low.slices[roi.slice]!;
        const m = roiMaskFor(s, circleAt(s, roi.centre, roi.radius));
        m.forEach((v, p) => (mask[roi.slice]![p] ||= v));
      }
    }
  }
  const R = input.length;
  let inIn = 0;
  let fullIn = 0;
  let netIn = 0;
  let fullFull = 0;
  let pixels = 0;
  mask.forEach((m, s) => {
    m.forEach((v, p) => {
      if (!v) return;
      const mean = (a: Float32Array[][]) => a.reduce((acc, r) => acc + r[s]![p]!, 0) / R;
      const mi = mean(input);
      const mf = mean(full);
      const mn = mean(net);
      for (let r = 0; r < R; r++) {
        const di = input[r]![s]![p]! - mi;
        const df = full[r]![s]![p]! - mf;
        const dn = net[r]![s]![p]! - mn;
        inIn += di * di;
        fullIn += df * di;
        netIn += dn * di;
        fullFull += df * df;
      }
      pixels++;
    });
  });
  const k = (R - 1) / R;
  console.log(
    `${Math.round(dose * 100)} % counts, ${R} realisations, ${pixels} background pixels: input noise SD ${Math.sqrt(inIn / (pixels * R * k)).toFixed(3)}, ` +
      `full-count noise SD ${Math.sqrt(fullFull / (pixels * R * k)).toFixed(3)}; slope on the input's noise: full count ${(fullIn / inIn).toFixed(3)}, network ${(netIn / inIn).toFixed(3)}`,
  );
}
