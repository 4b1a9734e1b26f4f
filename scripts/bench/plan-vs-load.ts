/**
 * What `denoise --skip-by-uid` pays per study to know what the run would make (src/pipeline/finished-by-uid.ts):
 * a denoiser loaded and released (createSliceDenoiser: the ONNX session on its worker thread, the
 * model files hashed) against the plan it uses (planSliceDenoiser: the card read, the settings
 * resolved, the model files hashed, no session). Alternating, in one process, `--repeats` times each.
 *
 *   npx tsx scripts/bench/plan-vs-load.ts [--modality CT] [--model lowdose-ct] [--repeats 10]
 */
import { parseArgs } from 'node:util';
import { createSliceDenoiser, planSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';

const { values } = parseArgs({
  options: {
    modality: { type: 'string', default: 'CT' },
    model: { type: 'string' },
    repeats: { type: 'string', default: '10' },
  },
});
const modality = values.modality === 'PT' ? 'PT' : 'CT';
const run = { outDir: '', ...(values.model !== undefined ? { model: values.model } : {}) };
const times = { load: [] as number[], plan: [] as number[] };
for (let i = 0; i < Number(values.repeats); i++) {
  let started = performance.now();
  const denoiser = await createSliceDenoiser(modality, run, () => {});
  await denoiser.release();
  times.load.push(performance.now() - started);
  started = performance.now();
  await planSliceDenoiser(modality, run);
  times.plan.push(performance.now() - started);
}
const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
for (const [what, ms] of Object.entries(times)) {
  console.log(`${what === 'load' ? 'load + release' : 'plan'}: ${ms.map((t) => t.toFixed(0)).join(' ')} ms (median ${median(ms).toFixed(0)})`);
}
