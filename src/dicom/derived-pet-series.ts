/**
 * How the frames of a multi-frame PET source (Enhanced PET Image, Legacy Converted Enhanced PET)
 * become classic PET series (PET Image, PS3.3 A.21), planned over every frame of the source series
 * at once, whatever file holds it:
 *
 * - One derived series per radiopharmaceutical. A classic PET series has one PET Isotope Module, and
 *   a classic reader makes its SUV of the first item of its Radiopharmaceutical Information Sequence
 *   for every image; frames of an Enhanced source whose Radiopharmaceutical Usage Sequence (0018,9737)
 *   names different agents are written as one series per agent (its own SeriesInstanceUID,
 *   InstanceNumber, NumberOfSlices, ImageIndex). Frames that name no single agent go with the first.
 * - One derived series per respiratory gate. A classic PET series has no attribute that says a
 *   respiratory phase: GATED is cardiac (Trigger Time (0018,1060) is from the R wave, Number of R-R
 *   Intervals (0054,0061) counts heart beats; C.8.9.4, C.8.9.3), and DYNAMIC means time slices one
 *   after another (Frame Reference Time, C.8.9.4), while every respiratory gate spans the whole
 *   acquisition. Frames whose Respiratory Synchronization functional group (0020,9253) states
 *   different values (Nominal Percentage of Respiratory Phase (0020,9245), Nominal Respiratory
 *   Trigger Delay Time (0020,9255), Starting / Ending Respiratory Amplitude (0020,9246 / 0020,9248)
 *   and Phase (0020,9247 / 0020,9249)) are written as one series per gate, gates numbered in the
 *   order of those values (frames without the group a gate of their own, first); within a gate the
 *   frames are planned as any other series (STATIC by positions, or GATED by a cardiac gating
 *   within it). Frames whose groups state no such value, or all the same, are one series.
 * - Numbering across the whole (derived) series: InstanceNumber 1..n in the series' order; slices
 *   are the distinct positions along the normal, time slices or gates the frames at one position.
 * - Series Type (C.8.9.1.1.4): GATED when every frame carries a Cardiac Synchronization functional
 *   group (0018,9118) from which the Type 1C values of a gated PET series can be taken (`gating`);
 *   else DYNAMIC when frames share a position, WHOLE BODY for a moving bed (Type of Detector Motion
 *   (0054,0202) STEP AND SHOOT or CONTINUOUS), else STATIC. A source gated in a way the classic
 *   attributes cannot say (respiratory gating, a cardiac group without a trigger delay) is therefore
 *   not called GATED.
 *
 * GATED, from the frames' Cardiac Synchronization functional groups (C.7.6.16.2.7) and the Cardiac
 * Synchronization Module (C.7.4.16):
 *   Trigger Time (0018,1060)          the frame's Nominal Cardiac Trigger Delay Time (0020,9153), ms
 *                                     from the R peak to its first sample.
 *   Number of Time Slots (0054,0071)  the distinct trigger delays; a frame's time slot is the rank of
 *                                     its delay.
 *   Number of R-R Intervals (0054,0061) the distinct R-R acceptance windows (Low R-R Value (0018,1081),
 *                                     High R-R Value (0018,1082), the frame's else the module's); one
 *                                     when no frame states a window. Some frames with a window and
 *                                     others without: not GATED.
 *   Frame Time (0018,1063)            the slot's length: to the next slot's trigger delay; the last
 *                                     slot's to the R-R Interval Time Nominal (0020,9251) when the
 *                                     frame gives it, else the slots' common step when they are evenly
 *                                     spaced (to 1 ms). A slot whose length cannot be told: not GATED.
 *   Beat Rejection Flag (0018,1080)   Y with a window, N when Cardiac Beat Rejection Technique
 *                                     (0018,9169) is NONE, else empty (Type 2). Low / High R-R Value
 *                                     (1C with Y) the window's.
 *   Nominal Interval (0018,1062)      the R-R Interval Time Nominal, where given (Type 3).
 *   Image Index (C.8.9.4.1.9)         ((R-R interval - 1) x Number of Time Slots + time slot - 1) x
 *                                     Number of Slices + slice. Two frames at one position with the
 *                                     same window and delay cannot be told apart: not GATED.
 *
 * A Legacy Converted source whose converted Series Type is GATED is checked the same way, from its
 * frames' converted classic values (Trigger Time the delay, Nominal Interval the R-R interval, Low /
 * High R-R Value the window; its own Frame Time and Beat Rejection Flag where stated, a flag Y
 * without a window kept as empty): GATED with the values derived here when they hold, else by
 * positions, as an Enhanced source. When they do not hold and its frames share positions (gates whose
 * Trigger Time is missing), no classic GATED image can be written (Trigger Time and Frame Time are
 * Type 1C) and DYNAMIC would be false (the gates are not different times): each gate is written as a
 * STATIC series of its own, the gate told by the frame's converted Image Index (C.8.9.4.1.9: gate
 * ceil(Image Index / Number of Slices)) when those indices hold (each within Number of Slices x
 * Number of R-R Intervals x Number of Time Slots, unique, one slice per position); else the plan
 * says why it cannot place the frames (`refusal`) and the series is not written.
 */
import { functionalGroup, getNumber, getString } from './attributes.js';
import type { DataSet } from './dicom-parser.js';
import { instantMs } from './datetime-zone.js';
import type { ClassicGateValues } from './classic-gate-values.js';
import { frameAgent } from './enhanced-pet-suv.js';
import { legacyConvertedFrame, type ImageHeader } from './image-header.js';
import type { ParsedFile } from './parse.js';
import { dot, sliceNormal } from './series.js';
import { sortableDateTime } from './suv.js';
import type { Orientation, Vec3 } from './types.js';

const FRAME_CONTENT = 'x00209111';
const FRAME_REFERENCE_DATETIME = 'x00189151';
const FRAME_ACQUISITION_DATETIME = 'x00189074';
const TEMPORAL_POSITION_INDEX = 'x00209128';
const CARDIAC_SYNCHRONIZATION = 'x00189118';
const NOMINAL_CARDIAC_TRIGGER_DELAY_TIME = 'x00209153';
const RR_INTERVAL_TIME_NOMINAL = 'x00209251';
const LOW_RR_VALUE = 'x00181081';
const HIGH_RR_VALUE = 'x00181082';
const CARDIAC_BEAT_REJECTION_TECHNIQUE = 'x00189169';
const TYPE_OF_DETECTOR_MOTION = 'x00540202';
const SERIES_TYPE = 'x00541000';
const TRIGGER_TIME = 'x00181060';
const NOMINAL_INTERVAL = 'x00181062';
const FRAME_TIME = 'x00181063';
const BEAT_REJECTION_FLAG = 'x00181080';
const RESPIRATORY_SYNCHRONIZATION = 'x00209253';
/** What tells a frame's respiratory gate (Respiratory Synchronization functional group, C.7.6.16.2.17): tag, VR, name, unit. */
const RESPIRATORY_VALUES: readonly (readonly [tag: string, vr: 'FD' | 'CS', name: string, unit: string])[] = [
  ['x00209245', 'FD', 'Nominal Percentage of Respiratory Phase', ' %'],
  ['x00209255', 'FD', 'Nominal Respiratory Trigger Delay Time', ' ms'],
  ['x00209246', 'FD', 'Starting Respiratory Amplitude', ''],
  ['x00209247', 'CS', 'Starting Respiratory Phase', ''],
  ['x00209248', 'FD', 'Ending Respiratory Amplitude', ''],
  ['x00209249', 'CS', 'Ending Respiratory Phase', ''],
];
const TIMEZONE_OFFSET = 'x00080201';

/** What planning needs of one frame, from its file's header and functional groups. */
export interface PetPlanFrame {
  /** The caller's id of the frame (the derived series' slice index). */
  readonly id: number;
  readonly position: Vec3 | null;
  /** What orders frames at one position in time (a sortable text; '' when unknown). */
  readonly time: string;
  /** Radiopharmaceutical Agent Number of the frame's single agent; null when the source has one agent or the frame names none or several. */
  readonly agent: number | null;
  /** The frame's Cardiac Synchronization values; null without such a functional group. */
  readonly cardiac: CardiacFrame | null;
  /** Type of Detector Motion (0054,0202) of its file, upper case. */
  readonly detectorMotion: string;
  /** The values of its Respiratory Synchronization functional group that tell its gate; null without such a group (or with none of them). */
  readonly respiratory?: RespiratoryFrame | null;
  /** A Legacy Converted frame whose converted Series Type is GATED: its converted Image Index and the counts it is numbered in. */
  readonly convertedGate?: ConvertedGate;
}

/** The converted classic numbering of a Legacy Converted GATED frame (undefined where not converted). */
export interface ConvertedGate {
  readonly imageIndex: number | undefined;
  readonly numberOfSlices: number | undefined;
  /** Number of R-R Intervals x Number of Time Slots (a missing count taken as 1). */
  readonly gates: number;
}

/** The cardiac gate a derived STATIC series holds, when a gated source's gates cannot be written as GATED (see the header). */
export interface PetCardiacGate {
  /** 1-based, ceil(converted Image Index / Number of Slices). */
  readonly gate: number;
  /** Number of R-R Intervals x Number of Time Slots, as converted. */
  readonly gates: number;
}

/** A frame's respiratory gate as its Respiratory Synchronization functional group states it. */
export interface RespiratoryFrame {
  /** The stated values as text: frames of one gate have the same. */
  readonly key: string;
  /** The numeric values in order, for ordering gates (NaN where not stated). */
  readonly order: readonly number[];
  /** The values in words ("Nominal Percentage of Respiratory Phase 25 %"). */
  readonly words: string;
}

/** The respiratory gate a derived series holds, when the source's frames are several gates. */
export interface PetRespiratoryGate {
  /** 1-based, in the order of the gates' values. */
  readonly gate: number;
  readonly gates: number;
  /** What the source's frames state of it ('' for frames without a Respiratory Synchronization group). */
  readonly words: string;
}

interface CardiacFrame {
  readonly delayMs: number | undefined;
  readonly rrNominalMs: number | undefined;
  /** The R-R acceptance window (ms), undefined when neither the frame nor the module states one. */
  readonly window: readonly [number, number] | undefined;
  /** Cardiac Beat Rejection Technique (0018,9169), upper case ('' when absent). */
  readonly rejection: string;
  /** A Legacy Converted frame's own classic values, where it states them: Frame Time (0018,1063), ms, and Beat Rejection Flag (0018,1080). */
  readonly frameTimeMs?: number;
  readonly flag?: 'Y' | 'N' | '';
}

/** The classic gating values of one frame of a GATED series. */
export interface PetGateValues {
  readonly triggerTimeMs: number;
  readonly frameTimeMs: number;
  readonly nominalIntervalMs: number | undefined;
  /** 'Y', 'N' or '' (unknown). */
  readonly beatRejection: 'Y' | 'N' | '';
  readonly window: readonly [number, number] | undefined;
}

/** Where one frame sits in its derived classic PET series. */
export interface PetFramePlace {
  /** The derived series it goes to (0: the first; one per radiopharmaceutical). */
  readonly series: number;
  /** The radiopharmaceutical of that series when the source has several, else null. */
  readonly agent: number | null;
  /** The respiratory gate of that series when the source's frames are several gates (see the header). */
  readonly respiratoryGate?: PetRespiratoryGate;
  /** The cardiac gate of that series when the source's gates cannot be written as GATED (see the header). */
  readonly cardiacGate?: PetCardiacGate;
  readonly seriesType: 'STATIC' | 'DYNAMIC' | 'GATED' | 'WHOLE BODY';
  readonly numberOfSlices: number;
  /** DYNAMIC only. */
  readonly numberOfTimeSlices: number | undefined;
  /** GATED only. */
  readonly numberOfRRIntervals: number | undefined;
  readonly numberOfTimeSlots: number | undefined;
  readonly imageIndex: number;
  /** 1-based in its series, in the order the frames were given. */
  readonly instanceNumber: number;
  readonly gate: PetGateValues | undefined;
}

/** One derived series of a plan. */
export interface PetPlannedSeries {
  /** The agent it holds (null: the source has one). */
  readonly agent: number | null;
  /** The respiratory gate it holds, when the source's frames are several. */
  readonly respiratoryGate?: PetRespiratoryGate;
  /** The cardiac gate it holds, when the source's gates cannot be written as GATED. */
  readonly cardiacGate?: PetCardiacGate;
  readonly frames: number;
}

export interface PetSeriesPlan {
  /** Per derived series: by agent, then by respiratory gate, then by cardiac gate (see the header). */
  readonly series: readonly PetPlannedSeries[];
  readonly places: ReadonlyMap<number, PetFramePlace>;
  /** Why the frames cannot be written as classic PET series (see the header); `places` then holds no valid layout. */
  readonly refusal?: string;
}

/** The respiratory gates of `frames` in order (see the header); none when they are not several. */
function respiratoryGates(frames: readonly PetPlanFrame[]): { keys: string[]; words: Map<string, string> } | null {
  const byKey = new Map<string, RespiratoryFrame | null>();
  for (const f of frames) if (!byKey.has(f.respiratory?.key ?? '')) byKey.set(f.respiratory?.key ?? '', f.respiratory ?? null);
  if (byKey.size < 2) return null;
  const order = (r: RespiratoryFrame | null) => r?.order ?? [];
  const compare = (a: RespiratoryFrame | null, b: RespiratoryFrame | null) => {
    if (!a || !b) return a ? 1 : b ? -1 : 0;
    for (let i = 0; i < Math.max(order(a).length, order(b).length); i++) {
      const x = order(a)[i] ?? Number.NaN;
      const y = order(b)[i] ?? Number.NaN;
      if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
      if (x !== y && !Number.isNaN(x)) return x - y;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
  const sorted = [...byKey.entries()].sort((a, b) => compare(a[1], b[1]));
  return { keys: sorted.map(([key]) => key), words: new Map(sorted.map(([key, r]) => [key, r?.words ?? ''])) };
}

/** The plan of `frames`, given in the source series' order (along the slice normal). */
export function planPetSeries(frames: readonly PetPlanFrame[], orientation: Orientation | null): PetSeriesPlan {
  const agents = [...new Set(frames.map((f) => f.agent))];
  const named = agents.filter((a): a is number => a !== null).sort((a, b) => a - b);
  const split = named.length > 1;
  const agentOf = (f: PetPlanFrame) => (split ? Math.max(0, named.indexOf(f.agent ?? named[0]!)) : 0);
  const gates = respiratoryGates(frames);
  const gateOf = (f: PetPlanFrame) => (gates ? gates.keys.indexOf(f.respiratory?.key ?? '') : 0);
  const perAgent = gates ? gates.keys.length : 1;
  const groups: Group[] = [];
  for (const agent of split ? named : [null]) {
    for (let g = 0; g < perAgent; g++) {
      const respiratoryGate = gates ? { gate: g + 1, gates: perAgent, words: gates.words.get(gates.keys[g]!)! } : undefined;
      groups.push({ agent, ...(respiratoryGate ? { respiratoryGate } : {}), frames: [] });
    }
  }
  for (const f of frames) groups[agentOf(f) * perAgent + gateOf(f)]!.frames.push(f);
  const kept: Group[] = [];
  let refusal: string | undefined;
  for (const group of groups.filter((g) => g.frames.length > 0)) {
    const byGate = cardiacGateGroups(group.frames, orientation);
    if (typeof byGate === 'string') refusal ??= byGate;
    if (byGate === null) refusal ??= untoldCardiacGates(group.frames, orientation) ?? undefined;
    if (byGate === null || typeof byGate === 'string') kept.push(group);
    else for (const [cardiacGate, frames] of byGate) kept.push({ ...group, cardiacGate, frames });
  }
  const places = new Map<number, PetFramePlace>();
  kept.forEach((group, series) => {
    const of = {
      series,
      agent: group.agent,
      ...(group.respiratoryGate ? { respiratoryGate: group.respiratoryGate } : {}),
      ...(group.cardiacGate ? { cardiacGate: group.cardiacGate } : {}),
    };
    for (const [id, place] of planGroup(group.frames, orientation)) places.set(id, { ...place, ...of });
  });
  return {
    series: kept.map((g) => ({
      agent: g.agent,
      ...(g.respiratoryGate ? { respiratoryGate: g.respiratoryGate } : {}),
      ...(g.cardiacGate ? { cardiacGate: g.cardiacGate } : {}),
      frames: g.frames.length,
    })),
    places,
    ...(refusal !== undefined ? { refusal } : {}),
  };
}

interface Group {
  readonly agent: number | null;
  readonly respiratoryGate?: PetRespiratoryGate;
  readonly cardiacGate?: PetCardiacGate;
  readonly frames: PetPlanFrame[];
}

/**
 * Why frames of a cardiac-gated source cannot be written, where some carry a Cardiac Synchronization
 * group, GATED cannot be taken from them (a trigger delay missing, see the header), and two frames at
 * one position are not different times: they are gates no classic attribute tells apart, and
 * DYNAMIC would call them time slices (C.8.9.4: Frame Reference Time orders a DYNAMIC series'
 * frames in time). Null for any other frames.
 */
function untoldCardiacGates(frames: readonly PetPlanFrame[], orientation: Orientation | null): string | null {
  if (!frames.some((f) => f.cardiac !== null)) return null;
  const { byPosition } = sliceIndices(frames, orientation);
  if (gating(frames, byPosition)) return null;
  const undelayed = frames.filter((f) => f.cardiac === null || f.cardiac.delayMs === undefined || !(f.cardiac.delayMs >= 0)).length;
  for (const list of byPosition) {
    if (new Set(list.map((f) => f.time)).size === list.length) continue;
    return (
      `${list.length} frames at one position carry a Cardiac Synchronization group but are no different times, and ` +
      `${undelayed} of ${frames.length} frames state no Nominal Cardiac Trigger Delay Time (0020,9153) (or the gates cannot be told apart by it): ` +
      'GATED needs each image\'s Trigger Time, and DYNAMIC would be false (gates are not different times)'
    );
  }
  return null;
}

/**
 * The frames of a Legacy Converted GATED source that cannot be written as GATED and share positions,
 * by the cardiac gate their converted Image Index tells (see the header), in gate order; why not
 * when those indices do not hold; null for any other frames.
 */
function cardiacGateGroups(frames: readonly PetPlanFrame[], orientation: Orientation | null): Map<PetCardiacGate, PetPlanFrame[]> | string | null {
  if (!frames.some((f) => f.convertedGate)) return null;
  const { slices, count, byPosition } = sliceIndices(frames, orientation);
  if (byPosition.every((list) => list.length === 1) || gating(frames, byPosition)) return null;
  const why = (text: string) =>
    `Legacy Converted GATED frames share positions but cannot be written as GATED (a Trigger Time missing, or gates that cannot be told apart by it) and ${text}: ` +
    'which gate each frame is cannot be told, and DYNAMIC would be false (gates are not different times)';
  const seen = new Map<number, number>();
  const sliceOfPosition = new Map<number, number>();
  const byGate = new Map<number, PetPlanFrame[]>();
  let gates = 0;
  for (const f of frames) {
    const c = f.convertedGate;
    const index = c?.imageIndex;
    const declared = c?.numberOfSlices;
    if (!c || index === undefined || declared === undefined || !Number.isInteger(index) || !Number.isInteger(declared) || declared < count) {
      return why(`frame ${f.id + 1} has no converted Image Index and Number of Slices (at least the ${count} positions) to tell its gate`);
    }
    if (index < 1 || index > declared * c.gates) return why(`its converted Image Index ${index} is outside 1..${declared * c.gates} (Number of Slices ${declared} x ${c.gates} gates)`);
    if (seen.has(index)) return why(`its converted Image Index ${index} is given to two frames`);
    seen.set(index, f.id);
    const slice = ((index - 1) % declared) + 1;
    const position = slices.get(f.id)!;
    if ((sliceOfPosition.get(position) ?? slice) !== slice || [...sliceOfPosition].some(([p, s]) => s === slice && p !== position)) {
      return why(`its converted Image Index ${index} gives slice ${slice}, which does not match one position per slice`);
    }
    sliceOfPosition.set(position, slice);
    const gate = Math.ceil(index / declared);
    byGate.set(gate, [...(byGate.get(gate) ?? []), f]);
    gates = Math.max(gates, c.gates);
  }
  return new Map([...byGate.entries()].sort((a, b) => a[0] - b[0]).map(([gate, list]) => [{ gate, gates }, list]));
}

/**
 * The plan of one time point of a DYNAMIC acquisition that the reader split into one series per
 * time point (`Series.petFrame`, ./pet-time-slices.ts, by the source files' classic Image Index)
 * and that is written back into one derived series with the other time points
 * (src/pipeline/frame-output.ts): `plan` is of this time point's frames alone, each at its own
 * position. Its frames become time slice `timePoint` of `timePoints` of the acquisition: DYNAMIC,
 * Number of Time Slices `timePoints`, Number of Slices the acquisition's (`declaredSlices`, the
 * files' classic Number of Slices, when it is not below this time point's positions), Image Index
 * (time slice - 1) x Number of Slices + slice, and InstanceNumber its Image Index, as a classic
 * time point's files are numbered (./write-derived.ts `instanceNumberFor`): unique over the
 * acquisition whichever time point is written first. Null when the time point's own plan is not
 * one frame per position (the split then does not hold for these frames).
 */
export function placeInDynamicAcquisition(plan: PetSeriesPlan, timePoint: number, timePoints: number, declaredSlices: number | undefined): PetSeriesPlan | null {
  const places = [...plan.places.values()];
  if (places.some((p) => p.seriesType !== 'STATIC' && p.seriesType !== 'WHOLE BODY')) return null;
  const positions = Math.max(0, ...places.map((p) => p.numberOfSlices));
  const slices = declaredSlices !== undefined && Number.isInteger(declaredSlices) && declaredSlices >= positions ? declaredSlices : positions;
  const placed = new Map<number, PetFramePlace>();
  for (const [id, p] of plan.places) {
    const imageIndex = (timePoint - 1) * slices + p.imageIndex;
    placed.set(id, { ...p, seriesType: 'DYNAMIC', numberOfSlices: slices, numberOfTimeSlices: timePoints, imageIndex, instanceNumber: imageIndex });
  }
  return { series: plan.series, places: placed };
}

/**
 * The plan of one gate of a GATED acquisition that the reader split into one series per gate
 * (`Series.petFrame`, ./pet-time-slices.ts, by the source files' classic Image Index) and that is
 * written back into one derived series with the other gates (src/pipeline/frame-output.ts): `plan`
 * is of this gate's frames alone, each at its own position. Its frames become gate `gate` of
 * `gates` ((R-R interval - 1) x Number of Time Slots + time slot) of the acquisition: GATED, Number
 * of R-R Intervals and Number of Time Slots the files' classic ones (R-R Intervals 1 when missing,
 * Time Slots then `gates` / R-R Intervals), Number of Slices the files' classic one when not below
 * the gate's positions, Image Index (gate - 1) x Number of Slices + slice (C.8.9.4.1.9) and
 * InstanceNumber its Image Index: unique over the acquisition whichever gate is written first.
 * Trigger Time the delay of the gate's Cardiac Synchronization groups (one delay), else the files'
 * classic Trigger Time; Frame Time the files' classic one, else, for the last time slot only, the
 * slot's length the gate's own plan gives (to the R-R Interval Time Nominal). Why not, where a
 * value a GATED image needs cannot be told: the gate is then not written.
 */
export function placeInGatedAcquisition(plan: PetSeriesPlan, gate: number, gates: number, classic: ClassicGateValues): PetSeriesPlan | string {
  const places = [...plan.places.values()];
  const count = (n: number | undefined) => (n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined);
  const rr = count(classic.numberOfRRIntervals) ?? 1;
  const slots = count(classic.numberOfTimeSlots) ?? gates / rr;
  if (!Number.isInteger(slots) || rr * slots !== gates) return `its files' Number of R-R Intervals ${rr} x Number of Time Slots ${slots} is not its ${gates} gates`;
  const slot = ((gate - 1) % slots) + 1;
  const own = places.every((p) => p.seriesType === 'GATED' && p.numberOfRRIntervals === 1 && p.numberOfTimeSlots === 1 && p.gate);
  if (!own && places.some((p) => p.seriesType !== 'STATIC' && p.seriesType !== 'WHOLE BODY')) {
    return "its frames are not one gate at distinct positions (several trigger delays or R-R windows, or frames sharing a position)";
  }
  const stated = (ms: number | undefined) => (ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : undefined);
  const gateValues = (p: PetFramePlace): PetGateValues | string => {
    if (own) {
      // The files' Trigger Time is the slot's start, which the frames' trigger delay also states.
      if (classic.triggerTimeMs !== undefined && msKey(classic.triggerTimeMs) !== msKey(p.gate!.triggerTimeMs)) {
        return `its files' Trigger Time ${classic.triggerTimeMs} ms is not its frames' Nominal Cardiac Trigger Delay Time ${p.gate!.triggerTimeMs} ms`;
      }
      const frameTimeMs = stated(classic.frameTimeMs) ?? (slot === slots ? p.gate!.frameTimeMs : undefined);
      if (frameTimeMs === undefined) return `time slot ${slot} of ${slots} has no Frame Time in its files, and its length cannot be told from this gate alone`;
      return { ...p.gate!, frameTimeMs };
    }
    const trigger = classic.triggerTimeMs;
    const frameTimeMs = stated(classic.frameTimeMs);
    if (trigger === undefined || !Number.isFinite(trigger) || trigger < 0 || frameTimeMs === undefined) {
      return 'its frames have no Cardiac Synchronization group and its files no classic Trigger Time and Frame Time';
    }
    return { triggerTimeMs: trigger, frameTimeMs, nominalIntervalMs: stated(classic.nominalIntervalMs), beatRejection: '', window: undefined };
  };
  const positions = Math.max(0, ...places.map((p) => p.numberOfSlices));
  const declared = count(classic.numberOfSlices);
  const slices = declared !== undefined && declared >= positions ? declared : positions;
  const placed = new Map<number, PetFramePlace>();
  for (const [id, p] of plan.places) {
    const values = gateValues(p);
    if (typeof values === 'string') return values;
    const imageIndex = (gate - 1) * slices + p.imageIndex;
    placed.set(id, {
      ...p,
      seriesType: 'GATED',
      numberOfSlices: slices,
      numberOfTimeSlices: undefined,
      numberOfRRIntervals: rr,
      numberOfTimeSlots: slots,
      imageIndex,
      instanceNumber: imageIndex,
      gate: values,
    });
  }
  return { series: plan.series, places: placed };
}

type GroupPlace = Omit<PetFramePlace, 'series' | 'agent' | 'respiratoryGate' | 'cardiacGate'>;

/** Slice index (1-based, in the order given) of each frame: its distinct position along the normal. */
function sliceIndices(frames: readonly PetPlanFrame[], orientation: Orientation | null): { slices: Map<number, number>; count: number; byPosition: PetPlanFrame[][] } {
  const normal: Vec3 = orientation ? sliceNormal(orientation) : [0, 0, 1];
  const key = (f: PetPlanFrame) => (f.position ? String(Math.round(dot(f.position, normal) * 1000)) : `#${f.id}`);
  const positions = new Map<string, PetPlanFrame[]>();
  for (const f of frames) {
    const k = key(f);
    const list = positions.get(k);
    if (list) list.push(f);
    else positions.set(k, [f]);
  }
  const slices = new Map<number, number>();
  const byPosition = [...positions.values()];
  byPosition.forEach((list, i) => list.forEach((f) => slices.set(f.id, i + 1)));
  return { slices, count: byPosition.length, byPosition };
}

function planGroup(frames: readonly PetPlanFrame[], orientation: Orientation | null): Map<number, GroupPlace> {
  const { slices, count, byPosition } = sliceIndices(frames, orientation);
  const instance = new Map(frames.map((f, i) => [f.id, i + 1]));
  const out = new Map<number, GroupPlace>();
  const gated = gating(frames, byPosition);
  if (gated) {
    for (const f of frames) {
      const g = gated.frames.get(f.id)!;
      out.set(f.id, {
        seriesType: 'GATED',
        numberOfSlices: count,
        numberOfTimeSlices: undefined,
        numberOfRRIntervals: gated.rrIntervals,
        numberOfTimeSlots: gated.timeSlots,
        imageIndex: ((g.rr - 1) * gated.timeSlots + g.slot - 1) * count + slices.get(f.id)!,
        instanceNumber: instance.get(f.id)!,
        gate: g.values,
      });
    }
    return out;
  }
  const timeSlice = new Map<number, number>();
  let most = 1;
  for (const list of byPosition) {
    const ordered = [...list].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id - b.id));
    ordered.forEach((f, t) => timeSlice.set(f.id, t + 1));
    most = Math.max(most, ordered.length);
  }
  const motion = frames[0]?.detectorMotion ?? '';
  const seriesType = most > 1 ? 'DYNAMIC' : motion === 'STEP AND SHOOT' || motion === 'CONTINUOUS' ? 'WHOLE BODY' : 'STATIC';
  for (const f of frames) {
    out.set(f.id, {
      seriesType,
      numberOfSlices: count,
      numberOfTimeSlices: seriesType === 'DYNAMIC' ? most : undefined,
      numberOfRRIntervals: undefined,
      numberOfTimeSlots: undefined,
      imageIndex: (timeSlice.get(f.id)! - 1) * count + slices.get(f.id)!,
      instanceNumber: instance.get(f.id)!,
      gate: undefined,
    });
  }
  return out;
}

const windowKey = (w: readonly [number, number] | undefined) => (w ? `${w[0]}-${w[1]}` : '');
const msKey = (ms: number) => String(Math.round(ms * 1000));

/** The gated layout of `frames` (see the header), or null when the classic GATED values cannot all be taken from them. */
function gating(
  frames: readonly PetPlanFrame[],
  byPosition: readonly PetPlanFrame[][],
): { rrIntervals: number; timeSlots: number; frames: Map<number, { rr: number; slot: number; values: PetGateValues }> } | null {
  if (frames.length === 0 || frames.some((f) => f.cardiac === null || !(f.cardiac.delayMs !== undefined && Number.isFinite(f.cardiac.delayMs) && f.cardiac.delayMs >= 0))) return null;
  const cardiac = (f: PetPlanFrame) => f.cardiac!;
  const withWindow = frames.filter((f) => cardiac(f).window !== undefined).length;
  if (withWindow !== 0 && withWindow !== frames.length) return null;
  const windows = [...new Set(frames.map((f) => windowKey(cardiac(f).window)))].sort((a, b) => parseFloat(a) - parseFloat(b));
  const delays = [...new Map(frames.map((f) => [msKey(cardiac(f).delayMs!), cardiac(f).delayMs!])).values()].sort((a, b) => a - b);
  const slotOf = (ms: number) => delays.findIndex((d) => msKey(d) === msKey(ms)) + 1;
  // Each position holds each (window, slot) once.
  for (const list of byPosition) {
    const seen = new Set(list.map((f) => `${windowKey(cardiac(f).window)}|${msKey(cardiac(f).delayMs!)}`));
    if (seen.size !== list.length) return null;
  }
  const steps = delays.slice(1).map((d, i) => d - delays[i]!);
  const even = steps.length > 0 && steps.every((s) => Math.abs(s - steps[0]!) <= 1) ? steps[0]! : undefined;
  const out = new Map<number, { rr: number; slot: number; values: PetGateValues }>();
  for (const f of frames) {
    const c = cardiac(f);
    const slot = slotOf(c.delayMs!);
    const next = delays[slot];
    const frameTime =
      c.frameTimeMs ?? (next !== undefined ? next - c.delayMs! : c.rrNominalMs !== undefined && c.rrNominalMs > c.delayMs! ? c.rrNominalMs - c.delayMs! : even);
    if (frameTime === undefined || !(frameTime > 0)) return null;
    // A converted flag Y without its window (Low / High R-R Value, 1C) is not kept: unknown.
    const beatRejection = c.flag !== undefined ? (c.flag === 'Y' && !c.window ? '' : c.flag) : c.window ? 'Y' : c.rejection === 'NONE' ? 'N' : '';
    out.set(f.id, {
      rr: windows.indexOf(windowKey(c.window)) + 1,
      slot,
      values: { triggerTimeMs: c.delayMs!, frameTimeMs: frameTime, nominalIntervalMs: c.rrNominalMs, beatRejection, window: c.window },
    });
  }
  return { rrIntervals: windows.length, timeSlots: delays.length, frames: out };
}

/** A time in ms (negative too: an instant before 1970) as text that sorts as the number does. */
const sortableMs = (ms: number) => (ms + 1e14).toFixed(3).padStart(20, '0');

/** A frame's time key: its Frame Reference DateTime (else Frame Acquisition DateTime) as an instant, then its Temporal Position Index. */
export function planTimeKey(header: ImageHeader, parsed: ParsedFile, frame: number): string {
  const ds = parsed.dataSet;
  const legacy = header.pet?.LegacyFrames?.[frame];
  if (legacy) return legacy.FrameReferenceTime !== undefined ? sortableMs(legacy.FrameReferenceTime) : sortableDateTime(legacy.AcquisitionDate, legacy.AcquisitionTime);
  const content = functionalGroup(ds, frame, FRAME_CONTENT);
  const zone = getString(ds, TIMEZONE_OFFSET);
  const reference = content ? (getString(content, FRAME_REFERENCE_DATETIME) ?? getString(content, FRAME_ACQUISITION_DATETIME)) : undefined;
  const at = reference ? instantMs(reference, zone) : Number.NaN;
  const index = content ? getNumber(content, TEMPORAL_POSITION_INDEX, 'UL') : undefined;
  const time = Number.isFinite(at) ? sortableMs(at) : '~';
  return `${time}|${index !== undefined && Number.isFinite(index) ? String(index).padStart(12, '0') : ''}`;
}

function cardiacOf(ds: DataSet, frame: number): CardiacFrame | null {
  const group = functionalGroup(ds, frame, CARDIAC_SYNCHRONIZATION);
  if (!group) return null;
  const number = (from: DataSet, tag: string, vr: 'FD' | 'IS') => {
    const v = getNumber(from, tag, vr);
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const low = number(group, LOW_RR_VALUE, 'IS') ?? number(ds, LOW_RR_VALUE, 'IS');
  const high = number(group, HIGH_RR_VALUE, 'IS') ?? number(ds, HIGH_RR_VALUE, 'IS');
  return {
    delayMs: number(group, NOMINAL_CARDIAC_TRIGGER_DELAY_TIME, 'FD'),
    rrNominalMs: number(group, RR_INTERVAL_TIME_NOMINAL, 'FD'),
    window: low !== undefined && high !== undefined && high >= low ? [low, high] : undefined,
    rejection: (getString(ds, CARDIAC_BEAT_REJECTION_TECHNIQUE) ?? '').trim().toUpperCase(),
  };
}

function respiratoryOf(ds: DataSet, frame: number): RespiratoryFrame | null {
  const group = functionalGroup(ds, frame, RESPIRATORY_SYNCHRONIZATION);
  if (!group) return null;
  const stated = RESPIRATORY_VALUES.map(([tag, vr, name, unit]) => {
    if (vr === 'CS') {
      const text = (getString(group, tag) ?? '').toUpperCase();
      return { name, key: text, number: Number.NaN, words: text ? `${name} ${text}` : '' };
    }
    const value = getNumber(group, tag, vr);
    const number = value !== undefined && Number.isFinite(value) ? value : Number.NaN;
    return { name, key: Number.isNaN(number) ? '' : String(number), number, words: Number.isNaN(number) ? '' : `${name} ${number}${unit}` };
  });
  if (stated.every((v) => v.key === '')) return null;
  return {
    key: stated.map((v) => v.key).join('|'),
    order: stated.map((v) => v.number),
    words: stated.map((v) => v.words).filter((w) => w !== '').join(', '),
  };
}

/**
 * The gating of a Legacy Converted frame whose converted Series Type (0054,1000) is GATED, from its
 * converted classic values, checked by `gating` as an Enhanced frame's are: Trigger Time (0018,1060)
 * its delay, Nominal Interval (0018,1062) its R-R interval, Low / High R-R Value its window, Frame
 * Time (0018,1063) and Beat Rejection Flag (0018,1080) its own. Null for any other frame.
 */
function convertedCardiacOf(ds: DataSet, frame: number): CardiacFrame | null {
  const converted = legacyConvertedFrame(ds, frame);
  if ((getString(converted, SERIES_TYPE, 0) ?? '').toUpperCase() !== 'GATED') return null;
  const number = (tag: string, vr: 'DS' | 'IS') => {
    const v = getNumber(converted, tag, vr);
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const low = number(LOW_RR_VALUE, 'IS');
  const high = number(HIGH_RR_VALUE, 'IS');
  const flag = (getString(converted, BEAT_REJECTION_FLAG) ?? '').toUpperCase();
  const frameTime = number(FRAME_TIME, 'DS');
  return {
    delayMs: number(TRIGGER_TIME, 'DS'),
    rrNominalMs: number(NOMINAL_INTERVAL, 'IS'),
    window: low !== undefined && high !== undefined && high >= low ? [low, high] : undefined,
    rejection: '',
    flag: flag === 'Y' || flag === 'N' ? flag : '',
    ...(frameTime !== undefined && frameTime > 0 ? { frameTimeMs: frameTime } : {}),
  };
}

/** A Legacy Converted frame's converted GATED numbering (see the header); null for any other frame. */
function convertedGateOf(converted: ImageHeader['pet'] | undefined): { convertedGate: ConvertedGate } | null {
  if (!converted || (converted.SeriesType ?? '').toUpperCase() !== 'GATED') return null;
  const count = (n: number | undefined) => (n !== undefined && Number.isInteger(n) && n > 0 ? n : 1);
  return {
    convertedGate: {
      imageIndex: converted.ImageIndex,
      numberOfSlices: converted.NumberOfSlices,
      gates: count(converted.NumberOfRRIntervals) * count(converted.NumberOfTimeSlots),
    },
  };
}

/** The planning facts of frame `frame` of a multi-frame PET file; `id` the caller's. */
export function petPlanFrame(header: ImageHeader, parsed: ParsedFile, frame: number, id: number, position: Vec3 | null): PetPlanFrame {
  const ds = parsed.dataSet;
  const enhanced = header.pet?.EnhancedPet;
  const agent = enhanced && enhanced.agents.length > 1 && enhanced.frames[frame] ? frameAgent(enhanced.frames[frame], enhanced.agents) : undefined;
  return {
    id,
    position,
    time: planTimeKey(header, parsed, frame),
    agent: typeof agent === 'object' ? (agent.number ?? null) : null,
    cardiac: header.pet?.LegacyFrames ? convertedCardiacOf(ds, frame) : cardiacOf(ds, frame),
    detectorMotion: (getString(ds, TYPE_OF_DETECTOR_MOTION) ?? '').trim().toUpperCase(),
    respiratory: respiratoryOf(ds, frame),
    ...(convertedGateOf(header.pet?.LegacyFrames?.[frame]) ?? {}),
  };
}

/** Whether a file's PET attributes are those of a multi-frame PET source (its frames planned here). */
export const isMultiFramePet = (header: ImageHeader): boolean =>
  header.modality === 'PT' && header.pet !== null && header.pet !== undefined && (header.pet.EnhancedPet !== undefined || header.pet.LegacyFrames !== undefined);

/** The plan of every frame of one file on its own, ordered along the slice normal as a series sorts them. */
export function planOfOwnFrames(header: ImageHeader, parsed: ParsedFile): PetSeriesPlan {
  const orientation = header.frameGeometry[0]?.orientation ?? null;
  const normal = orientation ? sliceNormal(orientation) : null;
  const location = (p: Vec3 | null) => (p && normal ? dot(p, normal) : 0);
  const frames = header.frameGeometry
    .map((g, frame) => petPlanFrame(header, parsed, frame, frame, g.position))
    .sort((a, b) => location(a.position) - location(b.position) || a.id - b.id);
  return planPetSeries(frames, orientation);
}


/**
 * What, besides its position, tells frame `frame` of a multi-frame PET file apart from the file's
 * other frames: its time, its agent, its cardiac gate (trigger delay, R-R interval, window, a
 * Legacy Converted GATED frame's gate by Image Index) and its respiratory gate, as one text. Frames
 * of two gates, time points or agents at one position are an acquisition's frames, not a position
 * stored twice; two frames at one position with the same slot are (./series.ts).
 */
export function frameAcquisitionSlot(header: ImageHeader, parsed: ParsedFile, frame: number): string {
  const planned = petPlanFrame(header, parsed, frame, frame, null);
  const converted = planned.convertedGate;
  const gate =
    converted?.imageIndex !== undefined && converted.numberOfSlices !== undefined && converted.numberOfSlices > 0
      ? Math.ceil(converted.imageIndex / converted.numberOfSlices)
      : null;
  const cardiac = planned.cardiac;
  return JSON.stringify([
    planned.time,
    planned.agent,
    cardiac ? [cardiac.delayMs ?? null, cardiac.rrNominalMs ?? null, cardiac.window ?? null] : null,
    planned.respiratory?.key ?? null,
    gate,
  ]);
}

/** `frameAcquisitionSlot` of every frame of a multi-frame PET file; undefined for any other file. */
export function frameAcquisitionSlots(header: ImageHeader, parsed: ParsedFile): string[] | undefined {
  if (!isMultiFramePet(header) || header.frames < 2) return undefined;
  return Array.from({ length: header.frames }, (_, frame) => frameAcquisitionSlot(header, parsed, frame));
}
