/**
 * The time points of a dynamic PET series. A DYNAMIC series (NumberOfTimeSlices (0054,0101) > 1)
 * holds its NumberOfSlices (0054,0081) positions once per time point, each time point with its own
 * AcquisitionTime, FrameReferenceTime and ActualFrameDuration: grouped by geometry alone, the same
 * positions repeat and the time points interleave into one volume. ImageIndex (0054,1330), Type 1
 * in the PET Image module, is (time slice - 1) x NumberOfSlices + slice (PS3.3 C.8.9.4.1.9), so it
 * tells each image's time point.
 */
import type { ImageHeader } from './image-header.js';

export type PetTimeSlices =
  /** Not a dynamic series (or not PET): one volume. */
  | { readonly dynamic: false }
  /** The 1-based time slice of each header, by path, and how many the series declares. */
  | { readonly dynamic: true; readonly timeSliceOf: ReadonlyMap<string, number>; readonly count: number }
  /** A dynamic series whose images cannot be placed in time: why. */
  | { readonly dynamic: true; readonly problem: string };

function declared(headers: readonly ImageHeader[], read: (h: ImageHeader) => number | undefined): number | undefined {
  return headers.map(read).find((n) => n !== undefined && Number.isInteger(n) && n > 0);
}

/** Which time point each PET header belongs to (see the header). */
export function petTimeSlices(headers: readonly ImageHeader[]): PetTimeSlices {
  const count = declared(headers, (h) => h.pet?.NumberOfTimeSlices);
  if (count === undefined || count < 2) return { dynamic: false };
  const slices = declared(headers, (h) => h.pet?.NumberOfSlices);
  if (slices === undefined) {
    return { dynamic: true, problem: `NumberOfTimeSlices is ${count} but no file carries NumberOfSlices (0054,0081)` };
  }
  const timeSliceOf = new Map<string, number>();
  const unplaced: string[] = [];
  for (const h of headers) {
    const index = h.pet?.ImageIndex;
    if (index === undefined || !Number.isInteger(index) || index < 1 || index > slices * count) unplaced.push(h.path);
    else timeSliceOf.set(h.path, Math.ceil(index / slices));
  }
  if (unplaced.length > 0) {
    return {
      dynamic: true,
      problem:
        `NumberOfTimeSlices is ${count} and ${unplaced.length} file(s) have no ImageIndex (0054,1330) from 1 to ${slices * count} ` +
        `(NumberOfSlices ${slices} x NumberOfTimeSlices ${count}), e.g. ${unplaced.slice(0, 3).join('; ')}`,
    };
  }
  return { dynamic: true, timeSliceOf, count };
}
