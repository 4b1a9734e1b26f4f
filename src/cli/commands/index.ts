/** Every CLI command, in the order `--help` lists them. Each module exports `register`. */
import type { CommandRegistrar } from '../main.js';

export const commands: CommandRegistrar[] = [];
