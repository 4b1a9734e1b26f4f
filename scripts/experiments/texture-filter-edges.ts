/**
 * The per-frequency texture filter at the slice edges (src/diffusion/texture-transfer.ts,
 * applyRadialGain, with the shipped lowdose-ct card's gain G(f)):
 *
 * 1. its spatial support: the kernel F^-1[G] on a 1024 x 1024 grid, the largest distance (pixels,
 *    along either axis) at which |kernel| is still at least 1e-2, 1e-3 and 1e-4 of its peak;
 * 2. what the margin beyond the edge does, for three ways of filling it: the circular FFT of the
 *    slice as it is (wrap: the opposite edge), zeros (the slice zero-padded to 1024), and the
 *    half-sample mirror that applyRadialGain uses (its DCT): the added noise SD by distance to the
 *    nearest edge relative to the interior (beyond 32 px), on 512 x 512 white noise and on noise
 *    shaped like water's residual x - D (FBP-like NPS f exp(-(f / 0.2)^2) times 1 - T(f)), 4 seeds;
 *    and the output for a constant residual of 10 (HU) at the edge and in a corner.
 *
 * Run: npx tsx scripts/experiments/texture-filter-edges.ts   (about 25 s on the 2-core machine)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyRadialGain, interpolate, textureGain, transferAtDose } from '../../src/diffusion/texture-transfer.js';
import { parseModelCard } from '../../src/models/card.js';
import { fft2d } from '../../src/util/fft.js';
import { Rng } from '../../src/util/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cardPath = path.resolve(here, '../../models/lowdose-ct.json');
const transfer = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')), cardPath).texture?.transfer;
if (!transfer) throw new Error(`${cardPath} carries no texture.transfer`);
const frequencies = transfer.cyclesPerPixel;
const gainAt = (dose: number) => textureGain(transferAtDose(transfer, dose), dose);

/** The circular FFT filter of a rows x columns array (both powers of two), in place on (re, im). */
function circularFilter(re: Float64Array, rows: number, columns: number, gain: ArrayLike<number>): void {
  const im = new Float64Array(re.length);
  fft2d(re, im, rows, columns);
  for (let i = 0; i < rows; i++) {
    const fy = (i <= rows / 2 ? i : i - rows) / rows;
    for (let j = 0; j < columns; j++) {
      const g = interpolate(frequencies, gain, Math.hypot((j <= columns / 2 ? j : j - columns) / columns, fy));
      re[i * columns + j]! *= g;
      im[i * columns + j]! *= g;
    }
  }
  fft2d(re, im, rows, columns, true);
}

const N = 512;
const P = 1024;
const margins = {
  wrap(x: Float64Array, gain: ArrayLike<number>) {
    const re = Float64Array.from(x);
    circularFilter(re, N, N, gain);
    return re;
  },
  zeros(x: Float64Array, gain: ArrayLike<number>) {
    const re = new Float64Array(P * P);
    for (let r = 0; r < N; r++) re.set(x.subarray(r * N, (r + 1) * N), r * P);
    circularFilter(re, P, P, gain);
    const out = new Float64Array(N * N);
    for (let r = 0; r < N; r++) out.set(re.subarray(r * P, r * P + N), r * N);
    return out;
  },
  mirror: (x: Float64Array, gain: ArrayLike<number>) => applyRadialGain(x, N, N, frequencies, gain),
};

console.log(`Kernel F^-1[G] of ${path.relative(process.cwd(), cardPath)}'s gain, ${P} x ${P} grid: last distance (px) with |k| >= fraction of the peak`);
for (const dose of [0.5, 0.25, 0.1, 0.05]) {
  const k = new Float64Array(P * P);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) k[i * P + j] = i === 0 && j === 0 ? 1 : 0;
  circularFilter(k, P, P, gainAt(dose));
  const peak = Math.abs(k[0]!);
  const reach = [1e-2, 1e-3, 1e-4].map((fraction) => {
    let last = 0;
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < P; j++) {
        if (Math.abs(k[i * P + j]!) >= fraction * peak) last = Math.max(last, Math.min(i, P - i), Math.min(j, P - j));
      }
    }
    return `${fraction}: ${last}`;
  });
  console.log(`  dose ${dose}: peak ${peak.toFixed(3)}, ${reach.join(', ')}`);
}

console.log(`\nAdded noise SD by distance to the nearest edge / interior (> 32 px), ${N} x ${N}, 4 seeds`);
for (const shape of ['white', 'residual'] as const) {
  for (const dose of [0.25, 0.1]) {
    const gain = gainAt(dose);
    const kept = transferAtDose(transfer, dose);
    const shaping = Array.from(frequencies, (f, k) => f * Math.exp(-((f / 0.2) ** 2)) * (1 - kept[k]!));
    const sums = Object.fromEntries(Object.keys(margins).map((m) => [m, { power: new Float64Array(33), count: new Float64Array(33) }]));
    for (let seed = 0; seed < 4; seed++) {
      const rng = new Rng(100 + seed, 3);
      let noise = Float64Array.from({ length: N * N }, () => rng.normal());
      // Circular shaping: stationary up to the edges.
      if (shape === 'residual') circularFilter(noise, N, N, shaping);
      noise = Float64Array.from(noise);
      for (const [name, filter] of Object.entries(margins)) {
        const out = filter(noise, gain);
        for (let r = 0; r < N; r++) {
          for (let c = 0; c < N; c++) {
            const d = Math.min(r, c, N - 1 - r, N - 1 - c, 32);
            sums[name]!.power[d]! += out[r * N + c]! ** 2;
            sums[name]!.count[d]! += 1;
          }
        }
      }
    }
    for (const [name, { power, count }] of Object.entries(sums)) {
      const interior = Math.sqrt(power[32]! / count[32]!);
      const sd = (from: number, to: number) => {
        let p = 0;
        let n = 0;
        for (let d = from; d < to; d++) {
          p += power[d]!;
          n += count[d]!;
        }
        return (Math.sqrt(p / n) / interior).toFixed(3);
      };
      const profile = [0, 1, 2, 3, 4, 8].map((d) => `${d}: ${sd(d, d + 1)}`).join('  ');
      console.log(`  ${shape.padEnd(8)} ${(dose * 100).toString().padStart(2)} % ${name.padEnd(6)} outer 16 px ${sd(0, 16)}  outer 2 px ${sd(0, 2)}  by distance ${profile}`);
    }
  }
}

console.log('\nConstant residual of 10, 25 % gain: added value at the middle of the left edge (px 0, 1, 2) and in the corner');
for (const [name, filter] of Object.entries(margins)) {
  const out = filter(new Float64Array(N * N).fill(10), gainAt(0.25));
  const row = (N / 2) * N;
  console.log(`  ${name.padEnd(6)} edge ${[0, 1, 2].map((c) => out[row + c]!.toFixed(3)).join(' ')}  corner ${out[0]!.toFixed(3)}`);
}
