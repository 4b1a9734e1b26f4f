/**
 * The lowdose comparison viewer: picks a comparison (or a single series), shows it in synchronised
 * panes, and wires the toolbar, keyboard, metrics, upload and denoise controls.
 */
import cornerstone from 'cornerstone-core';
import cornerstoneMath from 'cornerstone-math';
import cornerstoneTools from 'cornerstone-tools';
import Hammer from 'hammerjs';
import { api, ApiRequestError, type ComparisonSummary, type SeriesDetail, type SeriesSummary, type StudiesResponse } from './api.js';
import { registerLoaders } from './image-loader.js';
import { Cine } from './cine.js';
import { Flicker } from './flicker.js';
import { JobsView } from './jobs-view.js';
import { incompleteSeriesText, PacsView } from './pacs-view.js';
import { LayoutBar } from './layout-bar.js';
import { saveFigure } from './figure.js';
import { layoutById } from './layout.js';
import { MeasureLayer } from './measure-layer.js';
import { MetricsPlot } from './metrics-plot.js';
import { MetricsView, type MethodMetricsSource } from './metrics-view.js';
import { pairingWarningLines } from './pairing-caveat.js';
import { frameLabel, isMethodPane, methodPaneKey, roleTitle } from './pane-titles.js';
import { PRESETS, registerColormaps } from './presets.js';
import { Probe } from './probe.js';
import { installShortcuts, type Shortcut } from './shortcuts.js';
import { ComparisonViewer, type MethodView, type OverlaySource, type PaneKey, type ToolMode, type View } from './viewer.js';
import { uncertaintyThresholdOf } from '../../src/server/uncertainty-pane.js';

cornerstoneTools.external.cornerstone = cornerstone;
cornerstoneTools.external.cornerstoneMath = cornerstoneMath;
cornerstoneTools.external.Hammer = Hammer;
registerLoaders();
registerColormaps();
cornerstone.imageCache.setMaximumSizeBytes(1024 * 1024 * 1024);

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const started = performance.now();
const slider = $<HTMLInputElement>('slice-slider');
const sliceLabel = $('slice-label');
const select = $<HTMLSelectElement>('view-select');
const help = $('help');

const viewer = new ComparisonViewer($('panes'), {
  onIndex: (index, count) => {
    slider.max = String(count - 1);
    slider.value = String(index);
    sliceLabel.textContent = `${index + 1} / ${count}`;
    document.body.dataset.index = String(index);
    metrics.showSlice(index);
    plot.setIndex(index);
    scheduleHash();
  },
  onPanesChanged: () => renderPaneToggles(),
  onRoi: (roi) => measure.ellipseDrawn(roi),
  onPrefetch: (cached, wanted) => {
    const done = cached >= wanted;
    const label = $('cache-label');
    label.textContent = done ? '' : `caching ${Math.round((100 * cached) / Math.max(1, wanted))} %`;
    document.body.dataset.prefetch = done ? 'done' : 'loading';
  },
});
const plot = new MetricsPlot($('metrics-plot'), (index) => viewer.setIndex(index), (shown) => {
  $('plot-button').setAttribute('aria-pressed', String(shown));
  localStorage.setItem('lowdose.plot', shown ? 'shown' : 'hidden');
});
const metrics = new MetricsView(viewer, $('series-header'), (all) =>
  plot.setMethods(all.map(({ source, metrics: m }) => ({ key: source.key, label: viewer.paneTitle(source.key) ?? 'Denoised', metrics: m }))),
);
$('plot-button').addEventListener('click', () => plot.toggle());
new Probe($('panes'), (element) => viewer.placementOf(element));
const measure = new MeasureLayer(
  $('panes'),
  () => viewer.toolMode,
  (element) => viewer.placementOf(element),
);
function clearMeasurements(): void {
  viewer.clearRoi();
  measure.clear();
}
$('panes').addEventListener('lowdose-clear-measurements', clearMeasurements);
for (const [id, scale] of [['figure-button', 1], ['figure2x-button', 2]] as const) {
  $(id).addEventListener('click', () => {
    saveFigure($('panes'), scale).then(
      (size) => (document.body.dataset.figure = `${size.width}x${size.height}`),
      (error: unknown) => toast(`No figure: ${(error as Error).message}`, 'error'),
    );
  });
}

let studies: StudiesResponse = { studies: [], unreadableFiles: 0 };
/**
 * What is open: a comparison (`c`), a single series (`s`), or several methods of one low-dose
 * series side by side (`m`, its id the comparison ids joined by commas, the first one's reference).
 */
type TargetKind = 'c' | 's' | 'm';
interface Target {
  readonly kind: TargetKind;
  readonly id: string;
}
let current: Target | null = null;

// ---- toolbar ---------------------------------------------------------------------------------

/** The window presets of the open modality (CT's five, PET's SUV window), so the toolbar stays one or two rows. */
function renderPresets(modality = ''): void {
  const box = $('presets');
  box.replaceChildren(
    ...PRESETS.filter((preset) => !modality || preset.modality === modality || (modality !== 'PT' && preset.modality === 'CT')).map((preset) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = preset.label;
      button.title = `${preset.label}: window ${preset.width}, level ${preset.center} (key ${preset.key})`;
      button.dataset.preset = preset.id;
      button.addEventListener('click', () => viewer.applyPreset(preset));
      return button;
    }),
  );
}

/** Pane toggle keys; the buttons' labels come from the panes' own titles (their series' roles). */
const PANE_KEYS = { lowDose: 'L', denoised: 'N', reference: 'E', difference: 'D', uncertainty: 'U' } as const;
const GENERIC_PANE_NAMES = { lowDose: 'first (source)', denoised: 'denoised', reference: 'reference', difference: 'difference', uncertainty: 'uncertainty' } as const;
function genericName(key: PaneKey): string {
  return key in GENERIC_PANE_NAMES ? GENERIC_PANE_NAMES[key as keyof typeof GENERIC_PANE_NAMES] : `method ${key.slice('denoised-'.length)}`;
}

/** "Denoised (diffusion lowdose-ct, 8 steps)" → "diffusion lowdose-ct, 8 steps". */
function methodOf(title: string): string {
  return /^Denoised \((.*)\)$/.exec(title)?.[1] ?? title;
}

/** "Difference (denoised − reference)" → "Difference": toolbar buttons stay short. */
function shortTitle(title: string): string {
  return title.replace(/\s*\(.*\)$/, '');
}

function renderPaneToggles(): void {
  const box = $('pane-toggles');
  box.replaceChildren(
    ...viewer.paneKeys().map((key) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'toggle';
      button.dataset.toggle = key;
      button.setAttribute('aria-pressed', String(viewer.isVisible(key)));
      // Switched on, but the layout has no slot for it: the key brings it to the front.
      button.dataset.offscreen = String(viewer.isVisible(key) && !viewer.isDisplayed(key));
      const title = viewer.paneTitle(key) ?? genericName(key);
      const letter = key in PANE_KEYS ? PANE_KEYS[key as keyof typeof PANE_KEYS] : null;
      // Several methods: the buttons name the method ("nlm"), not "Denoised" three times.
      button.textContent = isMethodPane(key) && viewer.paneKeys().some((k) => k.startsWith('denoised-')) ? methodOf(title) : shortTitle(title);
      button.title = `Show or hide the ${title} pane${letter ? ` (key ${letter})` : ''}`;
      button.addEventListener('click', () => viewer.togglePane(key));
      return button;
    }),
    ...overlayToggle(),
  );
}

/** The overlay button, when the open view has something to overlay on the denoised pane. */
function overlayToggle(): HTMLButtonElement[] {
  const source = viewer.overlaySource;
  if (!source) return [];
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'toggle';
  button.dataset.toggle = 'overlay';
  button.setAttribute('aria-pressed', String(viewer.overlayOn));
  // A series its run did not finish is overlaid as written, marked incomplete on the button and on the pane.
  const incomplete = source.incomplete ? ` (incomplete: ${source.incomplete.slices} of ${source.incomplete.expected} slices)` : '';
  button.textContent = `${source.kind === 'hallucination' ? 'Hallucination map' : 'Uncertainty overlay'}${source.incomplete ? ' (incomplete)' : ''}`;
  if (source.incomplete) button.dataset.incomplete = 'true';
  button.title =
    (source.kind === 'hallucination'
      ? `Overlay the patches the sFRC hallucination map flags (FRC < ${source.threshold}) on the denoised pane (key O)`
      : `Overlay the pixels whose uncertainty is above ${source.threshold} on the denoised pane (key O)`) +
    (incomplete ? `\nThe ${source.kind === 'hallucination' ? 'map' : 'uncertainty series'} is incomplete${incomplete}: a slice without it shows no overlay, which is not "nothing flagged"` : '');
  button.addEventListener('click', () => toggleOverlay());
  return [button];
}

function toggleOverlay(): void {
  viewer.toggleOverlay();
  document.querySelector('[data-toggle="overlay"]')?.setAttribute('aria-pressed', String(viewer.overlayOn));
}

function setMode(mode: ToolMode): void {
  viewer.setMode(mode);
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-mode]')) {
    button.setAttribute('aria-pressed', String(button.dataset.mode === mode));
  }
}

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-mode]')) {
  button.addEventListener('click', () => setMode(button.dataset.mode as ToolMode));
}
$('reset-button').addEventListener('click', () => viewer.reset());
$('patient-button').addEventListener('click', () => togglePatient());
const layouts = new LayoutBar($('layouts'), viewer);

// ---- cine and flicker --------------------------------------------------------------------------

const cine = new Cine(viewer, (playing) => $('cine-button').setAttribute('aria-pressed', String(playing)));
const flicker = new Flicker(
  viewer,
  (id) => layouts.choose(layoutById(id)!),
  ({ on, auto, showing }) => {
    $('flicker-button').setAttribute('aria-pressed', String(on));
    $('flicker-auto').setAttribute('aria-pressed', String(auto));
    $('panes').dataset.flicker = showing ?? '';
  },
);
/** A number field hands the keys back to the viewer once set (else the arrows would change it). */
function rateInput(id: string, apply: (value: number) => void): void {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('change', () => {
    apply(Number(input.value));
    input.blur();
  });
}
rateInput('cine-fps', (fps) => cine.setFps(fps));
rateInput('flicker-hz', (hz) => flicker.setRate(hz));
$('cine-button').addEventListener('click', () => cine.toggle());
$('flicker-button').addEventListener('click', () => (flicker.on ? flicker.exit() : flickerStep()));
$('flicker-auto').addEventListener('click', () => flickerAuto());

function flickerStep(): void {
  if (!flicker.step()) toast('Flicker needs two images of the slice: open a comparison');
}

function flickerAuto(): void {
  if (!flicker.toggleAuto()) toast('Flicker needs two images of the slice: open a comparison');
}

function togglePatient(show = !viewer.patientShown): void {
  viewer.setShowPatient(show);
  $('patient-button').setAttribute('aria-pressed', String(show));
  localStorage.setItem('lowdose.patient', show ? 'shown' : 'hidden');
}
$('help-button').addEventListener('click', () => toggleHelp());
$('help-close').addEventListener('click', () => toggleHelp(false));
slider.addEventListener('input', () => viewer.setIndex(Number(slider.value)));

function toggleHelp(show = help.hidden): void {
  help.hidden = !show;
}

// ---- messages --------------------------------------------------------------------------------

let toastTimer: number | undefined;
function toast(message: string, kind: 'info' | 'error' = 'info'): void {
  const box = $('toast');
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (box.hidden = true), kind === 'error' ? 9000 : 4000);
}

// ---- what is open ----------------------------------------------------------------------------

function roleLabel(role: string): string {
  return { original: 'original', 'low-dose': 'low-dose', 'full-dose': 'full-dose', denoised: 'denoised', uncertainty: 'uncertainty', hallucination: 'hallucination map', derived: 'derived' }[role] ?? role;
}

function formatDate(da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : '';
}

/**
 * A list entry; for a time point or gate of a dynamic or gated PET acquisition (its series', or a
 * comparison's low-dose series') the frame's label after the text and its timing as the tooltip.
 */
function listOption(text: string, value: string, series: Pick<SeriesSummary, 'petFrame'> | undefined): HTMLOptionElement {
  const frame = series ? frameLabel(series) : null;
  const option = new Option(frame ? `${text} · ${frame.text}` : text, value);
  if (frame) option.title = frame.tooltip;
  return option;
}

function renderSelect(): void {
  select.replaceChildren();
  for (const study of studies.studies) {
    const group = document.createElement('optgroup');
    group.label = [study.description || 'Study', formatDate(study.date), study.modalities.join('/')].filter(Boolean).join(' · ');
    const seriesById = new Map(study.series.map((s) => [s.id, s]));
    for (const c of study.comparisons) {
      group.append(listOption(`Compare: ${c.description}`, `c:${c.id}`, seriesById.get(c.lowDose)));
    }
    // Every denoised version of one low-dose series side by side.
    for (const [lowDose, methods] of methodGroups(study.comparisons)) {
      if (methods.length < 2) continue;
      const source = seriesById.get(lowDose);
      group.append(listOption(`Compare all ${methods.length} methods: ${source?.description || 'low-dose series'}`, `m:${methods.map((c) => c.id).join(',')}`, source));
    }
    for (const s of study.series) {
      if (s.role === 'uncertainty' || s.role === 'hallucination') continue;
      const option = listOption(`Series: ${s.description || s.modality} (${roleLabel(s.role)}, ${s.slices} slices)${sourceNote(s)}`, `s:${s.id}`, s);
      if (s.lowDoseSource) option.title = [option.title, s.lowDoseSource.reason ?? `low-dose source: ${s.lowDoseSource.url}`].filter(Boolean).join('\n');
      group.append(option);
    }
    select.append(group);
  }
  if (current) showInSelect(current);
}

/**
 * A denoised series whose low-dose source a PACS run pulled and removed: opening it retrieves that
 * source from this server's PACS (` · source on PACS`), or it cannot be shown here (` · source not
 * here`, the reason in the tooltip).
 */
function sourceNote(series: SeriesSummary): string {
  if (!series.lowDoseSource) return '';
  return series.lowDoseSource.openable ? ' · source on PACS' : ' · source not here';
}

/** The comparisons of each low-dose series, in the studies' order. */
function methodGroups(comparisons: readonly ComparisonSummary[]): Map<string, ComparisonSummary[]> {
  const groups = new Map<string, ComparisonSummary[]>();
  for (const c of comparisons) groups.set(c.lowDose, [...(groups.get(c.lowDose) ?? []), c]);
  return groups;
}

/** Selects the target in the list, adding an entry for a set of methods the list does not have. */
function showInSelect(target: Target): void {
  const value = `${target.kind}:${target.id}`;
  if (![...select.options].some((o) => o.value === value)) {
    select.append(new Option(`Compare ${target.id.split(',').length} methods`, value));
  }
  select.value = value;
  titleSelect();
}

/**
 * The list's tooltip: the whole text of the entry shown (cut in a narrow window), its study and
 * its frame's timing where it has one.
 */
function titleSelect(): void {
  const option = select.selectedOptions[0];
  const study = option?.parentElement instanceof HTMLOptGroupElement ? option.parentElement.label : '';
  select.title = option ? [option.text, study, option.title].filter(Boolean).join('\n') : 'Comparison or series to show';
}

/**
 * The methods picker: every comparison of the open low-dose series with a tick box; ticking
 * several shows them side by side (the first ticked gives the reference), one opens that comparison.
 */
function renderMethodsPicker(): void {
  const picker = $('methods-picker');
  const list = $('methods-list');
  const lowDose = viewer.currentView?.comparison?.lowDose ?? null;
  const all = studies.studies.flatMap((s) => s.comparisons).filter((c) => c.lowDose === lowDose);
  picker.hidden = all.length < 2;
  const open = new Set(viewer.currentView?.methods.map((m) => m.comparison.id) ?? []);
  $('methods-summary').textContent = `Methods ${open.size}/${all.length}`;
  list.replaceChildren(
    ...all.map((c) => {
      const label = document.createElement('label');
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: open.has(c.id), value: c.id });
      box.dataset.comparison = c.id;
      box.addEventListener('change', () => {
        const ticked = [...list.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value);
        if (ticked.length === 0) {
          box.checked = true;
          return;
        }
        // The methods already open keep their order; a newly ticked one comes last.
        const order = [...(viewer.currentView?.methods.map((m) => m.comparison.id) ?? []).filter((id) => ticked.includes(id)), ...ticked.filter((id) => !open.has(id))];
        void openTarget(order.length === 1 ? { kind: 'c', id: order[0]! } : { kind: 'm', id: order.join(',') }, viewer.currentIndex);
      });
      label.append(box, ` ${c.description}`);
      return label;
    }),
  );
}

select.addEventListener('change', () => {
  const [kind, id] = select.value.split(':') as [TargetKind, string];
  // Give the keys back to the viewer: a focused select would take the next arrow key as
  // "open the next series" instead of "next slice".
  select.blur();
  titleSelect();
  void openTarget({ kind, id }, null);
});

async function loadView(target: Target): Promise<View> {
  if (target.kind === 's') {
    const lowDose = await api.series(target.id);
    return { comparison: null, lowDose, denoised: null, reference: null, uncertainty: null, hallucination: null, methods: [] };
  }
  const ids = target.kind === 'm' ? target.id.split(',') : [target.id];
  const [comparison, ...others] = await Promise.all(ids.map((id) => api.comparison(id)));
  if (!comparison) throw new Error('no comparison named');
  const stranger = others.find((c) => c.lowDose !== comparison.lowDose);
  if (stranger) throw new Error(`${stranger.description} denoises another series than ${comparison.description}`);
  const fetchSeries = (id: string | null): Promise<SeriesDetail | null> => (id ? api.series(id) : Promise.resolve(null));
  const otherSeries = Promise.all(others.map((c) => api.series(c.denoised)));
  const [lowDose, denoised, reference, uncertainty, hallucination] = await Promise.all([
    api.series(comparison.lowDose),
    fetchSeries(comparison.denoised),
    fetchSeries(comparison.reference),
    fetchSeries(comparison.uncertainty),
    fetchSeries(comparison.hallucination),
  ]);
  const more = await otherSeries;
  const methods: MethodView[] = [
    ...(denoised ? [{ comparison, denoised }] : []),
    ...others.map((c, k) => ({ comparison: c, denoised: more[k]! })),
  ];
  return { comparison, lowDose: lowDose, denoised, reference, uncertainty, hallucination, methods };
}

/**
 * The denoised pane's overlay: the hallucination map when there is one (flagged below its FRC
 * threshold), else the uncertainty series above its threshold (the calibrated one its header states, else
 * 10 HU / 0.2 SUV, the shipped cards' thresholds).
 */
function overlaySourceOf(view: View): OverlaySource | null {
  const facts = view.comparison?.report;
  if (view.hallucination) return { kind: 'hallucination', threshold: facts?.hallucinationThreshold ?? 0.5, incomplete: view.comparison?.hallucinationIncomplete ?? null };
  if (view.uncertainty) return { kind: 'uncertainty', threshold: uncertaintyThresholdOf(view.comparison) ?? (view.lowDose.modality === 'PT' ? 0.2 : 10), incomplete: view.comparison?.uncertaintyIncomplete ?? null };
  return null;
}

async function openTarget(target: Target, index: number | null): Promise<void> {
  try {
    const paired = target.kind === 's' ? await openLowDoseSource(target.id) : null;
    if (paired) return await openTarget({ kind: 'c', id: paired }, index);
    const view = await loadView(target);
    current = target;
    showInSelect(target);
    $('empty').hidden = true;
    const start = index ?? Math.floor((view.lowDose.slices - 1) / 2);
    document.body.dataset.modality = view.lowDose.modality;
    renderPresets(view.lowDose.modality);
    $('denoise-button').toggleAttribute('disabled', false);
    // Before the viewer opens (and reports its first slice): nothing of the previous comparison's
    // metrics may be painted on the new panes, and no cine or flicker of its panes runs on.
    metrics.close();
    cine.stop();
    flicker.exit();
    measure.clear();
    plot.open(view.methods.map((m) => m.comparison.id), view.lowDose.slices, view.lowDose.units, roleTitle(view.lowDose.role));
    const shown = viewer.open(view, start, overlaySourceOf(view));
    const sources: MethodMetricsSource[] = view.methods.map((m, k) => ({ key: methodPaneKey(k), comparison: m.comparison }));
    metrics.open(sources, view.lowDose.units, roleTitle(view.lowDose.role));
    renderMethodsPicker();
    showSeriesWarnings([...incompleteOutputs(view), ...pairingWarningLines(view.methods.map((m) => m.comparison)), ...sourceNotShown(view), ...view.lowDose.warnings, ...runWarnings(view)]);
    showIncomplete(view.lowDose.incomplete);
    await shown;
    if (!document.body.dataset.firstSliceMs) document.body.dataset.firstSliceMs = String(Math.round(performance.now() - started));
    document.body.dataset.view = `${target.kind}:${target.id}`;
    scheduleHash();
  } catch (error) {
    toast(`Could not open it: ${(error as Error).message}`, 'error');
  }
}

/**
 * A denoised series whose report names its low-dose source on this server's PACS (a PACS run's
 * copy is removed): the source is pulled through the PACS and the comparison's id returned; null
 * when there is none to pull (or it does not pair), the series then opens alone. Whether there is
 * one is read from the series list (`lowDoseSource`, as GET /api/series/:id gives it; every open
 * follows a read of the list), not asked again. A list older than the server's index (another
 * viewer opened the source since) is read again when the server says there is no source to open:
 * the series then opens as the list now has it.
 */
async function openLowDoseSource(seriesId: string): Promise<string | null> {
  const source = listedSeries(seriesId)?.lowDoseSource;
  if (!source?.openable) return null;
  toast(`Retrieving the low-dose source from the PACS: ${source.url}`);
  try {
    const opened = await api.openLowDoseSource(seriesId);
    await refreshStudies();
    return opened.comparison;
  } catch (error) {
    if (!(error instanceof ApiRequestError) || error.status !== 404) throw error;
    await refreshStudies();
    if (listedSeries(seriesId)?.lowDoseSource?.openable) throw error;
    return studies.studies.flatMap((s) => s.comparisons).find((c) => c.denoised === seriesId)?.id ?? null;
  }
}

/** The series list's entry of a series, if the list has it. */
function listedSeries(seriesId: string): SeriesSummary | undefined {
  for (const study of studies.studies) for (const s of study.series) if (s.id === seriesId) return s;
  return undefined;
}

/** A denoised series whose low-dose source (a PACS run's) cannot be shown: why, in the warning bar. */
function sourceNotShown(view: View): Array<{ code: string; message: string }> {
  const source = view.lowDose.lowDoseSource;
  return source && !source.openable && source.reason ? [{ code: 'E_SOURCE_NOT_SHOWN', message: source.reason }] : [];
}

/** The methods' run warnings (E_PIXEL_SPACING, E_DOSE_UNKNOWN) from their reports, each once. */
function runWarnings(view: View): Array<{ code: string; message: string }> {
  const seen = new Map<string, { code: string; message: string }>();
  for (const w of view.methods.flatMap((m) => m.comparison.report?.warnings ?? [])) seen.set(`${w.code}\n${w.message}`, w);
  return [...seen.values()];
}

/**
 * Each method whose denoised series its run did not finish (the comparison's `incomplete`), and the
 * uncertainty series and hallucination map shown with it when theirs did not (`uncertaintyIncomplete`,
 * `hallucinationIncomplete`: a slice they lack has no overlay, which is not "nothing flagged"), and
 * each method whose denoised time point or gate is one of an acquisition lacking whole frames
 * (`acquisitionIncomplete`):
 * first in the bar, as E_OUTPUT_INCOMPLETE.
 */
function incompleteOutputs(view: View): Array<{ code: string; message: string }> {
  const line = (c: ComparisonSummary, incomplete: { readonly message: string } | null | undefined) =>
    incomplete ? [{ code: 'E_OUTPUT_INCOMPLETE', message: `${c.description || c.denoised}: ${incomplete.message}` }] : [];
  const shown = view.comparison;
  return [
    ...view.methods.flatMap((m) => [...line(m.comparison, m.comparison.incomplete), ...line(m.comparison, m.comparison.acquisitionIncomplete)]),
    ...(shown && view.uncertainty ? line(shown, shown.uncertaintyIncomplete) : []),
    ...(shown && view.hallucination ? line(shown, shown.hallucinationIncomplete) : []),
  ];
}

/** The status bar's warning while the low-dose series is one the PACS gave short of its instances. */
function showIncomplete(incomplete: SeriesDetail['incomplete']): void {
  const label = $('series-incomplete');
  label.textContent = incomplete ? incompleteSeriesText(incomplete) : '';
  label.hidden = !incomplete;
}

/** The low-dose series' reading warnings (E_SHARP_KERNEL, gaps, ...) and the runs' own, in a bar above the panes. */
function showSeriesWarnings(warnings: ReadonlyArray<{ code: string; message: string }>): void {
  const bar = $('series-warnings');
  bar.replaceChildren(
    ...warnings.map((w) => {
      const line = document.createElement('div');
      line.dataset.code = w.code;
      line.textContent = `${w.code}: ${w.message}`;
      return line;
    }),
  );
  bar.hidden = warnings.length === 0;
}

let hashTimer: number | undefined;
function scheduleHash(): void {
  window.clearTimeout(hashTimer);
  hashTimer = window.setTimeout(() => {
    if (!current) return;
    history.replaceState(null, '', `#${current.kind}=${current.id}&i=${viewer.currentIndex}`);
  }, 250);
}

function targetFromHash(): { target: Target; index: number | null } | null {
  const params = new URLSearchParams(location.hash.slice(1));
  const index = params.has('i') ? Number(params.get('i')) : null;
  for (const kind of ['c', 's', 'm'] as const) {
    const id = params.get(kind);
    const pattern = kind === 'm' ? /^[A-Za-z0-9_-]{12}(,[A-Za-z0-9_-]{12}){1,11}$/ : /^[A-Za-z0-9_-]{12}$/;
    if (id && pattern.test(id)) return { target: { kind, id }, index: Number.isInteger(index) ? index : null };
  }
  return null;
}

async function refreshStudies(): Promise<void> {
  studies = await api.studies();
  renderSelect();
}

// ---- upload and denoise ----------------------------------------------------------------------

new JobsView({
  currentSeries: () => {
    const view = viewer.currentView;
    const frame = view ? frameLabel(view.lowDose) : null;
    return view
      ? { id: view.lowDose.id, modality: view.lowDose.modality, description: view.lowDose.description, pacs: view.lowDose.pacs === true, incomplete: view.lowDose.incomplete !== undefined, ...(frame ? { frame: frame.text } : {}) }
      : null;
  },
  uploaded: async (response) => {
    await refreshStudies();
    const first = response.series.find((s) => s.role !== 'uncertainty');
    if (first) await openTarget({ kind: 's', id: first.id }, null);
  },
  finished: async (comparisonId) => {
    await refreshStudies();
    await openTarget({ kind: 'c', id: comparisonId }, viewer.currentIndex);
  },
  toast,
});

// ---- PACS (serve --dicomweb) -----------------------------------------------------------------

const pacs = new PacsView({
  opened: async (seriesId) => {
    await refreshStudies();
    await openTarget({ kind: 's', id: seriesId }, null);
  },
  toast,
});

// ---- keyboard --------------------------------------------------------------------------------

const shortcuts: Shortcut[] = [
  { keys: ['ArrowDown', 'ArrowRight', 'j'], label: '↓ → J', description: 'next slice', run: () => viewer.step(1) },
  { keys: ['ArrowUp', 'ArrowLeft', 'k'], label: '↑ ← K', description: 'previous slice', run: () => viewer.step(-1) },
  { keys: ['PageDown'], label: 'PgDn', description: '10 slices on', run: () => viewer.step(10) },
  { keys: ['PageUp'], label: 'PgUp', description: '10 slices back', run: () => viewer.step(-10) },
  { keys: ['Home'], label: 'Home', description: 'first slice', run: () => viewer.setIndex(0) },
  { keys: ['End'], label: 'End', description: 'last slice', run: () => viewer.setIndex(viewer.sliceCount - 1) },
  ...PRESETS.map((p) => ({ keys: [p.key], label: p.key, description: `window: ${p.label} (W ${p.width} / L ${p.center})`, run: () => viewer.applyPreset(p) })),
  { keys: ['w'], label: 'W', description: 'left drag sets window / level', run: () => setMode('window') },
  { keys: ['p'], label: 'P', description: 'left drag pans', run: () => setMode('pan') },
  { keys: ['z'], label: 'Z', description: 'left drag zooms', run: () => setMode('zoom') },
  { keys: ['r'], label: 'R', description: 'left drag draws the ellipse ROI (mean ± SD in every pane)', run: () => setMode('roi') },
  { keys: ['b'], label: 'B', description: 'left drag draws a rectangle ROI', run: () => setMode('rectangle') },
  { keys: ['q'], label: 'Q', description: 'left drag draws a freehand ROI', run: () => setMode('freehand') },
  { keys: ['m'], label: 'M', description: 'left drag measures a length (mm)', run: () => setMode('length') },
  { keys: ['Delete', 'Backspace'], label: 'Del', description: 'remove every ROI and length', run: () => clearMeasurements() },
  { keys: ['f'], label: 'F', description: "reset: fit to window, no pan, the file's window (double-click fits only)", run: () => viewer.reset() },
  { keys: ['g'], label: 'G', description: 'next layout (Auto, 1×1, 1×2, 2×2, 3×2, Row)', run: () => layouts.next() },
  { keys: ['h'], label: 'H', description: "show / hide the patient's name and ID", run: () => togglePatient() },
  { keys: ['c'], label: 'C', description: 'cine: play / stop the slices at the set frame rate', run: () => cine.toggle() },
  { keys: ['t'], label: 'T', description: 'flicker: one viewport, next of low-dose / denoised / reference', run: () => flickerStep() },
  { keys: ['y'], label: 'Y', description: 'flicker on its own at the set rate / stop', run: () => flickerAuto() },
  { keys: ['i'], label: 'I', description: 'invert greyscale', run: () => viewer.toggleInvert() },
  { keys: ['s'], label: 'S', description: 'per-slice plot of PSNR / SSIM / noise of every method (click: go to that slice)', run: () => plot.toggle() },
  ...(Object.entries(PANE_KEYS) as Array<[keyof typeof PANE_KEYS, string]>).map(([key, letter]) => ({
    keys: [letter.toLowerCase()],
    label: letter,
    description: `show / hide the ${GENERIC_PANE_NAMES[key]} pane`,
    run: () => viewer.togglePane(key),
  })),
  { keys: ['o'], label: 'O', description: 'overlay the hallucination map (or the uncertainty) on the denoised pane', run: () => toggleOverlay() },
  { keys: ['?'], label: '?', description: 'this help', run: () => toggleHelp() },
  {
    keys: ['Escape'],
    label: 'Esc',
    description: 'close help, stop cine, leave flicker, back to window / level',
    run: () => {
      toggleHelp(false);
      setMode('window');
      cine.stop();
      flicker.exit();
    },
  },
];
installShortcuts(shortcuts, help);

// ---- start -----------------------------------------------------------------------------------

renderPresets();
setMode('window');
plot.toggle(localStorage.getItem('lowdose.plot') === 'shown');
togglePatient(localStorage.getItem('lowdose.patient') !== 'hidden');
void (async () => {
  const hasPacs = pacs.init();
  try {
    await refreshStudies();
  } catch (error) {
    toast(`Cannot reach the server: ${(error as Error).message}`, 'error');
    return;
  }
  const fromHash = targetFromHash();
  const firstComparison = studies.studies.flatMap((s) => s.comparisons)[0];
  const firstSeries = studies.studies.flatMap((s) => s.series)[0];
  const target = fromHash?.target ?? (firstComparison ? { kind: 'c' as const, id: firstComparison.id } : firstSeries ? { kind: 's' as const, id: firstSeries.id } : null);
  if (!target) {
    $('empty').hidden = false;
    // Nothing here yet, but a PACS to pick from.
    if (await hasPacs) {
      $('empty').querySelector('p')!.textContent = 'No local studies yet. Open a series from the PACS (PACS…), or upload DICOM files.';
      await pacs.show();
    }
    return;
  }
  await openTarget(target, fromHash?.index ?? null);
})();
