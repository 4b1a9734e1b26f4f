/** Every CLI command, in the order `--help` lists them. Each module exports `register`. */
import type { CommandRegistrar } from '../main.js';
import { register as info } from './info.js';

export const commands: CommandRegistrar[] = [info];
