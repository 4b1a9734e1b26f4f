/** Every CLI command, in the order `--help` lists them. Each module exports `register`. */
import type { CommandRegistrar } from '../command.js';
import { register as batch } from './batch.js';
import { register as bench } from './bench.js';
import { register as demo } from './demo.js';
import { register as denoise } from './denoise.js';
import { register as info } from './info.js';
import { register as metrics } from './metrics.js';
import { register as phantom } from './phantom.js';
import { register as qa } from './qa.js';
import { register as serve } from './serve.js';
import { register as simulate } from './simulate.js';
import { register as trace } from './trace.js';
import { register as worker } from './worker.js';

export const commands: CommandRegistrar[] = [info, denoise, batch, worker, metrics, simulate, phantom, qa, demo, serve, bench, trace];
