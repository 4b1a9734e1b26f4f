/**
 * Tunes the CT simulator's physics (bowtie, angular tube-current modulation, electronic noise,
 * kernel) against real quarter-dose noise of one AAPM-Mayo patient (docs/simulation.md,
 * "Calibration against real quarter-dose scans"). Each configuration is run the way
 * `lowdose simulate --dose 0.25` runs by default on every slice (i0 calibrated on the slice's own
 * noise by estimateCtI0, then insertCtNoise, seed 0, stream = slice index) and measured like the
 * real quarter - full difference (src/metrics/added-noise.ts), pooled per kernel.
 *
 *   npx tsx scripts/experiments/ct-physics-fit.ts [--patient L143] [--dose 0.25]
 *     [--configs '[{"name":"tcm 0.5","options":{"tcm":0.5}}, ...]'] [--kernels B30f,D45f]
 *
 * A config's `options` are CtSimulationOptions (bowtie, bowtieStrength, tcm, electronicNoise...);
 * `kernel` maps B30f / D45f to a kernel spec replacing the preset --kernel auto would pick;
 * `i0FromCurrent: true` replaces each slice's own i0 estimate by k x its XRayTubeCurrent
 * (0018,1151), k the median over the series of estimate / current: the scanner's longitudinal
 * modulation read from the headers instead of from each slice's noise.
 * Also prints the attenuation slope within slices (slice fixed effects) and each slice's i0.
 * Prints, per kernel and config: simulated / real SD, NPS peak and mean frequency ratios, centre
 * and periphery SD ratios and the attenuation slopes (see mayo-common.ts), and the real pairs'
 * variance ratio (quarter / full noise variance).
 */
import { getNumber } from '../../src/dicom/attributes.js';
import { readDicomFile } from '../../src/dicom/parse.js';
import { addedNoise, type AddedNoise } from '../../src/metrics/added-noise.js';
import { estimateCtI0, insertCtNoise, scannerKernel, type CtSimulationOptions, type KernelSpec } from '../../src/simulate/index.js';
import { attenuationWeights, loadPairs, pool, round, varianceRatio, withinSliceSlope } from './mayo-common.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const k = args.indexOf(name);
  return k >= 0 ? args[k + 1] : undefined;
};
const patient = arg('--patient') ?? 'L143';
const dose = Number(arg('--dose') ?? 0.25);
const kernels = (arg('--kernels') ?? 'B30f,D45f').split(',');
interface Config {
  name: string;
  options?: Partial<CtSimulationOptions>;
  kernel?: Record<string, KernelSpec>;
  i0FromCurrent?: boolean;
}
const configs: Config[] = JSON.parse(arg('--configs') ?? '[{"name":"defaults"}]') as Config[];

for (const kernel of kernels) {
  const { fullSeries, full, quarter } = await loadPairs(patient, kernel);
  const preset = scannerKernel(fullSeries.convolutionKernel)!.preset;
  const real = full.map((f, k) => addedNoise(quarter[k]!, f));
  const weights = full.map((f, k) => attenuationWeights(f, real[k]!));
  const realPool = pool(real, weights).measured;
  const ratios = full.map((f, k) => varianceRatio(f, real[k]!));
  const pooledRatio = ratios.reduce((a, r, k) => a + r.ratio * real[k]!.rois.length, 0) / real.reduce((a, r) => a + r.rois.length, 0);
  console.log(
    `${patient} ${kernel} real: SD ${round(realPool.std, 1)} peak ${round(realPool.peakFrequency, 3)} mean ${round(realPool.meanFrequency, 3)} ` +
      `centre ${round(realPool.centreStd, 1)} periphery ${round(realPool.peripheryStd, 1)} slope ${round(realPool.attenuationSlope, 3)} ` +
      `within slices ${round(withinSliceSlope(real, weights), 3)} ` +
      `quarter/full variance ratio ${round(pooledRatio, 2)} (slices ${ratios.map((r) => round(r.ratio, 2)).join(' ')})`,
  );
  for (const config of configs) {
    const t0 = Date.now();
    const spec = config.kernel?.[kernel] ?? preset;
    const sim: AddedNoise[] = [];
    const optionsOf = (k: number) => ({ ...config.options, kernel: spec, sliceIndex: k, seed: 0 });
    let i0s = full.map((f, k) => estimateCtI0(f, optionsOf(k)).i0);
    if (config.i0FromCurrent) {
      const mA = await Promise.all(fullSeries.slices.map(async (s) => getNumber((await readDicomFile(s.file)).dataSet, 'x00181151', 'IS') ?? NaN));
      const perMa = i0s.map((v, k) => v / mA[k]!).sort((a, b) => a - b);
      const k0 = perMa[Math.floor(perMa.length / 2)]!;
      console.log(`  (tube current per slice ${mA.join(' ')} mA; i0 per mA ${perMa.map((v) => v.toFixed(0)).join(' ')}, median ${k0.toFixed(0)})`);
      i0s = mA.map((m) => k0 * m);
    }
    for (let k = 0; k < full.length; k++) {
      sim.push(addedNoise(insertCtNoise(full[k]!, { ...optionsOf(k), dose, i0: i0s[k]! }), full[k]!, {}));
    }
    // Same ROIs as the real ones (same full-dose mask), so the weights line up.
    const s = pool(sim, weights).measured;
    const r = (a: number, b: number) => round(a / b, 3);
    console.log(
      `  ${config.name.padEnd(28)} SD ${r(s.std, realPool.std)} peak ${r(s.peakFrequency, realPool.peakFrequency)} mean ${r(s.meanFrequency, realPool.meanFrequency)} ` +
        `centre ${r(s.centreStd, realPool.centreStd)} periphery ${r(s.peripheryStd, realPool.peripheryStd)} slope ${round(s.attenuationSlope, 3)} ` +
        `within slices ${round(withinSliceSlope(sim, weights), 3)} ` +
        `per-slice SD ${sim.map((a, k) => r(a.std, real[k]!.std)).join(' ')} i0 ${i0s.map((v) => v.toExponential(2)).join(' ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}
