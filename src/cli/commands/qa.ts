/**
 * `lowdose qa`: denoise the phantom fixtures and check image quality against thresholds
 * (../shared/CONTRACT.md: `{ checks: [{ name, value, threshold, pass }], pass }`; exit 0 when
 * every check passed, 1 when one failed, 2 on bad usage or an unusable config). A thin layer over
 * src/qa/run.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { SAMPLER_NAMES } from '../../diffusion/index.js';
import type { DenoiseMethod } from '../../pipeline/types.js';
import { formatTable, jsonResult, loadQaConfig, PHANTOM_NAMES, runQa, type PhantomName, type QaDenoiseSettings } from '../../qa/index.js';
import { isDeviceRequest, type DeviceRequest } from '../../runtime/index.js';
import { parseSeed } from '../../util/random.js';
import type { CommandRegistrar } from '../main.js';
import { createOutput, EXIT_FAILED, EXIT_OK, parseIntOption, parseNumberOption, usageError } from '../output.js';
import { createProgress } from '../progress.js';

const METHODS: readonly DenoiseMethod[] = ['diffusion', 'gaussian', 'bilateral', 'nlm'];

interface QaCliOptions {
  phantoms?: string;
  doses?: string;
  fixtures?: string;
  output?: string;
  config?: string;
  method: string;
  model?: string;
  petModel?: string;
  device: string;
  steps?: number;
  sampler?: string;
  seed: string;
  samples: number;
  guidance?: number;
  batch: number;
  threads?: number;
  overwrite?: boolean;
  json?: boolean;
  progress: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('qa')
    .description('denoise the phantom fixtures and check image quality against thresholds; exit 0 all passed, 1 a check failed')
    .option('--phantoms <list>', `comma-separated phantoms (${PHANTOM_NAMES.join(',')})`, PHANTOM_NAMES.join(','))
    .option('--doses <list>', 'comma-separated dose fractions of the fixtures to test', '0.25,0.1')
    .option('--fixtures <dir>', "fixture folder (default: the package's fixtures/)")
    .option('-o, --output <dir>', 'folder for denoised series, qa.json and qa-report.html (default: a new temporary folder)')
    .option('--config <file>', 'thresholds JSON merged over the shipped qa/thresholds.json')
    .option('--method <name>', `denoiser: ${METHODS.join(' | ')}`, 'diffusion')
    .option('--model <name|path>', 'model name in models/ or path to its .json / .onnx (default: lowdose-ct for CT, lowdose-pet for PET)')
    .option('--pet-model <name|path>', 'model for the PET fixture (default: --model when given, else lowdose-pet)')
    .option('--device <device>', 'auto | cpu | webgpu | cuda', 'auto')
    .option('--steps <n>', "reverse-process steps (default: the model card's)", parseIntOption('--steps', 1, 1000))
    .option('--sampler <name>', `${SAMPLER_NAMES.join(' | ')} (default: the model card's)`)
    .option('--seed <s>', 'random seed', '0')
    .option('--samples <k>', 'ensemble size', parseIntOption('--samples', 1, 64), 1)
    .option('--guidance <g>', 'classifier-free guidance scale', parseNumberOption('--guidance', 0, 50))
    .option('--batch <b>', 'slices per model call', parseIntOption('--batch', 1, 256), 1)
    .option('--threads <n>', 'CPU threads for the model', parseIntOption('--threads', 1, 256))
    .option('--overwrite', 'denoise again even when -o already holds outputs for these settings')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'machine-readable result on stdout')
    .action(async (opts: QaCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      if (!(METHODS as readonly string[]).includes(opts.method)) throw usageError(`--method must be one of ${METHODS.join(', ')}, got "${opts.method}"`);
      if (!isDeviceRequest(opts.device)) throw usageError(`--device must be auto, cpu, webgpu or cuda, got "${opts.device}"`);
      if (opts.sampler !== undefined && !(SAMPLER_NAMES as readonly string[]).includes(opts.sampler)) {
        throw usageError(`--sampler must be one of ${SAMPLER_NAMES.join(', ')}, got "${opts.sampler}"`);
      }
      const phantoms = parsePhantoms(opts.phantoms ?? PHANTOM_NAMES.join(','));
      const doses = parseDoses(opts.doses ?? '0.25,0.1');
      const config = loadQaConfig(opts.config);
      const outDir = path.resolve(opts.output ?? mkdtempSync(path.join(tmpdir(), 'lowdose-qa-')));
      const denoise: QaDenoiseSettings = {
        method: opts.method as DenoiseMethod,
        device: opts.device as DeviceRequest,
        seed: parseSeed(opts.seed),
        samples: opts.samples,
        batch: opts.batch,
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.petModel !== undefined ? { petModel: opts.petModel } : {}),
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        ...(opts.sampler !== undefined ? { sampler: opts.sampler } : {}),
        ...(opts.guidance !== undefined ? { guidance: opts.guidance } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      };
      const progress = createProgress({ enabled: opts.progress });
      let current = '';
      let counted = 0;
      let result;
      try {
        result = await runQa({
          config,
          outDir,
          phantoms,
          doses,
          denoise,
          overwrite: Boolean(opts.overwrite),
          ...(opts.fixtures !== undefined ? { fixturesDir: opts.fixtures } : {}),
          log: (message) => out.info(message),
          onProgress: (event) => {
            if (event.seriesKey !== current) {
              if (current) progress.stop();
              current = event.seriesKey;
              counted = 0;
              progress.start(`series ${event.seriesIndex + 1}/${event.seriesCount}`, event.slicesTotal);
            }
            progress.increment(event.slicesDone - counted);
            counted = event.slicesDone;
          },
        });
      } finally {
        progress.stop();
      }
      out.result(jsonResult(result));
      out.print(formatTable(result.checks));
      for (const e of result.errors) out.info(`error ${e.code}: ${e.message}`);
      out.info(`report: ${result.report}`);
      setExitCode(result.pass ? EXIT_OK : EXIT_FAILED);
    });
};

function parsePhantoms(text: string): PhantomName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw usageError('--phantoms needs at least one phantom');
  for (const name of names) {
    if (!(PHANTOM_NAMES as readonly string[]).includes(name)) throw usageError(`--phantoms: unknown phantom "${name}" (known: ${PHANTOM_NAMES.join(', ')})`);
  }
  return [...new Set(names)] as PhantomName[];
}

function parseDoses(text: string): number[] {
  const doses = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (doses.length === 0 || doses.some((d) => !Number.isFinite(d) || d <= 0 || d >= 1)) {
    throw usageError(`--doses must be fractions in (0, 1) separated by commas, e.g. 0.25,0.1; got "${text}"`);
  }
  return [...new Set(doses)];
}
