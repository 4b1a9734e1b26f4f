/**
 * Regenerates fixtures/: small phantom series at normal dose and at 25 % and 10 % dose, made
 * with the toolkit's own phantoms and physics. Tests and `lowdose qa` read them.
 *
 *   npx tsx scripts/make-fixtures.ts            (about a minute on 2 cores)
 *   npx tsx scripts/make-fixtures.ts iec --out /tmp/iec-seed-21 --seed 21
 *       (one phantom into another fixtures folder, with another noise seed: a second noise
 *       realisation for `lowdose qa --fixtures`, as scripts/train/consistency-eval.mjs uses)
 *   npx tsx scripts/make-fixtures.ts iec --out /tmp/iec-coarse --seed 101 --size 75
 *       (another matrix over the same field of view: 75 px gives 4.67 mm pixels, a whole-body
 *       scanner's, where the committed 128 px are 2.73 mm)
 *   npx tsx scripts/make-fixtures.ts acr iec --realisations 8
 *   npx tsx scripts/make-fixtures.ts lcd --realisations 6
 *       (only the further noise realisations of the committed fixtures that QA's bias checks
 *       average over: fixtures/<phantom>/.realisations/r1 .. r7, each {dose100,dose25,dose10}
 *       scanned from the committed truth series with its own seeds; the committed series are
 *       realisation 0 and are left as they are. ACR: the module-1 and module-2 slices only, the
 *       ones hu-error and contrast-retention read. docs/qa.md, "Expected bias over noise realisations".
 *       lcd: both slices, the samples of detectability-ratio's observer; docs/qa.md, "Low-contrast detectability")
 *
 * Layout: fixtures/<phantom>/{truth,dose100,dose25,dose10}/IM000N.dcm and fixtures/<phantom>/fixture.json.
 * `truth` is the noise-free phantom; `dose100` its simulated full-dose scan (the QA reference);
 * `dose25` / `dose10` the simulated reduced-dose scans of the same phantom, seeded.
 */
import { copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanPaths } from '../src/dicom/index.js';
import { runPhantom } from '../src/pipeline/phantom.js';
import { runSimulate } from '../src/pipeline/simulate.js';
import { REALISATIONS_DIR, REALISATIONS_FILE, realisationSeed } from '../src/qa/fixtures.js';
import { makeDirectories } from '../src/util/fs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
/** The value after `--name`, removed from `args` with it. */
function takeOption(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return value;
}
const FIXTURES = path.resolve(takeOption('out') ?? path.join(ROOT, 'fixtures'));
const seedOverride = takeOption('seed');
const sizeOverride = takeOption('size');
const realisationsOption = takeOption('realisations');
const DOSES = [0.25, 0.1] as const;

interface FixtureSpec {
  readonly name: 'water' | 'acr' | 'body' | 'iec' | 'lcd';
  readonly size: number;
  readonly slices: number;
  readonly seed: number;
  readonly why: string;
}

// Small enough for git (CT 256 x 256, PET 128 x 128), big enough for ROIs, NPS and MTF.
const SPECS: readonly FixtureSpec[] = [
  { name: 'water', size: 256, slices: 2, seed: 11, why: 'noise, NPS, uniformity, bias' },
  { name: 'acr', size: 256, slices: 4, seed: 12, why: 'HU inserts, low-contrast CNR, uniformity, MTF (one slice per module)' },
  { name: 'body', size: 256, slices: 4, seed: 13, why: 'anatomy: PSNR / SSIM against full dose' },
  { name: 'iec', size: 128, slices: 4, seed: 14, why: 'PET sphere SUVmean bias and SUVmax recovery' },
  { name: 'lcd', size: 256, slices: 2, seed: 15, why: 'low-contrast detectability: a model observer on disks present in one slice and absent in the other' },
];

async function makeFixture(given: FixtureSpec): Promise<void> {
  const spec = { ...given, ...(seedOverride === undefined ? {} : { seed: Number(seedOverride) }), ...(sizeOverride === undefined ? {} : { size: Number(sizeOverride) }) };
  const dir = path.join(FIXTURES, spec.name);
  const scratch = path.join(FIXTURES, `.${spec.name}.tmp`);
  await rm(scratch, { recursive: true, force: true });
  const phantom = await runPhantom(spec.name, {
    outDir: path.join(scratch, 'truth'),
    size: spec.size,
    slices: spec.slices,
    seed: spec.seed,
    uidSeed: `lowdose-fixture-${spec.name}`,
  });
  const doses = await scanDoses(phantom.dir, scratch, (k) => spec.seed * 100 + k);
  await writeFile(
    path.join(scratch, 'fixture.json'),
    `${JSON.stringify(
      {
        phantom: spec.name,
        modality: phantom.modality,
        units: phantom.units,
        size: [phantom.rows, phantom.columns],
        slices: phantom.slices,
        spacing: phantom.spacing,
        seed: spec.seed,
        purpose: spec.why,
        series: {
          truth: 'noise-free phantom',
          dose100: 'simulated full-dose scan (reference)',
          dose25: 'simulated 25 % dose scan',
          dose10: 'simulated 10 % dose scan',
        },
        simulation: Object.fromEntries(Object.entries(doses).map(([k, v]) => [k, JSON.parse(v)])),
        geometry: phantom.geometry,
        regenerate: 'npx tsx scripts/make-fixtures.ts',
      },
      null,
      2,
    )}\n`,
  );
  await rm(dir, { recursive: true, force: true });
  await rename(scratch, dir);
  process.stderr.write(`${path.relative(ROOT, dir) || dir}: seed ${spec.seed}, ${phantom.slices} slices of ${phantom.columns}x${phantom.rows}, truth + dose100 + ${DOSES.map((d) => `dose${d * 100}`).join(' + ')}\n`);
}

/**
 * Scans the truth series in `truthDir` at every dose into `into`/dose25, dose10 and dose100 (the
 * full-dose scan of the 25 % scan's photons), dose index k with seed `seedOf(k)`; returns each
 * dose's settings as JSON, the seed included, so a test can remake the series.
 */
async function scanDoses(truthDir: string, into: string, seedOf: (k: number) => number): Promise<Record<string, string>> {
  const doses: Record<string, string> = {};
  for (const [k, dose] of DOSES.entries()) {
    const seed = seedOf(k);
    const { result } = await runSimulate([truthDir], {
      dose,
      outDir: path.join(into, `sim-${dose}`),
      seed,
      mode: 'truth',
      withReference: k === 0,
    });
    const simulated = result.series[0]!;
    await rename(simulated.output.dir, path.join(into, `dose${Math.round(dose * 100)}`));
    doses[`dose${Math.round(dose * 100)}`] = JSON.stringify({ ...simulated.settings, seed, withReference: k === 0 });
    if (simulated.reference) await rename(simulated.reference.dir, path.join(into, 'dose100'));
    await rm(path.join(into, `sim-${dose}`), { recursive: true, force: true });
  }
  return doses;
}

/**
 * Realisations 1 .. count-1 of a committed fixture: the same truth series scanned again with other
 * noise seeds (realisationSeed), written to <fixture>/.realisations/r<k>/. The committed series are
 * realisation 0 and stay untouched, so every number measured on them still holds. The ACR phantom
 * keeps only its module-1 and module-2 slices (the CT-number inserts that hu-error reads, the
 * low-contrast rods that contrast-retention reads): half the bytes, and CT denoisers here work
 * slice by slice (the shipped cards have no neighbour slices).
 */
async function makeRealisations(spec: FixtureSpec, count: number): Promise<void> {
  const dir = path.join(FIXTURES, spec.name);
  const info = JSON.parse(await readFile(path.join(dir, 'fixture.json'), 'utf8')) as { seed: number; geometry: { modules?: Array<{ module: number; z: [number, number] }> } };
  const scratch = path.join(dir, `.${REALISATIONS_DIR}.tmp`);
  await rm(scratch, { recursive: true, force: true });
  let truthDir = path.join(dir, 'truth');
  let slices = 'all';
  if (spec.name === 'acr') {
    // Modules 1 (CT-number inserts, hu-error) and 2 (low-contrast rods, contrast-retention): the
    // first two slices of the stack, so each is pixel for pixel what it is inside the 4-slice
    // stack (the noise of slice i is seeded by i).
    const { series } = await scanPaths([truthDir]);
    const kept: Array<{ file: string; z: number }> = [];
    for (const module of [1, 2]) {
      const range = info.geometry.modules?.find((m) => m.module === module)?.z;
      if (!range) throw new Error(`ACR fixture.json has no module ${module}`);
      const slice = series[0]?.slices.find((s) => s.position !== null && s.position[2] >= range[0] && s.position[2] < range[1]);
      if (!slice) throw new Error(`no ACR truth slice in module ${module}`);
      kept.push({ file: slice.file, z: slice.position![2] });
    }
    truthDir = path.join(scratch, 'truth-modules');
    await makeDirectories(truthDir);
    for (const k of kept) await copyFile(k.file, path.join(truthDir, path.basename(k.file)));
    slices = `modules 1 and 2 only (z ${kept.map((k) => k.z).join(' and ')} mm)`;
  }
  const realisations: Array<{ dir: string; simulation: Record<string, unknown> }> = [];
  for (let r = 1; r < count; r++) {
    const into = path.join(scratch, `r${r}`);
    const doses = await scanDoses(truthDir, into, (k) => realisationSeed(info.seed, k, r));
    realisations.push({ dir: `r${r}`, simulation: Object.fromEntries(Object.entries(doses).map(([k, v]) => [k, JSON.parse(v)])) });
    process.stderr.write(`${spec.name} realisation ${r} of ${count - 1}\n`);
  }
  await rm(path.join(scratch, 'truth-modules'), { recursive: true, force: true });
  await writeFile(
    path.join(scratch, REALISATIONS_FILE),
    `${JSON.stringify(
      {
        phantom: spec.name,
        count,
        purpose: 'further noise realisations for the expected bias of lowdose qa (realisation 0 is the committed fixture itself)',
        slices,
        realisations,
        regenerate: `npx tsx scripts/make-fixtures.ts ${spec.name} --realisations ${count}`,
      },
      null,
      2,
    )}\n`,
  );
  await rm(path.join(dir, REALISATIONS_DIR), { recursive: true, force: true });
  await rename(scratch, path.join(dir, REALISATIONS_DIR));
}

await makeDirectories(FIXTURES);
const only = args;
if (realisationsOption !== undefined) {
  const count = Number(realisationsOption);
  if (!(Number.isInteger(count) && count >= 2)) throw new Error('--realisations needs an integer >= 2 (realisation 0 is the committed fixture)');
  for (const spec of SPECS) if ((only.length === 0 ? ['acr', 'iec', 'lcd'] : only).includes(spec.name)) await makeRealisations(spec, count);
} else {
  for (const spec of SPECS) if (only.length === 0 || only.includes(spec.name)) await makeFixture(spec);
}
