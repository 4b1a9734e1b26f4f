/**
 * What the ACR fixture's rod MTF is made of (docs/qa.md, "MTF of the ACR rod beyond Nyquist"). Dev
 * check, not run in CI; run from the repository root:
 *
 *   npx tsx scripts/dev/mtf-fixture.ts
 *
 * 1. The fixture's scans: rodMtf of module 4 of fixtures/acr (truth, dose100, dose25, dose10), the
 *    curve with its noise floor at 0.51 to 0.75 cycles/mm.
 * 2. The same rod scanned without noise (the fixture's geometry and `standard` kernel, line
 *    integrals reconstructed as they are) onto the fixture's 256 x 256, 0.977 mm grid, from an
 *    object rendered on that grid (as the fixture is made: `lowdose simulate --mode truth` projects
 *    the phantom's own pixels) and on grids 2 and 4 times finer.
 * 3. The estimator's scatter: MTF50 of 20 simulated full-dose and 20 simulated 25 % scans of the rod
 *    (the fixture's simulation settings, seeds 5001 to 5020), against the noise-free expectation.
 */
import path from 'node:path';
import { rodMtf, type RodMtfResult } from '../../src/metrics/mtf.js';
import { generateAcr } from '../../src/phantoms/acr.js';
import { readStack } from '../../src/qa/fixtures.js';
import { huToMu, muToHu } from '../../src/simulate/attenuation.js';
import { expectedCtFromTruth, simulateCtFromTruth } from '../../src/simulate/ct.js';
import { resolveFanBeam } from '../../src/simulate/ct-geometry.js';
import { projectFanBeam } from '../../src/simulate/fan-projector.js';
import { rebinToParallel, reconstructParallel } from '../../src/simulate/fbp.js';
import { resolveKernel } from '../../src/simulate/filters.js';

const SIZE = 256;
const FOV = 250;
const SPACING = FOV / SIZE;
const CENTRE: [number, number] = [(SIZE - 1) / 2, (SIZE - 1) / 2];
const RADIUS = 12.5;
const FREQUENCIES = [0.3, 0.51, 0.59, 0.67, 0.75];
// The fixture's simulation settings (fixtures/acr/fixture.json).
const SCAN = { kernel: 'standard', i0: 1e5, electronicNoise: 5, bowtie: 'body', bowtieStrength: 0.5, tcm: 0.5 } as const;

const image = (data: Float32Array) => ({ rows: SIZE, columns: SIZE, data, pixelSpacing: [SPACING, SPACING] as [number, number] });
const rod = (data: Float32Array) => rodMtf(image(data), CENTRE, RADIUS);

function row(name: string, r: RodMtfResult): string {
  const at = FREQUENCIES.map((f) => {
    let k = 0;
    while (r.frequency[k]! < f - 1e-9) k++;
    return `${r.mtf[k]!.toFixed(3)} ± ${r.noiseFloor[k]!.toFixed(3)}`;
  });
  return `${name.padEnd(34)} ${(r.levels.mtf50.crossing ?? NaN).toFixed(4).padStart(7)}   ${at.map((s) => s.padStart(13)).join(' ')}`;
}

const header = `${'series'.padEnd(34)} ${'MTF50'.padStart(7)}   ${FREQUENCIES.map((f) => `f=${f.toFixed(2)}`.padStart(13)).join(' ')}`;

console.log('1. Fixture scans, module 4 (MTF ± noise floor SD)');
console.log(header);
for (const series of ['truth', 'dose100', 'dose25', 'dose10']) {
  const stack = await readStack(path.join('fixtures', 'acr', series));
  const slice = stack.slices.reduce((best, s) => (Math.abs(s.position[2] - 60) < Math.abs(best.position[2] - 60) ? s : best));
  console.log(row(series, rodMtf(slice, CENTRE, RADIUS)));
}

console.log('\n2. Noise-free FBP onto the 0.977 mm grid, by the grid the object is rendered on');
console.log(header);
const geometry = resolveFanBeam();
const kernel = resolveKernel(SCAN.kernel);
const grid = { rows: SIZE, columns: SIZE, dx: SPACING, dy: SPACING };
const phantom = (size: number) => generateAcr({ module: 4, size, fov: FOV }).volume.slices[0]!;
for (const factor of [1, 2, 4]) {
  const size = SIZE * factor;
  const fine = { rows: size, columns: size, dx: FOV / size, dy: FOV / size };
  const rays = rebinToParallel(projectFanBeam(fine, huToMu(phantom(size)), geometry), geometry, grid);
  console.log(row(`object ${size} x ${size} (${(FOV / size).toFixed(3)} mm)`, rod(muToHu(reconstructParallel(rays, geometry, grid, kernel)))));
}

console.log('\n3. MTF50 scatter over simulated scans of the fixture rod (object on the image grid)');
const truth = image(phantom(SIZE));
const expected = rod(expectedCtFromTruth(truth, { ...SCAN, dose: 1 }).data).levels.mtf50.crossing!;
console.log(`noise-free expectation: MTF50 ${expected.toFixed(4)} cycles/mm`);
for (const dose of [1, 0.25]) {
  const values: number[] = [];
  for (let seed = 5001; seed <= 5020; seed++) {
    const scan = simulateCtFromTruth(truth, { ...SCAN, dose, seed, fullDose: false });
    values.push(rod(scan.lowDose.data).levels.mtf50.crossing!);
  }
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
  console.log(`dose ${dose}: MTF50 mean ${mean.toFixed(4)} SD ${sd.toFixed(4)} (${Math.min(...values).toFixed(4)} to ${Math.max(...values).toFixed(4)}) over ${values.length} scans`);
}
