/**
 * The comparison panes: low-dose | denoised | reference | difference | uncertainty, each a
 * cornerstone element showing the slice matched to the same low-dose slice. Scroll, zoom, pan and
 * window / level move together (cornerstone-tools synchronizers for the viewport, this controller
 * for the slice), one ellipse ROI is shared by every pane, and neighbouring slices are prefetched.
 * The denoised pane can carry an overlay: the sFRC hallucination map's flagged patches, else the
 * pixels whose (calibrated) uncertainty is above its threshold.
 */
import cornerstone, { type Image, type RenderedEventDetail, type Viewport } from 'cornerstone-core';
import cornerstoneTools, { type Synchronizer } from 'cornerstone-tools';
import type { ComparisonDetail, SeriesDetail } from './api.js';
import { blankImageId, differenceImageId, sliceImageId } from './image-loader.js';
import { Prefetcher } from './prefetch.js';
import { DIFFERENCE_COLORMAP, differenceWidth, initialPreset, UNCERTAINTY_COLORMAP, type WindowPreset } from './presets.js';
import { differenceWindowText, paneTitles, type PaneKey } from './pane-titles.js';
import { drawEllipse, sliceValues, type Ellipse } from './roi.js';
import { ellipseUptake, formatUptake, type SliceValues } from './uptake.js';

export type { PaneKey } from './pane-titles.js';
export type ToolMode = 'window' | 'pan' | 'zoom' | 'roi';

export interface View {
  readonly comparison: ComparisonDetail | null;
  readonly lowDose: SeriesDetail;
  readonly denoised: SeriesDetail | null;
  readonly reference: SeriesDetail | null;
  readonly uncertainty: SeriesDetail | null;
  readonly hallucination: SeriesDetail | null;
}

/** What the denoised pane's overlay shows, and from which value on. */
export interface OverlaySource {
  readonly kind: 'hallucination' | 'uncertainty';
  /** Hallucination map: flagged below it (FRC). Uncertainty: shown above it (sigma, series units). */
  readonly threshold: number;
}

interface Pane {
  readonly key: PaneKey;
  readonly title: string;
  /** anatomy panes share window / level; the others keep their own scale and colour map. */
  readonly kind: 'anatomy' | 'difference' | 'uncertainty';
  readonly units: string;
  readonly imageIds: string[];
  readonly root: HTMLElement;
  readonly element: HTMLElement;
  readonly info: { slice: HTMLElement; window: HTMLElement; roi: HTMLElement; metrics: HTMLElement };
  visible: boolean;
  initialised: boolean;
  token: number;
  roiCache: { imageId: string; roi: Ellipse; text: string } | null;
}

const PANE_KEYS: readonly PaneKey[] = ['lowDose', 'denoised', 'reference', 'difference', 'uncertainty'];

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
  /** The set of panes changed. */
  onPanesChanged?(keys: PaneKey[]): void;
  /** Prefetch progress: slices cached of those wanted around the current one. */
  onPrefetch?(cached: number, wanted: number): void;
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
  private overlay: { source: OverlaySource; imageIds: string[]; on: boolean } | null = null;
  private readonly overlayImages = new Map<string, Image>();
  private overlayPicture: { imageId: string; canvas: HTMLCanvasElement; pixels: number } | null = null;

  constructor(
    private readonly container: HTMLElement,
    private readonly events: ViewerEvents = {},
  ) {
    initTools();
    window.addEventListener('resize', () => this.relayout());
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
    this.overlay = this.overlayFor(view, overlay);
    for (const pane of this.panes) this.container.append(pane.root);
    this.container.dataset.panes = String(this.panes.filter((p) => p.visible).length);
    for (const pane of this.panes) this.enable(pane);

    // Panes join the synchronizers once they show an image (a synchronizer reads every member's viewport).
    this.wlSync = new cornerstoneTools.Synchronizer('cornerstoneimagerendered', cornerstoneTools.wwwcSynchronizer);
    this.panZoomSync = new cornerstoneTools.Synchronizer('cornerstoneimagerendered', cornerstoneTools.panZoomSynchronizer);
    this.setMode(this.mode);

    const bytesPerImage = view.lowDose.rows * view.lowDose.columns * 2;
    this.prefetcher = new Prefetcher(this.visibleStacks(), Math.floor((700 * 1024 * 1024) / bytesPerImage), (cached, wanted) =>
      this.events.onPrefetch?.(cached, wanted),
    );
    const shown = new Promise<void>((resolve) => (this.firstShown = resolve));
    this.setIndex(this.index, true);
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
    for (const pane of this.panes) if (pane.visible) this.show(pane, next);
    this.prefetcher?.focus(next, this.direction);
    this.events.onIndex?.(next, this.view.lowDose.slices);
  }

  step(delta: number): void {
    this.setIndex(this.index + delta);
  }

  applyPreset(preset: WindowPreset): void {
    this.voi = { windowCenter: preset.center, windowWidth: preset.width };
    this.anatomyColormap = preset.colormap;
    for (const pane of this.panes) {
      if (pane.kind !== 'anatomy' || !pane.initialised) continue;
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
      if (pane.kind !== 'anatomy' || !pane.initialised) continue;
      const viewport = cornerstone.getViewport(pane.element)!;
      viewport.invert = this.invert;
      cornerstone.setViewport(pane.element, viewport);
    }
  }

  /** Fits every pane to its box again (zoom 1, no pan). */
  fit(): void {
    for (const pane of this.panes) if (pane.visible && pane.initialised) cornerstone.fitToWindow(pane.element);
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

  togglePane(key: PaneKey, visible?: boolean): void {
    const pane = this.panes.find((p) => p.key === key);
    if (!pane) return;
    const want = visible ?? !pane.visible;
    if (want === pane.visible) return;
    // Keep at least one pane.
    if (!want && this.panes.filter((p) => p.visible).length === 1) return;
    pane.visible = want;
    pane.root.hidden = !want;
    this.container.dataset.panes = String(this.panes.filter((p) => p.visible).length);
    this.relayout();
    if (want) this.show(pane, this.index);
    this.prefetcher?.setStacks(this.visibleStacks());
    this.prefetcher?.focus(this.index, this.direction);
    this.events.onPanesChanged?.(this.paneKeys());
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
    pane.info.metrics.title = title;
  }

  private visibleStacks(): string[][] {
    return this.panes.filter((p) => p.visible).map((p) => p.imageIds);
  }

  private overlayFor(view: View, source: OverlaySource | null): ComparisonViewer['overlay'] {
    if (!source || !view.denoised) return null;
    const series = source.kind === 'hallucination' ? view.hallucination : view.uncertainty;
    const map = source.kind === 'hallucination' ? view.comparison?.alignment.hallucination : view.comparison?.alignment.uncertainty;
    if (!series || !map) return null;
    const blank = blankImageId(view.lowDose.rows, view.lowDose.columns);
    return { source, imageIds: map.map((j) => (j >= 0 ? sliceImageId(series.id, j, series.rev) : blank)), on: false };
  }

  /** Paints the overlay of the shown slice over the denoised pane, loading it first if need be. */
  private drawOverlay(pane: Pane, detail: RenderedEventDetail): void {
    const overlay = this.overlay;
    if (!overlay?.on) return;
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
  }

  private buildPanes(view: View): Pane[] {
    const { lowDose } = view;
    const count = lowDose.slices;
    const blank = blankImageId(lowDose.rows, lowDose.columns);
    const lowIds = Array.from({ length: count }, (_, i) => sliceImageId(lowDose.id, i, lowDose.rev));
    const aligned = (series: SeriesDetail | null, map: number[] | null | undefined): string[] | null =>
      series && map ? map.map((j) => (j >= 0 ? sliceImageId(series.id, j, series.rev) : blank)) : null;
    const alignment = view.comparison?.alignment;
    const denoisedIds = aligned(view.denoised, alignment?.denoised);
    const referenceIds = aligned(view.reference, alignment?.reference);
    const uncertaintyIds = aligned(view.uncertainty, alignment?.uncertainty);
    const against = referenceIds ?? lowIds;
    const differenceIds = denoisedIds
      ? denoisedIds.map((id, i) => {
          const other = against[i];
          return id === blank || other === undefined || other === blank ? blank : differenceImageId(id, other);
        })
      : null;
    const stacks: Array<[PaneKey, string[] | null, Pane['kind'], string]> = [
      ['lowDose', lowIds, 'anatomy', lowDose.units],
      ['denoised', denoisedIds, 'anatomy', lowDose.units],
      ['reference', referenceIds, 'anatomy', lowDose.units],
      ['difference', differenceIds, 'difference', lowDose.units],
      ['uncertainty', uncertaintyIds, 'uncertainty', view.uncertainty?.units ?? lowDose.units],
    ];
    const titles = paneTitles({ source: lowDose, denoised: view.denoised, reference: view.reference, method: view.comparison?.report?.method ?? null });
    return stacks
      .filter((entry): entry is [PaneKey, string[], Pane['kind'], string] => entry[1] !== null)
      .map(([key, imageIds, kind, units]) => this.createPane(key, titles[key], kind, units, imageIds));
  }

  private createPane(key: PaneKey, title: string, kind: Pane['kind'], units: string, imageIds: string[]): Pane {
    const root = document.createElement('section');
    root.className = 'pane';
    root.dataset.pane = key;
    root.innerHTML = `
      <header class="pane-title"><span class="pane-name"></span><span class="pane-metrics" data-metrics="${key}"></span></header>
      <div class="pane-image" tabindex="-1"></div>
      <footer class="pane-info"><span class="pane-slice"></span><span class="pane-roi"></span><span class="pane-window"></span></footer>`;
    root.querySelector('.pane-name')!.textContent = title;
    const element = root.querySelector<HTMLElement>('.pane-image')!;
    element.addEventListener('contextmenu', (event) => event.preventDefault());
    return {
      key,
      title,
      kind,
      units,
      imageIds,
      root,
      element,
      info: {
        slice: root.querySelector('.pane-slice')!,
        window: root.querySelector('.pane-window')!,
        roi: root.querySelector('.pane-roi')!,
        metrics: root.querySelector('.pane-metrics')!,
      },
      visible: true,
      initialised: false,
      token: 0,
      roiCache: null,
    };
  }

  private enable(pane: Pane): void {
    cornerstone.enable(pane.element);
    const element = pane.element;
    const onRendered = (event: Event) => this.rendered(pane, (event as CustomEvent<RenderedEventDetail>).detail);
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      if (event.deltaY !== 0) this.step(event.deltaY > 0 ? 1 : -1);
    };
    const onDown = (event: MouseEvent) => this.roiDown(pane, event);
    const onMove = (event: MouseEvent) => this.roiMove(event);
    const onUp = () => this.roiUp();
    const onDouble = () => this.fit();
    element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
    element.addEventListener('wheel', onWheel, { passive: false });
    element.addEventListener('mousedown', onDown);
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    element.addEventListener('dblclick', onDouble);
    this.cleanups.push(() => {
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
        const viewport = pane.initialised ? cornerstone.getViewport(pane.element) : this.initialViewport(pane, image);
        cornerstone.displayImage(pane.element, image, viewport);
        if (!pane.initialised) {
          if (pane.kind === 'anatomy') this.wlSync?.add(pane.element);
          this.panZoomSync?.add(pane.element);
        }
        pane.initialised = true;
        pane.root.dataset.index = String(index);
        pane.root.dataset.imageId = imageId;
        pane.root.classList.toggle('no-slice', image.blank === true);
        pane.info.slice.textContent = image.blank ? `no matching slice` : `${index + 1} / ${pane.imageIds.length}`;
        if (this.firstShown) {
          this.firstShown();
          this.firstShown = null;
        }
      },
      (error: unknown) => {
        if (token !== pane.token) return;
        pane.info.slice.textContent = `slice ${index + 1}: ${error instanceof Error ? error.message : String(error)}`;
        pane.root.classList.add('failed');
      },
    );
  }

  private initialViewport(pane: Pane, image: Image): Viewport {
    const viewport = cornerstone.getDefaultViewportForImage(pane.element, image);
    // A pane opened after the others takes their zoom and pan.
    const shown = this.panes.find((p) => p !== pane && p.initialised && p.visible);
    const reference = shown ? cornerstone.getViewport(shown.element) : undefined;
    if (reference) {
      viewport.scale = reference.scale;
      viewport.translation = { ...reference.translation };
    }
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
      const top = Math.max(image.maxPixelValue * image.slope + image.intercept, 1e-6);
      viewport.voi = { windowCenter: top / 2, windowWidth: top };
      viewport.colormap = UNCERTAINTY_COLORMAP;
      viewport.invert = false;
    }
    return viewport;
  }

  private rendered(pane: Pane, detail: RenderedEventDetail): void {
    const { viewport, image } = detail;
    if (pane.kind === 'anatomy') this.voi = { windowCenter: viewport.voi.windowCenter, windowWidth: viewport.voi.windowWidth };
    const unit = pane.units === 'SUVbw' ? 'SUV' : pane.units;
    pane.info.window.textContent =
      pane.kind === 'difference' ? differenceWindowText(viewport.voi, unit, fmt) : `W ${fmt(viewport.voi.windowWidth)} L ${fmt(viewport.voi.windowCenter)} ${unit}`;
    // Read by the end-to-end test to check that zoom and pan follow across panes.
    pane.root.dataset.scale = viewport.scale.toFixed(4);
    pane.root.dataset.translation = `${viewport.translation.x.toFixed(1)},${viewport.translation.y.toFixed(1)}`;
    if (pane.key === 'denoised') this.drawOverlay(pane, detail);
    if (!this.roi) {
      pane.info.roi.textContent = '';
      return;
    }
    let text = '';
    if (pane.roiCache && pane.roiCache.imageId === image.imageId && pane.roiCache.roi === this.roi) text = pane.roiCache.text;
    else {
      // PET in SUV: SUVmean ± SD, SUVmax and the PERCIST SUVpeak, which needs the slices within
      // 6 mm: shown as "…" until they are loaded (loadPeak), then filled in.
      const pet = pane.kind === 'anatomy' && pane.units === 'SUVbw';
      const location = this.view?.lowDose.locations[this.index] ?? null;
      const uptake = image.blank ? null : ellipseUptake(sliceValues(image, location ?? 0), this.roi, null);
      text = formatUptake(uptake, unit, pet, true);
      pane.roiCache = { imageId: image.imageId, roi: this.roi, text };
      if (pet && uptake) void this.loadPeak(pane, image, this.roi, this.index);
    }
    pane.info.roi.textContent = text;
    drawEllipse(pane.element, detail.canvasContext, this.roi, text, this.drawing !== null);
  }

  /** Loads the pane's slices within 6 mm of slice `index` and writes the readout with SUVpeak. */
  private async loadPeak(pane: Pane, image: Image, roi: Ellipse, index: number): Promise<void> {
    const locations = this.view?.lowDose.locations ?? [];
    const here = locations[index];
    const current = sliceValues(image, here ?? 0);
    let neighbours: SliceValues[] = [current];
    try {
      // Without slice locations the peak sphere stays in this slice.
      if (here !== null && here !== undefined) {
        const near = locations.flatMap((z, j) => (j !== index && z !== null && Math.abs(z - here) <= 6 && pane.imageIds[j] ? [j] : []));
        const images = await Promise.all(near.map((j) => cornerstone.loadAndCacheImage(pane.imageIds[j]!)));
        neighbours = [current, ...images.flatMap((im, k) => (im.blank ? [] : [sliceValues(im, locations[near[k]!]!)]))];
      }
    } catch {
      // A neighbour that does not load: the peak over the slices that did.
    }
    if (pane.roiCache?.imageId !== image.imageId || pane.roiCache.roi !== roi) return;
    const text = formatUptake(ellipseUptake(current, roi, neighbours), 'SUV', true);
    pane.roiCache = { imageId: image.imageId, roi, text };
    if (pane.initialised && pane.visible) cornerstone.updateImage(pane.element);
  }

  private redrawAll(): void {
    for (const pane of this.panes) if (pane.visible && pane.initialised) cornerstone.updateImage(pane.element);
  }

  private relayout(): void {
    for (const pane of this.panes) {
      if (!pane.visible || !pane.initialised) continue;
      cornerstone.resize(pane.element, true);
    }
  }

  private roiDown(pane: Pane, event: MouseEvent): void {
    if (this.mode !== 'roi' || event.button !== 0 || !pane.initialised) return;
    event.preventDefault();
    event.stopPropagation();
    const point = cornerstone.pageToPixel(pane.element, event.pageX, event.pageY);
    this.drawing = { x: point.x, y: point.y, pane };
    this.roi = { cx: point.x, cy: point.y, rx: 0, ry: 0 };
  }

  private roiMove(event: MouseEvent): void {
    if (!this.drawing) return;
    const point = cornerstone.pageToPixel(this.drawing.pane.element, event.pageX, event.pageY);
    const { x, y } = this.drawing;
    this.roi = { cx: (x + point.x) / 2, cy: (y + point.y) / 2, rx: Math.abs(point.x - x) / 2, ry: Math.abs(point.y - y) / 2 };
    this.redrawAll();
  }

  private roiUp(): void {
    if (!this.drawing) return;
    this.drawing = null;
    if (this.roi && (this.roi.rx < 1 || this.roi.ry < 1)) this.roi = null;
    this.redrawAll();
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
