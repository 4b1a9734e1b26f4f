/**
 * `lowdose phantom <name> -o <dir>`: renders a phantom and writes it as a DICOM series
 * (docs/contract.md). The work is src/pipeline/phantom.ts (`runPhantom`); this file registers
 * the command, checks which flags go with which phantom and prints the result.
 */
import type { Command } from 'commander';
import { CONTRAST_PHASES, type ContrastPhase, phantomNames } from '../../phantoms/index.js';
import { runPhantom, type PhantomSeriesOptions } from '../../pipeline/phantom.js';
import { withoutUndefined } from '../../util/defined.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, EXIT_OK, parseIntOption, parseNumberOption, parseSeedOption, usageError } from '../output.js';

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

function toOptions(name: string, cli: CliOptions): PhantomSeriesOptions {
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
    ...withoutUndefined({
      size: cli.size,
      slices: cli.slices,
      spacing: cli.spacing,
      fov: cli.fov,
      seed: cli.seed === undefined ? undefined : parseSeedOption(cli.seed),
      module: cli.module as 1 | 2 | 3 | 4 | undefined,
      phase: cli.phase as ContrastPhase | undefined,
      centreZ: cli.centreZ,
      ratio: cli.ratio,
      uidSeed: cli.uidSeed,
      overwrite: cli.overwrite,
    }),
  };
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('phantom')
    .description('write a phantom series as DICOM (CT: water, acr, body, lcd; PET: iec)')
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

