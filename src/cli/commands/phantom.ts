/**
 * `lowdose phantom <name> -o <dir>`: renders a phantom and writes it as a DICOM series
 * (../shared/CONTRACT.md). `runPhantom` does the work and is what tests call.
 */
import type { Command } from 'commander';
import { writeVolumeSeries } from '../../dicom/write-volume.js';
import { type AnyPhantomOptions, CONTRAST_PHASES, type ContrastPhase, getPhantom, phantomNames } from '../../phantoms/index.js';
import { parseSeed } from '../../util/random.js';
import type { CommandRegistrar } from '../main.js';
import { createOutput, EXIT_OK, parseIntOption, parseNumberOption, usageError } from '../output.js';

export interface PhantomCommandOptions extends AnyPhantomOptions {
  readonly outDir: string;
  readonly overwrite?: boolean;
  /** Derive UIDs and dates from this text: the same text writes the same bytes. */
  readonly uidSeed?: string;
  readonly progress?: (message: string) => void;
}

export interface PhantomCommandResult {
  phantom: string;
  dir: string;
  files: string[];
  seriesInstanceUid: string;
  studyInstanceUid: string;
  frameOfReferenceUid: string;
  modality: 'CT' | 'PT';
  units: 'HU' | 'BQML';
  rows: number;
  columns: number;
  slices: number;
  spacing: [number, number, number];
  seed: number;
  /** Where the phantom's parts are, in the written series' patient coordinates (mm). */
  geometry: unknown;
}

/** A fixed moment for `--uid-seed` output, so dates do not differ between runs. */
const FIXED_DATE = new Date(2024, 0, 1, 12, 0, 0);

export async function runPhantom(name: string, options: PhantomCommandOptions): Promise<PhantomCommandResult> {
  const definition = getPhantom(name);
  const progress = options.progress ?? (() => {});
  const started = performance.now();
  progress(`rendering phantom ${name}`);
  const { volume, geometry, origin } = definition.generate(options);
  progress(`rendered ${volume.slices.length} slice(s) in ${Math.round(performance.now() - started)} ms; writing DICOM`);
  const seed = options.seed ?? definition.defaults.seed;
  const word = name.toUpperCase();
  const written = await writeVolumeSeries(volume, options.outDir, {
    patientName: `PHANTOM^${word}`,
    patientId: name === 'body' ? `PHANTOM-BODY-${seed}` : `PHANTOM-${word}`,
    studyDescription: `lowdose phantom ${name}`,
    origin,
    overwrite: options.overwrite,
    uidSeed: options.uidSeed,
    date: options.uidSeed === undefined ? undefined : FIXED_DATE,
  });
  return {
    phantom: name,
    dir: written.dir,
    files: written.files,
    seriesInstanceUid: written.seriesInstanceUid,
    studyInstanceUid: written.studyInstanceUid,
    frameOfReferenceUid: written.frameOfReferenceUid,
    modality: volume.modality,
    units: volume.units,
    rows: volume.rows,
    columns: volume.columns,
    slices: volume.slices.length,
    spacing: [volume.spacing[0], volume.spacing[1], volume.spacing[2]],
    seed,
    geometry,
  };
}

interface CliOptions {
  output: string;
  size?: number;
  slices?: number;
  spacing?: number;
  fov?: number;
  seed?: string;
  module?: number;
  phase?: string;
  centreZ?: number;
  ratio?: number;
  uidSeed?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** Phantom-specific flags and the phantoms they belong to. */
const SPECIFIC: Record<string, { flag: string; phantom: string }> = {
  module: { flag: '--module', phantom: 'acr' },
  phase: { flag: '--phase', phantom: 'body' },
  centreZ: { flag: '--centre-z', phantom: 'body' },
  ratio: { flag: '--ratio', phantom: 'iec' },
};

function toOptions(name: string, cli: CliOptions): PhantomCommandOptions {
  for (const [key, { flag, phantom }] of Object.entries(SPECIFIC)) {
    if ((cli as unknown as Record<string, unknown>)[key] !== undefined && phantom !== name) {
      throw usageError(`${flag} applies to phantom ${phantom} only`);
    }
  }
  if (cli.phase !== undefined && !CONTRAST_PHASES.includes(cli.phase as ContrastPhase)) {
    throw usageError(`--phase must be one of ${CONTRAST_PHASES.join(', ')}, got "${cli.phase}"`);
  }
  return {
    outDir: cli.output,
    size: cli.size,
    slices: cli.slices,
    spacing: cli.spacing,
    fov: cli.fov,
    seed: cli.seed === undefined ? undefined : parseSeed(cli.seed),
    module: cli.module as 1 | 2 | 3 | 4 | undefined,
    phase: cli.phase as ContrastPhase | undefined,
    centreZ: cli.centreZ,
    ratio: cli.ratio,
    uidSeed: cli.uidSeed,
    overwrite: cli.overwrite,
  };
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('phantom')
    .description('write a phantom series as DICOM (CT: water, acr, body; PET: iec)')
    .argument('<name>', `phantom: ${phantomNames().join(', ')}`)
    .requiredOption('-o, --output <dir>', 'directory for the DICOM files (created if missing)')
    .option('--size <n>', 'rows = columns (default 512 for CT, 128 for iec)', parseIntOption('--size', 16, 2048))
    .option('--slices <n>', 'number of slices', parseIntOption('--slices', 1, 2000))
    .option('--spacing <mm>', 'slice spacing = thickness, mm (acr default: the slices cover the phantom)', parseNumberOption('--spacing', 0.1, 100))
    .option('--fov <mm>', 'in-plane field of view, mm (body default: fits the patient)', parseNumberOption('--fov', 50, 1000))
    .option('--seed <s>', 'seed: the same seed gives the same pixels (body: a different patient per seed)')
    .option('--module <n>', 'acr: only module 1 (HU), 2 (low contrast), 3 (uniformity) or 4 (resolution)', parseIntOption('--module', 1, 4))
    .option('--phase <phase>', `body: contrast phase (${CONTRAST_PHASES.join(', ')}; default chosen by the seed)`)
    .option('--centre-z <mm>', 'body: anatomy height of the volume centre, mm from L1 (default 15; 150 = lower chest)', parseNumberOption('--centre-z', -250, 350))
    .option('--ratio <r>', 'iec: sphere-to-background activity ratio (default 4; NEMA also uses 8)', parseNumberOption('--ratio', 0.01, 100))
    .option('--uid-seed <text>', 'derive UIDs and dates from this text: the same text writes the same bytes')
    .option('--overwrite', 'replace existing files of the same name')
    .option('--json', 'machine output on stdout')
    .action(async (name: string, cli: CliOptions) => {
      const out = createOutput(Boolean(cli.json));
      const result = await runPhantom(name, { ...toOptions(name, cli), progress: (m) => out.info(m) });
      out.result(result);
      const [dr, dc, dz] = result.spacing.map((v) => Math.round(v * 1000) / 1000);
      out.print(
        `wrote ${result.slices} ${result.modality} slice(s) of phantom ${name} (${result.columns}x${result.rows}, ` +
          `${dc} x ${dr} x ${dz} mm, ${result.units}) to ${result.dir}\nseries ${result.seriesInstanceUid}`,
      );
      setExitCode(EXIT_OK);
    });
};

