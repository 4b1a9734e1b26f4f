/**
 * The classic gated values of one gate of a GATED PET acquisition, read from every file of the gate:
 * one gate is one time slot of one R-R interval (PS3.3 C.8.9.4.1.9), and Trigger Time (0018,1060)
 * and Frame Time (0018,1063) say that slot's start and length (C.8.9.4), so the files of one gate
 * state one value of each or none. Files of one gate that state two values are a gate no classic
 * image can state: the reader warns (./pet-frame-timing.ts), the writer does not write it
 * (E_PET_GATES_UNKNOWN, ./write-derived.ts), whether the gate's files are single-frame classic PET
 * Images or multi-frame files read as gates by their classic Image Index.
 */
import type { PetAttributes } from './image-header.js';

/** What the files of a gate state at their top level. */
export interface ClassicGateValues {
  readonly numberOfSlices: number | undefined;
  readonly numberOfRRIntervals: number | undefined;
  readonly numberOfTimeSlots: number | undefined;
  /** Trigger Time (0018,1060) and Frame Time (0018,1063), ms, and Nominal Interval (0018,1062). */
  readonly triggerTimeMs: number | undefined;
  readonly frameTimeMs: number | undefined;
  readonly nominalIntervalMs: number | undefined;
}

/** Classic values none of which is stated. */
export const NO_CLASSIC_GATE_VALUES: ClassicGateValues = {
  numberOfSlices: undefined,
  numberOfRRIntervals: undefined,
  numberOfTimeSlots: undefined,
  triggerTimeMs: undefined,
  frameTimeMs: undefined,
  nominalIntervalMs: undefined,
};

const CLASSIC_GATE_NAMES: readonly (readonly [keyof ClassicGateValues, string])[] = [
  ['numberOfSlices', 'Number of Slices'],
  ['numberOfRRIntervals', 'Number of R-R Intervals'],
  ['numberOfTimeSlots', 'Number of Time Slots'],
  ['triggerTimeMs', 'Trigger Time'],
  ['frameTimeMs', 'Frame Time'],
  ['nominalIntervalMs', 'Nominal Interval'],
];

/** The classic gated values one file states at its top level (`ImageHeader.pet`); none for a file without PET attributes. */
export function classicGateValuesOfFile(pet: PetAttributes | null | undefined): ClassicGateValues {
  if (!pet) return NO_CLASSIC_GATE_VALUES;
  return {
    numberOfSlices: pet.NumberOfSlices,
    numberOfRRIntervals: pet.NumberOfRRIntervals,
    numberOfTimeSlots: pet.NumberOfTimeSlots,
    triggerTimeMs: pet.TriggerTime,
    frameTimeMs: pet.FrameTime,
    nominalIntervalMs: pet.NominalInterval,
  };
}

/**
 * The classic gated values of one gate from those of each of its files: one value each or none (a
 * value some files lack and others state is the gate's). Why not, naming the values found, where
 * its files state two. The same holds of the Number of Slices of one time point of a DYNAMIC
 * acquisition (`frame` 'time point').
 */
export function classicGateValuesOfFiles(files: readonly ClassicGateValues[], frame: 'gate' | 'time point' = 'gate'): ClassicGateValues | string {
  const merged: { -readonly [K in keyof ClassicGateValues]: ClassicGateValues[K] } = { ...NO_CLASSIC_GATE_VALUES };
  for (const [key, name] of CLASSIC_GATE_NAMES) {
    const found = [...new Set(files.map((f) => f[key]).filter((v): v is number => v !== undefined && Number.isFinite(v)))];
    if (found.length > 1) return `its files state ${found.length} values of ${name} (${found.join(', ')}) for one ${frame}`;
    merged[key] = found[0];
  }
  return merged;
}
