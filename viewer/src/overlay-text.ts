/**
 * The text a reading workstation writes over each image, as data: patient and study top left,
 * series top right, slice number, location and thickness bottom left, window and zoom bottom
 * right, orientation letters on the edges (from ImageOrientationPatient) and a scale bar in mm.
 * Pure functions: ./pane-overlay.ts puts them on the page, a figure export can draw the same.
 */

export interface OverlayFacts {
  readonly patientName: string;
  readonly patientId: string;
  /** DICOM DA, YYYYMMDD or ''. */
  readonly studyDate: string;
  readonly seriesDescription: string;
  /** 1-based slice number in the pane's own series, or null where it has no matching slice. */
  readonly sliceNumber: number | null;
  /** Said instead of 'no matching slice' where more is known (the difference pane against a reference on another grid). */
  readonly noSliceText?: string | null;
  readonly sliceCount: number;
  /** Position along the slice normal, mm. */
  readonly location: number | null;
  /** SliceThickness, mm. */
  readonly thickness: number | null;
  /** The window as the pane states it ("W 400 L 40 HU", "±100 HU"). */
  readonly windowText: string;
  /** Screen pixels per image pixel. */
  readonly zoom: number;
}

export interface OverlayText {
  readonly topLeft: string[];
  readonly topRight: string[];
  readonly bottomLeft: string[];
  readonly bottomRight: string[];
}

export function overlayText(facts: OverlayFacts, showPatient: boolean): OverlayText {
  const date = formatDicomDate(facts.studyDate);
  return {
    topLeft: [...(showPatient ? [formatPersonName(facts.patientName), facts.patientId ? `ID ${facts.patientId}` : ''] : []), date].filter(Boolean),
    topRight: [facts.seriesDescription].filter(Boolean),
    bottomLeft: [
      facts.sliceNumber === null ? (facts.noSliceText ?? 'no matching slice') : `Im ${facts.sliceNumber} / ${facts.sliceCount}`,
      facts.location === null ? '' : `Loc ${formatMm(facts.location)} mm`,
      facts.thickness === null ? '' : `Thk ${formatMm(facts.thickness)} mm`,
    ].filter(Boolean),
    bottomRight: [facts.windowText, `Zoom ${facts.zoom.toFixed(2)}×`],
  };
}

/** Units the overlay writes after a number; a line never breaks between the number and its unit. */
const UNITS = new Set(['HU', 'mm', 'cm', 'SUV', 'BQML', 'CNTS', 'GML', '%', 's', 'ms', 'min', '×']);
/** A label of one to three letters ("ID", "Im", "σ") stays with the word after it. */
const SHORT_LABEL = /^\p{L}{1,3}$/u;

/**
 * A line of overlay text cut into the parts a narrow pane may put on lines of their own, each read
 * whole: a number stays with its label before it and its unit after it ("W 400", "L 40.0 HU",
 * "Im 2 / 3"), a short label with its value ("ID SECRET-ID-123"), a separator (" · ") with what it ends. Joined by single spaces, the parts are the line.
 */
export function overlayLineParts(line: string): string[] {
  const parts: string[] = [];
  for (const word of line.split(' ')) {
    const last = parts.length - 1;
    const previous = parts[last];
    const joins = previous !== undefined && (/^[-−+±/(]?[\d./]/.test(word) || word === '/' || previous.endsWith('/') || UNITS.has(word) || /^[·,;:)]/.test(word) || SHORT_LABEL.test(previous));
    if (joins) parts[last] = `${previous} ${word}`;
    else parts.push(word);
  }
  return parts;
}

/** DICOM PN "Family^Given^Middle^Prefix^Suffix" as "FAMILY, Given Middle". */
export function formatPersonName(pn: string): string {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('=')[0]!.split('^').map((p) => p.trim());
  const rest = [prefix, given, middle].filter(Boolean).join(' ');
  return [family, [rest, suffix].filter(Boolean).join(' ')].filter(Boolean).join(', ');
}

export function formatDicomDate(da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : '';
}

function formatMm(value: number): string {
  // Half away from zero, as on both sides of the isocentre alike.
  const rounded = (Math.sign(value) * Math.round(Math.abs(value) * 10)) / 10;
  return (rounded === 0 ? 0 : rounded).toFixed(1).replace('-', '−');
}

export interface OrientationLabels {
  readonly left: string;
  readonly right: string;
  readonly top: string;
  readonly bottom: string;
}

/**
 * The patient directions at the image edges: right = along the row direction cosines (increasing
 * column), bottom = along the column cosines. Patient axes are DICOM LPS: +x left, +y posterior,
 * +z head. An oblique direction gets up to three letters, largest component first; components
 * below 0.25 are left out.
 */
export function orientationLabels(orientation: readonly number[] | null): OrientationLabels | null {
  if (!orientation || orientation.length !== 6 || orientation.some((v) => !Number.isFinite(v))) return null;
  const row = orientation.slice(0, 3);
  const column = orientation.slice(3, 6);
  const right = directionLetters(row);
  const bottom = directionLetters(column);
  if (!right || !bottom) return null;
  return { right, left: directionLetters(row.map((v) => -v))!, bottom, top: directionLetters(column.map((v) => -v))! };
}

function directionLetters(v: readonly number[]): string | null {
  const letters: Array<[number, string]> = [
    [v[0]!, v[0]! > 0 ? 'L' : 'R'],
    [v[1]!, v[1]! > 0 ? 'P' : 'A'],
    [v[2]!, v[2]! > 0 ? 'H' : 'F'],
  ];
  const text = letters
    .filter(([c]) => Math.abs(c) >= 0.25)
    .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
    .map(([, letter]) => letter)
    .join('');
  return text || null;
}

export { scaleBar } from '../../src/util/scale-bar.js';
