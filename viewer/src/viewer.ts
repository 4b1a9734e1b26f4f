/**
 * The comparison panes: low-dose | denoised | reference | difference | uncertainty, each a
 * cornerstone element showing the slice matched to the same low-dose slice. Scroll, zoom, pan and
 * window / level move together (cornerstone-tools synchronizers for the viewport, this controller
 * for the slice) for the panes that are linked; an unlinked pane keeps its own slice and view and
 * answers only the mouse over it. The panes fill a grid (./layout.ts), each with the overlay text
 * of a workstation (./overlay-text.ts). One ellipse ROI is shared by every pane, and neighbouring
 * slices are prefetched. The denoised pane can carry an overlay: the sFRC hallucination map's
 * flagged patches, else the pixels whose (calibrated) uncertainty is above its threshold.
 */
import cornerstone, { type Image, type RenderedEventDetail, type Viewport } from 'cornerstone-core';
import cornerstoneTools, { type Synchronizer } from 'cornerstone-tools';
import type { ComparisonDetail, SeriesDetail } from './api.js';
import { blankImageId, differenceImageId, sliceImageId } from './image-loader.js';
import { gridFor, LAYOUTS, slotsOf, type Layout, type LayoutId } from './layout.js';
import { orientationLabels, overlayText, scaleBar } from './overlay-text.js';
import { PaneOverlay } from './pane-overlay.js';
import { Prefetcher } from './prefetch.js';
import { DIFFERENCE_COLORMAP, differenceWidth, initialPreset, UNCERTAINTY_COLORMAP, type WindowPreset } from './presets.js';
import { differenceWindowText, frameLabel, methodLabel, methodPaneKey, paneTitles, type PaneKey } from './pane-titles.js';
import { incompleteNoSliceText, incompletePaneText, type IncompleteCount } from '../../src/server/pane-labels.js';
import { uncertaintyThresholdOf, uncertaintyWindow, uncertaintyWindowText } from '../../src/server/uncertainty-pane.js';
import { drawEllipse, sliceValues, type Ellipse } from './roi.js';
import { ellipseUptake, formatUptake, sphereSlices, type SliceValues } from './uptake.js';
import { WheelAccumulator } from './wheel.js';
import { lesionCaveat, type LesionCaveat } from './lesion-caveat.js';
import { provenanceText, type ProvenanceText } from './provenance.js';
import type { MeasureMode } from './measure-layer.js';
import { differenceSlices, displayedOrientation, followView, pairAlongNormal, panePlacement, placeShape, shapeToFrame, sliceGrid, unmatchedText, type MatchedBy, type PanePlacement, type PaneView } from './pane-geometry.js';

export type { PaneKey } from './pane-titles.js';
export type ToolMode = 'window' | 'pan' | 'zoom' | 'roi' | MeasureMode;

/** One denoised version of the view's low-dose series: its comparison and series. */
export interface MethodView {
  readonly comparison: ComparisonDetail;
  readonly denoised: SeriesDetail;
}

export interface View {
  /** The first method's comparison (the one of a single comparison). */
  readonly comparison: ComparisonDetail | null;
  readonly lowDose: SeriesDetail;
  readonly denoised: SeriesDetail | null;
  readonly reference: SeriesDetail | null;
  readonly uncertainty: SeriesDetail | null;
  readonly hallucination: SeriesDetail | null;
  /**
   * Every denoised version shown side by side (a multi-method hanging), the first being
   * `comparison` / `denoised`; empty for a single series.
   */
  readonly methods: readonly MethodView[];
}

/** What the denoised pane's overlay shows, and from which value on. */
export interface OverlaySource {
  readonly kind: 'hallucination' | 'uncertainty';
  /** Hallucination map: flagged below it (FRC). Uncertainty: shown above it (sigma, series units). */
  readonly threshold: number;
  /**
   * The overlay's series is not a finished output of its run (the comparison's
   * `hallucinationIncomplete` / `uncertaintyIncomplete`): drawn as written, marked incomplete on
   * the denoised pane while it is on. Absent or null: finished, or not judged.
   */
  readonly incomplete?: IncompleteCount | null;
}

interface PaneSpec {
  readonly key: PaneKey;
  readonly imageIds: string[];
  readonly kind: 'anatomy' | 'difference' | 'uncertainty';
  readonly units: string;
  readonly series: SeriesDetail;
  readonly sliceMap: readonly number[] | null;
  /**
   * How far (mm) the pane's slice may lie from the low-dose slice along the normal and still be
   * measured as that section (its pairing's tolerance; absent: the server paired them).
   */
  readonly planeToleranceMm?: number | undefined;
  /** How its slices were paired with the low-dose ones (absent: by position); by order, its pixels are the low-dose pixels, as scored. */
  readonly matchedBy?: MatchedBy | undefined;
  readonly description: string;
  /** A denoised PET pane's lesion SUV caveat (its run's E_LESION_BIAS), shown under an ROI readout. */
  readonly caveat?: LesionCaveat | null;
  /** A method pane's provenance line (which model and lowdose version made its series), under the series description top right. */
  readonly provenance?: ProvenanceText | null;
  /** Per low-dose slice, what the overlay says where the pane has no image, when more than 'no matching slice' is known. */
  readonly blankText?: ReadonlyArray<string | null> | null;
  /** The pane's series is not a finished output of its run: the mark it carries on every slice (incompletePaneText). */
  readonly incompleteText?: string | null;
}

interface Pane {
  readonly key: PaneKey;
  readonly title: string;
  /** anatomy panes share window / level; the others keep their own scale and colour map. */
  readonly kind: 'anatomy' | 'difference' | 'uncertainty';
  readonly units: string;
  readonly imageIds: string[];
  /** The series whose facts the overlay shows, and its slice for each low-dose slice (null: the same index). */
  readonly series: SeriesDetail;
  readonly sliceMap: readonly number[] | null;
  readonly planeToleranceMm?: number | undefined;
  readonly matchedBy?: MatchedBy | undefined;
  readonly description: string;
  readonly root: HTMLElement;
  readonly element: HTMLElement;
  readonly info: { status: HTMLElement; roi: HTMLElement; caveat: HTMLElement; incomplete: HTMLElement; metrics: HTMLElement; link: HTMLButtonElement };
  readonly caveat?: LesionCaveat | null;
  readonly provenance?: ProvenanceText | null;
  readonly blankText?: ReadonlyArray<string | null> | null;
  readonly incompleteText?: string | null;
  readonly overlay: PaneOverlay;
  readonly wheel: WheelAccumulator;
  /** Switched on (toolbar, keys). */
  visible: boolean;
  /** On screen: switched on and given a slot by the layout. */
  displayed: boolean;
  /** Follows the other linked panes (slice, window / level, zoom and pan). */
  linked: boolean;
  /** The low-dose slice an unlinked pane shows. */
  ownIndex: number;
  /** The low-dose slice on screen, once drawn. */
  shownIndex: number | null;
  synced: boolean;
  initialised: boolean;
  token: number;
  /**
   * The readout of `roi` on `imageId` for low-dose slice `index` (one reference slice may stand for
   * two low-dose slices, at other distances), measured in the ellipse `at` (the ROI placed on this
   * pane's grid): a placement that changes under the same ROI (the comparison's geometry arriving
   * after the first draw) must not keep the readout of the old place.
   */
  roiCache: { imageId: string; roi: Ellipse; index: number; at: string; text: string } | null;
}

const PANE_KEYS: readonly PaneKey[] = ['lowDose', 'denoised', 'reference', 'difference', 'uncertainty'];

/**
 * The method panes' titles: "Denoised (nlm)" as for one comparison; in a hanging of several, the
 * method with its settings, and a number where two read the same.
 */
function methodTitles(view: View, single: string): string[] {
  if (view.methods.length <= 1) return [single];
  const labels = view.methods.map((m) => methodLabel(m.comparison.report));
  return labels.map((label, k) => {
    const same = labels.filter((l) => l === label).length;
    const nth = labels.slice(0, k + 1).filter((l) => l === label).length;
    return same > 1 ? `Denoised (${label} #${nth})` : `Denoised (${label})`;
  });
}

let toolsReady = false;

function initTools(): void {
  if (toolsReady) return;
  toolsReady = true;
  cornerstoneTools.init({ showSVGCursors: false, globalToolSyncEnabled: true });
  cornerstoneTools.addTool(cornerstoneTools.WwwcTool);
  cornerstoneTools.addTool(cornerstoneTools.PanTool);
  cornerstoneTools.addTool(cornerstoneTools.ZoomTool, { configuration: { invert: false, minScale: 0.1, maxScale: 40 } });
}

export interface ViewerEvents {
  /** The shown slice changed (also when opened). */
  onIndex?(index: number, count: number): void;
  /** The set of panes, their layout or links changed. */
  onPanesChanged?(keys: PaneKey[]): void;
  /** Prefetch progress: slices cached of those wanted around the current one. */
  onPrefetch?(cached: number, wanted: number): void;
  /** The ellipse ROI was drawn (null: drawn too small, removed). */
  onRoi?(roi: Ellipse | null): void;
}

export class ComparisonViewer {
  private panes: Pane[] = [];
  private view: View | null = null;
  private index = 0;
  private direction = 1;
  private voi: { windowCenter: number; windowWidth: number } = { windowCenter: 40, windowWidth: 400 };
  private anatomyColormap: string | undefined;
  private invert = false;
  private roi: Ellipse | null = null;
  private drawing: { x: number; y: number; pane: Pane } | null = null;
  private mode: ToolMode = 'window';
  private wlSync: Synchronizer | null = null;
  private panZoomSync: Synchronizer | null = null;
  private prefetcher: Prefetcher | null = null;
  private readonly cleanups: Array<() => void> = [];
  private firstShown: (() => void) | null = null;
  /** `present[i]`: the overlay's series has a slice for low-dose slice i. */
  private overlay: { source: OverlaySource; imageIds: string[]; present: boolean[]; on: boolean } | null = null;
  private readonly overlayImages = new Map<string, Image>();
  private overlayPicture: { imageId: string; canvas: HTMLCanvasElement; pixels: number } | null = null;
  private layout: Layout = LAYOUTS[0]!;
  /** Pane order on screen; a pane switched on where the layout has no slot for it moves to the front. */
  private order: PaneKey[] = [];
  private showPatient = true;
  private layoutFrame = 0;
  private paneFrame = 0;
  private readonly paneObserver: ResizeObserver;
  /** Per pane, a metrics line as wide as its numbers will be (reserveMetrics). */
  private metricsReserve = new Map<PaneKey, string>();

  constructor(
    private readonly container: HTMLElement,
    private readonly events: ViewerEvents = {},
  ) {
    initTools();
    // The grid depends on the panes' box (auto layout), which the window and the wrapping toolbar change.
    new ResizeObserver(() => {
      window.cancelAnimationFrame(this.layoutFrame);
      this.layoutFrame = window.requestAnimationFrame(() => this.applyLayout());
    }).observe(container);
    // A pane's image box can change inside an unchanged grid (its title or footer bar): its canvas follows.
    this.paneObserver = new ResizeObserver(() => {
      window.cancelAnimationFrame(this.paneFrame);
      this.paneFrame = window.requestAnimationFrame(() => this.relayout());
    });
  }

  /**
   * Resolves when every slice within the prefetch budget is cached, or after `maxMs`: heavy
   * background work (series metrics) waits for it so it does not slow the first scrolls.
   */
  whenPrefetched(maxMs = 20_000): Promise<void> {
    const prefetcher = this.prefetcher;
    if (!prefetcher) return Promise.resolve();
    return Promise.race([prefetcher.whenIdle(), new Promise<void>((resolve) => window.setTimeout(resolve, maxMs))]);
  }

  get currentIndex(): number {
    return this.index;
  }

  get sliceCount(): number {
    return this.view?.lowDose.slices ?? 0;
  }

  get currentView(): View | null {
    return this.view;
  }

  paneKeys(): PaneKey[] {
    return this.panes.map((p) => p.key);
  }

  /** The pane's title (from its series' role), or null when the view has no such pane. */
  paneTitle(key: PaneKey): string | null {
    return this.panes.find((p) => p.key === key)?.title ?? null;
  }

  isVisible(key: PaneKey): boolean {
    return this.panes.find((p) => p.key === key)?.visible ?? false;
  }

  /** Switched on and on screen (the layout may have no slot for a pane that is switched on). */
  isDisplayed(key: PaneKey): boolean {
    return this.panes.find((p) => p.key === key)?.displayed ?? false;
  }

  isLinked(key: PaneKey): boolean {
    return this.panes.find((p) => p.key === key)?.linked ?? false;
  }

  get layoutId(): LayoutId {
    return this.layout.id;
  }

  setLayout(layout: Layout): void {
    this.layout = layout;
    this.applyLayout();
  }

  get patientShown(): boolean {
    return this.showPatient;
  }

  /** Shows or hides the patient's name and ID in every pane's overlay. */
  setShowPatient(show: boolean): void {
    this.showPatient = show;
    this.container.dataset.patient = show ? 'shown' : 'hidden';
    this.redrawAll();
  }

  /** The overlay the denoised pane can show for this view, or null. */
  get overlaySource(): OverlaySource | null {
    return this.overlay?.source ?? null;
  }

  get overlayOn(): boolean {
    return this.overlay?.on ?? false;
  }

  /** Shows or hides the overlay on the denoised pane. */
  toggleOverlay(on?: boolean): void {
    if (!this.overlay) return;
    this.overlay.on = on ?? !this.overlay.on;
    const pane = this.panes.find((p) => p.key === 'denoised');
    if (pane) {
      pane.root.dataset.overlay = this.overlay.on ? this.overlay.source.kind : '';
      this.showIncompleteMark(pane);
      if (pane.initialised) cornerstone.updateImage(pane.element);
    }
  }

  /** Shows `view` at slice `index`; resolves when the first pane has drawn its slice. */
  open(view: View, index: number, overlay: OverlaySource | null = null): Promise<void> {
    this.close();
    this.view = view;
    this.index = clamp(index, 0, view.lowDose.slices - 1);
    const preset = initialPreset(view.lowDose.modality, view.lowDose.units, view.lowDose.window);
    this.voi = { windowCenter: preset.center, windowWidth: preset.width };
    this.anatomyColormap = preset.colormap;
    this.invert = view.lowDose.photometricInterpretation === 'MONOCHROME1';
    this.panes = this.buildPanes(view);
    this.order = this.panes.map((p) => p.key);
    this.overlay = this.overlayFor(view, overlay);
    for (const pane of this.panes) this.container.append(pane.root);
    for (const pane of this.panes) this.enable(pane);

    // Panes join the synchronizers once they show an image (a synchronizer reads every member's viewport).
    this.wlSync = new cornerstoneTools.Synchronizer('cornerstoneimagerendered', cornerstoneTools.wwwcSynchronizer);
    // Pan and zoom through patient coordinates: a pane of another pixel spacing or field of view
    // shows the same anatomy the same size at the same place (cornerstone-tools' own synchroniser
    // copies image pixels).
    this.panZoomSync = new cornerstoneTools.Synchronizer('cornerstoneimagerendered', (synchronizer: Synchronizer, source: HTMLElement, target: HTMLElement) =>
      this.syncPanZoom(synchronizer, source, target),
    );
    this.setMode(this.mode);

    const bytesPerImage = view.lowDose.rows * view.lowDose.columns * 2;
    this.prefetcher = new Prefetcher([], Math.floor((700 * 1024 * 1024) / bytesPerImage), (cached, wanted) => this.events.onPrefetch?.(cached, wanted));
    const shown = new Promise<void>((resolve) => (this.firstShown = resolve));
    // Shows every pane that gets a slot at this.index, and points the prefetcher there.
    this.applyLayout(false);
    this.events.onIndex?.(this.index, view.lowDose.slices);
    this.events.onPanesChanged?.(this.paneKeys());
    return shown;
  }

  close(): void {
    this.prefetcher?.stop();
    this.prefetcher = null;
    this.wlSync?.destroy();
    this.panZoomSync?.destroy();
    this.wlSync = this.panZoomSync = null;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const pane of this.panes) {
      cornerstone.disable(pane.element);
      pane.root.remove();
    }
    this.panes = [];
    this.metricsReserve = new Map();
    this.view = null;
    this.roi = null;
    this.overlay = null;
    this.overlayImages.clear();
    this.overlayPicture = null;
  }

  /** Moves every pane to low-dose slice `index`. */
  setIndex(index: number, force = false): void {
    if (!this.view) return;
    const next = clamp(Math.round(index), 0, this.view.lowDose.slices - 1);
    if (next === this.index && !force) return;
    if (next !== this.index) this.direction = Math.sign(next - this.index);
    this.index = next;
    for (const pane of this.panes) if (pane.displayed && pane.linked) this.show(pane, next);
    this.prefetcher?.focus(next, this.direction);
    this.events.onIndex?.(next, this.view.lowDose.slices);
  }

  step(delta: number): void {
    this.setIndex(this.index + delta);
  }

  /** Moves an unlinked pane by `delta` slices (its own slice; the linked panes stay). */
  private stepPane(pane: Pane, delta: number): void {
    if (!this.view) return;
    const next = clamp(pane.ownIndex + delta, 0, this.view.lowDose.slices - 1);
    if (next === pane.ownIndex) return;
    pane.ownIndex = next;
    this.show(pane, next);
  }

  applyPreset(preset: WindowPreset): void {
    this.voi = { windowCenter: preset.center, windowWidth: preset.width };
    this.anatomyColormap = preset.colormap;
    for (const pane of this.panes) {
      if (pane.kind !== 'anatomy' || !pane.initialised || !pane.linked) continue;
      const viewport = cornerstone.getViewport(pane.element);
      if (!viewport) continue;
      viewport.voi = { ...this.voi };
      viewport.colormap = preset.colormap;
      cornerstone.setViewport(pane.element, viewport);
    }
  }

  toggleInvert(): void {
    this.invert = !this.invert;
    for (const pane of this.panes) {
      if (pane.kind !== 'anatomy' || !pane.initialised || !pane.linked) continue;
      const viewport = cornerstone.getViewport(pane.element)!;
      viewport.invert = this.invert;
      cornerstone.setViewport(pane.element, viewport);
    }
  }

  /** Fits the linked panes (or one pane) to their boxes again: zoom to fit, no pan. */
  fit(only?: Pane): void {
    for (const pane of only ? [only] : this.panes.filter((p) => p.linked)) if (pane.displayed && pane.initialised) cornerstone.fitToWindow(pane.element);
    if (!only) this.followAnchor();
  }

  /**
   * Gives every other linked pane the zoom and pan that follow the source pane's (else the first
   * linked one's): each pane fitted on its own would show a reference of another pixel spacing at
   * another size, and which one's view the synchroniser then spread would depend on drawing order.
   */
  private followAnchor(): void {
    const linked = this.panes.filter((p) => p.linked && p.displayed && p.initialised);
    const anchor = linked.find((p) => p.key === 'lowDose') ?? linked[0];
    const view = anchor ? cornerstone.getViewport(anchor.element) : undefined;
    if (!anchor || !view) return;
    for (const pane of linked) {
      if (pane === anchor) continue;
      const next = this.viewFollowing(anchor, view, pane, pane.shownIndex);
      const viewport = cornerstone.getViewport(pane.element);
      if (!next || !viewport) continue;
      applyView(viewport, next);
      cornerstone.setViewport(pane.element, viewport);
    }
  }

  /**
   * Back to how the view opened, for the linked panes: fitted, unpanned, the file's window (or the
   * modality's preset), the file's greyscale sense; the difference and uncertainty panes their own
   * default windows.
   */
  reset(): void {
    const view = this.view;
    if (!view) return;
    const preset = initialPreset(view.lowDose.modality, view.lowDose.units, view.lowDose.window);
    this.voi = { windowCenter: preset.center, windowWidth: preset.width };
    this.anatomyColormap = preset.colormap;
    this.invert = view.lowDose.photometricInterpretation === 'MONOCHROME1';
    for (const pane of this.panes) {
      if (!pane.linked || !pane.initialised) continue;
      const image = cornerstone.getEnabledElement(pane.element).image;
      if (!image) continue;
      const viewport = cornerstone.getDefaultViewportForImage(pane.element, image);
      this.applyDisplayDefaults(pane, image, viewport);
      cornerstone.setViewport(pane.element, viewport);
      cornerstone.fitToWindow(pane.element);
    }
    this.followAnchor();
  }

  /**
   * Links or unlinks a pane. Unlinked, it keeps its slice, window and zoom while the others move,
   * and the wheel and mouse over it move it alone; linked again, it takes the others' slice and view.
   */
  setLinked(key: PaneKey, linked: boolean): void {
    const pane = this.panes.find((p) => p.key === key);
    if (!pane || pane.linked === linked) return;
    pane.linked = linked;
    pane.root.classList.toggle('unlinked', !linked);
    pane.info.link.setAttribute('aria-pressed', String(linked));
    pane.info.link.textContent = linked ? 'linked' : 'unlinked';
    pane.info.link.title = linked ? 'Follows the other panes: click to unlink' : 'Moves on its own: click to link to the other panes again';
    this.fitTitles(false);
    if (!linked) {
      pane.ownIndex = this.index;
      this.unsync(pane);
    } else if (pane.initialised) {
      const other = this.panes.find((p) => p !== pane && p.linked && p.initialised);
      const viewport = cornerstone.getViewport(pane.element);
      const reference = other ? cornerstone.getViewport(other.element) : undefined;
      if (other && viewport && reference) {
        const next = this.viewFollowing(other, reference, pane, this.index) ?? { scale: reference.scale, translation: reference.translation };
        applyView(viewport, next);
        if (pane.kind === 'anatomy') {
          viewport.voi = { ...this.voi };
          viewport.colormap = this.anatomyColormap;
          viewport.invert = this.invert;
        }
        cornerstone.setViewport(pane.element, viewport);
      }
      this.sync(pane);
      if (pane.displayed) this.show(pane, this.index);
    }
    this.events.onPanesChanged?.(this.paneKeys());
  }

  private sync(pane: Pane): void {
    if (pane.synced) return;
    if (pane.kind === 'anatomy') this.wlSync?.add(pane.element);
    this.panZoomSync?.add(pane.element);
    pane.synced = true;
  }

  private unsync(pane: Pane): void {
    if (!pane.synced) return;
    if (pane.kind === 'anatomy') this.wlSync?.remove(pane.element);
    this.panZoomSync?.remove(pane.element);
    pane.synced = false;
  }

  setMode(mode: ToolMode): void {
    this.mode = mode;
    const left = 1;
    const middle = 4;
    const right = 2;
    if (mode === 'window') cornerstoneTools.setToolActive('Wwwc', { mouseButtonMask: left });
    else cornerstoneTools.setToolPassive('Wwwc');
    cornerstoneTools.setToolActive('Pan', { mouseButtonMask: mode === 'pan' ? left | middle : middle });
    cornerstoneTools.setToolActive('Zoom', { mouseButtonMask: mode === 'zoom' ? left | right : right });
    this.container.dataset.mode = mode;
  }

  get toolMode(): ToolMode {
    return this.mode;
  }

  /**
   * Switches a pane on or off (at least one stays on). A pane that is on but has no slot in the
   * layout (1×1, 1×2) comes to the front instead, as does one switched on where the slots are full:
   * so in 1×1 the pane keys choose which pane shows.
   */
  togglePane(key: PaneKey, visible?: boolean): void {
    const pane = this.panes.find((p) => p.key === key);
    if (!pane) return;
    if (visible === undefined && pane.visible && !pane.displayed) {
      this.bringToFront(key);
      return;
    }
    const want = visible ?? !pane.visible;
    if (want === pane.visible) return;
    if (!want && this.panes.filter((p) => p.visible).length === 1) return;
    pane.visible = want;
    this.applyLayout();
    if (want && !pane.displayed) this.bringToFront(key);
  }

  private bringToFront(key: PaneKey): void {
    this.order = [key, ...this.order.filter((k) => k !== key)];
    this.applyLayout();
  }

  /** Switches a pane on if need be and puts it first (in 1×1: the pane on screen). */
  showFirst(key: PaneKey): void {
    const pane = this.panes.find((p) => p.key === key);
    if (!pane) return;
    pane.visible = true;
    this.bringToFront(key);
  }

  /** The anatomy panes (source, denoised, reference) that are switched on, in that order. */
  anatomyKeys(): PaneKey[] {
    return this.panes.filter((p) => p.kind === 'anatomy' && p.visible).map((p) => p.key);
  }

  paneOrder(): PaneKey[] {
    return [...this.order];
  }

  /** Puts back an order from `paneOrder` (keys of panes this view lacks are ignored). */
  restoreOrder(order: readonly PaneKey[]): void {
    const known = order.filter((key) => this.order.includes(key));
    this.order = [...known, ...this.order.filter((key) => !known.includes(key))];
    this.applyLayout();
  }

  /**
   * Gives the switched-on panes their slots and the grid its columns and rows, then shows what
   * came on screen and points the prefetcher at what is on screen.
   */
  private applyLayout(notify = true): void {
    if (this.panes.length === 0) return;
    const on = this.order.map((key) => this.panes.find((p) => p.key === key)!).filter((p) => p.visible);
    const shown = new Set(on.slice(0, slotsOf(this.layout, on.length)));
    const arrived: Pane[] = [];
    // The page's order is the screen's (tests and screen readers read it).
    const ordered = this.order.map((key) => this.panes.find((p) => p.key === key)!);
    if (ordered.some((pane, i) => this.container.children[i] !== pane.root)) this.container.append(...ordered.map((p) => p.root));
    for (const pane of this.panes) {
      const displayed = shown.has(pane);
      if (displayed && !pane.displayed) arrived.push(pane);
      pane.displayed = displayed;
      pane.root.hidden = !displayed;
    }
    const { columns, rows } = gridFor(this.layout, shown.size, this.container.clientWidth, this.container.clientHeight);
    this.container.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
    this.container.style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
    this.container.dataset.panes = String(shown.size);
    this.container.dataset.layout = this.layout.id;
    this.container.dataset.grid = `${columns}x${rows}`;
    this.fitTitles(true);
    this.relayout();
    if (this.view) for (const pane of arrived) this.show(pane, pane.linked ? this.index : pane.ownIndex);
    this.prefetcher?.setStacks(this.displayedStacks());
    this.prefetcher?.focus(this.index, this.direction);
    if (notify) this.events.onPanesChanged?.(this.paneKeys());
  }

  clearRoi(): void {
    this.roi = null;
    this.redrawAll();
  }

  /** The ROI's text in each pane, for tests and the status line. */
  roiText(): Partial<Record<PaneKey, string>> {
    return Object.fromEntries(this.panes.map((p) => [p.key, p.info.roi.textContent ?? '']));
  }

  setRoi(roi: Ellipse | null): void {
    this.roi = roi;
    this.redrawAll();
  }

  /** Writes a pane's per-slice metrics line (owned by the metrics view). */
  setPaneMetrics(key: PaneKey, text: string, title = ''): void {
    const pane = this.panes.find((p) => p.key === key);
    if (!pane) return;
    pane.info.metrics.textContent = text;
    // The line itself first: in a narrow pane it may end in an ellipsis.
    pane.info.metrics.title = text && title ? `${text}\n${title}` : text || title;
    this.fitTitles(false);
  }

  /**
   * One title line per pane while every shown pane's name, frame label, link button and metrics
   * fit side by side; else (`data-title-lines="2"` on the panes' box) the metrics move to a second
   * line in every pane, so the image boxes stay alike and a narrow pane cuts neither its name nor
   * its scores. `relayout`: the panes' widths or set changed, so one line is tried again; a new
   * metrics text only ever adds the second line (a line that came and went with each slice's
   * numbers would move the images as one scrolls).
   */
  private fitTitles(relayout: boolean): void {
    const box = this.container;
    if (!relayout && box.dataset.titleLines === '2') return;
    delete box.dataset.titleLines;
    const shown = this.panes.filter((p) => p.displayed);
    const titles = shown.map((p) => p.root.querySelector<HTMLElement>('.pane-title')!);
    // Reading the widths lays the one-line titles out now: the page never paints them cut. Then
    // again with each pane's reserved line written in (reserveMetrics), and its own put back.
    let cut = titles.some(titleIsCut);
    if (!cut && shown.some((p) => this.metricsReserve.has(p.key))) {
      const own = shown.map((p) => p.info.metrics.textContent ?? '');
      for (const p of shown) p.info.metrics.textContent = this.metricsReserve.get(p.key) ?? p.info.metrics.textContent;
      cut = titles.some(titleIsCut);
      for (const [k, p] of shown.entries()) p.info.metrics.textContent = own[k]!;
    }
    if (cut) box.dataset.titleLines = '2';
  }

  /**
   * The metrics lines the panes are to get, as wide as their numbers will be (owned by the metrics
   * view): the title bars make room for them now, before the numbers arrive.
   */
  reserveMetrics(lines: ReadonlyMap<PaneKey, string>): void {
    this.metricsReserve = new Map(lines);
    this.fitTitles(false);
  }

  private displayedStacks(): string[][] {
    return this.panes.filter((p) => p.displayed).map((p) => p.imageIds);
  }

  private overlayFor(view: View, source: OverlaySource | null): ComparisonViewer['overlay'] {
    if (!source || !view.denoised) return null;
    const series = source.kind === 'hallucination' ? view.hallucination : view.uncertainty;
    const map = source.kind === 'hallucination' ? view.comparison?.alignment.hallucination : view.comparison?.alignment.uncertainty;
    if (!series || !map) return null;
    const blank = blankImageId(view.lowDose.rows, view.lowDose.columns);
    return { source, imageIds: map.map((j) => (j >= 0 ? sliceImageId(series.id, j, series.rev) : blank)), present: map.map((j) => j >= 0), on: false };
  }

  /**
   * The pane's incomplete mark for the slice shown (`data-incomplete`): its own series' where its
   * run did not finish it (the uncertainty pane), else, on the denoised pane while the overlay is
   * on, the overlay's series' (a slice the map lacks has no overlay, which is not "nothing
   * flagged": it says so there).
   */
  private showIncompleteMark(pane: Pane): void {
    let text = pane.incompleteText ?? null;
    const overlay = this.overlay;
    if (text === null && pane.key === 'denoised' && overlay?.on && overlay.source.incomplete) {
      const what = overlay.source.kind === 'hallucination' ? 'hallucination map' : 'uncertainty series';
      text = overlay.present[this.index] ? incompletePaneText(what, overlay.source.incomplete) : incompleteNoSliceText(what, overlay.source.incomplete);
    }
    pane.info.incomplete.textContent = text ?? '';
    pane.info.incomplete.hidden = text === null;
    pane.root.classList.toggle('incomplete-shown', text !== null);
    if (text === null) delete pane.root.dataset.incomplete;
    else pane.root.dataset.incomplete = text;
  }

  /** Paints the overlay of the shown slice over the denoised pane, loading it first if need be. */
  private drawOverlay(pane: Pane, detail: RenderedEventDetail): void {
    const overlay = this.overlay;
    if (!overlay?.on) return;
    // No slice of the overlay's series here (a map or σ series short of slices): nothing to draw.
    // Its blank stand-in reads 0 everywhere, which the map's rule (FRC below the threshold) would
    // paint as the whole slice flagged.
    if (!overlay.present[this.index]) {
      pane.root.dataset.overlayPixels = '0';
      pane.root.dataset.overlaySlice = String(this.index);
      return;
    }
    const imageId = overlay.imageIds[this.index];
    if (!imageId) return;
    const image = this.overlayImages.get(imageId);
    if (!image) {
      const index = this.index;
      cornerstone.loadAndCacheImage(imageId).then(
        (loaded) => {
          this.overlayImages.set(imageId, loaded);
          if (this.index === index && this.overlay === overlay && pane.initialised) cornerstone.updateImage(pane.element);
        },
        () => {},
      );
      return;
    }
    if (this.overlayPicture?.imageId !== imageId) this.overlayPicture = { imageId, ...overlayPicture(image, overlay.source) };
    const context = detail.canvasContext;
    context.save();
    cornerstone.setToPixelCoordinateSystem(detail.enabledElement, context);
    context.imageSmoothingEnabled = false;
    context.drawImage(this.overlayPicture.canvas, 0, 0);
    context.restore();
    pane.root.dataset.overlayPixels = String(this.overlayPicture.pixels);
    // Which low-dose slice the overlay was last drawn for (read by the end-to-end test).
    pane.root.dataset.overlaySlice = String(this.index);
  }

  /**
   * Where a pane measures the shapes kept in low-dose pixels: the low-dose slice it stands for
   * (its own while unlinked) and its own slice of its series; null without a slice.
   */
  placement(pane: Pane, at?: number): PanePlacement | null {
    const view = this.view;
    if (!view) return null;
    const index = at ?? pane.shownIndex ?? (pane.linked ? this.index : pane.ownIndex);
    const slice = pane.sliceMap ? (pane.sliceMap[index] ?? -1) : index;
    if (slice < 0) return null;
    return panePlacement(view.lowDose, index, pane.series, slice, pane.planeToleranceMm ?? Infinity, pane.matchedBy ?? 'position');
  }

  /** cornerstone-tools' pan / zoom synchroniser, with each target's view from `followView`. */
  private syncPanZoom(synchronizer: Synchronizer, source: HTMLElement, target: HTMLElement): void {
    if (source === target) return;
    const from = this.panes.find((p) => p.element === source);
    const to = this.panes.find((p) => p.element === target);
    const sourceViewport = cornerstone.getViewport(source);
    const targetViewport = cornerstone.getViewport(target);
    if (!from || !to || !sourceViewport || !targetViewport) return;
    const next = this.viewFollowing(from, sourceViewport, to, to.shownIndex);
    if (!next) return;
    // A round trip through the mapping is exact only to rounding: "the same" within it, or the panes would redraw each other for ever.
    const same =
      Math.abs(next.scale - targetViewport.scale) <= 1e-9 * next.scale &&
      Math.abs(next.translation.x - targetViewport.translation.x) <= 1e-6 &&
      Math.abs(next.translation.y - targetViewport.translation.y) <= 1e-6 &&
      (next.rotation === undefined || (next.rotation === (targetViewport.rotation ?? 0) && next.hflip === targetViewport.hflip && next.vflip === targetViewport.vflip));
    if (same) return;
    applyView(targetViewport, next);
    synchronizer.setViewport(target, targetViewport);
  }

  /** Pane `to`'s zoom and pan that follow `view` of pane `from` (at `to`'s low-dose slice `index`); null without images. */
  private viewFollowing(from: Pane, view: Viewport, to: Pane, index: number | null, toImage?: Image): PaneView | null {
    const sourceImage = imageOfElement(from.element);
    const targetImage = toImage ?? imageOfElement(to.element);
    if (!sourceImage || !targetImage) return null;
    // A blank slot (no slice there) is a low-dose-sized image: it stands on the low-dose grid, so a
    // view passed through it comes back unchanged.
    const sourcePlacement = sourceImage.blank ? this.lowDosePlacement(from.shownIndex) : this.placement(from);
    const targetPlacement = targetImage.blank ? this.lowDosePlacement(index) : this.placement(to, index ?? undefined);
    return followView(view, { rows: sourceImage.rows, columns: sourceImage.columns, placement: sourcePlacement }, { rows: targetImage.rows, columns: targetImage.columns, placement: targetPlacement });
  }

  /** The low-dose slice's own grid as a placement (the identity), for a pane's blank slot. */
  private lowDosePlacement(index: number | null): PanePlacement | null {
    if (!this.view) return null;
    const grid = sliceGrid(this.view.lowDose, index ?? this.index);
    return { frame: grid, grid, toleranceMm: Infinity };
  }

  /** The placement of the pane whose image element this is (the measurement layer's shapes). */
  placementOf(element: HTMLElement): PanePlacement | null {
    const pane = this.panes.find((p) => p.element === element);
    return pane ? this.placement(pane) : null;
  }

  private buildPanes(view: View): Pane[] {
    const { lowDose } = view;
    const count = lowDose.slices;
    const blank = blankImageId(lowDose.rows, lowDose.columns);
    const lowIds = Array.from({ length: count }, (_, i) => sliceImageId(lowDose.id, i, lowDose.rev));
    const aligned = (series: SeriesDetail | null, map: number[] | null | undefined): string[] | null =>
      series && map ? map.map((j) => (j >= 0 ? sliceImageId(series.id, j, series.rev) : blank)) : null;
    const alignment = view.comparison?.alignment;
    // Each pane's slice is the one at the low-dose slice's position along the normal (a reference
    // of another field of view or slice spacing included), else the server's pairing.
    // Paired by the server by order (positions that do not coincide), a pane's pixels are the low-dose pixels, as the scores take them.
    const paired = (series: SeriesDetail | null, map: number[] | null | undefined, matchedBy: MatchedBy | null | undefined) => {
      const pairing = series ? pairAlongNormal(lowDose, series) : null;
      return { map: pairing?.nearest ?? map ?? null, planeToleranceMm: pairing?.toleranceMm, offsetMm: pairing?.offsetMm ?? null, matchedBy: pairing ? ('position' as const) : (matchedBy ?? undefined) };
    };
    const denoisedPaired = paired(view.denoised, alignment?.denoised, alignment?.matchedBy?.denoised);
    const referencePaired = paired(view.reference, alignment?.reference, alignment?.matchedBy?.reference);
    const uncertaintyPaired = paired(view.uncertainty, alignment?.uncertainty, alignment?.matchedBy?.uncertainty);
    const denoisedIds = aligned(view.denoised, denoisedPaired.map);
    const referenceIds = aligned(view.reference, referencePaired.map);
    const uncertaintyIds = aligned(view.uncertainty, uncertaintyPaired.map);
    const uncertaintyIncomplete = view.comparison?.uncertaintyIncomplete ?? null;
    // The difference is pixel by pixel: only against a reference slice of the same section on the
    // denoised slice's own grid as the two were paired (differenceSlices: the figure's rule); where
    // the reference has a slice there but not so, the difference pane says why it is empty.
    const difference = referenceIds && view.denoised && view.reference && denoisedPaired.map ? differenceSlices(view.denoised, denoisedPaired.map, view.reference, referencePaired) : null;
    const against = difference ? aligned(view.reference, difference.slices)! : lowIds;
    const differenceBlankText = difference?.notes ?? null;
    const differenceIds = denoisedIds
      ? denoisedIds.map((id, i) => {
          const other = against[i];
          return id === blank || other === undefined || other === blank ? blank : differenceImageId(id, other);
        })
      : null;
    const titles = paneTitles({ source: lowDose, denoised: view.denoised, reference: view.reference, method: view.comparison?.report?.method ?? null });
    const differenceOf = referenceIds ? 'denoised − reference' : `denoised − ${titles.lowDose.toLowerCase()}`;
    const methodNames = methodTitles(view, titles.denoised);
    // The methods after the first, each aligned to the low-dose slices by its own comparison.
    const moreMethods: PaneSpec[] = view.methods.slice(1).map((m, k) => {
      const methodPaired = paired(m.denoised, m.comparison.alignment.denoised, m.comparison.alignment.matchedBy?.denoised);
      return {
      key: methodPaneKey(k + 1),
      imageIds: aligned(m.denoised, methodPaired.map)!,
      kind: 'anatomy',
      units: lowDose.units,
      series: m.denoised,
      sliceMap: methodPaired.map,
      planeToleranceMm: methodPaired.planeToleranceMm, matchedBy: methodPaired.matchedBy,
      description: m.denoised.description,
      caveat: lesionCaveat(m.comparison.report?.warnings),
      provenance: provenanceText(m.denoised),
    };
    });
    const specs: Array<PaneSpec | null> = [
      { key: 'lowDose', imageIds: lowIds, kind: 'anatomy', units: lowDose.units, series: lowDose, sliceMap: null, description: lowDose.description },
      denoisedIds && view.denoised
        ? {
            key: 'denoised',
            imageIds: denoisedIds,
            kind: 'anatomy',
            units: lowDose.units,
            series: view.denoised,
            sliceMap: denoisedPaired.map,
            planeToleranceMm: denoisedPaired.planeToleranceMm, matchedBy: denoisedPaired.matchedBy,
            description: view.denoised.description,
            caveat: lesionCaveat(view.comparison?.report?.warnings),
            provenance: provenanceText(view.denoised),
          }
        : null,
      ...moreMethods,
      referenceIds && view.reference
        ? {
            key: 'reference',
            imageIds: referenceIds,
            kind: 'anatomy',
            units: lowDose.units,
            series: view.reference,
            sliceMap: referencePaired.map,
            planeToleranceMm: referencePaired.planeToleranceMm, matchedBy: referencePaired.matchedBy,
            description: view.reference.description,
          }
        : null,
      differenceIds ? { key: 'difference', imageIds: differenceIds, kind: 'difference', units: lowDose.units, series: lowDose, sliceMap: null, description: differenceOf, blankText: differenceBlankText } : null,
      uncertaintyIds && view.uncertainty
        ? {
            key: 'uncertainty',
            imageIds: uncertaintyIds,
            kind: 'uncertainty',
            units: view.uncertainty.units,
            series: view.uncertainty,
            sliceMap: uncertaintyPaired.map,
            planeToleranceMm: uncertaintyPaired.planeToleranceMm, matchedBy: uncertaintyPaired.matchedBy,
            description: view.uncertainty.description,
            // Not its run's whole output: marked on every slice, and a slice it lacks says so.
            ...(uncertaintyIncomplete
              ? { incompleteText: incompletePaneText('uncertainty series', uncertaintyIncomplete), blankText: uncertaintyPaired.map?.map((j) => (j >= 0 ? null : incompleteNoSliceText('uncertainty series', uncertaintyIncomplete))) ?? null }
              : {}),
          }
        : null,
    ];
    const titleOf = (key: PaneKey): string => {
      if (key === 'denoised') return methodNames[0]!;
      if (key.startsWith('denoised-')) return methodNames[Number(key.slice('denoised-'.length)) - 1]!;
      return titles[key as keyof typeof titles];
    };
    return specs.filter((spec): spec is PaneSpec => spec !== null).map((spec) => this.createPane(spec, titleOf(spec.key)));
  }

  private createPane(spec: PaneSpec, title: string): Pane {
    const { key } = spec;
    const root = document.createElement('section');
    root.className = 'pane';
    root.dataset.pane = key;
    root.innerHTML = `
      <header class="pane-title"><span class="pane-name"></span><span class="pane-frame" hidden></span><button type="button" class="pane-link" aria-pressed="true">linked</button><span class="pane-metrics" data-metrics="${key}"></span></header>
      <div class="pane-image" tabindex="-1"></div>
      <footer class="pane-info"><span class="pane-status"></span><span class="pane-roi"></span></footer>`;
    const name = root.querySelector<HTMLElement>('.pane-name')!;
    name.textContent = title;
    // Whole in the tooltip where a narrow pane ends it in an ellipsis, and the series description
    // under it: the overlay's top-right line, cut to one line in a narrow pane, cannot have a tooltip
    // of its own (a pointer on it would take the image's pixel probe).
    name.title = spec.description && spec.description !== title ? `${title}\n${spec.description}` : title;
    // A time point or gate of a dynamic or gated PET acquisition: which one, from the pane's own
    // series (the difference pane's is the low-dose series), so panes of different frames show it.
    // In a narrow pane its timing gives way first, then the name; the frame's number stays.
    const frame = frameLabel(spec.series);
    if (frame) {
      const label = root.querySelector<HTMLElement>('.pane-frame')!;
      const [number, ...timing] = frame.text.split(' · ');
      const part = (className: string, text: string) => Object.assign(document.createElement('span'), { className, textContent: text });
      label.replaceChildren(part('pane-frame-number', number!), ...(timing.length > 0 ? [part('pane-frame-timing', ` · ${timing.join(' · ')}`)] : []));
      label.title = frame.tooltip;
      label.hidden = false;
    }
    const element = root.querySelector<HTMLElement>('.pane-image')!;
    // The lesion caveat: a line along the image's foot (the footer keeps its one fixed-height line).
    const caveat = document.createElement('div');
    caveat.className = 'pane-caveat';
    caveat.hidden = true;
    element.append(caveat);
    // The incomplete mark: a line along the image's top while the pane (or its overlay) shows a
    // series its run did not finish, the corner texts moved down under it.
    const incomplete = document.createElement('div');
    incomplete.className = 'pane-incomplete';
    element.append(incomplete);
    element.addEventListener('contextmenu', (event) => event.preventDefault());
    const link = root.querySelector<HTMLButtonElement>('.pane-link')!;
    link.title = 'Follows the other panes: click to unlink';
    link.addEventListener('click', () => this.setLinked(key, !this.isLinked(key)));
    const overlay = new PaneOverlay(element);
    overlay.setProvenance(spec.provenance ?? null);
    const pane: Pane = {
      ...spec,
      title,
      root,
      element,
      info: {
        status: root.querySelector('.pane-status')!,
        roi: root.querySelector('.pane-roi')!,
        caveat,
        incomplete,
        metrics: root.querySelector('.pane-metrics')!,
        link,
      },
      overlay,
      wheel: new WheelAccumulator(),
      visible: true,
      displayed: false,
      linked: true,
      ownIndex: 0,
      shownIndex: null,
      synced: false,
      initialised: false,
      token: 0,
      roiCache: null,
    };
    this.showIncompleteMark(pane);
    return pane;
  }

  private enable(pane: Pane): void {
    cornerstone.enable(pane.element);
    const element = pane.element;
    const onRendered = (event: Event) => this.rendered(pane, (event as CustomEvent<RenderedEventDetail>).detail);
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const slices = pane.wheel.slices(event.deltaY, event.deltaMode, event.timeStamp);
      if (slices === 0) return;
      if (pane.linked) this.step(slices);
      else this.stepPane(pane, slices);
    };
    const onDown = (event: MouseEvent) => this.roiDown(pane, event);
    const onMove = (event: MouseEvent) => this.roiMove(event);
    const onUp = () => this.roiUp();
    const onDouble = () => this.fit(pane.linked ? undefined : pane);
    element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
    element.addEventListener('wheel', onWheel, { passive: false });
    element.addEventListener('mousedown', onDown);
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    element.addEventListener('dblclick', onDouble);
    this.paneObserver.observe(element);
    this.cleanups.push(() => {
      this.paneObserver.unobserve(element);
      element.removeEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
      element.removeEventListener('wheel', onWheel);
      element.removeEventListener('mousedown', onDown);
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
      element.removeEventListener('dblclick', onDouble);
    });
  }

  private show(pane: Pane, index: number): void {
    const token = ++pane.token;
    const imageId = pane.imageIds[index];
    if (imageId === undefined) return;
    cornerstone.loadAndCacheImage(imageId).then(
      (image) => {
        if (token !== pane.token || !this.view) return;
        const viewport = pane.initialised ? this.followingViewport(pane, image, index) : this.initialViewport(pane, image, index);
        pane.shownIndex = index;
        cornerstone.displayImage(pane.element, image, viewport);
        if (!pane.initialised && pane.linked) this.sync(pane);
        pane.initialised = true;
        pane.root.dataset.index = String(index);
        pane.root.dataset.imageId = imageId;
        pane.root.classList.toggle('no-slice', image.blank === true);
        pane.root.classList.remove('failed');
        pane.info.status.textContent = '';
        if (this.firstShown) {
          this.firstShown();
          this.firstShown = null;
        }
      },
      (error: unknown) => {
        if (token !== pane.token) return;
        pane.info.status.textContent = `slice ${index + 1}: ${error instanceof Error ? error.message : String(error)}`;
        pane.root.classList.add('failed');
      },
    );
  }

  private initialViewport(pane: Pane, image: Image, index: number): Viewport {
    const viewport = cornerstone.getDefaultViewportForImage(pane.element, image);
    // A pane opened after the others takes their zoom and pan (the same anatomy at the same place, ./pane-geometry.ts).
    const shown = this.panes.find((p) => p !== pane && p.initialised && p.visible);
    const reference = shown ? cornerstone.getViewport(shown.element) : undefined;
    if (shown && reference && pane.linked) {
      const next = this.viewFollowing(shown, reference, pane, index, image) ?? { scale: reference.scale, translation: reference.translation };
      applyView(viewport, next);
    }
    this.applyDisplayDefaults(pane, image, viewport);
    return viewport;
  }

  /**
   * A linked pane's viewport for its next image: its own, with the zoom and pan that follow the
   * source pane's (or another linked one's) for that image's grid, so a pane whose slice changes
   * grid (a blank slot, another series' slice) does not push a view of the old grid to the others.
   */
  private followingViewport(pane: Pane, image: Image, index: number): Viewport {
    const viewport = cornerstone.getViewport(pane.element)!;
    if (!pane.linked) return viewport;
    const anchor = [this.panes.find((p) => p.key === 'lowDose'), ...this.panes].find((p) => p && p !== pane && p.linked && p.initialised && p.displayed);
    const anchorViewport = anchor ? cornerstone.getViewport(anchor.element) : undefined;
    const next = anchor && anchorViewport ? this.viewFollowing(anchor, anchorViewport, pane, index, image) : null;
    if (next) {
      applyView(viewport, next);
    }
    return viewport;
  }

  /** The calibrated σ threshold of the uncertainty pane's series (as its own header says; a server without that field: its report's), null for a raw spread. */
  private uncertaintyThreshold(): number | null {
    return uncertaintyThresholdOf(this.view?.comparison ?? null);
  }

  /** The window, colour map and greyscale sense a pane opens with. */
  private applyDisplayDefaults(pane: Pane, image: Image, viewport: Viewport): void {
    if (pane.kind === 'anatomy') {
      viewport.voi = { ...this.voi };
      viewport.colormap = this.anatomyColormap;
      viewport.invert = this.invert;
    } else if (pane.kind === 'difference') {
      const modality = this.view?.lowDose.modality ?? 'CT';
      viewport.voi = { windowCenter: 0, windowWidth: differenceWidth(modality) };
      viewport.colormap = DIFFERENCE_COLORMAP;
      viewport.invert = false;
    } else {
      // The written σ series' window (src/dicom/sigma-window.ts), as a PACS shows it and the
      // server's figure draws it: calibrated 0 to 4 × the threshold, the raw spread 0 to the slice's p99.
      const values = Float32Array.from(image.getPixelData(), (v) => v * image.slope + image.intercept);
      const window = uncertaintyWindow(values, image.padding ?? null, this.uncertaintyThreshold(), pane.units);
      viewport.voi = { windowCenter: (window.lo + window.hi) / 2, windowWidth: window.hi - window.lo };
      viewport.colormap = UNCERTAINTY_COLORMAP;
      viewport.invert = false;
    }
  }

  private rendered(pane: Pane, detail: RenderedEventDetail): void {
    const { viewport, image } = detail;
    if (pane.kind === 'anatomy' && pane.linked) this.voi = { windowCenter: viewport.voi.windowCenter, windowWidth: viewport.voi.windowWidth };
    const unit = pane.units === 'SUVbw' ? 'SUV' : pane.units;
    const windowText =
      pane.kind === 'difference'
        ? differenceWindowText(viewport.voi, unit, fmt)
        : pane.kind === 'uncertainty'
          ? uncertaintyWindowText({ lo: viewport.voi.windowCenter - viewport.voi.windowWidth / 2, hi: viewport.voi.windowCenter + viewport.voi.windowWidth / 2 }, this.uncertaintyThreshold(), unit, fmt)
          : `W ${fmt(viewport.voi.windowWidth)} L ${fmt(viewport.voi.windowCenter)} ${unit}`;
    this.drawOverlayText(pane, image, viewport, windowText);
    // Read by the end-to-end test to check that zoom and pan follow across panes.
    pane.root.dataset.scale = viewport.scale.toFixed(4);
    pane.root.dataset.translation = `${viewport.translation.x.toFixed(1)},${viewport.translation.y.toFixed(1)}`;
    pane.root.dataset.turn = `${viewport.rotation ?? 0},${viewport.hflip === true},${viewport.vflip === true}`;
    if (pane.key === 'denoised') this.drawOverlay(pane, detail);
    this.showIncompleteMark(pane);
    if (!this.roi) {
      pane.info.roi.textContent = '';
      this.showCaveat(pane, null);
      return;
    }
    // The ROI is kept in low-dose pixels; each pane measures and draws it over the same anatomy
    // on its own grid, or says why it cannot (another orientation, outside its field of view, …).
    const shownIndex = pane.shownIndex ?? this.index;
    const placement = image.blank ? null : this.placement(pane);
    const placed = placement ? placeShape({ kind: 'ellipse', ellipse: this.roi }, placement) : null;
    const ellipse = placed?.shape?.kind === 'ellipse' ? placed.shape.ellipse : null;
    let text = '';
    const at = ellipse ? JSON.stringify(ellipse) : placed ? 'unmatched' : 'none';
    if (pane.roiCache && pane.roiCache.imageId === image.imageId && pane.roiCache.roi === this.roi && pane.roiCache.index === shownIndex && pane.roiCache.at === at) text = pane.roiCache.text;
    else if (placed && !placed.shape) {
      text = unmatchedText(placed);
      pane.roiCache = { imageId: image.imageId, roi: this.roi, index: shownIndex, at, text };
    } else {
      // PET in SUV: SUVmean ± SD, SUVmax and the PERCIST SUVpeak, which needs the slices within
      // 6 mm: shown as "…" until they are loaded (loadPeak), then filled in.
      const pet = pane.kind === 'anatomy' && pane.units === 'SUVbw';
      // The slice of the image drawn, not this.index: while the next slice loads the pane still
      // draws the previous one, and its SUVpeak sphere must reach around that slice, not the next.
      const index = shownIndex;
      const location = sphereSlices(pane.series.locations, pane.sliceMap, index)?.location ?? null;
      const uptake = image.blank || !ellipse ? null : ellipseUptake(sliceValues(image, location), ellipse, null);
      text = formatUptake(uptake, unit, pet, true);
      pane.roiCache = { imageId: image.imageId, roi: this.roi, index, at, text };
      if (pet && uptake && ellipse) void this.loadPeak(pane, image, this.roi, ellipse, index, at);
    }
    pane.info.roi.textContent = text;
    pane.root.classList.toggle('roi-unmatched', placed !== null && !placed.shape);
    // Under a PET readout of a denoised pane whose run measured lesion SUV bias: how far to trust it.
    this.showCaveat(pane, text && ellipse && pane.units === 'SUVbw' ? (pane.caveat ?? null) : null);
    // No outline where the ROI cannot be placed: an outline at the same pixels would mark other anatomy.
    if (ellipse || (!placed && image.blank)) drawEllipse(pane.element, detail.canvasContext, ellipse ?? this.roi, text, this.drawing !== null);
  }

  /** Shows (or hides, null) the pane's lesion caveat line; the overlay's bottom texts move up above it. */
  private showCaveat(pane: Pane, caveat: LesionCaveat | null): void {
    pane.info.caveat.hidden = caveat === null;
    pane.info.caveat.textContent = caveat?.line ?? '';
    pane.root.classList.toggle('caveat-shown', caveat !== null);
    pane.overlay.placeFoot();
  }

  /**
   * Loads the slices of the pane's own series within 6 mm of its slice for low-dose slice `index`,
   * by that series' own locations (a reference may have other positions or spacing than the
   * low-dose series), and writes the readout with SUVpeak.
   */
  private async loadPeak(pane: Pane, image: Image, roi: Ellipse, ellipse: Ellipse, index: number, at: string): Promise<void> {
    const series = pane.series;
    const sphere = sphereSlices(series.locations, pane.sliceMap, index);
    // Without slice locations the peak is a disc on this slice, labelled as such (formatUptake).
    const current = sliceValues(image, sphere?.location ?? null);
    let neighbours: SliceValues[] | null = sphere ? [current] : null;
    if (sphere && sphere.near.length > 0) {
      const loaded = await Promise.allSettled(sphere.near.map((n) => cornerstone.loadAndCacheImage(sliceImageId(series.id, n.slice, series.rev))));
      // A neighbour that does not load leaves the sphere incomplete: no SUVpeak ("n/a") rather than
      // a number over part of the sphere that would read as the PERCIST SUVpeak.
      neighbours = loaded.every((r) => r.status === 'fulfilled')
        ? [current, ...loaded.flatMap((r, k) => (r.status === 'fulfilled' && !r.value.blank ? [sliceValues(r.value, sphere.near[k]!.location)] : []))]
        : null;
    }
    if (pane.roiCache?.imageId !== image.imageId || pane.roiCache.roi !== roi || pane.roiCache.index !== index || pane.roiCache.at !== at) return;
    // The series' edges: a sphere that reaches past its first or last slice is labelled as cut.
    // `ellipse`: the ROI on this pane's grid; `roi` (the low-dose pixels) keys the readout's cache.
    const text = formatUptake(ellipseUptake(current, ellipse, neighbours, sphere?.edges ?? null), 'SUV', true, false);
    pane.roiCache = { imageId: image.imageId, roi, index, at, text };
    if (pane.initialised && pane.displayed) cornerstone.updateImage(pane.element);
  }

  /** The pane's overlay text for the slice and view just drawn. */
  private drawOverlayText(pane: Pane, image: Image, viewport: Viewport, windowText: string): void {
    const index = pane.shownIndex ?? this.index;
    const slice = image.blank ? -1 : (pane.sliceMap?.[index] ?? index);
    const series = pane.series;
    const text = overlayText(
      {
        patientName: series.patientName,
        patientId: series.patientId,
        studyDate: series.studyDate,
        seriesDescription: pane.description,
        sliceNumber: slice >= 0 ? slice + 1 : null,
        noSliceText: pane.blankText?.[index] ?? null,
        sliceCount: series.slices,
        location: slice >= 0 ? (series.locations[slice] ?? null) : null,
        thickness: series.sliceThickness,
        windowText,
        zoom: viewport.scale,
      },
      this.showPatient,
    );
    const bar = image.blank ? null : scaleBar(viewport.scale / image.columnPixelSpacing, 0.3 * pane.element.clientWidth);
    // The edge letters of the anatomy as shown: a pane flipped or turned to match the low-dose one names its turned edges.
    pane.overlay.update(text, orientationLabels(displayedOrientation(series.orientation, viewport)), bar);
  }

  private redrawAll(): void {
    for (const pane of this.panes) if (pane.displayed && pane.initialised) cornerstone.updateImage(pane.element);
  }

  /** Sizes the canvases to their panes' new boxes (also before the first image: it is fitted to them). */
  private relayout(): void {
    for (const pane of this.panes) {
      if (!pane.displayed) continue;
      // Only a pane whose box changed: a pane back in the same box (flicker in 1x1) keeps its
      // zoom and pan. Fitted again: cornerstone's "keep the zoom relative to the box" drifts
      // away from fitted when a pane's shape changes (2x2 to a row).
      const canvas = pane.element.querySelector('canvas');
      if (canvas && canvas.width === pane.element.clientWidth && canvas.height === pane.element.clientHeight) continue;
      cornerstone.resize(pane.element, true);
    }
  }

  private roiDown(pane: Pane, event: MouseEvent): void {
    if (this.mode !== 'roi' || event.button !== 0 || !pane.initialised) return;
    event.preventDefault();
    event.stopPropagation();
    const point = cornerstone.pageToPixel(pane.element, event.pageX, event.pageY);
    const roi = this.roiInLowDose(pane, { cx: point.x, cy: point.y, rx: 0, ry: 0 });
    // A pane whose grid does not map onto the low-dose one (another orientation, no geometry) takes no ROI.
    if (!roi) return;
    this.drawing = { x: point.x, y: point.y, pane };
    this.roi = roi;
  }

  private roiMove(event: MouseEvent): void {
    if (!this.drawing) return;
    const point = cornerstone.pageToPixel(this.drawing.pane.element, event.pageX, event.pageY);
    const { x, y } = this.drawing;
    const drawn = { cx: (x + point.x) / 2, cy: (y + point.y) / 2, rx: Math.abs(point.x - x) / 2, ry: Math.abs(point.y - y) / 2 };
    this.roi = this.roiInLowDose(this.drawing.pane, drawn) ?? this.roi;
    this.redrawAll();
  }

  /** An ellipse drawn in a pane's pixels, in the low-dose pixels the ROI is kept in (null: the grids do not map). */
  private roiInLowDose(pane: Pane, ellipse: Ellipse): Ellipse | null {
    const placement = this.placement(pane);
    if (!placement) return pane.sliceMap ? null : ellipse;
    const shape = shapeToFrame({ kind: 'ellipse', ellipse }, placement);
    return shape?.kind === 'ellipse' ? shape.ellipse : null;
  }

  private roiUp(): void {
    if (!this.drawing) return;
    this.drawing = null;
    if (this.roi && (this.roi.rx < 1 || this.roi.ry < 1)) this.roi = null;
    this.redrawAll();
    this.events.onRoi?.(this.roi);
  }
}

/**
 * The overlay as an image-sized RGBA canvas: flagged hallucination-map pixels (score below the
 * threshold) in red; uncertainty above the threshold in orange, more opaque the higher it is.
 */
function overlayPicture(image: Image, source: OverlaySource): { canvas: HTMLCanvasElement; pixels: number } {
  const canvas = document.createElement('canvas');
  canvas.width = image.columns;
  canvas.height = image.rows;
  const context = canvas.getContext('2d')!;
  const picture = context.createImageData(image.columns, image.rows);
  const values = image.getPixelData();
  const t = source.threshold;
  let pixels = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! * image.slope + image.intercept;
    let alpha = 0;
    if (source.kind === 'hallucination') alpha = v < t ? 120 : 0;
    else if (v > t) alpha = 50 + Math.round(130 * Math.min(1, (v - t) / t));
    if (alpha === 0) continue;
    pixels++;
    const o = 4 * i;
    picture.data[o] = 255;
    picture.data[o + 1] = source.kind === 'hallucination' ? 30 : 140;
    picture.data[o + 2] = 30;
    picture.data[o + 3] = alpha;
  }
  context.putImageData(picture, 0, 0);
  return { canvas, pixels };
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, value));
}

function fmt(value: number): string {
  const a = Math.abs(value);
  return a >= 100 ? value.toFixed(0) : a >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export { PANE_KEYS };

/** Gives a viewport the zoom and pan of `view`, and its turn when it has one (a pane on a mirrored or quarter-turned grid, ./pane-geometry.ts). */
function applyView(viewport: Viewport, view: PaneView): void {
  viewport.scale = view.scale;
  viewport.translation = { x: view.translation.x, y: view.translation.y };
  if (view.rotation !== undefined) {
    viewport.rotation = view.rotation;
    viewport.hflip = view.hflip ?? false;
    viewport.vflip = view.vflip ?? false;
  }
}

function imageOfElement(element: HTMLElement): Image | null {
  try {
    return cornerstone.getEnabledElement(element).image ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether a one-line title bar shows less than its text: the bar's items overflow it, or one of
 * them (the name, the frame's timing) is cut to an ellipsis. Each item's scrollWidth is its whole
 * text's width however narrow its box.
 */
function titleIsCut(title: HTMLElement): boolean {
  if (title.scrollWidth > title.clientWidth) return true;
  return [...title.querySelectorAll<HTMLElement>(':scope > *, .pane-frame > *')].some((item) => item.scrollWidth > item.clientWidth);
}
