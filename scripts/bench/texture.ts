/**
 * Speed of full-dose texture (restoreTexture) on one 512x512 CT slice, one thread: per frequency
 * with the shipped lowdose-ct card's noise transfer at 25 % and 10 % dose, and the single weight
 * w(d) for comparison. Fastest and median of the timed runs after a warm-up (on a shared machine
 * the fastest is the step's own cost; the median shows the contention).
 * Run: npx tsx scripts/bench/texture.ts [--repeats 15]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { restoreTexture } from '../../src/diffusion/texture.js';
import { parseModelCard } from '../../src/models/card.js';
import { Rng } from '../../src/util/random.js';
import { timeMs } from './timing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cardPath = path.resolve(here, '../../models/lowdose-ct.json');
const transfer = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')), cardPath).texture?.transfer;
if (!transfer) throw new Error(`${cardPath} carries no texture.transfer`);
const repeatsAt = process.argv.indexOf('--repeats');
const repeats = repeatsAt > 0 ? Number(process.argv[repeatsAt + 1]) : 15;

const size = 512;
const rng = new Rng(1);
const input = new Float32Array(size * size);
const denoised = new Float32Array(size * size);
for (let r = 0; r < size; r++) {
  for (let c = 0; c < size; c++) {
    const inside = (r - 256) ** 2 + (c - 256) ** 2 < 220 ** 2;
    const value = inside ? 40 + 30 * Math.sin(r / 17) * Math.cos(c / 23) : -1000;
    denoised[r * size + c] = value + 5 * rng.normal();
    input[r * size + c] = value + 25 * rng.normal();
  }
}


console.log(`node ${process.version}, ${size}x${size} slice, ${repeats} runs each`);
const out = new Float32Array(size * size);
const cases: [string, () => unknown][] = [
  ['per frequency, 25 % dose', () => restoreTexture(input, denoised, { dose: 0.25, clip: [-1100, 3100], transfer, rows: size, columns: size }, out)],
  ['per frequency, 10 % dose', () => restoreTexture(input, denoised, { dose: 0.1, clip: [-1100, 3100], transfer, rows: size, columns: size }, out)],
  ['single weight, 25 % dose', () => restoreTexture(input, denoised, { dose: 0.25, clip: [-1100, 3100] }, out)],
];
for (const [name, fn] of cases) {
  const { min, median } = timeMs(repeats, fn);
  console.log(`${name.padEnd(28)} fastest ${min.toFixed(1).padStart(6)} ms   median ${median.toFixed(1).padStart(6)} ms`);
}
