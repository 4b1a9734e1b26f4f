/**
 * The defaults and limits that README, docs/*.md, models/README.md and --help state in prose are
 * the ones the code uses: each is read from what the code exports (an option's commander default, a
 * constant, qa/thresholds.json, a model card's quality.passCost, the committed bench run) and every
 * place the docs word it must give that value. A changed constant then fails here until the docs
 * follow, and a doc edited to another number fails too. docs/history.md and docs/experiments/ are
 * records of past runs and are not read.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS as FUZZ_LIMITS, TEST_PASS as FUZZ_TEST_PASS } from '../../scripts/fuzz/run.js';
import { DEFAULT_BENCH_SIZES } from '../../src/bench/run.js';
import { buildProgram } from '../../src/cli/main.js';
import { LOW_BAND_DEFAULT_FACTOR } from '../../src/filters/low-band.js';
import { FLAT_ROI_SIZE } from '../../src/metrics/soft-tissue-rois.js';
import { DEFAULT_MAX_INSTANCE_BYTES, DEFAULT_MAX_PDU_BYTES, MAX_CONTROL_PDU_BYTES } from '../../src/dimse/receive.js';
import { DEFAULT_RETRY_DELAY_MS } from '../../src/dicomweb/client.js';
import { DEFAULT_MAX_ASSOCIATIONS, MAX_WAITING_CONNECTIONS } from '../../src/dimse/store-scp.js';
import { passCostOf } from '../../src/models/card.js';
import { DEFAULT_CENTRE_Z_MM } from '../../src/phantoms/body/index.js';
import { IEC_DEFAULTS, iecGeometry } from '../../src/phantoms/iec.js';
import { DEFAULT_MAX_JOB_PASSES, DEFAULT_PASS_WEIGHT, PASS_COST_EDGE } from '../../src/pipeline/compute-budget.js';
import { BROTLI_QUALITY, GZIP_LEVEL } from '../../src/server/app.js';
import { DEFAULT_LIMITS, PACS_CACHE_BYTES } from '../../src/server/config.js';
import { MAX_FIELDS as UPLOAD_MAX_FIELDS } from '../../src/server/routes/uploads.js';
import { PACS_STUDY_LIMIT } from '../../src/server/schemas.js';
import { CT_DEFAULTS } from '../../src/simulate/ct.js';
import { DEFAULT_BUTTERWORTH_ORDER } from '../../src/simulate/filters.js';
import { PET_DEFAULTS } from '../../src/simulate/pet.js';
import { DEFAULT_FORWARD_FRACTIONS } from '../../src/trace/forward.js';
import { DEFAULT_MAX_COLUMNS, DEFAULT_PANEL } from '../../src/trace/render.js';
import { LOCK_HEARTBEAT_MS, LOCK_HEARTBEAT_TIMEOUT_MS } from '../../src/util/folder-lock.js';
import { runCli } from '../helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

/** The documents that describe the toolkit as it is (not the record of experiments). */
const DOCS = [
  'README.md',
  'models/README.md',
  ...['api', 'benchmarks', 'contract', 'device', 'dicom-writing', 'dicom', 'diffusion', 'filters', 'latent', 'metrics', 'pacs', 'phantoms', 'qa', 'robustness', 'scale-out', 'simulation', 'trace', 'training', 'uncertainty', 'viewer'].map((d) => `docs/${d}.md`),
];
const TEXTS = new Map(DOCS.map((file) => [file, read(file)]));

interface Stated {
  readonly file: string;
  readonly line: number;
  /** The whole phrase, for the failure message. */
  readonly phrase: string;
  /** The capture groups, as numbers (thousands separators dropped). */
  readonly values: number[];
}

const num = (text: string) => Number(text.replace(/,/g, ''));

/** Every match of `pattern` (its capture groups numbers) in the docs, line breaks read as spaces. */
function stated(pattern: RegExp, files: readonly string[] = DOCS): Stated[] {
  const found: Stated[] = [];
  for (const file of files) {
    const text = TEXTS.get(file) ?? read(file);
    // Prose is wrapped at any space: a phrase may run over a line break (with a list item's indent
    // or a `>` quote marker after it). `breaks` holds where each line break is in the flat text.
    const breaks: number[] = [];
    let removed = 0;
    const flat = text.replace(/\n[ \t]*(?:>[ \t]?)?/g, (gap: string, at: number) => {
      breaks.push(at - removed);
      removed += gap.length - 1;
      return ' ';
    });
    for (const m of flat.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))) {
      const line = 1 + breaks.filter((b) => b < m.index).length;
      found.push({ file, line, phrase: m[0], values: m.slice(1).filter((g) => g !== undefined).map(num) });
    }
  }
  return found;
}

/** Each statement's values, keyed by where it is, against the expected ones. */
function expectStated(found: readonly Stated[], expected: number[], minimum = 1): void {
  expect(found.length, 'the phrase is stated somewhere (else the pattern no longer matches the docs)').toBeGreaterThanOrEqual(minimum);
  for (const s of found) expect({ at: `${s.file}:${s.line}: ${s.phrase}`, values: s.values }).toEqual({ at: `${s.file}:${s.line}: ${s.phrase}`, values: expected });
}

/** Every command and sub-command of the CLI. */
function commands(): Command[] {
  const all: Command[] = [];
  const walk = (c: Command) => c.commands.forEach((sub) => (all.push(sub), walk(sub)));
  walk(buildProgram(() => {}));
  return all;
}

/** A --help page's text with commander's wrapping undone. */
async function help(command: string): Promise<string> {
  const run = await runCli(command, '--help');
  expect(run.code).toBe(0);
  return run.stdout.replace(/\s*\n\s*/g, ' ');
}

describe('option defaults the docs state are the CLI\'s', () => {
  it('every "`--option <arg>` (... default N ...)" in the docs gives the option\'s default', () => {
    let checked = 0;
    for (const command of commands()) {
      for (const option of command.options) {
        const value = option.defaultValue as unknown;
        const numeric = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : null;
        if (numeric === null || !option.long) continue;
        const perMs = /<ms>/.test(option.flags);
        const inParens = new RegExp(`\`${option.long}(?: <[^>]+>)?\` \\(((?:[^()]|\\([^()]*\\))*)\\)`);
        for (const s of stated(inParens)) {
          const said = /\bdefault:? (-?[\d.,]+)( ms| s\b)?/.exec(s.phrase.slice(s.phrase.indexOf('(')));
          if (!said) continue;
          const inUnits = perMs && said[2] === ' s' ? num(said[1]!) * 1000 : num(said[1]!);
          expect({ at: `${s.file}:${s.line}: lowdose ${command.name()} ${option.long}`, default: inUnits }).toEqual({ at: `${s.file}:${s.line}: lowdose ${command.name()} ${option.long}`, default: numeric });
          checked++;
        }
      }
    }
    // --attempts, --backoff, --concurrency, --stall-timeout (twice), --dicomweb-retries, --dimse-timeout, at the least
    expect(checked).toBeGreaterThanOrEqual(7);
  });
});

describe('the output folder lock (src/util/folder-lock.ts)', () => {
  it('a live run refreshes its lock every LOCK_HEARTBEAT_MS', () => {
    expectStated(stated(/modification time(?:, refreshed)? every (\d+) s\b/), [LOCK_HEARTBEAT_MS / 1000], 3);
  });

  it('another host\'s lock is taken over after LOCK_HEARTBEAT_TIMEOUT_MS without a heartbeat', () => {
    const seconds = LOCK_HEARTBEAT_TIMEOUT_MS / 1000;
    expectStated(stated(/no heartbeat for (\d+) s\b/), [seconds], 2);
    expectStated(stated(/heartbeat is (?:more than |under )?(\d+) s old/), [seconds], 3);
    expectStated(stated(/more than (\d+) s old \(ten heartbeats/), [seconds]);
    expect(LOCK_HEARTBEAT_TIMEOUT_MS / LOCK_HEARTBEAT_MS).toBe(10); // "ten heartbeats"
    expectStated(stated(/taken over once that is more than (\d+) minutes old/), [seconds / 60]);
  });
});

describe('the C-MOVE storage SCP and DIMSE receiving (src/dimse)', () => {
  it('takes DEFAULT_MAX_ASSOCIATIONS associations at once', () => {
    expectStated(stated(/(?:at most|over the limit of) (\d+) associations at once/), [DEFAULT_MAX_ASSOCIATIONS], 4);
  });

  it('takes P-DATA-TF PDUs up to DEFAULT_MAX_PDU_BYTES and other PDUs up to MAX_CONTROL_PDU_BYTES', () => {
    expectStated(stated(/(?:PDUs up to|maximum PDU length of|P-DATA-TF|more than the) (\d+) KiB/), [DEFAULT_MAX_PDU_BYTES / 1024], 4);
    expectStated(stated(/(?:any other PDU|non-data PDU over|any other PDU announcing more than) (\d+) KiB/), [MAX_CONTROL_PDU_BYTES / 1024], 3);
  });

  it('lets MAX_WAITING_CONNECTIONS more connections wait for their refusal', () => {
    expectStated(stated(/past (\d+) more connections waiting for that answer/), [MAX_WAITING_CONNECTIONS]);
    expectStated(stated(/past (\d+) \+ (\d+) open or handshaking/), [DEFAULT_MAX_ASSOCIATIONS, MAX_WAITING_CONNECTIONS]);
  });

  it('takes instances up to DEFAULT_MAX_INSTANCE_BYTES', () => {
    expectStated(stated(/instances up to (\d+) GiB/), [DEFAULT_MAX_INSTANCE_BYTES / 1024 ** 3], 2);
  });
});

describe('serve limits (src/server/config.ts DEFAULT_LIMITS) in docs/viewer.md', () => {
  const viewer = ['docs/viewer.md'];
  it('upload: per file, files, in all', () => {
    expectStated(stated(/\| an upload \| (\d+) MiB per file, (\d+) files, (\d+) GiB in all/, viewer), [DEFAULT_LIMITS.fileBytes / 1024 ** 2, DEFAULT_LIMITS.files, DEFAULT_LIMITS.totalBytes / 1024 ** 3]);
    expectStated(stated(/an upload may hold at most (\d+) files/, viewer), [DEFAULT_LIMITS.files]);
  });

  it('upload: non-file form fields (src/server/routes/uploads.ts MAX_FIELDS)', () => {
    expectStated(stated(/(\d+) non-file form fields/, viewer), [UPLOAD_MAX_FIELDS], 2);
    expectStated(stated(/an upload may hold at most (\d+) form fields besides its files/, viewer), [UPLOAD_MAX_FIELDS]);
  });

  it('a PACS study search\'s limit (src/server/schemas.ts PACS_STUDY_LIMIT)', () => {
    expectStated(stated(/up to `limit` studies \(default (\d+), at most (\d+)\)/, ['docs/pacs.md']), [PACS_STUDY_LIMIT.default, PACS_STUDY_LIMIT.maximum]);
    expectStated(stated(/\[&limit=(\d+)\]` \|/, viewer), [PACS_STUDY_LIMIT.default]);
    expectStated(stated(/at most `limit` \((\d+) to (\d+)\)/, viewer), [1, PACS_STUDY_LIMIT.maximum]);
  });

  it('the PACS cache\'s bound (src/server/config.ts PACS_CACHE_BYTES, serve --pacs-cache-size)', () => {
    expectStated(stated(/\| `--pacs-cache-size <size>` \| `(\d+)G` \|/, viewer), [PACS_CACHE_BYTES / 1024 ** 3]);
    expectStated(stated(/`--pacs-cache-size` \(default (\d+) GiB/, ['README.md']), [PACS_CACHE_BYTES / 1024 ** 3]);
    expectStated(stated(/`serve --pacs-cache-size` \(default (\d+) GiB/, ['docs/pacs.md']), [PACS_CACHE_BYTES / 1024 ** 3]);
    expectStated(stated(/`--pacs-cache-size` \((\d+) GiB by default\)/, ['docs/pacs.md']), [PACS_CACHE_BYTES / 1024 ** 3]);
    expectStated(stated(/`--memory-budget` takes it, default `(\d+)G`/, ['docs/contract.md']), [PACS_CACHE_BYTES / 1024 ** 3]);
  });

  it('disk reserve, queued jobs, event streams, pixels', () => {
    expectStated(stated(/\(`diskReserveBytes`[^|]*\| (\d+) GiB left free/, viewer), [DEFAULT_LIMITS.diskReserveBytes / 1024 ** 3], 2);
    expectStated(stated(/\(`queuedJobs`[^|]*\| (\d+) \|/, viewer), [DEFAULT_LIMITS.queuedJobs]);
    expectStated(stated(/\(`eventStreams`\) \| (\d+) /, viewer), [DEFAULT_LIMITS.eventStreams]);
    expectStated(stated(/\(`eventStreamsPerClient`[^|]*\| (\d+), so one client cannot take all (\d+)/, viewer), [DEFAULT_LIMITS.eventStreamsPerClient, DEFAULT_LIMITS.eventStreams]);
    expectStated(stated(/\(`imagePixels`\) \| (\d+) Mi pixels/, viewer), [DEFAULT_LIMITS.imagePixels / 1024 ** 2], 2);
    expectStated(stated(/for a job event stream when (\d+) are open \(or (\d+) from the client's address\)/, ['docs/contract.md']), [DEFAULT_LIMITS.eventStreams, DEFAULT_LIMITS.eventStreamsPerClient]);
  });
});

describe('the fuzzer\'s per-case bounds (scripts/fuzz/run.ts DEFAULT_LIMITS)', () => {
  it('CPU time, memory and output size per case', () => {
    expectStated(stated(/ends within (\d+) s of CPU and (\d+) GiB/), [FUZZ_LIMITS.caseMs / 1000, FUZZ_LIMITS.rssMb / 1024]);
    expectStated(stated(/use more than (\d+) s of CPU, or either of them more than (\d+) GiB of memory, and no file it writes is larger than (\d+) times its input/), [FUZZ_LIMITS.caseMs / 1000, FUZZ_LIMITS.rssMb / 1024, FUZZ_LIMITS.outputRatio]);
  });
});

describe('the fixed-seed fuzz pass npm test runs (scripts/fuzz/run.ts TEST_PASS)', () => {
  it('its cases and seed', () => {
    expectStated(stated(/fixed-seed pass of (\d+) cases/), [FUZZ_TEST_PASS.cases]);
    expectStated(stated(/`test\/fuzz\/cli-fuzz.test.ts`: (\d+) cases, seed (\d+)/), [FUZZ_TEST_PASS.cases, FUZZ_TEST_PASS.seed]);
  });
});

describe('DICOMweb retries and the body phantom (src/dicomweb/client.ts, src/phantoms/body)', () => {
  it('the retry back-off starts at DEFAULT_RETRY_DELAY_MS and doubles', () => {
    expectStated(stated(/back-off ([\d.]+) s, ([\d.]+) s, ([\d.]+) s/), [DEFAULT_RETRY_DELAY_MS / 1000, (2 * DEFAULT_RETRY_DELAY_MS) / 1000, (4 * DEFAULT_RETRY_DELAY_MS) / 1000]);
  });

  it('the body phantom\'s --centre-z default is DEFAULT_CENTRE_Z_MM', () => {
    expectStated(stated(/`--centre-z mm` \(body: height of the volume centre above the L1 vertebra, default (-?\d+)/), [DEFAULT_CENTRE_Z_MM]);
  });
});

describe('the IEC phantom\'s SUV headers (src/phantoms/iec.ts) in docs/phantoms.md', () => {
  it('the injected dose, and the activity left at the series time by the headers\' own decay', () => {
    const { pet, backgroundBqml } = iecGeometry();
    const hms = (tm: string) => Number(tm.slice(0, 2)) * 3600 + Number(tm.slice(2, 4)) * 60 + Number(tm.slice(4));
    const uptakeS = hms(pet.seriesTime) - hms(pet.injectionTime);
    // What an SUV reader divides by: the injected dose decayed from injection to the series time.
    const atScanBq = pet.injectedDoseBq * 2 ** (-uptakeS / pet.halfLifeSeconds);
    expectStated(stated(/background ([\d.]+) kBq\/ml at the series start\. Headers: F-18, (\d+) kg, injection (\d+) min before the series start/, ['docs/phantoms.md']), [backgroundBqml / 1000, pet.patientWeightKg, uptakeS / 60]);
    expectStated(stated(/\((\d+) MBq at injection = (\d+) MBq at scan time\)/, ['docs/phantoms.md']), [Math.round(pet.injectedDoseBq / 1e6), Math.round(atScanBq / 1e6)]);
    // ... which is what makes the background SUVbw 1: activity x weight / decayed dose.
    expect((backgroundBqml * pet.patientWeightKg * 1000) / atScanBq).toBeCloseTo(1, 9);
  });
});

describe('the simulator\'s physics defaults (src/simulate) in docs/simulation.md', () => {
  const simulation = ['docs/simulation.md'];
  it('CT: electronic noise, tube-current modulation, the Butterworth order', () => {
    expectStated(stated(/The default stays (\d+)\./, simulation), [CT_DEFAULTS.electronicNoise]);
    expectStated(stated(/\| defaults \(tcm ([\d.]+), bowtie [\d.]+, σe (\d+)\)/, simulation), [CT_DEFAULTS.tcm, CT_DEFAULTS.electronicNoise]);
    expectStated(stated(/order n, (\d+) by default/, simulation), [DEFAULT_BUTTERWORTH_ORDER]);
  });

  it('PET: sensitivity, frame duration, background share', () => {
    expectStated(stated(/× (\d+) cps\/kBq \(sensitivity\) × the frame duration \(from ActualFrameDuration, default (\d+) s\)/, simulation), [PET_DEFAULTS.sensitivityCpsPerKbq, PET_DEFAULTS.frameDurationS]);
    expectStated(stated(/background makes up (\d+) % of prompts/, simulation), [PET_DEFAULTS.backgroundFraction * 100]);
    expectStated(stated(/OSEM \((\d+) iterations × (\d+) subsets, attenuation, normalisation and background in the model\) and a (\d+) mm Gaussian post-filter/, simulation), [PET_DEFAULTS.iterations, PET_DEFAULTS.subsets, PET_DEFAULTS.postFilterFwhmMm]);
  });
});

describe('serve\'s response compression (src/server/app.ts)', () => {
  it('brotli quality and gzip level in docs/viewer.md and its bytes table', () => {
    expectStated(stated(/brotli quality (\d+), else gzip level (\d+)/, ['docs/viewer.md']), [BROTLI_QUALITY, GZIP_LEVEL]);
    expectStated(stated(/\| uncompressed \| gzip (\d+) \| brotli (\d+) \|/, ['docs/viewer.md']), [GZIP_LEVEL, BROTLI_QUALITY]);
  });
});

describe('serve --max-job-passes (src/pipeline/compute-budget.ts) and the cards\' pass costs', () => {
  const card = (name: string) => JSON.parse(read(`models/${name}.json`)) as { quality: Record<string, unknown> };
  const latent = passCostOf(card('lowdose-ct-latent'))!;
  const pet = passCostOf(card('lowdose-pet'))!;
  const latentPass = latent.network * (128 / PASS_COST_EDGE) ** 2;

  it('the default bound and the weight of an unmeasured network', async () => {
    expectStated(stated(/`--max-job-passes` \(default ([\d,]+)/), [DEFAULT_MAX_JOB_PASSES]);
    expectStated(stated(/default ([\d,]+) \(`DEFAULT_MAX_JOB_PASSES`\)/), [DEFAULT_MAX_JOB_PASSES]);
    expectStated(stated(/a card without (?:a measured cost|it) counts (\d+) per pixel/), [DEFAULT_PASS_WEIGHT], 2);
    const page = await help('serve');
    expect(page).toContain(`${DEFAULT_PASS_WEIGHT} where a card has none`);
    expect(page).toContain(`(default: ${DEFAULT_MAX_JOB_PASSES},`);
  });

  it('the pass costs README and --help quote are the cards\'', async () => {
    const round = (x: number, digits: number) => Number(x.toFixed(digits));
    expectStated(stated(/its 128 x 128 latent at ([\d.]+) `lowdose-ct` pixels per latent pixel/), [latent.network]);
    expectStated(stated(/its encoder and decoder runs ([\d.]+) and ([\d.]+)/), [latent.encoder!, latent.decoder!]);
    expectStated(stated(/a `lowdose-ct-latent` pass on a 512 x 512 slice ([\d.]+)/), [round(latentPass, 2)]);
    expectStated(stated(/a `lowdose-pet` pass on a 168 x 168 slice ([\d.]+)/), [round(pet.network * (168 / PASS_COST_EDGE) ** 2, 2)]);
    expectStated(stated(/counts 0\.0625 × ([\d.]+) = ([\d.]+) units/), [latent.network, round(latentPass, 3)]);
    const page = await help('serve');
    expect(page).toContain(`a lowdose-ct-latent pass on a 512 x 512 slice about ${round(latentPass, 2)} (its 128 x 128 latent at weight about ${round(latent.network, 1)})`);
  });

  it('"about N hours" is the default bound at the committed bench\'s network time per pass', async () => {
    const bench = JSON.parse(read('docs/experiments/bench-cpu.json')) as { runs: Array<{ model: string; steps: number; batch: number; modelMsPerSlice: number }> };
    const ms = bench.runs.find((r) => r.model === 'lowdose-ct' && r.steps === 1 && r.batch === 1)!.modelMsPerSlice;
    const hours = Math.round((DEFAULT_MAX_JOB_PASSES * ms) / 3.6e6);
    expectStated(stated(/about (\d+) hours of `lowdose-ct`/), [hours], 2);
    expectStated(stated(/The default compute bound is about (\d+) hours/), [hours]);
    const atOne = bench.runs.filter((r) => r.model === 'lowdose-ct' && r.steps === 1).map((r) => Math.round(r.modelMsPerSlice));
    const [lo, hi] = [Math.min(...atOne), Math.max(...atOne)];
    expect(await help('serve')).toContain(`about ${hours} hours of lowdose-ct on 512 x 512 slices at the ${lo} to ${hi} ms a pass`);
    expectStated(stated(/at the (\d+) to (\d+) ms a pass/), [lo, hi], 2);
  });
});

describe('the speed docs/benchmarks.md states is its committed table\'s', () => {
  const bench = JSON.parse(read('docs/experiments/bench-cpu.json')) as { runs: Array<{ model: string; steps: number; modelMsPerSlice: number; msPerSlice: number }>; machine: { loadAverage: number } };
  const range = (model: string, key: 'modelMsPerSlice' | 'msPerSlice') => {
    const values = bench.runs.filter((r) => r.model === model && r.steps === 1).map((r) => Math.round(r[key]));
    return [Math.min(...values), Math.max(...values)];
  };

  it('ms per CT network pass and per slice at 1 step, and the load it was measured at', () => {
    const speed = ['docs/benchmarks.md'];
    expectStated(stated(/a 512×512 CT slice takes (\d+) to (\d+) ms per network pass/, speed), range('lowdose-ct', 'modelMsPerSlice'));
    expectStated(stated(/\((\d+) to (\d+) ms per slice; a 300-slice/, speed), range('lowdose-ct', 'msPerSlice'));
    expectStated(stated(/\(2, both cores of the Intel Xeon VM of this table, load ([\d.]+)\)/, speed), [Number(bench.machine.loadAverage.toFixed(1))]);
    expectStated(stated(/VM: (\d+) to (\d+) ms per pass there/, ['docs/robustness.md']), range('lowdose-ct', 'modelMsPerSlice'));
  });
});

describe('the latent model\'s speed is its committed bench\'s (docs/experiments/latent/bench-cpu-*-1720.json)', () => {
  type Bench = { runs: Array<{ steps: number; msPerSlice: number }> };
  const latent = JSON.parse(read('docs/experiments/latent/bench-cpu-latent-1720.json')) as Bench;
  const pixel = JSON.parse(read('docs/experiments/latent/bench-cpu-pixel-1720.json')) as Bench;
  const at = (bench: Bench, steps: number) => bench.runs.find((r) => r.steps === steps)!.msPerSlice;
  const ratios = [1, 2, 4, 8].map((steps) => at(pixel, steps) / at(latent, steps));

  it('"33 against 128 ms" at 1 step and "3.9 to 4.9 times faster" over 1 to 8 steps', () => {
    expectStated(stated(/\((\d+) against (\d+) ms (?:at 1 step|per 512 x 512 slice at 1 step)/), [Math.round(at(latent, 1)), Math.round(at(pixel, 1))], 3);
    expectStated(stated(/(\d+) ms per 512 x 512 slice at 1 step on one CPU thread against (\d+) ms/), [Math.round(at(latent, 1)), Math.round(at(pixel, 1))]);
    expectStated(stated(/([\d.]+) to ([\d.]+) times faster/), [Number(Math.min(...ratios).toFixed(1)), Number(Math.max(...ratios).toFixed(1))], 4);
  });
});

describe('docs/qa.md states the shipped thresholds (qa/thresholds.json)', () => {
  const thresholds = (JSON.parse(read('qa/thresholds.json')) as { checks: Record<string, { min?: number | null; max?: number | null; minGainDb?: number; minGain?: number }> }).checks;
  /** The "default pass band" cell of each check's row of the table. */
  const bands = new Map(
    [...read('docs/qa.md').matchAll(/^\| `([a-z0-9-]+)` \| [^|]+ \| (?:[^|]|\\\|)+ \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]),
  );
  const percent = (x: number) => `${Math.round(Math.abs(x) * 100)} %`;
  const expected: Record<string, string> = {
    'noise-reduction': `≥ ${percent(thresholds['noise-reduction']!.min!)}`,
    'hu-error': `±${thresholds['hu-error']!.max} HU`,
    'cnr-ratio': `≥ ${thresholds['cnr-ratio']!.min}`,
    'contrast-retention': `≥ ${thresholds['contrast-retention']!.min}`,
    'detectability-ratio': `≥ ${thresholds['detectability-ratio']!.min}`,
    'mtf50-ratio': `${thresholds['mtf50-ratio']!.min} to ${thresholds['mtf50-ratio']!.max}`,
    'nps-peak-shift': `±${percent(thresholds['nps-peak-shift']!.max!)}`.replace('± ', '±'),
    psnr: `≥ PSNR(input) + ${thresholds.psnr!.minGainDb} dB`,
    ssim: thresholds.ssim!.minGain === 0 ? '≥ SSIM(input)' : `≥ SSIM(input) + ${thresholds.ssim!.minGain}`,
    hallucination: `≤ ${percent(thresholds.hallucination!.max!)}`,
    'suvmean-bias': `±${percent(thresholds['suvmean-bias']!.max!)}`,
    'suvmax-recovery': `${thresholds['suvmax-recovery']!.min} to ${thresholds['suvmax-recovery']!.max}`,
  };

  it('every check of qa/thresholds.json has its band in the table, as shipped', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.keys(thresholds).sort());
    for (const [check, band] of Object.entries(expected)) expect({ check, band: bands.get(check) }).toEqual({ check, band });
  });

  it('symmetric bands are symmetric in the file', () => {
    for (const check of ['hu-error', 'nps-peak-shift', 'suvmean-bias']) expect(thresholds[check]!.min).toBe(-thresholds[check]!.max!);
  });
});

describe('--help prose defaults are the code\'s', () => {
  it('trace: --fractions, --panel, --columns', async () => {
    const page = await help('trace');
    expect(page).toContain(`(default ${DEFAULT_FORWARD_FRACTIONS.join(',')})`);
    expect(page).toContain(`are shrunk (default ${DEFAULT_PANEL})`);
    expect(page).toContain(`wrap (default ${DEFAULT_MAX_COLUMNS})`);
  });

  it('phantom: iec --size and --ratio', async () => {
    const page = await help('phantom');
    expect(page).toContain(`${IEC_DEFAULTS.size} for iec`);
    expect(page).toContain(`activity ratio (default ${IEC_DEFAULTS.ratio};`);
  });

  it('denoise --low-band\'s grid and metrics --noise-rois\' flat ROI edge', async () => {
    for (const command of ['denoise', 'qa', 'bench']) expect(await help(command)).toContain(`an edge-preserving filter on a ${LOW_BAND_DEFAULT_FACTOR}x coarser grid`);
    expect(await help('metrics')).toContain(`or ${FLAT_ROI_SIZE} px flat soft-tissue ROIs`);
  });

  it('bench: --size, in --help and docs/benchmarks.md', async () => {
    expect(await help('bench')).toContain(`(default: ${DEFAULT_BENCH_SIZES.CT} for CT, ${DEFAULT_BENCH_SIZES.PT} for PET)`);
    expectStated(stated(/\| `--size <n>` \| CT (\d+), PET (\d+) \|/, ['docs/benchmarks.md']), [DEFAULT_BENCH_SIZES.CT, DEFAULT_BENCH_SIZES.PT]);
  });
});
