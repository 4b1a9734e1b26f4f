/**
 * The numbers the viewer's PET ROI readout should show, from the series' DICOM files alone: the
 * pixels and header through dicom-parser (../dicom-write/helpers.ts), SUVbw by hand, the ellipse
 * and the PERCIST sphere by brute force. No code of src/ or viewer/ runs here, so a test that
 * compares the page's readout to this checks the readout, not the code against itself.
 *
 * The rules are the readout's (viewer/src/uptake.ts, docs/viewer.md "Linked panes"):
 * - the ellipse holds the pixels whose centres (column + 0.5, row + 0.5) lie in it, on the shown slice;
 * - SUVmean ± SD (sample SD) and SUVmax over those pixels;
 * - SUVpeak: the highest mean, over those pixel centres as sphere centres, of every voxel (any
 *   slice, inside or outside the ellipse) whose centre lies within 6 mm of the sphere's centre.
 *
 * Only what the test's IEC series need: axial slices, Units BQML decay-corrected to the series
 * start, no pixel padding; anything else throws rather than give a number.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { DataSet } from 'dicom-parser';
import { modalityValues, parse } from '../dicom-write/helpers.js';

export interface ReferenceEllipse {
  readonly cx: number;
  readonly cy: number;
  readonly rx: number;
  readonly ry: number;
}

export interface ReferenceUptake {
  readonly mean: number;
  readonly sd: number;
  readonly max: number;
  readonly peak: number;
}

interface Slice {
  readonly z: number;
  readonly suv: Float64Array;
}

const PEAK_RADIUS_MM = 6;

function seconds(tm: string): number {
  return Number(tm.slice(0, 2)) * 3600 + Number(tm.slice(2, 4)) * 60 + Number(tm.slice(4));
}

/** SUVbw per Bq/ml: weight over the injected dose decayed from injection to the series start. */
function suvFactor(ds: DataSet): number {
  const units = ds.string('x00541001');
  const decay = ds.string('x00541102');
  if (units !== 'BQML' || decay !== 'START') throw new Error(`reference handles BQML decay-corrected to START only, got ${units} / ${decay}`);
  const drug = ds.elements.x00540016!.items![0]!.dataSet!;
  const elapsed = seconds(ds.string('x00080031')!) - seconds(drug.string('x00181072')!);
  const decayed = drug.floatString('x00181074')! * 2 ** (-elapsed / drug.floatString('x00181075')!);
  return (ds.floatString('x00101030')! * 1000) / decayed;
}

function dicomFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => path.join(dir, f));
}

/** SUVmean, SD, SUVmax and SUVpeak of `ellipse` (image pixels) on the slice of the series in `dir` at `location` (mm along z). */
export function referenceUptake(dir: string, location: number, ellipse: ReferenceEllipse): ReferenceUptake {
  let rows = 0;
  let columns = 0;
  let spacing: [number, number] = [0, 0];
  const slices: Slice[] = dicomFiles(dir).map((file) => {
    const ds = parse(file);
    if (ds.elements.x00280120) throw new Error(`${file}: reference does not handle pixel padding`);
    const orientation = ds.string('x00200037')!.split('\\').map(Number);
    if (orientation.join() !== '1,0,0,0,1,0') throw new Error(`${file}: reference handles axial slices only`);
    rows = ds.uint16('x00280010')!;
    columns = ds.uint16('x00280011')!;
    spacing = [ds.floatString('x00280030', 0)!, ds.floatString('x00280030', 1)!];
    const factor = suvFactor(ds);
    return { z: ds.floatString('x00200032', 2)!, suv: modalityValues(ds).map((v) => v * factor) };
  });
  const shown = slices.find((s) => Math.abs(s.z - location) < 1e-3);
  if (!shown) throw new Error(`${dir} has no slice at ${location} mm`);
  const inside: Array<[number, number]> = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) if (((c + 0.5 - ellipse.cx) / ellipse.rx) ** 2 + ((r + 0.5 - ellipse.cy) / ellipse.ry) ** 2 <= 1) inside.push([r, c]);
  }
  if (inside.length < 2) throw new Error(`ellipse ${JSON.stringify(ellipse)} holds ${inside.length} pixels`);
  const values = inside.map(([r, c]) => shown.suv[r * columns + c]!);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  let peak = -Infinity;
  for (const [r0, c0] of inside) {
    let sum = 0;
    let n = 0;
    for (const s of slices) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          if (((r - r0) * spacing[0]) ** 2 + ((c - c0) * spacing[1]) ** 2 + (s.z - shown.z) ** 2 > PEAK_RADIUS_MM ** 2) continue;
          sum += s.suv[r * columns + c]!;
          n++;
        }
      }
    }
    peak = Math.max(peak, sum / n);
  }
  return { mean, sd, max: Math.max(...values), peak };
}
