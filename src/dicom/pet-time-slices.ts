/**
 * The frames of a dynamic or gated PET series. Both hold their NumberOfSlices (0054,0081)
 * positions once per frame: a DYNAMIC series once per time point (NumberOfTimeSlices (0054,0101)),
 * each with its own AcquisitionTime, FrameReferenceTime and ActualFrameDuration; a GATED series
 * once per gate, NumberOfRRIntervals (0054,0061) x NumberOfTimeSlots (0054,0071), all with the same
 * AcquisitionTime (PS3.3 C.8.9.4.1.4). Grouped by geometry alone, the same positions repeat and
 * the frames interleave into one volume. ImageIndex (0054,1330), Type 1 in the PET Image module,
 * tells each image's frame (PS3.3 C.8.9.4.1.9):
 *
 *   DYNAMIC: (time slice - 1) x NumberOfSlices + slice
 *   GATED:   (R-R interval - 1) x NumberOfTimeSlots x NumberOfSlices + (time slot - 1) x NumberOfSlices + slice
 *
 * so the frame, 1-based, is ceil(ImageIndex / NumberOfSlices): the time slice of a dynamic series,
 * the gate (R-R interval - 1) x NumberOfTimeSlots + time slot of a gated one. The per-image R-R
 * Interval Vector (0054,0060) and Time Slot Vector (0054,0070) belong to NM multi-frame images; a
 * PET image carries ImageIndex only.
 */
import type { ImageHeader, PetAttributes } from './image-header.js';
import type { Series } from './types.js';

/**
 * Whether two series may be compared as the same frame: yes unless both are frames of a dynamic or
 * gated acquisition (`petFrame`) and not the same kind and number. The frames of an acquisition
 * share every slice position, so slice pairing alone would score time point 2 of one against
 * time point 1 of the other. The rule of `denoise --reference` (src/pipeline/reference.ts),
 * `metrics` (src/pipeline/metrics.ts) and the server's reference pairing (src/server/data/pairing.ts).
 */
export function sameFrame(a: Series, b: Series): boolean {
  if (!a.petFrame || !b.petFrame) return true;
  return a.petFrame.suffix === b.petFrame.suffix && a.petFrame.frame === b.petFrame.frame;
}

/** How a PET series repeats its slices: once, per time point, or per gate. */
export type PetFrameLayout =
  | { readonly kind: 'static' }
  | {
      readonly kind: 'dynamic' | 'gated';
      /** Frames declared: NumberOfTimeSlices, or NumberOfRRIntervals x NumberOfTimeSlots. */
      readonly frames: number;
      /** NumberOfSlices, when declared. */
      readonly slices: number | undefined;
      /** The attributes that make the frame count, in words ("NumberOfTimeSlices 3"). */
      readonly framesWords: string;
      /** Gated only: NumberOfTimeSlots (1 when missing): the gates of one R-R interval. */
      readonly timeSlots?: number;
    };

export type PetTimeSlices =
  /** Not a dynamic or gated series (or not PET): one volume. */
  | { readonly split: false }
  /** The 1-based frame of each header, by path; the key suffix letter (`t` time point, `g` gate). */
  | { readonly split: true; readonly layout: SplitLayout; readonly frameOf: ReadonlyMap<string, number>; readonly suffix: 't' | 'g' }
  /** A dynamic or gated series whose images cannot be placed in a frame: why. */
  | { readonly split: true; readonly layout: SplitLayout; readonly problem: string };

type SplitLayout = Exclude<PetFrameLayout, { kind: 'static' }>;

function declared(instances: readonly PetAttributes[], read: (p: PetAttributes) => number | undefined): number | undefined {
  return instances.map(read).find((n) => n !== undefined && Number.isInteger(n) && n > 0);
}

/**
 * The layout the PET attributes declare. SeriesType (0054,1000) DYNAMIC or GATED decides; without
 * it (or with another type) a NumberOfTimeSlices above 1 makes a dynamic series, else a number of
 * gates above 1 a gated one. A NumberOfRRIntervals missing from a gated series counts as 1.
 */
export function petFrameLayout(instances: readonly PetAttributes[]): PetFrameLayout {
  const type = instances.map((p) => p.SeriesType).find((t) => t !== undefined && t !== '');
  const slices = declared(instances, (p) => p.NumberOfSlices);
  const timeSlices = declared(instances, (p) => p.NumberOfTimeSlices) ?? 1;
  const rr = declared(instances, (p) => p.NumberOfRRIntervals) ?? 1;
  const slots = declared(instances, (p) => p.NumberOfTimeSlots) ?? 1;
  const dynamic: PetFrameLayout = { kind: 'dynamic', frames: timeSlices, slices, framesWords: `NumberOfTimeSlices ${timeSlices}` };
  const gated: PetFrameLayout = { kind: 'gated', frames: rr * slots, slices, framesWords: `NumberOfRRIntervals ${rr} x NumberOfTimeSlots ${slots}`, timeSlots: slots };
  if (type === 'DYNAMIC') return timeSlices > 1 ? dynamic : { kind: 'static' };
  if (type === 'GATED') return rr * slots > 1 ? gated : { kind: 'static' };
  if (timeSlices > 1) return dynamic;
  return rr * slots > 1 ? gated : { kind: 'static' };
}

/** Which frame (time point or gate) each PET header belongs to (see the header). */
export function petTimeSlices(headers: readonly ImageHeader[]): PetTimeSlices {
  const layout = petFrameLayout(headers.map((h) => h.pet).filter((p): p is PetAttributes => p !== undefined));
  if (layout.kind === 'static') return { split: false };
  const { frames, slices, framesWords } = layout;
  if (slices === undefined) {
    return { split: true, layout, problem: `${framesWords} but no file carries NumberOfSlices (0054,0081)` };
  }
  const frameOf = new Map<string, number>();
  const unplaced: string[] = [];
  for (const h of headers) {
    const index = h.pet?.ImageIndex;
    if (index === undefined || !Number.isInteger(index) || index < 1 || index > slices * frames) unplaced.push(h.path);
    else frameOf.set(h.path, Math.ceil(index / slices));
  }
  if (unplaced.length > 0) {
    return {
      split: true,
      layout,
      problem:
        `${framesWords} and ${unplaced.length} file(s) have no ImageIndex (0054,1330) from 1 to ${slices * frames} ` +
        `(NumberOfSlices ${slices} x ${framesWords}), e.g. ${unplaced.slice(0, 3).join('; ')}`,
    };
  }
  return { split: true, layout, frameOf, suffix: layout.kind === 'dynamic' ? 't' : 'g' };
}
