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
 *
 * Layout: fixtures/<phantom>/{truth,dose100,dose25,dose10}/IM000N.dcm and fixtures/<phantom>/fixture.json.
 * `truth` is the noise-free phantom; `dose100` its simulated full-dose scan (the QA reference);
 * `dose25` / `dose10` the simulated reduced-dose scans of the same phantom, seeded.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPhantom } from '../src/pipeline/phantom.js';
import { runSimulate } from '../src/pipeline/simulate.js';

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
const DOSES = [0.25, 0.1] as const;

interface FixtureSpec {
  readonly name: 'water' | 'acr' | 'body' | 'iec';
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
  const doses: Record<string, string> = {};
  for (const [k, dose] of DOSES.entries()) {
    const seed = spec.seed * 100 + k;
    const { result } = await runSimulate([phantom.dir], {
      dose,
      outDir: path.join(scratch, `sim-${dose}`),
      seed,
      mode: 'truth',
      withReference: k === 0,
    });
    const simulated = result.series[0]!;
    await rename(simulated.output.dir, path.join(scratch, `dose${Math.round(dose * 100)}`));
    // The seed too, so a test can remake the series and check the committed one is current.
    doses[`dose${Math.round(dose * 100)}`] = JSON.stringify({ ...simulated.settings, seed, withReference: k === 0 });
    if (simulated.reference) await rename(simulated.reference.dir, path.join(scratch, 'dose100'));
    await rm(path.join(scratch, `sim-${dose}`), { recursive: true, force: true });
  }
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

await mkdir(FIXTURES, { recursive: true });
const only = args;
for (const spec of SPECS) if (only.length === 0 || only.includes(spec.name)) await makeFixture(spec);
