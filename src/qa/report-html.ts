/**
 * `<out>/qa-report.html`: one self-contained page (inline CSS and SVG, no scripts, no external
 * assets) with the verdict, the settings, the check table, the NPS and MTF curves of low dose,
 * denoised and full dose for each phantom and dose, the model observer's d' on the lcd phantom, and
 * the thresholds with their reasons.
 */
import type { QaConfig } from './config.js';
import { formatSummary, formatThreshold, formatValue, formatVerdict } from './format.js';
import { FIRM_MARGIN_SE } from './margin.js';
import { fmt } from './judge.js';
import { escapeXml as esc, linePlot } from './svg.js';
import type { CaseCurves, Curve, PhantomName, QaResult } from './types.js';
import { writeFileAtomic } from '../util/fs.js';

const COLORS = { low: '#d62728', denoised: '#1f77b4', full: '#2ca02c' } as const;

export async function writeQaHtml(result: QaResult, config: QaConfig, file: string): Promise<void> {
  await writeFileAtomic(file, renderQaHtml(result, config));
}

/** --realisations is a limit: a fixture with fewer uses all it has (each check's measured.realisations says how many). */
function realisationsSetting(asked: number | null, used: QaResult['settings']['realisationsUsed']): string {
  const asWords = asked === null ? 'all the fixtures have (bias checks: mean over them)' : asked === 1 ? '1: the committed series alone' : `at most ${asked} per fixture (bias checks: mean over them)`;
  // Absent in a qa.json written before it was recorded.
  if (used === undefined || asked === 1) return asWords;
  return `${asWords}; used: ${Object.entries(used).map(([phantom, n]) => `${phantom} ${n}`).join(', ')}`;
}

/**
 * Why a curve section is empty: its check measures the curves, so a check turned off in the
 * thresholds draws none even when its phantom ran (the NPS is the water phantom's alone).
 */
function noCurves(what: string, check: 'nps-peak-shift' | 'mtf50-ratio', phantom: PhantomName, result: QaResult, config: QaConfig): string {
  if (!config.checks[check].enabled) return `<p>No ${what}: the <code>${check}</code> check that measures it is off in the thresholds.</p>`;
  if (!result.settings.phantoms.includes(phantom)) return `<p>No ${what} (no ${phantom} fixture in this run).</p>`;
  return `<p>No ${what} measured.</p>`;
}

export function renderQaHtml(result: QaResult, config: QaConfig): string {
  const s = result.settings;
  const verdict = result.pass ? 'PASS' : 'FAIL';
  const rows = result.checks
    .map(
      (c) =>
        `<tr class="${c.pass ? 'pass' : 'fail'}${c.firm === false ? ' not-firm' : ''}"><td><code>${esc(c.name)}</code></td><td class="num">${esc(formatValue(c))}</td>` +
        `<td class="num">${esc(formatThreshold(c))}</td><td>${esc(formatVerdict(c))}</td><td class="detail">${esc(c.detail)}</td></tr>`,
    )
    .join('\n');
  // The diffusion model's settings: '-' for a classical filter, which runs none of them.
  const model = (value: string | number | null | undefined) => (s.method === 'diffusion' ? cardDefault(value) : '-');
  const settingsRows = [
    ['method', s.method],
    ['model (CT)', s.model ?? '-'],
    ['model (PET)', s.petModel ?? '-'],
    ['device', s.device ?? 'auto'],
    ['steps', model(s.steps)],
    ['sampler', model(s.sampler)],
    ['guidance', model(s.guidance)],
    ['seed', String(s.seed)],
    ['samples', String(s.samples)],
    ['orientations', model(s.orientations)],
    ['consistency', model(s.consistency)],
    ['consistency pilot', model(s.consistencyPilot)],
    ['low band', model(s.lowBand)],
    ['texture', s.texture],
    ['phantoms', s.phantoms.join(', ')],
    ['doses', s.doses.map((d) => `${Math.round(d * 100)} %`).join(', ')],
    // Absent in a qa.json written before the flag: those runs declared it.
    ['dose told to the denoiser', s.doseDeclared === false ? 'no (--dose-unknown: the path of a denoise without --dose)' : 'yes'],
    ['noise realisations', realisationsSetting(s.realisations, s.realisationsUsed)],
    ['fixtures', s.fixtures],
    ['thresholds', s.thresholdsSha256 ? `${s.config} (sha256 ${s.thresholdsSha256.slice(0, 12)})` : s.config],
    // Absent in a qa.json written before it was recorded.
    ['lowdose', s.toolkit ? toolkitText(s.toolkit) : '-'],
    // The fingerprint qa.json records in full (settings.modelFingerprint), shortened.
    ['model files (sha256)', modelFilesText(s.modelFingerprint)],
  ]
    .map(([k, v]) => `<tr><th>${esc(k!)}</th><td>${esc(v!)}</td></tr>`)
    .join('\n');
  const errors = result.errors.length
    ? `<h2>Errors</h2><ul>${result.errors.map((e) => `<li><code>${esc(e.code)}</code> ${esc(e.path ?? '')}: ${esc(e.message)}</li>`).join('')}</ul>`
    : '';
  const thresholds = Object.entries(config.checks)
    .map(([name, c]) => {
      const bounds = 'max' in c ? `min ${c.min ?? '-'}, max ${c.max ?? '-'}` : `min ${c.min ?? '-'}`;
      const extra = Object.entries(c)
        .filter(([k]) => !['enabled', 'why', 'min', 'max'].includes(k))
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ');
      return `<tr><td><code>${esc(name)}</code></td><td>${c.enabled ? 'on' : 'off'}</td><td>${esc([bounds, extra].filter(Boolean).join(', '))}</td><td>${esc(c.why)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lowdose QA: ${verdict}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 .verdict { padding: 2px 10px; border-radius: 4px; color: #fff; }
.PASS { background: #2e7d32; } .FAIL { background: #c62828; }
table { border-collapse: collapse; margin: 8px 0 20px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.fail td { background: #fdecea; } tr.pass td:nth-child(4) { color: #2e7d32; } tr.fail td:nth-child(4) { color: #c62828; font-weight: bold; }
td.detail { color: #555; font-size: 12px; }
tr.not-firm td:nth-child(4) { font-style: italic; background: #fff4d6; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plots figure { margin: 0; border: 1px solid #eee; padding: 4px; }
</style>
</head>
<body>
<h1>lowdose QA <span class="verdict ${verdict}">${verdict}</span></h1>
<p>${esc(formatSummary(result.checks))}. Generated by <code>lowdose qa</code>; the JSON result is <code>qa.json</code> beside this file.</p>
<h2>Settings</h2>
<table>${settingsRows}</table>
${errors}
<h2>Checks</h2>
<table>
<tr><th>check</th><th>value</th><th>threshold</th><th>result</th><th>how</th></tr>
${rows}
</table>
<p>A value that is a mean over noise realisations (or carries another standard error) is shown ± its standard error (SE). A verdict is <em>not firm</em> when the value lies less than ${FIRM_MARGIN_SE} SE from the nearest limit: the two-sided 95 % interval of a mean reaches across the limit, so another set of realisations could give the other verdict. Pass or fail is unchanged; more realisations (the SE falls as 1/√n) make it firm.</p>
<h2>Noise power spectra</h2>
<p>Radial NPS (ICRU 87) in the uniform region: absolute, and normalised to unit area so that texture can be compared whatever the noise level.</p>
<div class="plots">${result.curves.nps.map(npsPlots).join('\n') || noCurves('NPS', 'nps-peak-shift', 'water', result, config)}</div>
<h2>Modulation transfer functions</h2>
<p>MTF of the ACR module-4 edge rod (circular-edge method) up to the Nyquist frequency.</p>
<div class="plots">${result.curves.mtf.map(mtfPlot).join('\n') || noCurves('MTF', 'mtf50-ratio', 'acr', result, config)}</div>
${detectabilitySection(result)}
<h2>Thresholds</h2>
<table>
<tr><th>check</th><th>state</th><th>bounds</th><th>why</th></tr>
${thresholds}
</table>
</body>
</html>
`;
}

/**
 * The lcd phantom's observer results side by side: d' of input, denoised and full dose per disk
 * kind and dose, with the disk contrast each keeps, so a reader sees whether a ratio came from
 * contrast or from noise.
 */
function detectabilitySection(result: QaResult): string {
  const checks = result.checks.filter((c) => c.check === 'detectability-ratio');
  if (checks.length === 0) return '';
  const m = (c: QaResult['checks'][number], key: string, digits = 3) => fmt(c.measured[key] ?? null, digits);
  const rows = checks
    .map((c) => {
      const disk = c.name.split('/').at(-1) ?? '';
      return (
        `<tr><td>${Math.round(c.dose * 100)} %</td><td>${esc(disk)}</td>` +
        `<td class="num">${m(c, 'input')} ± ${m(c, 'inputStandardError', 2)}</td><td class="num">${m(c, 'denoised')} ± ${m(c, 'denoisedStandardError', 2)}</td>` +
        `<td class="num">${m(c, 'full')} ± ${m(c, 'fullStandardError', 2)}</td><td class="num">${esc(formatValue(c))} ${esc(formatVerdict(c))}</td>` +
        `<td class="num">${m(c, 'contrastInput')} / ${m(c, 'contrastDenoised')} / ${m(c, 'contrastFull')} HU (nominal ${m(c, 'contrastNominal')})</td>` +
        `<td class="num">${m(c, 'present')} / ${m(c, 'absent')}</td></tr>`
      );
    })
    .join('\n');
  return `<h2>Low-contrast detectability</h2>
<p>Channelized Hotelling observer (${String(checks[0]!.measured.channels ?? '?')} Laguerre–Gauss channels), signal and background known exactly, on the lcd phantom's disks; d' cross-validated by noise realisation, ± its jackknife standard error. The check is d'(denoised) / d'(input). The disk contrast (central 0.8 of the radius, minus the same places without the disk) shows whether the output kept the signal or only lowered the noise.</p>
<table>
<tr><th>dose</th><th>disk</th><th>d' input</th><th>d' denoised</th><th>d' full dose</th><th>ratio</th><th>contrast input / denoised / full</th><th>ROIs present / absent</th></tr>
${rows}
</table>`;
}

function caseTitle(c: CaseCurves): string {
  return `${c.phantom} at ${Math.round(c.dose * 100)} % dose`;
}

function npsPlots(c: CaseCurves): string {
  const lines = (transform: (curve: Curve) => number[]) => [
    { label: `low dose ${Math.round(c.dose * 100)} %`, color: COLORS.low, x: c.low.frequency, y: transform(c.low) },
    { label: 'denoised', color: COLORS.denoised, x: c.denoised.frequency, y: transform(c.denoised) },
    { label: 'full dose', color: COLORS.full, dash: '6 4', x: c.full.frequency, y: transform(c.full) },
  ];
  const absolute = linePlot({ title: `${caseTitle(c)}: NPS`, xLabel: 'spatial frequency (cycles/mm)', yLabel: 'NPS (HU² mm²)', lines: lines((k) => [...k.value]) });
  const normalised = linePlot({
    title: `${caseTitle(c)}: normalised NPS`,
    xLabel: 'spatial frequency (cycles/mm)',
    yLabel: 'NPS / area (mm²)',
    lines: lines(normalise),
  });
  return `<figure>${absolute}</figure><figure>${normalised}</figure>`;
}

function mtfPlot(c: CaseCurves): string {
  const svg = linePlot({
    title: `${caseTitle(c)}: MTF`,
    xLabel: 'spatial frequency (cycles/mm)',
    yLabel: 'MTF',
    yMin: 0,
    yMax: 1.1,
    hLines: [{ y: 0.5, label: 'MTF50' }],
    lines: [
      { label: `low dose ${Math.round(c.dose * 100)} %`, color: COLORS.low, x: c.low.frequency, y: c.low.value },
      { label: 'denoised', color: COLORS.denoised, x: c.denoised.frequency, y: c.denoised.value },
      { label: 'full dose', color: COLORS.full, dash: '6 4', x: c.full.frequency, y: c.full.value },
    ],
  });
  return `<figure>${svg}</figure>`;
}

/** Divides a radial NPS by its area (trapezoid over the radial frequency), so curves compare by shape. */
function normalise(curve: Curve): number[] {
  let area = 0;
  for (let i = 1; i < curve.value.length; i++) {
    area += ((curve.value[i]! + curve.value[i - 1]!) / 2) * (curve.frequency[i]! - curve.frequency[i - 1]!);
  }
  return curve.value.map((v) => (area > 0 ? v / area : NaN));
}

/** A denoiser setting as asked for; null (or absent, in a qa.json written before it was recorded): the card's. */
function cardDefault(value: string | number | null | undefined): string {
  return value === null || value === undefined ? "model card's" : String(value);
}

function toolkitText(toolkit: NonNullable<QaResult['settings']['toolkit']>): string {
  if (!toolkit.commit) return toolkit.version;
  return `${toolkit.version}, commit ${toolkit.commit.slice(0, 12)}${toolkit.dirty ? ' with uncommitted changes' : ''}`;
}

function modelFilesText(fingerprints: QaResult['settings']['modelFingerprint']): string {
  const parts = [['CT', fingerprints?.model], ['PET', fingerprints?.petModel]] as const;
  const known = parts.filter(([, f]) => f !== undefined).map(([which, f]) => `${which} ${f!.sha256.slice(0, 12)}`);
  return known.length > 0 ? known.join(', ') : '-';
}
