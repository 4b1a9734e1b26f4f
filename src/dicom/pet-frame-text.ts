/**
 * A frame of a dynamic or gated PET acquisition in words: the line `lowdose info` prints under the
 * series, and the short label the viewer puts on a time point or gate (its series list and pane
 * titles). Pure, with type-only imports, so the viewer bundles it.
 */
import type { PetFrameTiming, PetGateTiming } from './types.js';

/** What the words need of a frame: `info --json`'s `petFrame` and the API's series summary carry it. */
export interface PetFrameFacts {
  readonly kind: 'dynamic' | 'gated';
  readonly frame: number;
  readonly frames: number;
  readonly timing?: PetFrameTiming;
  readonly gating?: PetGateTiming;
}

/** Milliseconds as seconds, rounded to the ms (60000 -> 60, 1500 -> 1.5), as the text output prints frame times. */
export function msAsSeconds(ms: number): number {
  return Number((ms / 1000).toFixed(3));
}

/** Milliseconds as seconds to the ms (`?` for null). */
function seconds(ms: number | null): string {
  return ms === null ? '?' : `${msAsSeconds(ms)} s`;
}

/** A gate's TriggerTime, NominalInterval and R-R limits in words, those it carries. */
function gateParts(g: PetGateTiming): string[] {
  return [
    ...(g.triggerTimeMs !== undefined ? [`TriggerTime ${g.triggerTimeMs} ms`] : []),
    ...(g.nominalIntervalMs !== undefined ? [`NominalInterval ${g.nominalIntervalMs} ms`] : []),
    ...(g.lowRRMs !== undefined || g.highRRMs !== undefined ? [`R-R ${g.lowRRMs ?? '?'}-${g.highRRMs ?? '?'} ms`] : []),
  ];
}

/**
 * A frame's timing as `lowdose info` prints it under the series line: a time point's start,
 * duration, middle and FrameReferenceTime (s from the series reference time) and start date-time; a
 * gate's trigger time and R-R limits. Null for a gate whose files carry none of them.
 */
export function frameTimingLine(frame: PetFrameFacts): string | null {
  if (frame.timing) {
    const t = frame.timing;
    return (
      `time point ${frame.frame} of ${frame.frames}: start ${seconds(t.startMs)}, duration ${seconds(t.durationMs)}, mid ${seconds(t.midMs)}, ` +
      `FrameReferenceTime ${seconds(t.referenceMs)} (from the SeriesTime), acquired ${t.acquisitionDateTime ?? '?'}`
    );
  }
  const parts = frame.gating ? gateParts(frame.gating) : [];
  return parts.length === 0 ? null : `gate ${frame.frame} of ${frame.frames}: ${parts.join(', ')}`;
}

/**
 * The short label of a frame, for a list entry or a pane title: `t2 / 3 · 60–180 s (mid 120 s)` for
 * a time point (its span from the series reference time, when the files give its start and
 * duration; else its middle, else FrameReferenceTime), `gate 5 / 6 · trigger 250 ms · R-R 1000–1400
 * ms` for a gate (its TriggerTime and accepted R-R window, those the files carry: gates of one
 * trigger time differ by their R-R window). Only what the files say: `t2 / 3`, `gate 3 / 6` alone
 * without them.
 */
export function petFrameLabel(frame: PetFrameFacts): string {
  if (frame.kind === 'gated') {
    const g = frame.gating ?? {};
    return [
      `gate ${frame.frame} / ${frame.frames}`,
      ...(g.triggerTimeMs !== undefined ? [`trigger ${g.triggerTimeMs} ms`] : []),
      ...(g.lowRRMs !== undefined || g.highRRMs !== undefined ? [`R-R ${g.lowRRMs ?? '?'}–${g.highRRMs ?? '?'} ms`] : []),
    ].join(' · ');
  }
  const head = `t${frame.frame} / ${frame.frames}`;
  const t = frame.timing;
  if (!t) return head;
  const s = (ms: number) => String(msAsSeconds(ms));
  if (t.startMs !== null && t.durationMs !== null) {
    return `${head} · ${s(t.startMs)}–${s(t.startMs + t.durationMs)} s${t.midMs !== null ? ` (mid ${s(t.midMs)} s)` : ''}`;
  }
  if (t.midMs !== null) return `${head} · mid ${s(t.midMs)} s`;
  if (t.referenceMs !== null) return `${head} · FrameReferenceTime ${s(t.referenceMs)} s`;
  return head;
}
