/**
 * `lowdose qa` as a library call: denoise the phantom fixtures' low-dose series, run every check
 * family on each phantom and dose, and write the JSON result and the HTML report into the output
 * folder. Each fixture series is denoised once per settings: outputs are kept under
 * `<out>/denoised/<settings>/` and a rerun into the same folder reuses them (`overwrite` redoes).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError, SETTINGS_ERROR_CODES, type ErrorCode } from '../errors.js';
import { modelFingerprint, resolveModelFiles } from '../models/index.js';
import { denoisePaths } from '../pipeline/denoise.js';
import { DEFAULT_MODELS } from '../models/denoiser.js';
import type { DenoiseProgress, DenoiseReport } from '../pipeline/types.js';
import { isPathWithin, makeOutputFolder, writeFileAtomic } from '../util/fs.js';
import { recordedModel, recordedPath } from '../util/recorded-path.js';
import { toolkitCheckout, toolkitIdentity } from '../util/toolkit.js';
import { runChecks } from './checks/index.js';
import { DEFAULT_FIXTURES_DIR, type QaConfig } from './config.js';
import { checkSameGrid, checkSubsetOfGrid, doseFolder, fixtureRealisations, fixtureSeriesDir, readFixtureInfo, readStack } from './fixtures.js';
import { notFirmCounts } from './margin.js';
import { writeQaHtml } from './report-html.js';
import { PHANTOM_NAMES, type CaseCurves, type PhantomName, type QaCheck, type QaDenoiseSettings, type QaModelFingerprints, type QaRealisation, type QaToolkit, type QaResult, type SliceStack } from './types.js';

export const DEFAULT_DOSES: readonly number[] = [0.25, 0.1];
export const QA_REPORT_FILE = 'qa-report.html';
export const QA_JSON_FILE = 'qa.json';

export type { QaDenoiseSettings, QaResult } from './types.js';

export interface QaOptions {
  /** Stops the run (SIGINT / SIGTERM): the series being denoised stops as in `denoise`; nothing is judged or written. */
  readonly signal?: AbortSignal;
  readonly config: QaConfig;
  /** Where results, the report and the denoised series go. */
  readonly outDir: string;
  readonly fixturesDir?: string;
  readonly phantoms?: readonly PhantomName[];
  readonly doses?: readonly number[];
  readonly denoise?: QaDenoiseSettings;
  /** Denoise again even when outputs for these settings are already in `outDir`. */
  readonly overwrite?: boolean;
  /**
   * Noise realisations per fixture to use, at most (default: every one it has; realisation 0 is
   * the committed fixture). The bias checks average over them; 1 gives the single-draw gate.
   */
  readonly realisations?: number;
  /**
   * Whether the denoiser is told each fixture's dose (default true). False runs the path of a
   * `denoise` without --dose: the network gets the unknown-dose condition and dose-gated steps (a
   * card's low-count consistency) do not run; the checks still judge each fixture at its own dose.
   */
  readonly declareDose?: boolean;
  readonly log?: (message: string) => void;
  readonly onProgress?: (event: DenoiseProgress) => void;
}



export async function runQa(options: QaOptions): Promise<QaResult> {
  const log = options.log ?? (() => {});
  const fixturesDir = path.resolve(options.fixturesDir ?? DEFAULT_FIXTURES_DIR);
  const doses = [...(options.doses ?? DEFAULT_DOSES)];
  // A fixture's dose folder is a whole percent (dose25): 0.254 would run the dose25 series while the
  // denoiser is told, and the result records, a dose it was not.
  const offFolder = doses.find((dose) => !(dose > 0 && dose < 1) || Math.abs(dose * 100 - Math.round(dose * 100)) > 1e-9);
  if (offFolder !== undefined) {
    throw new LowdoseError('E_USAGE', `doses must be fractions in (0, 1) in whole percent, as the fixtures' dose folders are (0.25 is dose25), got ${offFolder}`);
  }
  const settings = options.denoise ?? {};
  const declareDose = options.declareDose ?? true;
  const outDir = path.resolve(options.outDir);
  // Every fixture folder is checked before anything is denoised, so a typo costs nothing.
  const requested = (options.phantoms ?? PHANTOM_NAMES).map((phantom) => readFixtureInfo(fixturesDir, phantom));
  // Phantoms asked for by name are always run (a model that cannot denoise one fails it); the
  // default set keeps only the phantoms of a modality the chosen models serve, so that gating a
  // CT-only model does not fail on the PET phantom it was never meant for.
  const served = options.phantoms === undefined ? await servedModalities(settings) : null;
  const servedFixtures = served ? requested.filter((info) => served.has(info.modality)) : requested;
  const skipped = requested.filter((info) => !servedFixtures.includes(info));
  if (skipped.length > 0) log(`not testing ${skipped.map((f) => `${f.phantom} (${f.modality})`).join(', ')}: no ${[...new Set(skipped.map((f) => f.modality))].join(' or ')} model chosen (name one with --pet-model or --phantoms)`);
  // The lcd phantom's observer is cross-validated by realisation, so one realisation cannot
  // measure it: the default set leaves it out of a single-draw run (named, it runs and fails unmeasured).
  const singleDraw = options.phantoms === undefined && options.realisations === 1;
  const fixtures = singleDraw ? servedFixtures.filter((info) => info.phantom !== 'lcd') : servedFixtures;
  if (fixtures.length < servedFixtures.length) log('not testing lcd: its detectability observer needs at least 2 noise realisations (--realisations 1)');
  if (fixtures.length === 0) throw new LowdoseError('E_USAGE', 'the chosen models serve none of the phantoms');
  const phantoms = fixtures.map((info) => info.phantom);
  if (options.realisations !== undefined && !(Number.isInteger(options.realisations) && options.realisations >= 1)) {
    throw new LowdoseError('E_USAGE', `realisations must be an integer >= 1, got ${options.realisations}`);
  }
  const realisationsOfFixture = new Map(fixtures.map((info) => [info.phantom, fixtureRealisations(info, options.realisations)]));
  const cases = fixtures.flatMap((info) =>
    doses.map((dose) => ({
      info,
      dose,
      lowDir: fixtureSeriesDir(info, dose),
      realisations: realisationsOfFixture.get(info.phantom)!.map((r) => ({ realisation: r, lowDir: fixtureSeriesDir(info, dose, r) })),
    })),
  );
  for (const info of fixtures) for (const r of realisationsOfFixture.get(info.phantom)!) fixtureSeriesDir(info, 1, r);
  for (const info of fixtures) fixtureSeriesDir(info, 'truth');

  // Hashed once, before anything is denoised: what the result records is the files this run read.
  const fingerprints = await modelFingerprintsOf(settings, fixtures.map((info) => info.modality));
  // Likewise the code: the checkout as it is when the run starts.
  const toolkit = qaToolkit();
  const denoisedRoot = path.join(outDir, 'denoised', settingsTag(settings, await modelFingerprints(settings), declareDose));
  await makeOutputFolder(denoisedRoot);
  const outputs = new Map<string, { readonly dir: string; readonly seriesInstanceUid: string }>();
  const errors: QaResult['errors'] = [];
  let producedAny = false;
  let firstUsageError: LowdoseError | null = null;
  for (const dose of doses) {
    for (const modality of ['CT', 'PT'] as const) {
      const group = cases.filter((c) => c.dose === dose && c.info.modality === modality);
      if (group.length === 0) continue;
      const model = modality === 'PT' ? (settings.petModel ?? settings.model) : settings.model;
      const counted = group.map((c) => (c.realisations.length > 1 ? `${c.info.phantom} (${c.realisations.length} noise realisations)` : c.info.phantom));
      log(`denoising ${counted.join(', ')} at ${Math.round(dose * 100)} % dose (${describe(settings, model)}${declareDose ? '' : ', the dose not declared'})`);
      const report: DenoiseReport = await denoisePaths(
        group.flatMap((c) => c.realisations.map((r) => r.lowDir)),
        {
          ...withoutPetModel(settings),
          ...(model !== undefined ? { model } : {}),
          outDir: path.join(denoisedRoot, `${modality.toLowerCase()}-${doseFolder(dose)}`),
          ...(declareDose ? { doseLevel: dose } : {}),
          overwrite: Boolean(options.overwrite),
          log,
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      for (const c of group) {
        for (const { realisation, lowDir } of c.realisations) {
          const entry = report.series.find((s) => s.input.files.some((f) => isPathWithin(f, lowDir)));
          if (entry) {
            outputs.set(caseKey(c.info.phantom, dose, realisation.index), { dir: entry.output.dir, seriesInstanceUid: entry.output.seriesInstanceUid });
            producedAny = true;
            continue;
          }
          const error = report.errors.find((e) => e.path !== null && isPathWithin(e.path, lowDir)) ?? report.errors[0];
          errors.push({ path: lowDir, code: error?.code ?? 'E_INTERNAL', message: error?.message ?? 'the denoiser wrote no output' });
          if (error && SETTINGS_ERROR_CODES.has(error.code) && !firstUsageError) firstUsageError = new LowdoseError(error.code as ErrorCode, error.message);
        }
      }
    }
  }
  if (!producedAny && firstUsageError) throw firstUsageError;

  const checks: QaCheck[] = [];
  const curves: { nps: CaseCurves[]; mtf: CaseCurves[] } = { nps: [], mtf: [] };
  for (const info of fixtures) {
    const truth = await readStack(fixtureSeriesDir(info, 'truth'));
    const full = await readStack(fixtureSeriesDir(info, 1));
    checkSameGrid(truth, full, `${info.phantom} full dose`);
    const fixtureRealisationList = realisationsOfFixture.get(info.phantom)!;
    for (const dose of doses) {
      // Every realisation must have been denoised: a gate does not quietly average over fewer.
      const missing = fixtureRealisationList.find((r) => !outputs.has(caseKey(info.phantom, dose, r.index)));
      if (missing) {
        const error = errors.find((e) => e.path === fixtureSeriesDir(info, dose, missing));
        const which = missing.index === 0 ? '' : ` (noise realisation ${missing.index})`;
        checks.push(denoiseFailure(info.phantom, dose, error ? `${error.message} [${error.code}]${which}` : undefined));
        continue;
      }
      log(`checking ${info.phantom} at ${Math.round(dose * 100)} % dose`);
      const stacks: QaRealisation[] = [];
      for (const r of fixtureRealisationList) {
        const out = outputs.get(caseKey(info.phantom, dose, r.index))!;
        const low = await readStack(fixtureSeriesDir(info, dose, r));
        const denoised: SliceStack = await readStack(out.dir, out.seriesInstanceUid);
        const rFull = r.index === 0 ? full : await readStack(fixtureSeriesDir(info, 1, r));
        const what = `${info.phantom} ${doseFolder(dose)}${r.index === 0 ? '' : ` realisation ${r.index}`}`;
        // Realisation 0 is the whole fixture; the others may hold a subset of its slices (ACR: modules 1 and 2).
        const grid = r.index === 0 ? truth : rFull;
        if (r.index !== 0) checkSubsetOfGrid(truth, rFull, `${what} full dose`);
        checkSameGrid(grid, low, what);
        checkSameGrid(grid, denoised, `${what} denoised (${out.dir})`);
        stacks.push({ index: r.index, low, denoised, full: rFull });
      }
      const [first, ...rest] = stacks;
      const results = runChecks(
        { phantom: info.phantom, dose, geometry: info.geometry, truth, full, low: first!.low, denoised: first!.denoised, ...(rest.length > 0 ? { realisations: rest } : {}) },
        options.config,
      );
      for (const r of results) {
        checks.push(...r.checks);
        if (r.nps) curves.nps.push(r.nps);
        if (r.mtf) curves.mtf.push(r.mtf);
      }
    }
  }

  const passed = checks.filter((c) => c.pass).length;
  const result: QaResult = {
    checks,
    pass: checks.length > 0 && passed === checks.length,
    summary: {
      total: checks.length,
      passed,
      failed: checks.length - passed,
      ...notFirmCounts(checks),
    },
    settings: {
      method: settings.method ?? 'diffusion',
      model: (settings.method ?? 'diffusion') === 'diffusion' ? (settings.model ?? DEFAULT_MODELS.CT) : null,
      petModel: (settings.method ?? 'diffusion') === 'diffusion' ? (settings.petModel ?? settings.model ?? DEFAULT_MODELS.PT) : null,
      device: settings.device ?? null,
      steps: settings.steps ?? null,
      sampler: settings.sampler ?? null,
      guidance: settings.guidance ?? null,
      seed: settings.seed ?? 0,
      samples: settings.samples ?? 1,
      consistency: settings.consistency ?? null,
      consistencyPilot: settings.consistencyPilot ?? null,
      orientations: settings.orientations ?? null,
      lowBand: settings.lowBand ?? null,
      texture: settings.texture ?? 'smooth',
      realisations: options.realisations ?? null,
      realisationsUsed: Object.fromEntries(fixtures.map((info) => [info.phantom, realisationsOfFixture.get(info.phantom)!.length])),
      doseDeclared: declareDose,
      phantoms,
      doses,
      fixtures: fixturesDir,
      config: options.config.source,
      modelFingerprint: fingerprints,
      toolkit,
      ...(options.config.sha256 !== undefined ? { thresholdsSha256: options.config.sha256 } : {}),
      ...(options.config.defaultsSha256 !== undefined ? { defaultThresholdsSha256: options.config.defaultsSha256 } : {}),
    },
    curves,
    errors,
    outDir,
    report: path.join(outDir, QA_REPORT_FILE),
  };
  await writeFileAtomic(path.join(outDir, QA_JSON_FILE), `${JSON.stringify(jsonResult(result), null, 2)}\n`);
  await writeQaHtml(result, options.config, result.report);
  return result;
}

/**
 * What `qa --json` prints and qa.json holds: the result without the plot data, with its paths
 * (settings.fixtures, settings.config, a model given as a path, outDir, report) relative to the
 * working directory `cwd` where they lie inside it (recordedPath), so a result committed from the
 * repository root names no machine's checkout; the returned QaResult keeps them absolute.
 */
export function jsonResult(result: QaResult, cwd: string = process.cwd()): Omit<QaResult, 'curves'> {
  const { curves: _curves, ...rest } = result;
  const { settings } = rest;
  return {
    ...rest,
    settings: {
      ...settings,
      model: settings.model === null ? null : recordedModel(settings.model, cwd),
      petModel: settings.petModel === null ? null : recordedModel(settings.petModel, cwd),
      fixtures: recordedPath(settings.fixtures, cwd),
      config: recordedPath(settings.config, cwd),
    },
    outDir: recordedPath(rest.outDir, cwd),
    report: recordedPath(rest.report, cwd),
  };
}

function denoiseFailure(phantom: PhantomName, dose: number, message: string | undefined): QaCheck {
  return {
    name: `${phantom}/dose${Math.round(dose * 100)}/denoise`,
    value: 0,
    threshold: 1,
    pass: false,
    op: '>=',
    check: 'denoise',
    phantom,
    dose,
    unit: 'fraction of series denoised',
    detail: `the low-dose series could not be denoised, so none of its checks ran: ${message ?? 'unknown error'}`,
    measured: {},
    firm: null,
  };
}

/** settings.toolkit: the version, with the commit and whether it was dirty when run from a git checkout. */
function qaToolkit(): QaToolkit {
  const checkout = toolkitCheckout();
  return { version: toolkitIdentity().version, ...(checkout ? { commit: checkout.commit, dirty: checkout.dirty } : {}) };
}

/**
 * A folder name that changes whenever something that changes the output does: the settings, and
 * the model files themselves (`fingerprints`), so that a retrained model is never served from an
 * earlier run's outputs.
 */
export function settingsTag(settings: QaDenoiseSettings, fingerprints: readonly string[] = [], declareDose = true): string {
  const method = settings.method ?? 'diffusion';
  const key = JSON.stringify([
    method,
    settings.model ?? null,
    settings.petModel ?? null,
    settings.device ?? null,
    settings.steps ?? null,
    settings.sampler ?? null,
    settings.seed ?? 0,
    settings.samples ?? 1,
    settings.guidance ?? null,
    // Appended only when set, so that the folders of earlier runs keep their names.
    ...(settings.consistency !== undefined ? [['consistency', settings.consistency]] : []),
    ...(settings.consistencyPilot !== undefined ? [['consistencyPilot', settings.consistencyPilot]] : []),
    fingerprints,
    // Only when set, so that smooth runs keep the folders earlier versions made.
    ...(settings.texture && settings.texture !== 'smooth' ? [['texture', settings.texture]] : []),
    ...(settings.orientations !== undefined ? [['orientations', settings.orientations]] : []),
    ...(settings.lowBand !== undefined ? [['lowBand', settings.lowBand]] : []),
    // Only when off: the outputs of a run that declared the dose keep their folders.
    ...(declareDose ? [] : [['doseDeclared', false]]),
  ]);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  const model = method === 'diffusion' && settings.model ? `-${path.basename(settings.model).replace(/\.(json|onnx)$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-')}` : '';
  return `${method}${model}-${hash}`;
}

/** Size and modification time of each model's card and weights; a model that does not resolve is left to the pipeline to report. */
async function modelFingerprints(settings: QaDenoiseSettings): Promise<string[]> {
  if ((settings.method ?? 'diffusion') !== 'diffusion') return [];
  const names = [settings.model ?? DEFAULT_MODELS.CT, settings.petModel ?? settings.model ?? DEFAULT_MODELS.PT];
  return Promise.all(
    names.map(async (name) => {
      try {
        const files = await resolveModelFiles(name);
        // A latent model's encoder and decoder are part of its weights too.
        const codec = files.card.latent ? [files.card.latent.encoder.onnx, files.card.latent.decoder.onnx].map((f) => path.resolve(path.dirname(files.cardPath), f)) : [];
        const stamps = await Promise.all([files.cardPath, files.onnxPath, ...codec].map(async (f) => {
          const s = await stat(f);
          return `${f}:${s.size}:${s.mtimeMs}`;
        }));
        return stamps.join('|');
      } catch {
        return name;
      }
    }),
  );
}

/**
 * settings.modelFingerprint: the CT model's when a CT phantom runs, the PET model's when the PET one
 * does; null for a classical filter. A model that does not resolve is left out (the pipeline reports it).
 */
async function modelFingerprintsOf(settings: QaDenoiseSettings, modalities: readonly string[]): Promise<QaModelFingerprints | null> {
  if ((settings.method ?? 'diffusion') !== 'diffusion') return null;
  const of = async (name: string) => {
    try {
      return await modelFingerprint((await resolveModelFiles(name)).cardPath);
    } catch {
      return undefined;
    }
  };
  const ct = modalities.some((m) => m !== 'PT') ? await of(settings.model ?? DEFAULT_MODELS.CT) : undefined;
  const pet = modalities.includes('PT') ? await of(settings.petModel ?? settings.model ?? DEFAULT_MODELS.PT) : undefined;
  return { ...(ct ? { model: ct } : {}), ...(pet ? { petModel: pet } : {}) };
}

/**
 * The modalities the chosen denoisers serve (CT through `model`, PET through `petModel` or else
 * `model`), or null for a classical filter, which serves both. A model that does not resolve is
 * counted as serving its modality, so the pipeline reports it as it does today.
 */
async function servedModalities(settings: QaDenoiseSettings): Promise<Set<string> | null> {
  if ((settings.method ?? 'diffusion') !== 'diffusion') return null;
  const served = new Set<string>();
  const pairs = [['CT', settings.model ?? DEFAULT_MODELS.CT], ['PT', settings.petModel ?? settings.model ?? DEFAULT_MODELS.PT]] as const;
  for (const [modality, name] of pairs) {
    try {
      if ((await resolveModelFiles(name)).card.modalities.includes(modality)) served.add(modality);
    } catch {
      served.add(modality);
    }
  }
  return served;
}

function withoutPetModel(settings: QaDenoiseSettings): Omit<QaDenoiseSettings, 'petModel' | 'model'> {
  const { petModel: _pet, model: _model, ...rest } = settings;
  return rest;
}

function describe(settings: QaDenoiseSettings, model: string | undefined): string {
  const method = settings.method ?? 'diffusion';
  return method === 'diffusion' ? `model ${model ?? 'shipped'}` : `${method} filter`;
}

function caseKey(phantom: PhantomName, dose: number, realisation: number): string {
  return `${phantom}@${dose}#${realisation}`;
}

