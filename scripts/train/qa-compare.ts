/**
 * The comparison behind the QA promotion gate (scripts/train/qa-gate.ts): two `lowdose qa` results
 * (the JSON `qa --json` prints and qa.json holds), a baseline and a candidate, check by check.
 *
 * A check is matched by its name (`<phantom>/dose<pct>/<check>[/<subject>]`), and its kind,
 * phantom, dose, operator and threshold must agree too: a comparison across other thresholds,
 * phantoms or denoiser settings would say nothing about the network, so it is refused
 * (`QaGateMismatch`) rather than made.
 *
 * The rule (docs/training.md, "Promotion rule"): a check the baseline passes and the candidate
 * fails is lost, and a lost check fails the gate, whether or not the change lies within the
 * check's noise. The one exception is QA's own notion of a verdict that does not stand
 * (src/qa/margin.ts, `firm`: the value within 2 standard errors of its limit): when QA calls both
 * the baseline's pass and the candidate's failure not firm, both values sit within their noise of
 * the same limit and another set of noise realisations could swap the verdicts, so the loss is
 * listed as not firm and does not fail the gate. A candidate that leaves a firm pass for a
 * not-firm failure has moved by more than the baseline's noise allowed: that loss counts. A check
 * the baseline has and the candidate lacks (the candidate could not be denoised for it) counts as
 * lost when the baseline passed it.
 *
 * Independently of the rule, each changed check says whether the two values differ by less than
 * 2 combined standard errors (`withinNoise`), for the reader; it changes no verdict.
 */
import { fingerprintDifferences, type ModelFingerprint } from '../../src/models/fingerprint.js';
import { formatValue, formatVerdict } from '../../src/qa/format.js';
import { FIRM_MARGIN_SE } from '../../src/qa/margin.js';
import type { QaCheck, QaModelFingerprints, QaResult } from '../../src/qa/types.js';

/** What `qa --json` prints and qa.json holds (src/qa/run.ts `jsonResult`). */
export type QaJson = Omit<QaResult, 'curves'>;

/** The comparison cannot be made: the two results were not measured the same way. */
export class QaGateMismatch extends Error {
  constructor(readonly differences: readonly string[]) {
    super(`the baseline and candidate QA results were not measured the same way:\n  ${differences.join('\n  ')}`);
    this.name = 'QaGateMismatch';
  }
}

/**
 * The settings that change what QA measures apart from the network itself. `model` and `petModel`
 * are left out (they are what is compared); `fixtures` and `config` are paths, compared by what
 * they name (`sameSource`); the thresholds themselves are compared check by check.
 */
const SAME_SETTINGS = ['method', 'device', 'steps', 'sampler', 'guidance', 'seed', 'samples', 'consistency', 'consistencyPilot', 'orientations', 'lowBand', 'texture', 'doseDeclared'] as const;

/** Every way the two results' settings differ, as lines for humans; empty when they match. */
export function settingsDifferences(baseline: QaJson['settings'], candidate: QaJson['settings']): string[] {
  const out: string[] = [];
  for (const key of SAME_SETTINGS) {
    // A field a result from an older version lacks reads as its default (null).
    const b = baseline[key] ?? null;
    const c = candidate[key] ?? null;
    if (b !== c) out.push(`settings.${key}: baseline ${JSON.stringify(b)}, candidate ${JSON.stringify(c)}`);
  }
  out.push(...realisationDifferences(baseline, candidate));
  for (const key of ['phantoms', 'doses'] as const) {
    const b = [...baseline[key]].map(String).sort();
    const c = [...candidate[key]].map(String).sort();
    if (b.join(',') !== c.join(',')) out.push(`settings.${key}: baseline ${b.join(',')}, candidate ${c.join(',')}`);
  }
  if (!sameSource(baseline.fixtures, candidate.fixtures, 'fixtures')) out.push(`settings.fixtures: baseline ${baseline.fixtures}, candidate ${candidate.fixtures}`);
  if (!sameSource(baseline.config, candidate.config, 'qa/thresholds.json')) out.push(`settings.config: baseline ${baseline.config}, candidate ${candidate.config}`);
  return out;
}

/**
 * The noise realisations the two results averaged over. Where both record what ran
 * (`settings.realisationsUsed`, per phantom), that is compared for the phantoms both tested: the
 * number asked for (`settings.realisations`) is a limit, and the same limit over fixtures with
 * other realisation counts runs other averages (while `--realisations 8` and the default run the
 * same where the fixtures have 8). A result that lacks it (written before QA recorded it) is
 * compared by the number asked for.
 */
function realisationDifferences(baseline: QaJson['settings'], candidate: QaJson['settings']): string[] {
  const b = baseline.realisationsUsed;
  const c = candidate.realisationsUsed;
  if (b === undefined || c === undefined) {
    const asked = (settings: QaJson['settings']) => settings.realisations ?? null;
    return asked(baseline) === asked(candidate) ? [] : [`settings.realisations: baseline ${JSON.stringify(asked(baseline))}, candidate ${JSON.stringify(asked(candidate))}`];
  }
  const both = baseline.phantoms.filter((p) => candidate.phantoms.includes(p));
  return both
    .filter((p) => (b[p] ?? null) !== (c[p] ?? null))
    .map((p) => `settings.realisationsUsed.${p}: baseline ${JSON.stringify(b[p] ?? null)}, candidate ${JSON.stringify(c[p] ?? null)}`);
}

/**
 * Two paths name the same source when they are equal, or when both are the package's own (they
 * are or end in `packaged`, e.g. `fixtures` or `qa/thresholds.json`): a committed result holds
 * the path relative to the checkout it ran in (`fixtures`; one written before results recorded
 * relative paths, the absolute path of that checkout), a run here the path in this checkout. What
 * the files held then is checked through the thresholds of each check; the fixtures' content is
 * taken on trust.
 */
function sameSource(a: string, b: string, packaged: string): boolean {
  if (a === b) return true;
  const own = (p: string) => {
    const normalised = p.replace(/\\/g, '/').replace(/\/+$/, '').replace(/^(\.\/)+/, '');
    return normalised === packaged || normalised.endsWith(`/${packaged}`);
  };
  return own(a) && own(b);
}

/**
 * A committed baseline result against the baseline model files as they are now: for each of its
 * models (`model` for the CT phantoms, `petModel` for the PET one) that the gate uses, the
 * recorded fingerprint (settings.modelFingerprint, src/models/fingerprint.ts) must equal the
 * current one, or the result was measured with other files (retrained weights, a changed card
 * setting) and says nothing about the baseline now: `differences` lists how, and the gate refuses.
 * A result without a fingerprint (written before QA recorded it) cannot be checked: its models
 * are listed in `unfingerprinted`, and the gate uses it on trust and says so.
 */
export function baselineFingerprintCheck(
  baseline: QaJson,
  source: string,
  current: Readonly<Partial<Record<keyof QaModelFingerprints, ModelFingerprint>>>,
): { differences: string[]; unfingerprinted: string[] } {
  const differences: string[] = [];
  const unfingerprinted: string[] = [];
  for (const key of ['model', 'petModel'] as const) {
    const now = current[key];
    if (!now) continue;
    const recorded = baseline.settings.modelFingerprint?.[key];
    if (!recorded || typeof recorded.sha256 !== 'string') {
      unfingerprinted.push(key);
      continue;
    }
    differences.push(...fingerprintDifferences(recorded, now).map((d) => `${source}: settings.modelFingerprint.${key} is not of the baseline's files now: ${d}`));
  }
  return { differences, unfingerprinted };
}

/**
 * A note for the reader, never a refusal: the two results were measured with lowdose at
 * different git commits (settings.toolkit.commit, recorded where QA ran from a checkout), so a
 * change may come from the code as well as from the model. Null when either result lacks a commit
 * (an installed package, a result written before QA recorded it) or the commits are equal.
 */
export function toolkitCommitNote(baseline: QaJson['settings'], candidate: QaJson['settings']): string | null {
  const b = baseline.toolkit;
  const c = candidate.toolkit;
  if (typeof b?.commit !== 'string' || typeof c?.commit !== 'string' || b.commit === c.commit) return null;
  const side = (t: NonNullable<QaJson['settings']['toolkit']>) => `${t.commit}${t.dirty ? ' (dirty)' : ''}`;
  return `note: the baseline was measured with lowdose at commit ${side(b)}, the candidate at ${side(c)}; differences may come from the code too`;
}

/** One side of a compared check. */
export interface GateSide {
  readonly value: number | null;
  readonly pass: boolean;
  readonly firm: boolean | null;
  readonly standardError: number | null;
  /** The value as the QA table prints it (with ± SE where it has one). */
  readonly text: string;
  /** PASS / FAIL, and how close to the limit when QA calls it not firm. */
  readonly verdict: string;
}

/**
 * - `lost`: the baseline passes, the candidate fails (or lacks the check); counts against the gate.
 * - `lost-not-firm`: lost, but QA calls both verdicts not firm; shown, does not count.
 * - `gained`: the baseline fails, the candidate passes.
 * - `passed` / `failed`: the same verdict in both.
 * - `new`: only the candidate has the check (never counts).
 */
export type GateChange = 'lost' | 'lost-not-firm' | 'gained' | 'passed' | 'failed' | 'new';

export interface GateRow {
  readonly name: string;
  readonly check: string;
  readonly phantom: string;
  readonly dose: number;
  readonly unit: string;
  readonly threshold: QaCheck['threshold'];
  readonly op: QaCheck['op'];
  readonly baseline: GateSide | null;
  readonly candidate: GateSide | null;
  readonly change: GateChange;
  /**
   * Whether |candidate − baseline| < 2 × sqrt(SE_b² + SE_c²); null when either side has no value
   * or no standard error. For the reader only: the rule reads QA's `firm`, not this.
   */
  readonly withinNoise: boolean | null;
}

export interface GateComparison {
  /** True when no check is lost (`lost` is empty). */
  readonly pass: boolean;
  /** Names of the checks lost: each fails the gate. */
  readonly lost: string[];
  /** Names of the checks lost where QA calls both verdicts not firm: shown, not counted. */
  readonly lostNotFirm: string[];
  readonly gained: string[];
  readonly rows: GateRow[];
  readonly baseline: { readonly model: string | null; readonly petModel: string | null; readonly summary: QaJson['summary'] };
  readonly candidate: { readonly model: string | null; readonly petModel: string | null; readonly summary: QaJson['summary'] };
  /** The settings both were measured with (the candidate's; they match the baseline's). */
  readonly settings: QaJson['settings'];
}

/**
 * Compares `candidate` with `baseline` check by check (the module comment has the rule). Throws
 * QaGateMismatch when their settings differ or a check of the same name differs in kind, phantom,
 * dose, operator or threshold.
 */
export function compareQa(baseline: QaJson, candidate: QaJson): GateComparison {
  const differences = settingsDifferences(baseline.settings, candidate.settings);
  const candidateByName = new Map(candidate.checks.map((c) => [c.name, c]));
  for (const b of baseline.checks) {
    const c = candidateByName.get(b.name);
    if (c) differences.push(...checkDifferences(b, c));
  }
  if (differences.length > 0) throw new QaGateMismatch(differences);

  const rows: GateRow[] = [];
  const baselineNames = new Set<string>();
  for (const b of baseline.checks) {
    baselineNames.add(b.name);
    const c = candidateByName.get(b.name) ?? null;
    rows.push(row(b, c, change(b, c)));
  }
  for (const c of candidate.checks) if (!baselineNames.has(c.name)) rows.push(row(c, null, 'new', c));
  const named = (which: GateChange) => rows.filter((r) => r.change === which).map((r) => r.name);
  const lost = named('lost');
  return {
    pass: lost.length === 0,
    lost,
    lostNotFirm: named('lost-not-firm'),
    gained: named('gained'),
    rows,
    baseline: { model: baseline.settings.model, petModel: baseline.settings.petModel, summary: baseline.summary },
    candidate: { model: candidate.settings.model, petModel: candidate.settings.petModel, summary: candidate.summary },
    settings: candidate.settings,
  };
}

function change(b: QaCheck, c: QaCheck | null): GateChange {
  if (c === null) return b.pass ? 'lost' : 'failed';
  if (b.pass && !c.pass) return b.firm === false && c.firm === false ? 'lost-not-firm' : 'lost';
  if (!b.pass && c.pass) return 'gained';
  return b.pass ? 'passed' : 'failed';
}

/** Ways a check of the same name was judged differently; empty when it was judged alike. */
function checkDifferences(b: QaCheck, c: QaCheck): string[] {
  const out: string[] = [];
  for (const key of ['check', 'phantom', 'dose', 'op', 'unit'] as const) {
    if (b[key] !== c[key]) out.push(`${b.name}: ${key} baseline ${JSON.stringify(b[key])}, candidate ${JSON.stringify(c[key])}`);
  }
  if (JSON.stringify(b.threshold) !== JSON.stringify(c.threshold)) {
    out.push(`${b.name}: threshold baseline ${JSON.stringify(b.threshold)}, candidate ${JSON.stringify(c.threshold)}`);
  }
  return out;
}

/** `first` supplies the check's identity (the baseline's, or the candidate's for a new check). */
function row(b: QaCheck, c: QaCheck | null, which: GateChange, first: QaCheck = b): GateRow {
  const baseline = which === 'new' ? null : side(b);
  const candidate = which === 'new' ? side(first) : c === null ? null : side(c);
  return {
    name: first.name,
    check: first.check,
    phantom: first.phantom,
    dose: first.dose,
    unit: first.unit,
    threshold: first.threshold,
    op: first.op,
    baseline,
    candidate,
    change: which,
    withinNoise: baseline && candidate ? withinNoise(baseline, candidate) : null,
  };
}

function side(check: QaCheck): GateSide {
  const se = check.measured.standardError;
  return {
    value: check.value,
    pass: check.pass,
    firm: check.firm,
    standardError: typeof se === 'number' && Number.isFinite(se) ? se : null,
    text: formatValue(check),
    verdict: formatVerdict(check),
  };
}

function withinNoise(b: GateSide, c: GateSide): boolean | null {
  if (b.value === null || c.value === null || b.standardError === null || c.standardError === null) return null;
  return Math.abs(c.value - b.value) < FIRM_MARGIN_SE * Math.hypot(b.standardError, c.standardError);
}

/** The gate's table: every check with both sides, then the lost / not-firm / gained lists and the verdict line. */
export function formatComparison(comparison: GateComparison): string {
  const mark: Record<GateChange, string> = { lost: 'LOST', 'lost-not-firm': 'lost (not firm)', gained: 'gained', passed: '', failed: '', new: 'new' };
  const cells = comparison.rows.map((r) => [
    r.name,
    r.baseline ? r.baseline.text : '-',
    r.baseline ? r.baseline.verdict : 'absent',
    r.candidate ? r.candidate.text : '-',
    r.candidate ? r.candidate.verdict : 'absent',
    [mark[r.change], r.change !== 'passed' && r.change !== 'failed' && r.withinNoise ? 'within noise' : ''].filter(Boolean).join(', '),
  ]);
  const header = ['check', 'baseline', 'verdict', 'candidate', 'verdict', 'change'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (row: readonly string[]) => row.map((cell, i) => (i === 1 || i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const list = (title: string, names: readonly string[]) => (names.length === 0 ? [] : [`${title}:`, ...names.map((n) => `  ${n}`)]);
  const { baseline, candidate } = comparison;
  const verdict = comparison.pass
    ? `QA GATE PASS: no check lost (baseline ${baseline.summary.passed} of ${baseline.summary.total} passed, candidate ${candidate.summary.passed} of ${candidate.summary.total})`
    : `QA GATE FAIL: ${comparison.lost.length} check${comparison.lost.length === 1 ? '' : 's'} lost (baseline ${baseline.summary.passed} of ${baseline.summary.total} passed, candidate ${candidate.summary.passed} of ${candidate.summary.total})`;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    '',
    ...list('lost (the baseline passes, the candidate fails)', comparison.lost),
    ...list('lost, not firm (QA calls both verdicts not firm; not counted)', comparison.lostNotFirm),
    ...list('gained (the baseline fails, the candidate passes)', comparison.gained),
    verdict,
  ].join('\n');
}

/**
 * A QA result read from a file (a committed baseline such as models/eval/qa-ct.json): the shape
 * this comparison reads, checked enough that a wrong file is refused by name.
 */
export function parseQaJson(text: string, source: string): QaJson {
  const data = JSON.parse(text) as Partial<QaJson>;
  if (!data || !Array.isArray(data.checks) || typeof data.settings !== 'object' || data.settings === null || typeof data.summary !== 'object') {
    throw new Error(`${source}: not a lowdose qa result (no checks, settings and summary)`);
  }
  for (const c of data.checks) {
    if (typeof c?.name !== 'string' || typeof c.pass !== 'boolean' || typeof c.measured !== 'object') throw new Error(`${source}: a check without name, pass or measured`);
  }
  return data as QaJson;
}
