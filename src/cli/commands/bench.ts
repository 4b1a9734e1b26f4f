/**
 * `lowdose bench`: speed and memory of the denoiser on this machine, per model, device, batch
 * size and step count (docs/contract.md: `bench --json`). A thin layer over src/bench.
 */
import type { Command } from 'commander';
import { formatBenchReport, runBench, type BenchOptions } from '../../bench/index.js';
import { DEVICE_REQUESTS, SAMPLER_NAMES, TEXTURES, type SamplerName, type Texture } from '../../choices.js';
import { MEMORY_BUDGET_ENV, parseMemorySize } from '../../pipeline/memory-budget.js';
import { LOW_BAND_HELP, parseOrientations, TEXTURE_HELP } from '../denoiser-options.js';
import { LOW_BAND_MAX_STRENGTH } from '../../filters/low-band.js';
import type { CommandRegistrar } from '../command.js';
import { choicesHelp, createOutput, DEVICE_HELP, EXIT_OK, parseChoiceOption, parseIntOption, parseNumberOption, parseSeedOption, usageError } from '../output.js';

interface BenchCliOptions {
  model?: string[];
  size?: number;
  steps: string;
  batch: string;
  device: string;
  sampler?: SamplerName;
  consistency?: number;
  orientations?: number;
  lowBand?: number;
  texture: Texture;
  threads?: number;
  memoryBudget?: number;
  repeats: number;
  seed: string;
  json?: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('bench')
    .description('measure speed and memory of the denoiser on this machine (synthetic phantom input, no data needed)')
    .option('--model <name|path...>', 'models to measure (default: the shipped lowdose-ct and lowdose-pet)')
    .option('--size <n>', 'image edge for every model (default: 512 for CT, 168 for PET)', parseIntOption('--size', 8, 4096))
    .option('--steps <list>', 'comma-separated step counts; the model card\'s default is always added', '1,2,4,8')
    .option('--batch <list>', 'comma-separated batch sizes (slices per call); 1 is always added', '1,2,4')
    .option('--device <list>', `comma-separated devices to try, each on its own: ${DEVICE_HELP}`, 'auto')
    .option('--sampler <name>', `${choicesHelp(SAMPLER_NAMES)} (default: the model card's)`, parseChoiceOption('--sampler', SAMPLER_NAMES))
    .option('--consistency <strength>', "measurement-consistency strength, 0..1 (default: the model card's)", parseNumberOption('--consistency', 0, 1))
    .option('--orientations <k>', "average each prediction over k flips and turns, 1, 2, 4 or 8 (default: the model card's)", parseOrientations)
    .option('--low-band <strength>', LOW_BAND_HELP, parseNumberOption('--low-band', 0, LOW_BAND_MAX_STRENGTH))
    .option('--texture <mode>', `${TEXTURE_HELP} (bench slices are at dose 0.25)`, parseChoiceOption('--texture', TEXTURES), 'smooth')
    .option('--threads <n>', 'CPU threads for the model (default: onnxruntime\'s)', parseIntOption('--threads', 1, 256))
    .option('--repeats <n>', 'timed runs per configuration (median reported), after one warm-up run', parseIntOption('--repeats', 1, 100), 3)
    .option('--seed <s>', 'random seed', '0')
    .option(
      '--memory-budget <size>',
      `memory the largest configuration may use, e.g. 8G; refused (exit 2) beyond it (default: $${MEMORY_BUDGET_ENV}, else half of this machine's memory)`,
      (text: string) => parseMemorySize(text, '--memory-budget'),
    )
    .option('--json', 'machine-readable result on stdout')
    .action(async (opts: BenchCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      const devices = parseList('--device', opts.device, parseChoiceOption('--device', DEVICE_REQUESTS));
      const options: BenchOptions = {
        texture: opts.texture,
        steps: parseList('--steps', opts.steps, parseIntOption('--steps', 1, 1000)),
        batches: parseList('--batch', opts.batch, parseIntOption('--batch', 1, 256)),
        devices,
        repeats: opts.repeats,
        seed: parseSeedOption(opts.seed),
        log: (message) => out.info(message),
        ...(opts.model ? { models: opts.model } : {}),
        ...(opts.size !== undefined ? { size: opts.size } : {}),
        ...(opts.sampler !== undefined ? { sampler: opts.sampler } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.consistency !== undefined ? { consistency: opts.consistency } : {}),
        ...(opts.orientations !== undefined ? { orientations: opts.orientations } : {}),
        ...(opts.lowBand !== undefined ? { lowBand: opts.lowBand } : {}),
        ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
      };
      const report = await runBench(options);
      out.result(report);
      out.print(formatBenchReport(report));
      setExitCode(EXIT_OK);
    });
};

function parseList<T>(name: string, text: string, parse: (item: string) => T): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw usageError(`${name} needs at least one value, got "${text}"`);
  return [...new Set(items)].map(parse);
}
