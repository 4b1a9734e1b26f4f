/**
 * The `lowdose` command line: a thin layer over the library. Each command lives in
 * ./commands/<name>.ts and exports `register(program)`; its action returns the exit code.
 */
import { Command, CommanderError } from 'commander';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { packageVersion } from '../util/package-root.js';
import { commands } from './commands/index.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, resetJsonResultWritten, wasJsonResultWritten } from './output.js';
import { refuseRepeatedOptions } from './repeatable-options.js';

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
  refuseRepeatedOptions(program);
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
  resetJsonResultWritten();
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; every other commander error is bad usage
      // (commander has already said why on stderr).
      if (error.exitCode === 0) return EXIT_OK;
      printJsonError(argv, new LowdoseError('E_USAGE', error.message.replace(/^error: /, '')));
      return EXIT_USAGE;
    }
    const e = toLowdoseError(error);
    process.stderr.write(`lowdose: ${e.message} [${e.code}]\n`);
    if (process.env.LOWDOSE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    printJsonError(argv, e);
    return exitCodeFor(e);
  }
}

/**
 * Under --json a thrown error is machine output too (docs/contract.md "Every command"): stdout gets
 * `{ "errors": [{ "path", "code", "message" }] }`, the shape every command's errors take, unless
 * the command already printed its result. --json is looked for in argv because a usage error can
 * come before commander has parsed the options.
 */
function printJsonError(argv: readonly string[], error: LowdoseError): void {
  const end = argv.indexOf('--');
  const args = argv.slice(2, end < 0 ? undefined : end);
  if (!args.includes('--json') || wasJsonResultWritten()) return;
  // One line: whole-stdout JSON for the commands that print one document, and still one line of
  // `worker --json`'s line-per-event stream.
  process.stdout.write(`${JSON.stringify({ errors: [error.toJSON()] })}\n`);
}
