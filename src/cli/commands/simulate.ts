/**
 * `lowdose simulate <path...> --dose <fraction> -o <dir>`: writes a simulated reduced-dose copy of
 * every CT and PET series found (docs/contract.md). The work is src/pipeline/simulate.ts
 * (`runSimulate`); this file registers the command, parses its options and prints the result.
 */
import { SIGNAL_EXIT, stopOnSignal } from '../stop-on-signal.js';
import type { Command } from 'commander';
import { runSimulate, type CtMode } from '../../pipeline/simulate.js';
import { BOWTIE_KINDS, BOWTIE_SHAPES, CT_DEFAULTS, FILTER_WINDOWS, KERNEL_PRESETS, PET_DEFAULTS, type BowtieKind, type KernelSpec } from '../../simulate/index.js';
import { withoutUndefined } from '../../util/defined.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, EXIT_USAGE, parseDoseOption, parseIntOption, parseNumberOption, parseSeedOption } from '../output.js';
import { errorsLeftOutLine } from '../../util/code-sample.js';

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('simulate')
    .description('write a simulated reduced-dose copy of each normal-dose CT / PET series (same seed, same noise)')
    .argument('<path...>', 'DICOM files or directories (searched recursively)')
    .requiredOption('--dose <fraction>', 'dose (CT) or counts (PET) as a fraction of the original, in (0, 1]', parseDoseOption('--dose', false))
    .requiredOption('-o, --out <dir>', 'output directory (one sub-directory per series)')
    .option('--seed <n>', 'noise seed (integer, or any text hashed to one)', parseSeedOption, 0)
    .option('--mode <mode>', 'CT: insert (real normal-dose input) or truth (noise-free phantom input)', 'insert')
    .option(
      '--kernel <name>',
      `CT reconstruction kernel of the simulated FBP: auto (from the series' ConvolutionKernel; standard when unknown), ${Object.keys(KERNEL_PRESETS).join(', ')}, or a window: ${FILTER_WINDOWS.join(', ')}`,
      'auto',
    )
    .option('--cutoff <fraction>', 'CT kernel cutoff, fraction of the Nyquist frequency of the rebinned rays (Butterworth: its -3 dB point)', parseNumberOption('--cutoff', 0, 1))
    .option(
      '--i0 <photons|auto>',
      `CT incident photons per channel per view at full dose; auto (default with --mode insert) calibrates it to the series' own noise; --mode truth default ${CT_DEFAULTS.i0}`,
      (v: string) => (v === 'auto' ? 'auto' : parseNumberOption('--i0', 1, 1e12)(v)),
    )
    .option('--electronic-noise <photons>', `CT electronic noise std (default ${CT_DEFAULTS.electronicNoise})`, parseNumberOption('--electronic-noise', 0, 1e6))
    .option('--bowtie <kind>', `CT bowtie filter: ${BOWTIE_KINDS.join(', ')}`, CT_DEFAULTS.bowtie)
    .option(
      '--bowtie-strength <fraction>',
      `CT bowtie strength: how fully it evens out the path through a centred water cylinder, 0..1 (default body ${BOWTIE_SHAPES.body.strength}, head ${BOWTIE_SHAPES.head.strength})`,
      parseNumberOption('--bowtie-strength', 0, 1),
    )
    .option(
      '--tcm <strength>',
      `CT angular tube-current modulation: each view's current follows exp(strength x its largest line integral) at the same mean dose; 0 is a constant current, 0.5 the square-root rule (default ${CT_DEFAULTS.tcm})`,
      parseNumberOption('--tcm', 0, 1),
    )
    .option('--iterations <n>', `PET OSEM iterations (default ${PET_DEFAULTS.iterations})`, parseIntOption('--iterations', 1, 100))
    .option('--subsets <n>', `PET OSEM subsets (default ${PET_DEFAULTS.subsets})`, parseIntOption('--subsets', 1, 180))
    .option('--post-filter <mm>', `PET Gaussian post-filter FWHM, mm (default ${PET_DEFAULTS.postFilterFwhmMm})`, parseNumberOption('--post-filter', 0, 50))
    .option('--with-reference', 'also write the matched full-dose reconstruction (CT --mode truth, PET)')
    .option('--workers <n>', 'worker threads (default: one per core)', parseIntOption('--workers', 1, 64))
    .option('--overwrite', 'replace existing output files')
    .option('--wait-lock', 'wait while another run writes the same output series (default: exit 2 at once)')
    .option('--json', 'machine-readable output on stdout')
    .action(async (paths: string[], opts: Record<string, unknown>) => {
      const out = createOutput(Boolean(opts.json));
      // SIGINT / SIGTERM: the series being simulated stops and its files go, the rest are reported as not run.
      const interrupt = stopOnSignal('the simulation', (message) => out.info(message), 'the series being simulated stops and its files are removed, then the result is printed');
      const { result, exitCode } = await runSimulate(paths, {
        signal: interrupt.signal,
        dose: opts.dose as number,
        outDir: opts.out as string,
        seed: opts.seed as number,
        mode: opts.mode as CtMode,
        kernel: opts.kernel as KernelSpec | 'auto',
        bowtie: opts.bowtie as BowtieKind,
        withReference: Boolean(opts.withReference),
        ...withoutUndefined({
          cutoff: opts.cutoff as number | undefined,
          i0: opts.i0 as number | 'auto' | undefined,
          electronicNoise: opts.electronicNoise as number | undefined,
          bowtieStrength: opts.bowtieStrength as number | undefined,
          tcm: opts.tcm as number | undefined,
          iterations: opts.iterations as number | undefined,
          subsets: opts.subsets as number | undefined,
          postFilterMm: opts.postFilter as number | undefined,
          workers: opts.workers as number | undefined,
        }),
        overwrite: Boolean(opts.overwrite),
        waitLock: Boolean(opts.waitLock),
        progress: (m) => out.info(m),
      }).finally(() => interrupt.dispose());
      if (exitCode === EXIT_USAGE) {
        // Exit 2 also when series were found but the options suit none of them (--mode truth --i0 auto).
        const refused = result.errors.some((e) => e.code === 'E_USAGE');
        out.info(refused ? 'lowdose simulate: nothing simulated: the options do not suit the series (errors above)' : 'lowdose simulate: no CT or PET series found');
      }
      out.result(result);
      const lines = result.series.map(
        (s) =>
          `${s.input.key} ${s.modality} -> ${s.output.dir} (${s.output.files.length} slice(s), ${s.mode}, ${s.msPerSlice.toFixed(0)} ms/slice)` +
          (s.reference ? `\n  full-dose reference -> ${s.reference.dir}` : '') +
          s.warnings.map((w) => `\n  warning: ${w}`).join(''),
      );
      for (const e of result.errors) lines.push(`error [${e.code}] ${e.message}`);
      const leftOut = errorsLeftOutLine(result.errors.length, result);
      if (leftOut) lines.push(leftOut);
      for (const s of result.skipped) lines.push(`skipped ${s.key}: ${s.message}`);
      out.print(lines.join('\n') || 'nothing simulated');
      setExitCode(interrupt.received ? SIGNAL_EXIT[interrupt.received] : exitCode);
    });
};
