/** Display windows (centre / width in modality units) and the colour maps the panes use. */
import cornerstone from 'cornerstone-core';
import { differenceColours } from '../../src/server/difference-pane.js';

export interface WindowPreset {
  readonly id: string;
  readonly label: string;
  readonly key: string;
  readonly center: number;
  readonly width: number;
  /** cornerstone colormap id; none: greyscale. */
  readonly colormap?: string;
  readonly modality: 'CT' | 'PT';
}

export const PRESETS: readonly WindowPreset[] = [
  { id: 'soft-tissue', label: 'Soft tissue', key: '1', center: 40, width: 400, modality: 'CT' },
  { id: 'lung', label: 'Lung', key: '2', center: -600, width: 1500, modality: 'CT' },
  { id: 'bone', label: 'Bone', key: '3', center: 400, width: 1800, modality: 'CT' },
  { id: 'brain', label: 'Brain', key: '4', center: 40, width: 80, modality: 'CT' },
  { id: 'liver', label: 'Liver', key: '5', center: 60, width: 160, modality: 'CT' },
  { id: 'pet-suv', label: 'PET SUV 0–5', key: '6', center: 2.5, width: 5, colormap: 'hot', modality: 'PT' },
];

export const DIFFERENCE_COLORMAP = 'lowdoseDifference';
export const UNCERTAINTY_COLORMAP = 'hotIron';

/** The difference map of src/server/difference-pane.ts (the server's figure draws the same colours). */
export function registerColormaps(): void {
  const colors = differenceColours().map((rgb) => [...rgb, 255]);
  cornerstone.colors.getColormap(DIFFERENCE_COLORMAP, { name: 'lowdose difference', numOfColors: 256, colors });
}

/** The window a series opens with: PET in SUV 0–5, CT in its file's window or soft tissue. */
export function initialPreset(modality: string, units: string, fileWindow: [number, number] | null): WindowPreset {
  if (modality === 'PT') {
    const pet = PRESETS.find((p) => p.id === 'pet-suv')!;
    // Without SUV (activity in Bq/ml) 0–5 is meaningless: the file's window, else the image's.
    if (units !== 'SUVbw' && fileWindow) return { ...pet, id: 'file', label: 'File window', center: fileWindow[0], width: fileWindow[1] };
    return pet;
  }
  if (fileWindow && modality === 'CT') return { id: 'file', label: 'File window', key: '', center: fileWindow[0], width: fileWindow[1], modality: 'CT' };
  return PRESETS[0]!;
}

export { differenceWidth } from '../../src/server/difference-pane.js';
