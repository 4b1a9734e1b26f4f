/**
 * The `lowdose` command line: a thin layer over the library. Each command lives in
 * ./commands/<name>.ts and exports `register(program)`; its action returns the exit code.
 */
import { Command, CommanderError } from 'commander';
import { toLowdoseError } from '../errors.js';
import { packageVersion } from '../util/package-root.js';
import { commands } from './commands/index.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from './output.js';

export type { CommandRegistrar } from './command.js';


export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('lowdose')
    .description('Denoise low-dose CT and PET with a conditional diffusion model, and check that it did.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    // Options after a command's name are that command's (`batch status <id> --redis` is status's).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  for (const register of commands) register(program, setExitCode);
  // Subcommands inherit the override so their usage errors also exit 2 instead of calling process.exit.
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  if (argv.length <= 2) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; every other commander error is bad usage.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const e = toLowdoseError(error);
    process.stderr.write(`lowdose: ${e.message} [${e.code}]\n`);
    if (process.env.LOWDOSE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return exitCodeFor(e);
  }
}
