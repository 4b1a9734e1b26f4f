/**
 * `lowdose qa`: denoise the phantom fixtures and check image quality against thresholds
 * (docs/contract.md: `{ checks: [{ name, value, threshold, pass }], pass }`; exit 0 when
 * every check passed, 1 when one failed, 2 on bad usage or an unusable config). A thin layer over
 * src/qa/run.ts.
 */
import { reportStopped, stopOnSignal } from '../stop-on-signal.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { formatTable, jsonResult, loadQaConfig, PHANTOM_NAMES, runQa, type PhantomName, type QaDenoiseSettings } from '../../qa/index.js';
import { addDenoiserOptions, SAMPLES_HELP, denoiserSettings, progressListener, type DenoiserCliOptions } from '../denoiser-options.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, decimalNumber, EXIT_FAILED, EXIT_OK, usageError } from '../output.js';
import { createProgress } from '../progress.js';

interface QaCliOptions extends DenoiserCliOptions {
  phantoms?: string;
  doses?: string;
  fixtures?: string;
  output?: string;
  config?: string;
  petModel?: string;
  realisations?: string;
  doseUnknown?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('qa')
    .description('denoise the phantom fixtures and check image quality against thresholds; exit 0 all passed, 1 a check failed')
    .option('--phantoms <list>', `comma-separated phantoms (${PHANTOM_NAMES.join(',')}; default: those whose modality the chosen models serve)`)
    .option('--doses <list>', 'comma-separated dose fractions of the fixtures to test', '0.25,0.1')
    .option('--fixtures <dir>', "fixture folder (default: the package's fixtures/)")
    .option('-o, --output <dir>', 'folder for denoised series, qa.json and qa-report.html (default: a new temporary folder)')
    .option('--config <file>', 'thresholds JSON merged over the shipped qa/thresholds.json')
    .option('--pet-model <name|path>', 'model for the PET fixture (default: --model when given, else lowdose-pet)')
    .option('--realisations <n>', 'noise realisations per fixture the bias checks average over (default: all the fixtures have; 1 = the committed series only)')
    .option('--dose-unknown', "do not tell the denoiser the fixtures' dose: the path of a denoise without --dose (unknown-dose condition, no dose-gated consistency step); checks still judge each fixture at its dose");
  addDenoiserOptions(command, SAMPLES_HELP.qa)
    .option('--overwrite', 'denoise again even when -o already holds outputs for these settings')
    .option('--json', 'machine-readable result on stdout')
    .action(async (opts: QaCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      const phantoms = opts.phantoms !== undefined ? parsePhantoms(opts.phantoms) : undefined;
      const doses = parseDoses(opts.doses ?? '0.25,0.1');
      const realisations = opts.realisations !== undefined ? parseRealisations(opts.realisations) : undefined;
      const config = loadQaConfig(opts.config);
      const outDir = path.resolve(opts.output ?? mkdtempSync(path.join(tmpdir(), 'lowdose-qa-')));
      if (opts.petModel !== undefined && opts.method !== 'diffusion') {
        throw usageError(`--pet-model ${opts.petModel} is the diffusion model for the PET fixture, which --method ${opts.method} does not run; leave it out, or use --method diffusion`);
      }
      const denoise: QaDenoiseSettings = {
        ...denoiserSettings(opts),
        ...(opts.petModel !== undefined ? { petModel: opts.petModel } : {}),
      };
      const progress = createProgress({ enabled: opts.progress });
      // SIGINT / SIGTERM: the series being denoised stops (E_CANCELLED in its folder's report.json); no verdict.
      const stop = stopOnSignal('the QA run', (message) => out.info(message), 'the series being denoised stops, no verdict is written');
      let result;
      try {
        result = await runQa({
          signal: stop.signal,
          config,
          outDir,
          ...(phantoms !== undefined ? { phantoms } : {}),
          doses,
          ...(realisations !== undefined ? { realisations } : {}),
          ...(opts.doseUnknown ? { declareDose: false } : {}),
          denoise,
          overwrite: Boolean(opts.overwrite),
          ...(opts.fixtures !== undefined ? { fixturesDir: opts.fixtures } : {}),
          log: (message) => out.info(message),
          onProgress: progressListener(progress),
        });
      } catch (error) {
        if (!stop.received) throw error;
        reportStopped(
          out,
          stop,
          `qa stopped (interrupted by ${stop.received}) before its checks: no verdict, no qa.json; the series denoised so far are in ${outDir} (a rerun with -o ${outDir} skips them)`,
          outDir,
          setExitCode,
        );
        return;
      } finally {
        stop.dispose();
        progress.stop();
      }
      out.result(jsonResult(result));
      out.print(formatTable(result.checks));
      for (const e of result.errors) out.info(`error ${e.code}: ${e.message}`);
      out.info(`report: ${result.report}`);
      setExitCode(result.pass ? EXIT_OK : EXIT_FAILED);
    });
};

export function parsePhantoms(text: string): PhantomName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw usageError('--phantoms needs at least one phantom');
  for (const name of names) {
    if (!(PHANTOM_NAMES as readonly string[]).includes(name)) throw usageError(`--phantoms: unknown phantom "${name}" (known: ${PHANTOM_NAMES.join(', ')})`);
  }
  return [...new Set(names)] as PhantomName[];
}

export function parseRealisations(text: string): number {
  const n = decimalNumber(text);
  if (!(Number.isInteger(n) && n >= 1)) throw usageError(`--realisations must be an integer >= 1, got "${text}"`);
  return n;
}

export function parseDoses(text: string): number[] {
  const doses = text.split(',').map((s) => s.trim()).filter(Boolean).map(decimalNumber);
  if (doses.length === 0 || doses.some((d) => !Number.isFinite(d) || d <= 0 || d >= 1)) {
    throw usageError(`--doses must be fractions in (0, 1) separated by commas, e.g. 0.25,0.1; got "${text}"`);
  }
  return [...new Set(doses)];
}
