/**
 * `lowdose demo` (what `npm start` runs): phantom → simulated low-dose scan → denoised, with a
 * table of PSNR / SSIM / noise against the full-dose scan. See src/pipeline/demo.ts.
 */
import type { Command } from 'commander';
import { formatDemoTable, runDemo } from '../../pipeline/demo.js';
import { DEVICE_REQUESTS, type DeviceRequest } from '../../choices.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, DEVICE_HELP, EXIT_OK, parseChoiceOption, parseIntOption, parseNumberOption } from '../output.js';

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  program
    .command('demo')
    .description('the main job on built-in data: phantom, simulated low-dose CT, denoised, scored against full dose')
    .option('-o, --output <dir>', "where the demo writes its study (an earlier demo's output there is replaced on each run; a file or a folder holding anything else is refused)", 'demo-output')
    .option('--size <n>', 'phantom size in pixels', parseIntOption('--size', 64, 1024), 512)
    .option('--slices <n>', 'phantom slices', parseIntOption('--slices', 1, 64), 4)
    .option('--dose <fraction>', 'simulated dose', parseNumberOption('--dose', 0.01, 1), 0.25)
    .option('--device <device>', DEVICE_HELP, parseChoiceOption('--device', DEVICE_REQUESTS), 'auto')
    .option('--model <name|path>', 'model to denoise with (default: lowdose-ct)')
    .option('--json', 'machine-readable result on stdout')
    .action(async (opts: { output: string; size: number; slices: number; dose: number; device: DeviceRequest; model?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      const result = await runDemo({
        outDir: opts.output,
        size: opts.size,
        slices: opts.slices,
        dose: opts.dose,
        device: opts.device,
        ...(opts.model ? { model: opts.model } : {}),
        log: (m) => out.info(m),
      });
      out.result(result);
      out.print(
        [
          '',
          `lowdose demo: body phantom, CT at ${Math.round(result.dose * 100)} % dose, scored against the full-dose scan`,
          '',
          formatDemoTable(result),
          '',
          `study:     ${result.outDir}`,
          ...result.rows.map((r) => `  ${r.name}: ${r.dir}`),
          `previews:  ${result.outDir}/denoised/previews/`,
          '',
          `Look at them side by side:  npx lowdose serve --data ${opts.output}`,
        ].join('\n'),
      );
      setExitCode(EXIT_OK);
    });
};
