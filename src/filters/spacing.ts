/**
 * Filter widths given in millimetres or pixels. Millimetres are the default in lowdose because
 * reconstruction grids differ (0.6 to 1 mm for CT, 2 to 5 mm for PET): a width in mm smooths the
 * same anatomy on every grid, and anisotropic PixelSpacing gives a per-axis width in pixels.
 */
import { LowdoseError } from '../errors.js';

/** A width in exactly one of millimetres (per PixelSpacing) or pixels. */
export interface Width {
  readonly mm?: number | undefined;
  readonly px?: number | undefined;
}

/** Per-axis width in pixels, [along rows (vertical), along columns (horizontal)]. */
export type AxisPixels = readonly [rows: number, columns: number];

/** Resolves `width` to pixels per axis; `name` is the option's name for error messages. */
export function widthInPixels(width: Width, pixelSpacing: readonly [number, number], name: string): AxisPixels {
  const { mm, px } = width;
  if ((mm === undefined) === (px === undefined)) {
    throw new LowdoseError('E_USAGE', `give exactly one of ${name}Mm and ${name}Px`);
  }
  if (px !== undefined) {
    checkWidth(px, `${name}Px`);
    return [px, px];
  }
  checkWidth(mm!, `${name}Mm`);
  const [rowSpacing, columnSpacing] = pixelSpacing;
  if (!(rowSpacing > 0 && columnSpacing > 0 && Number.isFinite(rowSpacing) && Number.isFinite(columnSpacing))) {
    throw new LowdoseError('E_USAGE', `${name}Mm needs a positive pixel spacing, the image has [${rowSpacing}, ${columnSpacing}] mm`);
  }
  return [mm! / rowSpacing, mm! / columnSpacing];
}

function checkWidth(value: number, name: string): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new LowdoseError('E_USAGE', `${name} must be a finite number >= 0, got ${value}`);
}
