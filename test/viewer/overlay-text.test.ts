/** The overlay text, orientation letters and scale bar (viewer/src/overlay-text.ts). */
import { describe, expect, it } from 'vitest';
import { formatPersonName, orientationLabels, overlayLineParts, overlayText, scaleBar } from '../../viewer/src/overlay-text.js';

const facts = {
  patientName: 'DOE^JANE',
  patientId: 'ID-7',
  studyDate: '20240131',
  seriesDescription: 'Abdomen 1.0 B30f',
  sliceNumber: 12,
  sliceCount: 80,
  location: -123.45,
  thickness: 1,
  windowText: 'W 400 L 40 HU',
  zoom: 1.234,
};

describe('overlay text', () => {
  it('writes the four corners as a workstation does', () => {
    expect(overlayText(facts, true)).toEqual({
      topLeft: ['DOE, JANE', 'ID ID-7', '2024-01-31'],
      topRight: ['Abdomen 1.0 B30f'],
      bottomLeft: ['Im 12 / 80', 'Loc −123.5 mm', 'Thk 1.0 mm'],
      bottomRight: ['W 400 L 40 HU', 'Zoom 1.23×'],
    });
  });

  it('leaves out the patient name and ID when hidden, and what is unknown', () => {
    const text = overlayText({ ...facts, location: null, thickness: null, sliceNumber: null }, false);
    expect(text.topLeft).toEqual(['2024-01-31']);
    expect(text.bottomLeft).toEqual(['no matching slice']);
  });

  it('says why a pane has no image where that is known', () => {
    const text = overlayText({ ...facts, location: null, thickness: null, sliceNumber: null, noSliceText: 'no difference: matrix 384 x 384 against 512 x 512' }, true);
    expect(text.bottomLeft).toEqual(['no difference: matrix 384 x 384 against 512 x 512']);
  });

  it('formats DICOM person names', () => {
    expect(formatPersonName('DOE^JANE^Q^Dr^PhD')).toBe('DOE, Dr JANE Q PhD');
    expect(formatPersonName('ANONYMOUS')).toBe('ANONYMOUS');
  });
});

describe('overlay lines in a narrow pane', () => {
  it('breaks a line only between parts read whole: a number with its label and unit', () => {
    expect(overlayLineParts('W 400 L 40.0 HU')).toEqual(['W 400', 'L 40.0 HU']);
    expect(overlayLineParts('W 1500 L −600 HU')).toEqual(['W 1500', 'L −600 HU']);
    expect(overlayLineParts('W 5.00 L 2.50 SUV')).toEqual(['W 5.00', 'L 2.50 SUV']);
    expect(overlayLineParts('Im 2 / 3')).toEqual(['Im 2 / 3']);
    expect(overlayLineParts('Loc -18.4 mm')).toEqual(['Loc -18.4 mm']);
    expect(overlayLineParts('Zoom 3.11×')).toEqual(['Zoom 3.11×']);
    expect(overlayLineParts('±100 HU')).toEqual(['±100 HU']);
    expect(overlayLineParts('σ 0.00–40.0 HU · threshold 10.0 at 25 %')).toEqual(['σ 0.00–40.0 HU ·', 'threshold 10.0', 'at 25 %']);
    expect(overlayLineParts('ID SECRET-ID-123')).toEqual(['ID SECRET-ID-123']);
    expect(overlayLineParts('no matching slice')).toEqual(['no matching', 'slice']);
  });

  it('loses no character: the parts joined by spaces are the line', () => {
    for (const line of ['BODY phantom seed 3 arterial + white noise 60 HU', 'DOE, JANE', '2026-12-07', 'no matching slice', 'W 400 L 40.0 HU']) {
      expect(overlayLineParts(line).join(' ')).toBe(line);
    }
  });
});

describe('orientation letters', () => {
  it('puts R on the left and A on top of an axial slice (radiological view)', () => {
    expect(orientationLabels([1, 0, 0, 0, 1, 0])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });

  it('labels coronal and sagittal slices and oblique ones by their main components', () => {
    expect(orientationLabels([1, 0, 0, 0, 0, -1])).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F' });
    expect(orientationLabels([0, 1, 0, 0, 0, -1])).toEqual({ left: 'A', right: 'P', top: 'H', bottom: 'F' });
    const c = Math.cos(Math.PI / 6);
    expect(orientationLabels([c, 0.5, 0, -0.5, c, 0])).toEqual({ left: 'RA', right: 'LP', top: 'AL', bottom: 'PR' });
    expect(orientationLabels(null)).toBeNull();
  });
});

describe('scale bar', () => {
  it('takes the longest 1-2-5 length that fits', () => {
    // 0.7 mm pixels at zoom 1.4: 2 screen px per mm; 120 px allow 50 mm.
    expect(scaleBar(1.4 / 0.7, 120)).toEqual({ mm: 50, px: 100 });
    expect(scaleBar(10, 4)).toBeNull();
  });
});
