/** The parts of cornerstone-core 2.x and cornerstone-tools 6.x the viewer uses (they ship no types). */
declare module 'cornerstone-core' {
  export interface Voi {
    windowWidth: number;
    windowCenter: number;
  }
  export interface Viewport {
    scale: number;
    translation: { x: number; y: number };
    voi: Voi;
    invert: boolean;
    pixelReplication: boolean;
    rotation: number;
    hflip: boolean;
    vflip: boolean;
    colormap?: string | object | undefined;
  }
  export interface Image {
    imageId: string;
    minPixelValue: number;
    maxPixelValue: number;
    slope: number;
    intercept: number;
    windowCenter: number;
    windowWidth: number;
    getPixelData(): Int16Array | Uint16Array | Uint8Array;
    rows: number;
    columns: number;
    height: number;
    width: number;
    color: boolean;
    rgba?: boolean;
    columnPixelSpacing: number;
    rowPixelSpacing: number;
    invert: boolean;
    sizeInBytes: number;
    /** lowdose additions */
    units?: string;
    blank?: boolean;
    /** 1 where the pixel is not image (padding, CT out-of-field fill), from the slice header. */
    padding?: Uint8Array | null;
  }
  export interface ImageLoadObject {
    promise: Promise<Image>;
    cancelFn?: () => void;
  }
  export interface EnabledElement {
    element: HTMLElement;
    image?: Image;
    viewport?: Viewport;
    canvas: HTMLCanvasElement;
  }
  export interface RenderedEventDetail {
    element: HTMLElement;
    viewport: Viewport;
    image: Image;
    canvasContext: CanvasRenderingContext2D;
    enabledElement: EnabledElement;
  }
  interface Cornerstone {
    enable(element: HTMLElement, options?: object): void;
    disable(element: HTMLElement): void;
    displayImage(element: HTMLElement, image: Image, viewport?: Viewport): void;
    getViewport(element: HTMLElement): Viewport | undefined;
    setViewport(element: HTMLElement, viewport: Viewport): void;
    getDefaultViewportForImage(element: HTMLElement, image: Image): Viewport;
    getEnabledElement(element: HTMLElement): EnabledElement;
    loadAndCacheImage(imageId: string): Promise<Image>;
    registerImageLoader(scheme: string, loader: (imageId: string) => ImageLoadObject): void;
    fitToWindow(element: HTMLElement): void;
    resize(element: HTMLElement, fitViewportToWindow?: boolean): void;
    updateImage(element: HTMLElement): void;
    reset(element: HTMLElement): void;
    pixelToCanvas(element: HTMLElement, point: { x: number; y: number }): { x: number; y: number };
    setToPixelCoordinateSystem(enabledElement: EnabledElement, context: CanvasRenderingContext2D, scale?: number): void;
    pageToPixel(element: HTMLElement, pageX: number, pageY: number): { x: number; y: number };
    imageCache: {
      setMaximumSizeBytes(bytes: number): void;
      getImageLoadObject(imageId: string): ImageLoadObject | undefined;
      getCacheInfo(): { maximumSizeInBytes: number; cacheSizeInBytes: number; numberOfImagesCached: number };
      purgeCache(): void;
    };
    colors: { getColormap(id: string, data?: object): object };
    EVENTS: { IMAGE_RENDERED: string; NEW_IMAGE: string };
  }
  const cornerstone: Cornerstone;
  export default cornerstone;
}

declare module 'cornerstone-tools' {
  export class Synchronizer {
    constructor(event: string, handler: unknown);
    add(element: HTMLElement): void;
    addSource(element: HTMLElement): void;
    addTarget(element: HTMLElement): void;
    remove(element: HTMLElement): void;
    destroy(): void;
    /** Sets a target's viewport without its render firing the synchroniser again (what the built-in handlers call). */
    setViewport(element: HTMLElement, viewport: import('cornerstone-core').Viewport): void;
    enabled: boolean;
  }
  interface CornerstoneTools {
    external: { cornerstone: unknown; cornerstoneMath: unknown; Hammer: unknown };
    init(configuration?: object): void;
    addTool(tool: unknown, props?: object): void;
    addToolForElement(element: HTMLElement, tool: unknown, props?: object): void;
    setToolActive(name: string, options: { mouseButtonMask: number }): void;
    setToolPassive(name: string): void;
    setToolDisabled(name: string): void;
    WwwcTool: unknown;
    PanTool: unknown;
    ZoomTool: unknown;
    Synchronizer: typeof Synchronizer;
    wwwcSynchronizer: unknown;
    panZoomSynchronizer: unknown;
  }
  const cornerstoneTools: CornerstoneTools;
  export default cornerstoneTools;
}

declare module 'cornerstone-math';
declare module 'hammerjs';
