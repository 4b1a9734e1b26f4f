/**
 * `lowdose denoise <path...> -o <dir>`: every CT / PET series found becomes a derived DICOM
 * series, with PNG previews and report.json (../shared/CONTRACT.md). A thin layer over
 * src/pipeline/denoise.ts.
 */
import type { Command } from 'commander';
import { SAMPLER_NAMES } from '../../diffusion/index.js';
import { denoisePaths } from '../../pipeline/denoise.js';
import type { DenoiseMethod, DenoiseOptions, DenoiseReport } from '../../pipeline/types.js';
import { isDeviceRequest, type DeviceRequest } from '../../runtime/index.js';
import { parseSeed } from '../../util/random.js';
import type { CommandRegistrar } from '../main.js';
import { createOutput, EXIT_FAILED, EXIT_OK, parseIntOption, parseNumberOption, usageError } from '../output.js';
import { createProgress } from '../progress.js';

const METHODS: readonly DenoiseMethod[] = ['diffusion', 'gaussian', 'bilateral', 'nlm'];

interface DenoiseCliOptions {
  output: string;
  method: string;
  model?: string;
  device: string;
  steps?: number;
  sampler?: string;
  seed: string;
  samples: number;
  guidance?: number;
  batch: number;
  dose?: number;
  reference?: string[];
  overwrite?: boolean;
  threads?: number;
  json?: boolean;
  progress: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('denoise')
    .description('denoise every CT / PET series found; writes new DICOM series, PNG previews and report.json into <dir>')
    .argument('<path...>', 'DICOM files or folders (searched recursively)')
    .requiredOption('-o, --output <dir>', 'output directory')
    .option('--method <name>', `denoiser: ${METHODS.join(' | ')}`, 'diffusion')
    .option('--model <name|path>', 'model name in models/ or path to its .json / .onnx (default: lowdose-ct for CT, lowdose-pet for PET)')
    .option('--device <device>', 'auto | cpu | webgpu | cuda (auto tries CUDA, then WebGPU, then CPU)', 'auto')
    .option('--steps <n>', 'reverse-process steps (default: the model card\'s)', parseIntOption('--steps', 1, 1000))
    .option('--sampler <name>', `${SAMPLER_NAMES.join(' | ')} (default: the model card's)`)
    .option('--seed <s>', 'random seed: the same seed gives the same output', '0')
    .option('--samples <k>', 'ensemble size; K > 1 writes the mean and an uncertainty (per-pixel std) series', parseIntOption('--samples', 1, 64), 1)
    .option('--guidance <g>', 'classifier-free guidance scale (1 = conditional only)', parseNumberOption('--guidance', 0, 50))
    .option('--batch <b>', 'slices per model call', parseIntOption('--batch', 1, 256), 1)
    .option('--dose <fraction>', 'dose of the input as a fraction of normal dose, if known (e.g. 0.25)', parseNumberOption('--dose', 0, 1))
    .option('--reference <path...>', 'reference (normal-dose) series: adds PSNR / SSIM / RMSE to the report')
    .option('--threads <n>', 'CPU threads for the model (default: onnxruntime\'s)', parseIntOption('--threads', 1, 256))
    .option('--overwrite', 'redo series that are already finished in <dir>')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'machine-readable report on stdout')
    .action(async (paths: string[], opts: DenoiseCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      if (!(METHODS as readonly string[]).includes(opts.method)) throw usageError(`--method must be one of ${METHODS.join(', ')}, got "${opts.method}"`);
      if (!isDeviceRequest(opts.device)) throw usageError(`--device must be auto, cpu, webgpu or cuda, got "${opts.device}"`);
      if (opts.sampler !== undefined && !(SAMPLER_NAMES as readonly string[]).includes(opts.sampler)) {
        throw usageError(`--sampler must be one of ${SAMPLER_NAMES.join(', ')}, got "${opts.sampler}"`);
      }
      const progress = createProgress({ enabled: opts.progress });
      let currentSeries = -1;
      let counted = 0;
      const options: DenoiseOptions = {
        outDir: opts.output,
        method: opts.method as DenoiseMethod,
        device: opts.device as DeviceRequest,
        seed: parseSeed(opts.seed),
        samples: opts.samples,
        batch: opts.batch,
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        ...(opts.sampler !== undefined ? { sampler: opts.sampler } : {}),
        ...(opts.guidance !== undefined ? { guidance: opts.guidance } : {}),
        ...(opts.dose !== undefined ? { doseLevel: opts.dose } : {}),
        ...(opts.reference !== undefined ? { reference: opts.reference } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        overwrite: Boolean(opts.overwrite),
        log: (message) => out.info(message),
        onProgress: (event) => {
          // Events carry cumulative counts; the bar wants increments.
          if (event.seriesIndex !== currentSeries) {
            if (currentSeries >= 0) progress.stop();
            currentSeries = event.seriesIndex;
            counted = 0;
            progress.start(`series ${event.seriesIndex + 1}/${event.seriesCount}`, event.slicesTotal);
          }
          progress.increment(event.slicesDone - counted);
          counted = event.slicesDone;
        },
      };
      let report: DenoiseReport;
      try {
        report = await denoisePaths(paths, options);
      } finally {
        progress.stop();
      }
      out.result(report);
      out.print(humanReport(report));
      setExitCode(report.errors.length > 0 ? EXIT_FAILED : EXIT_OK);
    });
};

function humanReport(report: DenoiseReport): string {
  const lines: string[] = [];
  for (const s of report.series) {
    const m = s.metrics;
    const metrics = m
      ? ` | PSNR ${fmt(m.input?.psnr)} -> ${fmt(m.psnr)} dB, SSIM ${fmt(m.input?.ssim, 3)} -> ${fmt(m.ssim, 3)}`
      : '';
    lines.push(
      `${s.input.modality} ${s.input.seriesInstanceUid}${s.skipped ? ' (already done)' : ''}: ${s.output.files.length} slices -> ${s.output.dir}` +
        ` | ${s.method}${s.model ? ` ${s.model}` : ''} on ${s.device}, ${s.msPerSlice} ms/slice${metrics}`,
    );
  }
  for (const e of report.errors) lines.push(`error ${e.code}: ${e.message}`);
  return lines.join('\n');
}

function fmt(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? 'n/a' : value.toFixed(digits);
}
