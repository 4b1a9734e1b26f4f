/**
 * The classic PET Series / Image numbers a derived file of a multi-frame PET source gets from its
 * frames (src/dicom/derived-pet-frame.ts): NumberOfSlices, NumberOfTimeSlices and ImageIndex
 * (PS3.3 C.8.9.4.1.9: (time slice - 1) x NumberOfSlices + slice for a DYNAMIC series), and the
 * Decay Factor of a frame, checked against a numeric mean of the decay over the frame.
 */
import { describe, expect, it } from 'vitest';
import { decayFactor } from '../../src/dicom/derived-pet-frame.js';
import { placeInDynamicAcquisition, placeInGatedAcquisition, planPetSeries, type PetPlanFrame, type PetSeriesPlan } from '../../src/dicom/derived-pet-series.js';
import type { Orientation } from '../../src/dicom/types.js';

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];

/** A frame for planning: no agent, no gating unless given. */
const at = (id: number, z: number, time = '', extra: Partial<PetPlanFrame> = {}): PetPlanFrame => ({
  id,
  position: [0, 0, z],
  time,
  agent: null,
  cardiac: null,
  detectorMotion: '',
  ...extra,
});

describe('PET frame layout of a multi-frame source', () => {
  it('counts positions as slices and the frames at one position as time slices, numbering the frames by time', () => {
    // Two positions, three time points each, given in the series' order (by position), times shuffled.
    const frames = [at(4, -10, '3'), at(0, -10, '1'), at(2, -10, '2'), at(1, -5, '1'), at(5, -5, '3'), at(3, -5, '2')];
    const plan = planPetSeries(frames, AXIAL);
    const place = (id: number) => plan.places.get(id)!;
    expect(place(0).seriesType).toBe('DYNAMIC');
    expect(place(0).numberOfSlices).toBe(2);
    expect(place(0).numberOfTimeSlices).toBe(3);
    expect([0, 1, 2, 3, 4, 5].map((id) => place(id).imageIndex)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(frames.map((f) => place(f.id).instanceNumber)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives a static stack one time slice and as many slices as frames, positions told apart along the normal only', () => {
    // Positions differing within the plane only (a shifted table) are one slice; 1 µm apart along the normal, two.
    const frames = [at(0, 0), { ...at(1, 0.001), position: [3, 4, 0.001] as [number, number, number] }, at(2, 2)];
    const plan = planPetSeries(frames, AXIAL);
    expect(plan.places.get(0)!.seriesType).toBe('STATIC');
    expect(plan.places.get(0)!.numberOfSlices).toBe(3);
    expect(plan.places.get(0)!.numberOfTimeSlices).toBeUndefined();
    const shifted = planPetSeries([frames[0]!, { ...at(1, 0), position: [3, 4, 0] }], AXIAL);
    expect(shifted.places.get(0)!.numberOfSlices).toBe(1);
    expect(shifted.places.get(0)!.numberOfTimeSlices).toBe(2);
  });

  const cardiac = (delayMs: number | undefined, extra: Record<string, unknown> = {}) => ({
    cardiac: { delayMs, rrNominalMs: 800, window: undefined, rejection: '', ...extra },
  });

  it('numbers the gates of a cardiac-gated source by R-R window and trigger delay (PS3.3 C.8.9.4.1.9) with each slot its length', () => {
    // Two positions x two R-R windows x four trigger delays (0, 200, 400, 600 ms of an 800 ms cycle).
    const frames: PetPlanFrame[] = [];
    let id = 0;
    for (const z of [0, 2])
      for (const window of [[700, 900], [500, 700]] as const)
        for (const delay of [600, 0, 400, 200]) frames.push(at(id++, z, '', cardiac(delay, { window })));
    const plan = planPetSeries(frames, AXIAL);
    const places = frames.map((f) => plan.places.get(f.id)!);
    expect(new Set(places.map((p) => p.seriesType))).toEqual(new Set(['GATED']));
    expect(places[0]!.numberOfRRIntervals).toBe(2);
    expect(places[0]!.numberOfTimeSlots).toBe(4);
    expect(places[0]!.numberOfSlices).toBe(2);
    // Window 500-700 is R-R interval 1, delay 0 time slot 1: ((rr - 1) x 4 + slot - 1) x 2 + slice.
    const expected = (f: PetPlanFrame) => {
      const c = f.cardiac!;
      const rr = c.window![0] === 500 ? 1 : 2;
      const slot = c.delayMs! / 200 + 1;
      return ((rr - 1) * 4 + slot - 1) * 2 + (f.position![2] === 0 ? 1 : 2);
    };
    expect(places.map((p) => p.imageIndex)).toEqual(frames.map(expected));
    expect(new Set(places.map((p) => p.imageIndex)).size).toBe(16);
    expect(places.map((p) => p.gate!.frameTimeMs)).toEqual(frames.map(() => 200));
    expect(places.map((p) => p.gate!.triggerTimeMs)).toEqual(frames.map((f) => f.cardiac!.delayMs));
    expect(places[0]!.gate!.beatRejection).toBe('Y');
  });

  it.each([
    ['a frame without a Nominal Cardiac Trigger Delay Time', (k: number) => cardiac(k === 3 ? undefined : k * 100)],
    ['some frames with an R-R window and others without', (k: number) => cardiac(k * 100, k === 0 ? { window: [500, 900] } : {})],
    ['two frames at one position with the same window and delay', (k: number) => cardiac(k === 3 ? 200 : k * 100)],
    ['one time slot (one frame per position) whose length the source does not give', (k: number) => ({ position: [0, 0, k], ...cardiac(0, { rrNominalMs: undefined }) })],
    ['respiratory gating only (no Cardiac Synchronization functional group)', () => ({})],
  ])('does not call a source GATED with %s', (_what, gate) => {
    const frames = [0, 1, 2, 3].map((k) => at(k, 0, String(k), gate(k) as Partial<PetPlanFrame>));
    const place = planPetSeries(frames, AXIAL).places.get(0)!;
    expect(place.seriesType).not.toBe('GATED');
    expect(place.gate).toBeUndefined();
  });

  it('takes a Legacy Converted frame\'s own Frame Time and Beat Rejection Flag, a flag Y without its R-R window as empty, a flag N as N with a window', () => {
    const plan = (extra: Record<string, unknown>) => {
      const frames = [0, 200, 400, 600].map((delay, k) => at(k, 0, '', cardiac(delay, extra)));
      return planPetSeries(frames, AXIAL).places.get(0)!;
    };
    const own = plan({ frameTimeMs: 150, flag: 'Y' });
    expect(own.seriesType).toBe('GATED');
    expect([own.gate!.frameTimeMs, own.gate!.beatRejection]).toEqual([150, '']);
    const n = plan({ flag: 'N', window: [600, 1000] });
    expect([n.gate!.frameTimeMs, n.gate!.beatRejection, n.gate!.window]).toEqual([200, 'N', [600, 1000]]);
  });

  /** A frame's Respiratory Synchronization values: a Nominal Percentage of Respiratory Phase. */
  const breath = (percent: number) => ({ respiratory: { key: String(percent), order: [percent], words: `Nominal Percentage of Respiratory Phase ${percent} %` } });

  it('plans one series per respiratory gate, gates in the order of their phase, each a STATIC stack numbered on its own', () => {
    // Two positions x three gates, given by position, phases shuffled.
    const frames = [at(0, 0, '', breath(75)), at(1, 0, '', breath(0)), at(2, 0, '', breath(25)), at(3, 2, '', breath(25)), at(4, 2, '', breath(75)), at(5, 2, '', breath(0))];
    const plan = planPetSeries(frames, AXIAL);
    expect(plan.series.map((s) => [s.respiratoryGate?.gate, s.respiratoryGate?.gates, s.respiratoryGate?.words, s.frames])).toEqual([
      [1, 3, 'Nominal Percentage of Respiratory Phase 0 %', 2],
      [2, 3, 'Nominal Percentage of Respiratory Phase 25 %', 2],
      [3, 3, 'Nominal Percentage of Respiratory Phase 75 %', 2],
    ]);
    const place = (id: number) => plan.places.get(id)!;
    expect(frames.map((f) => [place(f.id).series, place(f.id).seriesType, place(f.id).numberOfSlices, place(f.id).imageIndex, place(f.id).instanceNumber])).toEqual([
      [2, 'STATIC', 2, 1, 1],
      [0, 'STATIC', 2, 1, 1],
      [1, 'STATIC', 2, 1, 1],
      [1, 'STATIC', 2, 2, 2],
      [2, 'STATIC', 2, 2, 2],
      [0, 'STATIC', 2, 2, 2],
    ]);
    expect(frames.every((f) => place(f.id).numberOfTimeSlices === undefined)).toBe(true);
  });

  it('plans a series per agent and respiratory gate, frames without a respiratory group a gate of their own; one stated gate is no split', () => {
    const frames = [at(0, 0, '', { agent: 1, ...breath(50) }), at(1, 0, '', { agent: 2, ...breath(50) }), at(2, 0, '', { agent: 1 }), at(3, 2, '', { agent: 2 })];
    const plan = planPetSeries(frames, AXIAL);
    expect(plan.series.map((s) => [s.agent, s.respiratoryGate?.gate, s.respiratoryGate?.words, s.frames])).toEqual([
      [1, 1, '', 1],
      [1, 2, 'Nominal Percentage of Respiratory Phase 50 %', 1],
      [2, 1, '', 1],
      [2, 2, 'Nominal Percentage of Respiratory Phase 50 %', 1],
    ]);
    const one = planPetSeries([at(0, 0, '', breath(50)), at(1, 2, '', breath(50))], AXIAL);
    expect(one.series).toEqual([{ agent: null, frames: 2 }]);
    expect(one.places.get(0)!.respiratoryGate).toBeUndefined();
  });

  it('numbers a time point read on its own in its acquisition: time slice t of n, Number of Slices the declared one, InstanceNumber its ImageIndex', () => {
    const plan = planPetSeries([at(7, 0), at(8, 2)], AXIAL);
    const third = placeInDynamicAcquisition(plan, 3, 4, 5)!;
    expect([7, 8].map((id) => third.places.get(id)!).map((p) => [p.seriesType, p.numberOfSlices, p.numberOfTimeSlices, p.imageIndex, p.instanceNumber])).toEqual([
      ['DYNAMIC', 5, 4, 11, 11],
      ['DYNAMIC', 5, 4, 12, 12],
    ]);
    // A declared Number of Slices below the time point's positions is not used; frames sharing a position are no time point.
    expect(placeInDynamicAcquisition(plan, 2, 2, 1)!.places.get(8)!.imageIndex).toBe(4);
    expect(placeInDynamicAcquisition(planPetSeries([at(0, 0, '1'), at(1, 0, '2')], AXIAL), 1, 2, 2)).toBeNull();
  });

  it('places a gate read by its files\' classic Image Index in its GATED acquisition: ImageIndex by gate, its trigger time, a Frame Time only where it can be told', () => {
    // Gate 1 of 2 (one R-R interval, two slots): its frames' one trigger delay 0 of an 800 ms R-R interval, at two positions.
    const cardiac = (delayMs: number) => ({ delayMs, rrNominalMs: 800, window: undefined, rejection: '' });
    const gate = (delayMs: number) => planPetSeries([at(0, 0, '', { cardiac: cardiac(delayMs) }), at(1, 2, '', { cardiac: cardiac(delayMs) })], AXIAL);
    const classic = { numberOfSlices: 3, numberOfRRIntervals: 1, numberOfTimeSlots: 2, triggerTimeMs: undefined, frameTimeMs: 400, nominalIntervalMs: undefined };
    const rows = (p: PetSeriesPlan | string) =>
      typeof p === 'string' ? p : [0, 1].map((id) => p.places.get(id)!).map((f) => [f.seriesType, f.numberOfSlices, f.numberOfRRIntervals, f.numberOfTimeSlots, f.imageIndex, f.instanceNumber, f.gate?.triggerTimeMs, f.gate?.frameTimeMs]);
    // Gate 2: ImageIndex (2 - 1) x 3 + slice; the files' Frame Time, not 800 - 400 from the plan of the gate alone.
    expect(rows(placeInGatedAcquisition(gate(400), 2, 2, classic))).toEqual([
      ['GATED', 3, 1, 2, 4, 4, 400, 400],
      ['GATED', 3, 1, 2, 5, 5, 400, 400],
    ]);
    // Without the files' Frame Time: the last slot runs to the R-R interval's end; an earlier slot's length cannot be told.
    const untimed = { ...classic, frameTimeMs: undefined };
    expect(rows(placeInGatedAcquisition(gate(400), 2, 2, untimed))).toEqual([
      ['GATED', 3, 1, 2, 4, 4, 400, 400],
      ['GATED', 3, 1, 2, 5, 5, 400, 400],
    ]);
    expect(placeInGatedAcquisition(gate(0), 1, 2, untimed)).toMatch(/time slot 1 of 2 has no Frame Time/);
    // Frames without a cardiac group: the files' classic Trigger Time and Frame Time, else not placed.
    const plain = planPetSeries([at(0, 0), at(1, 2)], AXIAL);
    expect(rows(placeInGatedAcquisition(plain, 1, 2, { ...classic, triggerTimeMs: 0 }))).toEqual([
      ['GATED', 3, 1, 2, 1, 1, 0, 400],
      ['GATED', 3, 1, 2, 2, 2, 0, 400],
    ]);
    expect(placeInGatedAcquisition(plain, 1, 2, classic)).toMatch(/no classic Trigger Time and Frame Time/);
  });

  it('plans one series per radiopharmaceutical, each numbered on its own', () => {
    const frames = [at(0, 0, '', { agent: 1 }), at(1, 2, '', { agent: 2 }), at(2, 4, '', { agent: 1 }), at(3, 6, '', { agent: 2 })];
    const plan = planPetSeries(frames, AXIAL);
    expect(plan.series).toEqual([{ agent: 1, frames: 2 }, { agent: 2, frames: 2 }]);
    const place = (id: number) => plan.places.get(id)!;
    expect([0, 2].map((id) => [place(id).series, place(id).instanceNumber, place(id).imageIndex, place(id).numberOfSlices])).toEqual([[0, 1, 1, 2], [0, 2, 2, 2]]);
    expect([1, 3].map((id) => [place(id).series, place(id).instanceNumber, place(id).imageIndex, place(id).numberOfSlices])).toEqual([[1, 1, 1, 2], [1, 2, 2, 2]]);
  });
});

describe('Decay Factor of a frame', () => {
  /** 1 / the mean of 2^(-(t - t_ref) / T) over the frame, by the midpoint rule. */
  const numeric = (startS: number, durationS: number, halfLife: number) => {
    const steps = 200_000;
    let sum = 0;
    for (let i = 0; i < steps; i++) sum += 2 ** (-(startS + ((i + 0.5) / steps) * durationS) / halfLife);
    return 1 / (sum / steps);
  };

  it.each([
    [0, 300],
    [-600, 300],
    [3600, 1200],
  ])('is the reciprocal of the mean decay over a frame starting %d s from the reference, %d s long', (startS, durationS) => {
    const halfLife = 6586.2;
    const factor = decayFactor(startS * 1000, durationS * 1000, 0, halfLife);
    expect(Math.abs(factor - numeric(startS, durationS, halfLife)) / factor).toBeLessThan(1e-9);
  });

  it('is the decay to the start for a frame of no duration, and NaN without a half-life', () => {
    expect(decayFactor(6586.2e3, 0, 0, 6586.2)).toBeCloseTo(2, 12);
    expect(decayFactor(0, 1000, 0, Number.NaN)).toBeNaN();
  });
});
