/**
 * `lowdose trace <path> -o <png>`: one slice through the forward (noising) and reverse (denoising)
 * process, as a labelled grid PNG (docs/contract.md). A thin layer over src/trace.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { DEVICE_REQUESTS, GUIDANCE_MAX, SAMPLER_NAMES, type DeviceRequest, type SamplerName } from '../../choices.js';
import type { BetaScheduleKind } from '../../diffusion/index.js';
import { SCHEDULE_KINDS, traceSlice, type TraceOptions, type TraceReport } from '../../trace/index.js';
import { makeOutputFolder, writeFileAtomic } from '../../util/fs.js';
import type { CommandRegistrar } from '../command.js';
import { choicesHelp, createOutput, decimalNumber, DEVICE_HELP, EXIT_OK, parseChoiceOption, parseDoseOption, parseIntOption, parseNumberOption, parseSeedOption, usageError } from '../output.js';

interface TraceCliOptions {
  output: string;
  slice?: number;
  schedule?: BetaScheduleKind;
  model?: string;
  sampler?: SamplerName;
  steps?: number;
  seed: string;
  guidance?: number;
  consistency?: number;
  dose?: number;
  device: DeviceRequest;
  threads?: number;
  fractions?: string;
  window?: string;
  panel?: number;
  columns?: number;
  json?: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('trace')
    .description('picture one slice going through the forward (noising) and reverse (denoising) process, as a labelled grid PNG')
    .argument('<path...>', 'a DICOM series: files or a folder (the first CT / PET series found is used)')
    .requiredOption('-o, --output <png>', 'the PNG to write')
    .option('--slice <n>', 'slice index in the series, 0-based (default: the middle one)', parseIntOption('--slice', 0, 100000))
    .option('--schedule <kind>', `forward-process schedule: ${choicesHelp(SCHEDULE_KINDS)} (default: the model's)`, parseChoiceOption('--schedule', SCHEDULE_KINDS))
    .option('--model <name|path>', 'model name in models/ or path to its .json / .onnx (default: lowdose-ct for CT, lowdose-pet for PET)')
    .option('--sampler <name>', `reverse-process sampler: ${choicesHelp(SAMPLER_NAMES)} (default: the model card's)`, parseChoiceOption('--sampler', SAMPLER_NAMES))
    .option('--steps <n>', 'reverse-process steps (default: the model card\'s)', parseIntOption('--steps', 1, 1000))
    .option('--seed <s>', 'random seed (forward noise and sampler)', '0')
    .option('--guidance <g>', 'classifier-free guidance scale (default: the model card\'s)', parseNumberOption('--guidance', 0, GUIDANCE_MAX))
    .option('--consistency <strength>', "measurement-consistency strength, 0..1 (default: the model card's)", parseNumberOption('--consistency', 0, 1))
    .option('--dose <fraction>', 'dose of the input as a fraction of normal dose, if known', parseDoseOption('--dose'))
    .option('--device <device>', DEVICE_HELP, parseChoiceOption('--device', DEVICE_REQUESTS), 'auto')
    .option('--threads <n>', 'CPU threads for the model', parseIntOption('--threads', 1, 256))
    .option('--fractions <list>', 'where along the chain to draw forward frames, fractions of T (default 0,0.125,0.25,0.5,0.75,1)')
    .option('--window <lo,hi>', 'display window in modality units (default: CT -1000,1000 HU; PET 0,5 SUV, 0,max of the slice in Bq/ml)')
    .option('--panel <px>', 'largest panel edge in pixels; bigger slices are shrunk (default 256)', parseIntOption('--panel', 16, 2048))
    .option('--columns <n>', 'most panels per row before the reverse rows wrap (default 10)', parseIntOption('--columns', 1, 64))
    .option('--json', 'what was drawn (timesteps, ᾱ, SSIM of every frame to the input) on stdout')
    .action(async (paths: string[], opts: TraceCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      if (!path.extname(opts.output) || path.extname(opts.output).toLowerCase() !== '.png') {
        throw usageError(`-o must name a .png file, got "${opts.output}"`);
      }
      const options: TraceOptions = {
        paths,
        seed: parseSeedOption(opts.seed),
        device: opts.device,
        log: (message) => out.info(message),
        ...(opts.slice !== undefined ? { slice: opts.slice } : {}),
        ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}),
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.sampler !== undefined ? { sampler: opts.sampler } : {}),
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        ...(opts.guidance !== undefined ? { guidance: opts.guidance } : {}),
        ...(opts.consistency !== undefined ? { consistency: opts.consistency } : {}),
        ...(opts.dose !== undefined ? { dose: opts.dose } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.fractions !== undefined ? { fractions: parseFractions(opts.fractions) } : {}),
        ...(opts.window !== undefined ? { window: parseWindow(opts.window) } : {}),
        ...(opts.panel !== undefined ? { panel: opts.panel } : {}),
        ...(opts.columns !== undefined ? { maxColumns: opts.columns } : {}),
      };
      const result = await traceSlice(options);
      await makeOutputFolder(path.dirname(path.resolve(opts.output)));
      await writeFileAtomic(opts.output, result.png);
      out.result({ ...result.report, png: path.resolve(opts.output) });
      out.print(humanSummary(result.report, opts.output));
      setExitCode(EXIT_OK);
    });
};

function parseFractions(text: string): number[] {
  const values = text.split(',').map(decimalNumber);
  if (values.some((v) => !(v >= 0 && v <= 1))) {
    throw usageError(`--fractions must be comma-separated numbers in [0, 1], got "${text}"`);
  }
  return values;
}

function parseWindow(text: string): { lo: number; hi: number } {
  const [lo, hi, ...rest] = text.split(',').map(decimalNumber);
  if (rest.length > 0 || !Number.isFinite(lo) || !Number.isFinite(hi) || !(hi! > lo!)) {
    throw usageError(`--window must be lo,hi with lo < hi, got "${text}"`);
  }
  return { lo: lo!, hi: hi! };
}

function humanSummary(report: TraceReport, file: string): string {
  const f = report.forward.frames.map((x) => `${x.label}: ᾱ ${x.alphaBar.toFixed(3)} ssim ${x.ssim.toFixed(3)}`).join(', ');
  const r = report.reverse.frames.map((x) => `t=${x.timestep}: x̂0 ssim ${x.ssimPrediction.toFixed(3)}`).join(', ');
  return [
    `${file}: ${report.grid.width}x${report.grid.height} px, slice ${report.input.slice + 1} of ${report.input.slices} (--slice ${report.input.slice})`,
    `forward (${report.forward.schedule.kind}): ${f}`,
    `reverse (${report.model}, ${report.sampler}, ${report.steps} steps): ${r}; output ssim ${report.reverse.output.ssim.toFixed(3)}`,
  ].join('\n');
}
