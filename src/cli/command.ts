/**
 * What a command module exports: `register(program, setExitCode)` adds its command to the program;
 * its action sets the exit code. Its own file so that the commands and ./main.ts do not import
 * each other.
 */
import type { Command } from 'commander';

export type CommandRegistrar = (program: Command, setExitCode: (code: number) => void) => void;
