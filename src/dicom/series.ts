/**
 * Image headers → series: grouped by SeriesInstanceUID and geometry (one UID may hold several
 * stacks: different sizes or orientations become `uid#1`, `uid#2`, ...), sorted along the slice
 * normal (the cross product of the orientation's row and column directions, so oblique stacks
 * sort right too), slice spacing from the positions, and warnings for duplicates, gaps and
 * inconsistent geometry. PET series get their SUVbw factors here, since SUV is a series fact.
 */
import { LowdoseError } from '../errors.js';
import { classicGateValuesOfFile, classicGateValuesOfFiles } from './classic-gate-values.js';
import type { ImageHeader } from './image-header.js';
import { sharpKernel } from './kernel.js';
import { modalityUnits } from './modality.js';
import { dynamicFrameTiming, gateOrderDisagreements, gateTiming } from './pet-frame-timing.js';
import { petTimeSlices } from './pet-time-slices.js';
import { partialSeriesSuvNote, suvbwFactors, type SuvOutcome } from './suv.js';
import type { Orientation, Series, SliceRef, Units, Vec3 } from './types.js';
import { medianOf } from '../util/select.js';

/** Direction cosines closer than this are the same orientation. */
const ORIENTATION_TOLERANCE = 1e-3;
/** Slices closer than this along the normal (mm) are at the same position. */
const SAME_POSITION_MM = 1e-3;
/** A step larger than this many median steps is reported as a gap. */
const GAP_FACTOR = 1.5;
/** How many examples a warning lists. */
const EXAMPLES = 3;

interface Candidate {
  readonly header: ImageHeader;
  readonly frame: number;
}

interface Stack {
  readonly rows: number;
  readonly columns: number;
  readonly orientation: Orientation | null;
  readonly candidates: Candidate[];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Unit normal of the image plane (row direction × column direction). */
export function sliceNormal(orientation: Orientation): Vec3 {
  const n = cross([orientation[0], orientation[1], orientation[2]], [orientation[3], orientation[4], orientation[5]]);
  const length = Math.hypot(n[0], n[1], n[2]);
  return length > 0 ? [n[0] / length, n[1] / length, n[2] / length] : [0, 0, 1];
}

function sameOrientation(a: Orientation | null, b: Orientation | null): boolean {
  if (a === null || b === null) return a === b;
  return a.every((v, i) => Math.abs(v - b[i]!) < ORIENTATION_TOLERANCE);
}

/** The FrameOfReferenceUID every header carries, else null (absent on one, or two frames in one stack). */
function sharedFrameOfReference(headers: readonly ImageHeader[]): string | null {
  const uid = headers[0]?.frameOfReferenceUid ?? '';
  return uid !== '' && headers.every((h) => h.frameOfReferenceUid === uid) ? uid : null;
}

function formatOrientation(o: Orientation | null): string {
  return o ? `[${o.map((v) => Number(v.toFixed(3))).join(', ')}]` : 'none';
}

/** Groups, sorts and describes the slices of `headers` (one header per file). */
export function buildSeries(headers: readonly ImageHeader[]): Series[] {
  const byUid = new Map<string, Candidate[]>();
  const ordered = [...headers].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const header of ordered) {
    // Files without a SeriesInstanceUID cannot be grouped with anything: each is its own series.
    const uid = header.seriesInstanceUid || `(no SeriesInstanceUID: ${header.path})`;
    const list = byUid.get(uid) ?? [];
    for (let frame = 0; frame < header.frames; frame++) list.push({ header, frame });
    byUid.set(uid, list);
  }

  const series: Series[] = [];
  for (const [uid, candidates] of byUid) {
    const stacks: Stack[] = [];
    for (const candidate of candidates) {
      const { rows, columns } = candidate.header;
      const orientation = candidate.header.frameGeometry[candidate.frame]!.orientation;
      let stack = stacks.find((s) => s.rows === rows && s.columns === columns && sameOrientation(s.orientation, orientation));
      if (!stack) {
        stack = { rows, columns, orientation, candidates: [] };
        stacks.push(stack);
      }
      stack.candidates.push(candidate);
    }
    const split =
      stacks.length > 1
        ? `series ${uid} holds ${stacks.length} stacks of different size or orientation: ${stacks
            .map((s, i) => `#${i + 1} ${s.columns} x ${s.rows} orientation ${formatOrientation(s.orientation)} (${s.candidates.length} slices)`)
            .join('; ')}`
        : null;
    stacks.forEach((stack, i) => {
      const key = stacks.length > 1 ? `${uid}#${i + 1}` : uid;
      series.push(...buildTimeSlices(key, stack, split));
    });
  }
  return series;
}

/** What a stack's PET reading takes from the series beyond its own slices. */
interface PetContext {
  /** The headers whose SUVbw factors are computed together: every frame of a dynamic or gated series. */
  readonly suvFiles?: readonly ImageHeader[];
  /** Why SUVbw is not computed, whatever the headers hold. */
  readonly suvRefusal?: string;
  /**
   * The stack is one gate or time point the reader split by its files' classic Image Index: that
   * split says which frame each slice is of, so two of its slices at one position are a position
   * stored twice whatever their files' own frame slots (`ImageHeader.frameSlots`) say.
   */
  readonly splitFrame?: true;
}

/** How a frame of each layout is named in a refusal. */
const FRAME_WORDS = { dynamic: 'a dynamic series whose time points', gated: 'a gated series whose gates' } as const;

/**
 * A stack as one series, or a dynamic or gated PET stack as one series per frame (keys `key#t1`,
 * `key#t2`, ... per time point; `key#g1`, `key#g2`, ... per gate), their SUVbw computed over the
 * whole series so that every frame is decayed to the same scan start. Such a series whose images
 * cannot be placed in a frame stays one stack, says so, and keeps its stored units: its volume
 * mixes frames.
 */
function buildTimeSlices(key: string, stack: Stack, split: string | null): Series[] {
  const headers = [...new Set(stack.candidates.map((c) => c.header))];
  const time = stack.candidates[0]!.header.modality === 'PT' ? petTimeSlices(headers) : ({ split: false } as const);
  if (!time.split) return [buildStack(key, stack, split)];
  if ('problem' in time) {
    const refusal = `${FRAME_WORDS[time.layout.kind]} cannot be told apart: ${time.problem}; its slices of all frames are one volume here`;
    return [buildStack(key, stack, split, { suvRefusal: refusal })];
  }
  const byFrame = new Map<number, Candidate[]>();
  for (const candidate of stack.candidates) {
    const t = time.frameOf.get(candidate.header.path)!;
    byFrame.set(t, [...(byFrame.get(t) ?? []), candidate]);
  }
  const unique = [...new Map(headers.map((h) => [h.sopInstanceUid || h.path, h])).values()];
  const built = [...byFrame.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, candidates]) => {
      const frameKey = `${key}#${time.suffix}${t}`;
      const built = buildStack(frameKey, { ...stack, candidates }, split, { suvFiles: unique, splitFrame: true });
      const frameHeaders = [...new Set(candidates.map((c) => c.header))];
      const words = time.suffix === 't' ? `time point ${t}` : `gate ${t}`;
      const dynamic = time.suffix === 't' ? dynamicFrameTiming(frameHeaders, words) : null;
      const gated = time.suffix === 'g' ? gateTiming(frameHeaders, words) : null;
      // A gate whose files state two Trigger Times, Frame Times, ... is no one time slot: not written (./classic-gate-values.ts).
      const classic = time.suffix === 'g' ? classicGateValuesOfFiles(frameHeaders.map((h) => classicGateValuesOfFile(h.pet))) : null;
      const disagreements = [...(dynamic?.disagreements ?? []), ...(gated?.disagreements ?? [])];
      const timing = { ...(dynamic ? { timing: dynamic.timing } : {}), ...(gated ? { gating: gated.timing } : {}) };
      const warnings = disagreements.map((m) => new LowdoseError('E_INCONSISTENT_SERIES', `${frameKey}: ${m}`, { path: frameHeaders[0]!.path }));
      return {
        ...built,
        warnings: [...built.warnings, ...warnings],
        petFrame: {
          acquisitionKey: key,
          suffix: time.suffix,
          frame: t,
          frames: time.layout.frames,
          ...timing,
          ...(typeof classic === 'string' ? { classicGateConflict: classic } : {}),
        },
      };
    });
  if (time.suffix !== 'g') return built;
  // Gates whose TriggerTime contradicts the time slot their ImageIndex gives (./pet-frame-timing.ts).
  const order = gateOrderDisagreements(
    built.map((s) => ({ gate: s.petFrame.frame, triggerTimeMs: s.petFrame.gating?.triggerTimeMs })),
    time.layout.timeSlots ?? 1,
  );
  return built.map((s) => {
    const why = order.get(s.petFrame.frame);
    if (why === undefined) return s;
    return { ...s, warnings: [...s.warnings, new LowdoseError('E_INCONSISTENT_SERIES', `${s.key}: ${why}`, { path: s.slices[0]?.file ?? key })] };
  });
}

interface Located {
  readonly candidate: Candidate;
  readonly location: number | null;
}

/**
 * The slices of `located` (sorted along the slice normal) that repeat a position within one
 * acquisition slot (`bySlot`; else at all), each with the slice it repeats. Frames of a multi-frame PET file at one
 * position in different gates, time points or agents (`ImageHeader.frameSlots`) are that
 * acquisition's frames, which the writer splits into their own series, not a position stored twice.
 */
function sharedPositions<T extends Located & { readonly location: number }>(located: readonly T[], bySlot: boolean): [T, T][] {
  const shared: [T, T][] = [];
  let run = new Map<string, T>();
  located.forEach((slice, i) => {
    if (i > 0 && slice.location - located[i - 1]!.location > SAME_POSITION_MM) run = new Map();
    const slot = bySlot ? (slice.candidate.header.frameSlots?.[slice.candidate.frame] ?? '') : '';
    const earlier = run.get(slot);
    if (earlier) shared.push([earlier, slice]);
    else run.set(slot, slice);
  });
  return shared;
}

function buildStack(key: string, stack: Stack, split: string | null, petContext: PetContext = {}): Series {
  const first = stack.candidates[0]!.header;
  const warnings: LowdoseError[] = [];
  const warn = (
    code: 'E_INCONSISTENT_SERIES' | 'E_SUV_UNAVAILABLE' | 'W_SUV_PARTIAL_SERIES' | 'W_SUV_INJECTION_DATE_ASSUMED' | 'E_SHARP_KERNEL' | 'W_GEOMETRY_INVALID',
    message: string,
  ) =>
    warnings.push(new LowdoseError(code, message, { path: first.path }));
  if (split) warn('E_INCONSISTENT_SERIES', split);
  if (petContext.suvRefusal !== undefined) warn('E_INCONSISTENT_SERIES', `${key}: ${petContext.suvRefusal}`);

  // The same instance seen twice (copies of a file, a path given twice) counts once.
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  const unique: Candidate[] = [];
  for (const candidate of stack.candidates) {
    const id = `${candidate.header.sopInstanceUid || candidate.header.path}|${candidate.frame}`;
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      duplicates.push(`${candidate.header.path} (same instance as ${earlier})`);
      continue;
    }
    seen.set(id, candidate.header.path);
    unique.push(candidate);
  }
  if (duplicates.length > 0) {
    warn(
      'E_INCONSISTENT_SERIES',
      `${key}: ${duplicates.length} duplicate instance(s) ignored, e.g. ${duplicates.slice(0, EXAMPLES).join('; ')}`,
    );
  }

  const normal = stack.orientation ? sliceNormal(stack.orientation) : null;
  const located = unique.map((candidate) => {
    const position = candidate.header.frameGeometry[candidate.frame]!.position;
    return { candidate, position, location: normal && position ? dot(position, normal) : null };
  });
  const allLocated = located.length > 0 && located.every((s) => s.location !== null);
  const byInstance = (a: (typeof located)[number], b: (typeof located)[number]) =>
    (a.candidate.header.instanceNumber ?? Infinity) - (b.candidate.header.instanceNumber ?? Infinity) ||
    (a.candidate.header.path < b.candidate.header.path ? -1 : a.candidate.header.path > b.candidate.header.path ? 1 : 0) ||
    a.candidate.frame - b.candidate.frame;
  located.sort(allLocated ? (a, b) => a.location! - b.location! || byInstance(a, b) : byInstance);

  let sliceSpacing: number | null = null;
  if (allLocated && located.length >= 2) {
    const steps = located.slice(1).map((s, i) => ({ step: s.location! - located[i]!.location!, at: i }));
    const moving = steps.filter((s) => s.step > SAME_POSITION_MM).map((s) => s.step);
    const same = sharedPositions(located as readonly (Located & { readonly location: number })[], petContext.splitFrame !== true);
    if (same.length > 0) {
      const examples = same
        .slice(0, EXAMPLES)
        .map(([a, b]) => `${a.candidate.header.path} and ${b.candidate.header.path} at ${a.location.toFixed(2)} mm`);
      warn('E_INCONSISTENT_SERIES', `${key}: ${same.length} slice(s) share a position with another slice: ${examples.join('; ')}`);
    }
    if (moving.length > 0) {
      // Positions are decimal strings: keep the spacing to a micrometre, not to float noise.
      sliceSpacing = Math.round(medianOf(moving) * 1e6) / 1e6;
      const gaps = steps.filter((s) => s.step > GAP_FACTOR * sliceSpacing!);
      if (gaps.length > 0) {
        const examples = gaps
          .slice(0, EXAMPLES)
          .map((s) => `${s.step.toFixed(2)} mm after ${located[s.at]!.location!.toFixed(2)} mm`);
        warn(
          'E_INCONSISTENT_SERIES',
          `${key}: ${gaps.length} gap(s) larger than ${GAP_FACTOR} x the median spacing ${sliceSpacing.toFixed(3)} mm: ${examples.join('; ')}`,
        );
      }
    }
  }
  const firstGeometry = first.frameGeometry[stack.candidates[0]!.frame]!;
  sliceSpacing ??= first.spacingBetweenSlices ?? firstGeometry.sliceThickness ?? 1;

  const pixelSpacing = firstGeometry.pixelSpacing ?? [1, 1];
  const unusable = [...new Map(located.map((s) => [s.candidate.header.path, s.candidate.header.geometryIssues])).entries()].filter(
    ([, issues]) => issues.length > 0,
  );
  if (unusable.length > 0) {
    const examples = unusable.slice(0, EXAMPLES).map(([file, issues]) => `${file}: ${issues.join('; ')}`);
    const assumed = firstGeometry.pixelSpacing === null ? '; pixel spacing 1 x 1 mm assumed' : '';
    warn(
      'W_GEOMETRY_INVALID',
      `${key}: ${unusable.length} file(s) have geometry values that cannot be used, read as missing${assumed}: ${examples.join(' | ')}`,
    );
  }
  if (unusable.length === 0 && firstGeometry.pixelSpacing === null) {
    // Without a pixel spacing every setting in mm (filter widths, ROI sizes, NPS frequencies)
    // would silently act in pixels: say so rather than print millimetres nobody measured.
    warn('W_GEOMETRY_INVALID', `${key}: no PixelSpacing; 1 x 1 mm assumed, so sizes and frequencies in mm are in pixels here`);
  }
  const differentSpacing = located.find((s) => {
    const other = s.candidate.header.frameGeometry[s.candidate.frame]!.pixelSpacing ?? [1, 1];
    return Math.abs(other[0] - pixelSpacing[0]) > 1e-4 || Math.abs(other[1] - pixelSpacing[1]) > 1e-4;
  });
  if (differentSpacing) {
    warn('E_INCONSISTENT_SERIES', `${key}: pixel spacing differs between slices (${differentSpacing.candidate.header.path})`);
  }
  const photometric = first.photometricInterpretation;
  if (located.some((s) => s.candidate.header.photometricInterpretation !== photometric)) {
    warn('E_INCONSISTENT_SERIES', `${key}: slices mix photometric interpretations`);
  }
  if (located.some((s) => s.candidate.header.hasModalityLutSequence)) {
    warn('E_INCONSISTENT_SERIES', `${key}: a Modality LUT Sequence is present and not applied; only RescaleSlope / RescaleIntercept are`);
  }

  const sharp = first.modality === 'CT' ? sharpKernel(first.convolutionKernel) : null;
  if (sharp) {
    warn(
      'E_SHARP_KERNEL',
      `${key}: reconstruction kernel ${sharp.kernel} looks sharp (${sharp.why}); denoising removes such a kernel's own ` +
        'texture with the dose noise: on a sharp lung kernel the shipped CT model is only level with a tuned bilateral filter at 25 % dose (models/README.md)',
    );
  }

  let units: Units = modalityUnits(first);
  // Keyed by file and frame: an Enhanced PET file's frames may each have their own factor.
  const scaleByFrame = new Map<string, number>();
  // Units NONE ("unitless", PS3.3 C.8.9.1.1.3; lowdose's sFRC map): the values are read as they
  // are, in units NONE; no SUV is asked of them, so none is missed.
  const unitless = first.modality === 'PT' && located.every((s) => s.candidate.header.pet?.Units === 'NONE');
  if (first.modality === 'PT' && !unitless) {
    const files = petContext.suvFiles ?? [...new Map(located.map((s) => [s.candidate.header.path, s.candidate.header])).values()];
    const pet = files.map((h) => h.pet!);
    const outcome: SuvOutcome = petContext.suvRefusal !== undefined ? { ok: false, reason: petContext.suvRefusal } : suvbwFactors(pet);
    if (outcome.ok) {
      units = 'SUVbw';
      files.forEach((h, i) => {
        const perFrame = outcome.frameFactors?.[i] ?? [outcome.factors[i]!];
        perFrame.forEach((factor, frame) => scaleByFrame.set(frameKey(h.path, frame), factor));
      });
      const note = outcome.scanStartFromFilesRead === undefined ? null : partialSeriesSuvNote(pet, outcome.scanStartFromFilesRead);
      if (note !== null) warn('W_SUV_PARTIAL_SERIES', `${key}: ${note}`);
      if (outcome.injectionDateAssumed !== undefined) {
        warn(
          'W_SUV_INJECTION_DATE_ASSUMED',
          `${key}: SUVbw assumes the injection was on the day before the SeriesDate (${outcome.injectionDateAssumed}): the files give a ` +
            'RadiopharmaceuticalStartTime (0018,1072) later in the day than the scan and no RadiopharmaceuticalStartDateTime (0018,1078), ' +
            'as for a scan that crosses midnight; if the injection was on another day, set RadiopharmaceuticalStartDateTime and read again',
        );
      }
    } else {
      warn('E_SUV_UNAVAILABLE', `${key}: SUVbw not computed (${outcome.reason}); values stay in ${units}`);
    }
  }

  const slices: SliceRef[] = located.map(({ candidate, position, location }) => {
    const geometry = candidate.header.frameGeometry[candidate.frame]!;
    return {
      file: candidate.header.path,
      frame: candidate.frame,
      sopInstanceUid: candidate.header.sopInstanceUid,
      instanceNumber: candidate.header.instanceNumber,
      statedCount: candidate.header.statedCount,
      position,
      location,
      rescaleSlope: geometry.rescaleSlope,
      rescaleIntercept: geometry.rescaleIntercept,
      unitsScale: scaleByFrame.get(frameKey(candidate.header.path, candidate.frame)) ?? scaleByFrame.get(frameKey(candidate.header.path, 0)) ?? 1,
      transferSyntaxUid: candidate.header.transferSyntaxUid,
    };
  });

  return {
    key,
    seriesInstanceUid: first.seriesInstanceUid,
    studyInstanceUid: first.studyInstanceUid,
    frameOfReferenceUid: sharedFrameOfReference(located.map((s) => s.candidate.header)),
    modality: first.modality,
    seriesDescription: first.seriesDescription,
    derivationDescription: located.map((s) => s.candidate.header.derivationDescription).find((d) => d.trim() !== '') ?? '',
    convolutionKernel: first.convolutionKernel,
    rows: stack.rows,
    columns: stack.columns,
    orientation: stack.orientation,
    spacing: [pixelSpacing[0], pixelSpacing[1], sliceSpacing],
    sliceThickness: firstGeometry.sliceThickness,
    units,
    transferSyntaxes: [...new Set(slices.map((s) => s.transferSyntaxUid))],
    slices,
    warnings,
    photometricInterpretation: photometric,
  };
}

/** The key of one frame of one file in a map of per-frame values. */
function frameKey(file: string, frame: number): string {
  return `${file}\u0000${frame}`;
}
