/**
 * The timing of one frame of a dynamic or gated PET series, from its slices' headers: what a
 * kinetic analysis puts on the time axis of a time-activity curve, and what a gate covers of the
 * cardiac cycle. Nothing is computed that the files do not carry.
 *
 * DYNAMIC (each time point): the PET Image module gives every image the start of its frame
 * (AcquisitionDate (0008,0022) / AcquisitionTime (0008,0032)), its length (ActualFrameDuration
 * (0018,1242), ms) and FrameReferenceTime (0054,1300): the offset in ms from the series reference
 * time (SeriesDate (0008,0021) / SeriesTime (0008,0031), to which all of a PET series' times refer)
 * to when its pixel values occurred (the scanners' mid-frame or decay-weighted mean time). The
 * frame's start is therefore counted from that same reference: AcquisitionDateTime - SeriesDateTime.
 *
 * GATED (each gate): TriggerTime (0018,1060, ms from the R wave), FrameTime (0018,1063, the length
 * of the gate's time slot, ms), NominalInterval (0018,1062, the average R-R interval, ms) and
 * LowRRValue / HighRRValue (0018,1081 / 0018,1082, the R-R intervals accepted, ms), each only where
 * the files carry it.
 *
 * All slices of one frame share one frame, so they must agree on each value; where they do not,
 * that value is null (dynamic) or left out (gated) and the frame's series gets an
 * E_INCONSISTENT_SERIES warning naming the values found. Across gates: the time slots of one R-R
 * interval (gate (R-R interval - 1) x NumberOfTimeSlots + time slot, by ImageIndex, C.8.9.4.1.9)
 * are successive parts of the cardiac cycle, so their TriggerTimes rise with the slot; a slot whose
 * TriggerTime is not after the one before it contradicts the ImageIndex that put its files there
 * (`gateOrderDisagreements`), and its series gets the same warning.
 */
import type { ImageHeader, PetAttributes } from './image-header.js';
import { dateTimeMs, sortableDateTime } from './suv.js';
import type { PetFrameTiming, PetGateTiming } from './types.js';

export interface FrameTimingOutcome<T> {
  readonly timing: T;
  /** What the slices disagree on, in words (one E_INCONSISTENT_SERIES warning each). */
  readonly disagreements: string[];
}

/** The one value the slices share (undefined when none carries it), or the distinct values found. */
function shared<T extends string | number>(values: ReadonlyArray<T | undefined>): { value: T | undefined } | { differ: T[] } {
  const found = [...new Set(values.filter((v): v is T => v !== undefined && v !== ''))];
  if (found.length > 1) return { differ: found };
  // A value some slices lack and others carry is still one value: the frame's.
  return { value: found[0] };
}

/** The values in a disagreement message: the first few, then how many more. */
function listed(values: ReadonlyArray<string | number>): string {
  const shown = values.slice(0, 4).join(', ');
  return values.length > 4 ? `${shown}, ... (${values.length} values)` : shown;
}

/** The timing of one time point of a DYNAMIC series from its slices' headers. `frameWords`: "time point 2" in messages. */
export function dynamicFrameTiming(headers: readonly ImageHeader[], frameWords: string): FrameTimingOutcome<PetFrameTiming> {
  const pet = headers.map((h) => h.pet).filter((p): p is PetAttributes => p !== null);
  const disagreements: string[] = [];
  const one = <T extends string | number>(read: (p: PetAttributes) => T | undefined, name: string, unit = ''): T | undefined => {
    const outcome = shared(pet.map(read));
    if ('value' in outcome) return outcome.value;
    disagreements.push(`${frameWords}'s slices disagree on ${name} (${listed(outcome.differ)}${unit}): its ${name} is not reported`);
    return undefined;
  };
  const acquired = one((p) => sortableDateTime(p.AcquisitionDate.trim() || p.SeriesDate, p.AcquisitionTime) || undefined, 'AcquisitionDate / AcquisitionTime');
  const series = one((p) => sortableDateTime(p.SeriesDate, p.SeriesTime) || undefined, 'SeriesDate / SeriesTime');
  const durationMs = one((p) => p.ActualFrameDuration, 'ActualFrameDuration', ' ms') ?? null;
  const referenceMs = one((p) => p.FrameReferenceTime, 'FrameReferenceTime', ' ms') ?? null;
  const startMs = acquired !== undefined && series !== undefined ? Math.round((dateTimeMs(acquired) - dateTimeMs(series)) * 1000) / 1000 : null;
  return {
    timing: {
      startMs,
      durationMs,
      midMs: startMs !== null && durationMs !== null ? startMs + durationMs / 2 : null,
      referenceMs,
      acquisitionDateTime: acquired ?? null,
    },
    disagreements,
  };
}

/** The R-R and trigger values of one gate of a GATED series from its slices' headers. `frameWords`: "gate 3" in messages. */
export function gateTiming(headers: readonly ImageHeader[], frameWords: string): FrameTimingOutcome<PetGateTiming> {
  const pet = headers.map((h) => h.pet).filter((p): p is PetAttributes => p !== null);
  const disagreements: string[] = [];
  const timing: { -readonly [K in keyof PetGateTiming]: PetGateTiming[K] } = {};
  const fields = [
    ['triggerTimeMs', 'TriggerTime', (p: PetAttributes) => p.TriggerTime],
    ['frameTimeMs', 'FrameTime', (p: PetAttributes) => p.FrameTime],
    ['nominalIntervalMs', 'NominalInterval', (p: PetAttributes) => p.NominalInterval],
    ['lowRRMs', 'LowRRValue', (p: PetAttributes) => p.LowRRValue],
    ['highRRMs', 'HighRRValue', (p: PetAttributes) => p.HighRRValue],
  ] as const;
  for (const [key, name, read] of fields) {
    const outcome = shared(pet.map(read));
    if ('differ' in outcome) disagreements.push(`${frameWords}'s slices disagree on ${name} (${listed(outcome.differ)} ms): its ${name} is not reported`);
    else if (outcome.value !== undefined) timing[key] = outcome.value;
  }
  return { timing, disagreements };
}

/**
 * The gates whose TriggerTime does not rise with their time slot within their R-R interval (see the
 * header), each with why in words. `gates`: each gate's number (1-based) and the TriggerTime its
 * slices agree on (undefined: none, or they disagree); `timeSlots`: NumberOfTimeSlots.
 */
export function gateOrderDisagreements(gates: readonly { gate: number; triggerTimeMs: number | undefined }[], timeSlots: number): Map<number, string> {
  const out = new Map<number, string>();
  const byGate = new Map(gates.map((g) => [g.gate, g.triggerTimeMs]));
  for (const { gate, triggerTimeMs } of gates) {
    const slot = ((gate - 1) % timeSlots) + 1;
    if (slot === 1 || triggerTimeMs === undefined) continue;
    // The nearest earlier slot of the same R-R interval that states a TriggerTime.
    for (let before = gate - 1; before > gate - slot; before--) {
      const earlier = byGate.get(before);
      if (earlier === undefined) continue;
      if (!(triggerTimeMs > earlier)) {
        const rr = Math.ceil(gate / timeSlots);
        out.set(
          gate,
          `gate ${gate} (time slot ${slot} of R-R interval ${rr} by its ImageIndex) has TriggerTime ${triggerTimeMs} ms, not after gate ${before}'s ` +
            `${earlier} ms (time slot ${slot - (gate - before)}): its files' TriggerTime or ImageIndex is wrong`,
        );
      }
      break;
    }
  }
  return out;
}
