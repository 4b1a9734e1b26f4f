/**
 * The classic PET Series / Image numbers a derived file of a multi-frame PET source gets from its
 * frames (src/dicom/derived-pet-frame.ts): NumberOfSlices, NumberOfTimeSlices and ImageIndex
 * (PS3.3 C.8.9.4.1.9: (time slice - 1) x NumberOfSlices + slice for a DYNAMIC series), and the
 * Decay Factor of a frame, checked against a numeric mean of the decay over the frame.
 */
import { describe, expect, it } from 'vitest';
import { decayFactor, petFrameLayout, type LayoutFrame } from '../../src/dicom/derived-pet-frame.js';
import type { Orientation } from '../../src/dicom/types.js';

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];

describe('PET frame layout of a multi-frame source', () => {
  it('counts positions as slices and the frames at one position as time slices, numbering the frames by time', () => {
    // Two positions, three time points each, given in the series' order (by position), times shuffled.
    const frames: LayoutFrame[] = [
      { frame: 4, position: [0, 0, -10], time: '3' },
      { frame: 0, position: [0, 0, -10], time: '1' },
      { frame: 2, position: [0, 0, -10], time: '2' },
      { frame: 1, position: [0, 0, -5], time: '1' },
      { frame: 5, position: [0, 0, -5], time: '3' },
      { frame: 3, position: [0, 0, -5], time: '2' },
    ];
    const layout = petFrameLayout(frames, AXIAL);
    expect(layout.numberOfSlices).toBe(2);
    expect(layout.numberOfTimeSlices).toBe(3);
    const imageIndex = (frame: number) => {
      const place = layout.frames.get(frame)!;
      return (place.timeSlice - 1) * layout.numberOfSlices + place.slice;
    };
    expect([0, 1, 2, 3, 4, 5].map(imageIndex)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives a static stack one time slice and as many slices as frames, positions told apart along the normal only', () => {
    // Positions differing within the plane only (a shifted table) are one slice; 1 µm apart along the normal, two.
    const frames: LayoutFrame[] = [
      { frame: 0, position: [0, 0, 0], time: '' },
      { frame: 1, position: [3, 4, 0.001], time: '' },
      { frame: 2, position: [0, 0, 2], time: '' },
    ];
    const layout = petFrameLayout(frames, AXIAL);
    expect(layout.numberOfSlices).toBe(3);
    expect(layout.numberOfTimeSlices).toBe(1);
    const shifted = petFrameLayout([frames[0]!, { frame: 1, position: [3, 4, 0], time: '' }], AXIAL);
    expect(shifted.numberOfSlices).toBe(1);
    expect(shifted.numberOfTimeSlices).toBe(2);
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
