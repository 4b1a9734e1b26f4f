/**
 * The QA part of the promotion rule (docs/training.md, "Promotion rule": no QA check lost): runs
 * `lowdose qa` (src/qa/run.ts, the code the CLI runs) on a candidate model and on a baseline with
 * the same phantoms, doses, seed, noise realisations, thresholds and denoiser options, and
 * compares them check by check (scripts/train/qa-compare.ts).
 *
 *   npx tsx scripts/train/qa-gate.ts --model docs/experiments/ssim/lowdose-ct-ssim3hu.json --threads 1
 *     [--baseline models/lowdose-ct.json | --baseline-json models/eval/qa-ct.json]
 *     [--phantoms water,acr,body,lcd] [--doses 0.25,0.1] [--realisations n] [--dose-unknown]
 *     [--fixtures dir] [--config thresholds.json] [-o dir] [--json comparison.json]
 *     [any denoiser option of `lowdose qa`: --device, --steps, --seed, --samples, ...]
 *
 * The baseline is by default the shipped model of the candidate's modality (models/lowdose-ct.json
 * for CT, models/lowdose-pet.json for PET), and the phantoms those of that modality (CT: water, acr,
 * body, lcd; PET: iec). `--baseline-json` takes a committed QA result of the baseline instead of
 * running it; it is used only when its settings (and each check's threshold) match the candidate's
 * run and its model is the baseline's, and refused otherwise (exit 2). A result that records its
 * model files' fingerprint (settings.modelFingerprint, src/models/fingerprint.ts) is refused too
 * (exit 2) when the baseline's card or ONNX files have changed since; one without it (written
 * before QA recorded it) is used on trust, and the gate says it is not fingerprinted. --sampler,
 * --guidance and --consistency-pilot are compared with what the baseline result records; one
 * written before QA recorded them (models/eval/qa-*.json) cannot be checked against them, and they
 * are refused with such a --baseline-json. When both results record the lowdose git commit they
 * ran at (settings.toolkit.commit) and the commits differ, the gate says so on stderr in one line
 * and goes on: the code may explain part of a difference, but it is not a reason to refuse.
 *
 * The rule, stated once in qa-compare.ts: a check the baseline passes and the candidate fails is
 * lost and fails the gate, even when the change is within the check's noise (the table says so);
 * only when QA itself calls both verdicts not firm (within 2 standard errors of the limit,
 * src/qa/margin.ts) is the loss listed as not firm and not counted.
 *
 * Prints a table (check, baseline value and verdict, candidate value and verdict, change) and the
 * lost / gained lists. Exit 0: nothing lost; 1: a check lost; 2: bad usage, or the two results not
 * comparable. `--json <file>` writes the comparison (`-` for stdout), its paths (`baselineSource`,
 * `candidateCard`, the models and `settings`) relative to the working directory where they lie inside it,
 * as qa.json records them (src/util/recorded-path.ts), so a committed comparison names no checkout. The QA runs (qa.json, the
 * report and the denoised series) go to <out>/baseline and <out>/candidate; a rerun into the same
 * -o reuses the denoised series, as `lowdose qa` does.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { parseDoses, parsePhantoms, parseRealisations } from '../../src/cli/commands/qa.js';
import { addDenoiserOptions, denoiserSettings, type DenoiserCliOptions } from '../../src/cli/denoiser-options.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../src/exit-codes.js';
import { DEFAULT_MODELS } from '../../src/models/denoiser.js';
import { modelFingerprint } from '../../src/models/fingerprint.js';
import { resolveModelFiles } from '../../src/models/load.js';
import { DEFAULT_FIXTURES_DIR, fixtureRealisations, jsonResult, loadQaConfig, readFixtureInfo, runQa, type PhantomName, type QaDenoiseSettings } from '../../src/qa/index.js';
import { recordedPath } from '../../src/util/recorded-path.js';
import { baselineFingerprintCheck, compareQa, formatComparison, parseQaJson, QaGateMismatch, settingsDifferences, toolkitCommitNote, type QaJson } from './qa-compare.js';

interface GateCliOptions extends DenoiserCliOptions {
  baseline?: string;
  baselineJson?: string;
  phantoms?: string;
  doses: string;
  realisations?: string;
  doseUnknown?: boolean;
  fixtures?: string;
  config?: string;
  output?: string;
  json?: string;
}

/** The phantoms a model of each modality is gated on (docs/qa.md: the CT fixtures, and the PET one). */
const GATE_PHANTOMS: Readonly<Record<'CT' | 'PT', readonly PhantomName[]>> = { CT: ['water', 'acr', 'body', 'lcd'], PT: ['iec'] };

const log = (message: string) => process.stderr.write(`${message}\n`);

class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('qa-gate')
    .description('compare `lowdose qa` of a candidate model with a baseline, check by check; exit 1 when a check the baseline passes is lost')
    .option('--baseline <name|path>', "the baseline model (default: the shipped model of the candidate's modality)")
    .option('--baseline-json <file>', "a committed QA result of the baseline (e.g. models/eval/qa-ct.json), used instead of running it when its settings match")
    .option('--phantoms <list>', "comma-separated phantoms (default: CT water,acr,body,lcd; PET iec; by the candidate card's modalities)")
    .option('--doses <list>', 'comma-separated dose fractions', '0.25,0.1')
    .option('--realisations <n>', 'noise realisations per fixture (default: all the fixtures have)')
    .option('--dose-unknown', "do not tell the denoiser the fixtures' dose (qa --dose-unknown)")
    .option('--fixtures <dir>', "fixture folder (default: the package's fixtures/)")
    .option('--config <file>', 'thresholds JSON merged over the shipped qa/thresholds.json')
    .option('-o, --output <dir>', 'folder for the two QA runs (default: a new temporary folder)')
    .option('--json <file>', 'write the comparison as JSON to <file> (- for stdout)');
  addDenoiserOptions(program);
  program.exitOverride();
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<GateCliOptions>();

  if (opts.model === undefined) throw new UsageError('--model <candidate card> is required');
  if (opts.method !== 'diffusion') throw new UsageError('the gate compares models: --method must be diffusion');
  const candidate = await resolveModelFiles(opts.model);
  const modalities = candidate.card.modalities.filter((m): m is 'CT' | 'PT' => m === 'CT' || m === 'PT');
  if (modalities.length === 0) throw new UsageError(`${candidate.cardPath}: the card serves neither CT nor PT`);
  const phantoms = opts.phantoms !== undefined ? parsePhantoms(opts.phantoms) : modalities.flatMap((m) => GATE_PHANTOMS[m]);
  const doses = parseDoses(opts.doses);
  const realisations = opts.realisations !== undefined ? parseRealisations(opts.realisations) : undefined;
  const fixturesDir = path.resolve(opts.fixtures ?? DEFAULT_FIXTURES_DIR);
  const isPet = (phantom: PhantomName) => readFixtureInfo(fixturesDir, phantom).modality === 'PT';
  const shared = denoiserSettings(opts);
  const { model: _candidateModel, ...common } = shared;
  // The baseline: --baseline for every modality, else each modality's shipped model.
  const baselineCt = (await resolveModelFiles(opts.baseline ?? DEFAULT_MODELS.CT)).cardPath;
  const baselinePt = (await resolveModelFiles(opts.baseline ?? DEFAULT_MODELS.PT)).cardPath;
  const candidateSettings: QaDenoiseSettings = { ...common, model: candidate.cardPath, petModel: candidate.cardPath };
  const baselineSettings: QaDenoiseSettings = { ...common, model: baselineCt, petModel: baselinePt };

  const config = loadQaConfig(opts.config);
  const outDir = path.resolve(opts.output ?? mkdtempSync(path.join(tmpdir(), 'lowdose-qa-gate-')));
  const run = (which: 'baseline' | 'candidate', denoise: QaDenoiseSettings) =>
    runQa({
      config,
      outDir: path.join(outDir, which),
      phantoms,
      doses,
      ...(realisations !== undefined ? { realisations } : {}),
      ...(opts.doseUnknown ? { declareDose: false } : {}),
      denoise,
      fixturesDir,
      log: (message) => log(`[${which}] ${message}`),
    }).then(jsonResult);

  let baseline: QaJson;
  if (opts.baselineJson !== undefined) {
    baseline = readBaselineJson(opts.baselineJson);
    // A result written before QA recorded them lacks these settings: it cannot be checked against them.
    const recorded = baseline.settings;
    const unrecorded = (['sampler', 'guidance', 'consistencyPilot'] as const).filter((key) => shared[key] !== undefined && recorded[key] === undefined);
    if (unrecorded.length > 0) throw new UsageError(`--baseline-json: ${opts.baselineJson} does not record ${unrecorded.join(', ')}, so it cannot be checked against them; run the baseline instead (leave out --baseline-json)`);
    // What the run will cover is known now: a result of other phantoms, doses or realisations is
    // refused before the candidate runs (its model checks would read a phantom it lacks as unrecorded).
    // The realisations each phantom will run are those its fixture has, up to --realisations.
    const realisationsUsed = Object.fromEntries(phantoms.map((p) => [p, fixtureRealisations(readFixtureInfo(fixturesDir, p), realisations).length]));
    const runShape = { ...baseline.settings, phantoms, doses, realisations: realisations ?? null, realisationsUsed, doseDeclared: !opts.doseUnknown };
    const shapeDifferences = settingsDifferences(baseline.settings, runShape);
    if (shapeDifferences.length > 0) throw new QaGateMismatch(shapeDifferences);
    await checkBaselineModels(baseline, opts.baselineJson, phantoms.map(isPet), baselineCt, baselinePt);
    log(`baseline: ${opts.baselineJson} (${baseline.summary.passed} of ${baseline.summary.total} passed)`);
  } else {
    baseline = await run('baseline', baselineSettings);
  }
  const candidateResult = await run('candidate', candidateSettings);
  const comparison = compareQa(baseline, candidateResult);
  // A committed baseline may predate the code the candidate ran with: said, not refused.
  const commitNote = toolkitCommitNote(baseline.settings, candidateResult.settings);
  if (commitNote) log(commitNote);
  // With --json - stdout carries the comparison JSON alone, so the table goes to stderr.
  (opts.json === '-' ? process.stderr : process.stdout).write(`${formatComparison(comparison)}\n`);
  log(`QA runs: ${outDir}`);
  if (opts.json !== undefined) {
    const document = {
      command: `npx tsx scripts/train/qa-gate.ts ${argv.join(' ')}`,
      // What the baseline is: the committed result, else the baseline model card(s) run.
      // Paths as qa.json records them (relative to the working directory inside it): a committed comparison names no checkout.
      baselineSource:
        opts.baselineJson !== undefined ? recordedPath(opts.baselineJson) : [...new Set(phantoms.map((p) => recordedPath(isPet(p) ? baselinePt : baselineCt)))].join(' + '),
      candidateCard: recordedPath(candidate.cardPath),
      ...comparison,
    };
    const text = `${JSON.stringify(document, null, 2)}\n`;
    if (opts.json === '-') process.stdout.write(text);
    else writeFileSync(opts.json, text);
  }
  return comparison.pass ? EXIT_OK : EXIT_FAILED;
}

/**
 * The committed result --baseline-json names. One that cannot be read or is not a QA result is bad
 * usage (exit 2), not a lost check: exit 1 means a loss, and promote.py reads it so.
 */
function readBaselineJson(file: string): QaJson {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--baseline-json ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    return parseQaJson(text, file);
  } catch (error) {
    throw new UsageError(error instanceof SyntaxError ? `--baseline-json ${file} is not valid JSON: ${error.message}` : `--baseline-json ${(error as Error).message}`);
  }
}

/**
 * A committed baseline must be of the baseline model as it is now: its CT model (when it has CT
 * phantoms) and PET model (when it has the PET one) must resolve to the baseline's cards, and where
 * the result records their fingerprint, it must be that of the cards' files now.
 */
async function checkBaselineModels(baseline: QaJson, source: string, petPhantoms: readonly boolean[], ct: string, pt: string): Promise<void> {
  const wanted: Array<[string | null, string, 'model' | 'petModel']> = [];
  if (petPhantoms.some((pet) => !pet)) wanted.push([baseline.settings.model, ct, 'model']);
  if (petPhantoms.some((pet) => pet)) wanted.push([baseline.settings.petModel ?? baseline.settings.model, pt, 'petModel']);
  for (const [name, card, key] of wanted) {
    const resolved = name === null ? null : (await resolveModelFiles(name).catch(() => null))?.cardPath ?? null;
    if (resolved !== card) throw new QaGateMismatch([`${source}: settings.${key} is ${JSON.stringify(name)}, not the baseline ${card}`]);
  }
  const current = Object.fromEntries(await Promise.all(wanted.map(async ([, card, key]) => [key, await modelFingerprint(card)] as const)));
  const { differences, unfingerprinted } = baselineFingerprintCheck(baseline, source, current);
  if (differences.length > 0) throw new QaGateMismatch([...differences, `regenerate ${source} with the baseline as it is now, or leave out --baseline-json to run it`]);
  for (const key of unfingerprinted) log(`${source}: settings.modelFingerprint.${key} absent (a result written before QA recorded it): not fingerprinted, trusted to be of ${key === 'model' ? ct : pt} as it is now`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as { code?: string }).code;
    // commander's own --help / --version exits are not errors.
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return;
    const usage = error instanceof UsageError || error instanceof QaGateMismatch || (typeof code === 'string' && (code.startsWith('commander.') || code === 'E_USAGE' || code === 'E_NOT_FOUND' || code === 'E_MODEL'));
    if (!(typeof code === 'string' && code.startsWith('commander.'))) log(`qa-gate: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILED;
  },
);
