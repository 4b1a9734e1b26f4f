/**
 * Where each phantom is uniform: the ROIs the noise check pools and the disc the NPS tiles.
 * Water: the whole water column; ACR: module 3 (uniformity) with pylinac's five ROIs; IEC: the
 * background ROIs in the sphere plane. ROIs stay 15 mm clear of walls and inserts so that neither
 * edges nor a denoiser's ringing at them count as noise.
 */
import type { AcrGeometry, IecGeometry, WaterGeometry } from '../phantoms/index.js';
import { sliceIndexIn } from './fixtures.js';
import type { QaCase, SliceStack } from './types.js';

/** Margin kept from walls and inserts, mm. */
const WALL_MARGIN_MM = 15;
/** Water: ROI radius and the distance of the four peripheral ROIs from the axis, as a fraction of the water radius. */
const WATER_ROI_RADIUS_MM = 15;
const WATER_RING_FRACTION = 0.6;
/** IEC background ROIs: 30 mm across (NEMA's largest are 37 mm; smaller stays clear of the spheres). */
const IEC_BACKGROUND_RADIUS_MM = 15;

export interface UniformRoi {
  readonly slice: number;
  readonly centre: readonly [number, number];
  readonly radius: number;
}

/** A uniform disc on some slices, for NPS tiles. */
export interface UniformDisc {
  readonly slices: readonly number[];
  readonly centre: readonly [number, number];
  readonly radius: number;
}

/** ROIs of the noise check; empty for phantoms without a uniform region (body). */
export function uniformRois(c: QaCase): UniformRoi[] {
  const stack = c.low;
  switch (c.phantom) {
    case 'water': {
      const g = c.geometry as unknown as WaterGeometry;
      const d = g.waterRadius * WATER_RING_FRACTION;
      const [cx, cy] = g.centre;
      const centres: Array<[number, number]> = [[cx, cy], [cx + d, cy], [cx - d, cy], [cx, cy + d], [cx, cy - d]];
      return waterSlices(stack, g).flatMap((slice) => centres.map((centre) => ({ slice, centre, radius: WATER_ROI_RADIUS_MM })));
    }
    case 'acr': {
      const g = c.geometry as unknown as AcrGeometry;
      const slice = moduleSlice(stack, g, 3);
      return g.rois.filter((r) => r.module === 3).map((r) => ({ slice, centre: r.centre, radius: r.radius }));
    }
    case 'iec': {
      const g = c.geometry as unknown as IecGeometry;
      return stack.slices.flatMap((_, slice) => g.backgroundRois.map((centre) => ({ slice, centre, radius: IEC_BACKGROUND_RADIUS_MM })));
    }
    case 'body':
      return [];
    case 'lcd':
      // Its water holds disks at half the places on every slice: its check is detectability-ratio alone.
      return [];
  }
}

/**
 * Disc of the NPS: the water column only. ACR module 3 is a single slice whose 25 tiles gave a
 * peak 30 % away from the full-dose scan's for an input with the very same kernel, too unstable
 * for a gate; the water fixture's two slices give 50 tiles and agree within 5 %. (PET noise is
 * not a kernel's texture, and the body has no uniform region.)
 */
export function uniformDisc(c: QaCase): UniformDisc | null {
  if (c.phantom !== 'water') return null;
  const g = c.geometry as unknown as WaterGeometry;
  return { slices: waterSlices(c.low, g), centre: g.centre, radius: g.waterRadius - WALL_MARGIN_MM };
}

/** The slice at the centre of an ACR module. */
export function moduleSlice(stack: SliceStack, g: AcrGeometry, module: 1 | 2 | 3 | 4): number {
  const info = g.modules.find((m) => m.module === module);
  if (!info) throw new RangeError(`ACR geometry has no module ${module}`);
  return sliceIndexIn(stack, info.z, `ACR module ${module}`);
}

function waterSlices(stack: SliceStack, g: WaterGeometry): number[] {
  const [z0, z1] = g.waterZ;
  // Slices near the end caps see the acrylic through the slice thickness: keep clear of them.
  return stack.slices.flatMap((s, i) => (s.position[2] > z0 + WALL_MARGIN_MM && s.position[2] < z1 - WALL_MARGIN_MM ? [i] : []));
}
