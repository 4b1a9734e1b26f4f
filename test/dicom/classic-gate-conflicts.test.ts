/**
 * A classic GATED PET series (one single-frame file per slice, read as gates by ImageIndex) whose
 * files of one gate state two values of an attribute that gate has one of: two Frame Times (one
 * time slot, two lengths) or two Trigger Times (two starts). make-pet-timing.py's gated set
 * (NumberOfRRIntervals 2 x NumberOfTimeSlots 3 x NumberOfSlices 2, FrameTime 250 ms, TriggerTime
 * 0 / 250 / 500 ms), one file of gate 1 changed with pydicom; the written files read back with
 * pydicom. Skipped without the Python with pydicom the generator needs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { hasPydicom, makePetTiming, readWithPydicom } from '../helpers/pet-timing.js';

const PYTHON = '/usr/bin/python3';

describe.skipIf(!hasPydicom)('a classic gated series whose files of one gate disagree', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-classic-gate-conflicts-'));
    makePetTiming(path.join(dir, 'in'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The gated set as a new series in `name`, with `attribute` of gate 1's second slice (rr1-slot1-s2.dcm) set to `value`. */
  function gatedWith(name: string, attribute: string, value: number): string {
    const folder = path.join(dir, name);
    const script = [
      'import sys, os, glob, pydicom',
      'from pydicom.uid import generate_uid',
      'os.makedirs(sys.argv[2], exist_ok=True)',
      'uid = generate_uid(entropy_srcs=[sys.argv[2]])',
      "for p in glob.glob(os.path.join(sys.argv[1], '*.dcm')):",
      '    d = pydicom.dcmread(p)',
      '    d.SeriesInstanceUID = uid',
      '    d.SOPInstanceUID = generate_uid(entropy_srcs=[sys.argv[2], os.path.basename(p)])',
      '    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID',
      "    if os.path.basename(p) == 'rr1-slot1-s2.dcm': setattr(d, sys.argv[3], int(sys.argv[4]))",
      '    d.save_as(os.path.join(sys.argv[2], os.path.basename(p)))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, path.join(dir, 'in', 'gated'), folder, attribute, String(value)], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return folder;
  }

  it("reports each gate's FrameTime, and warns on a gate whose files state two (its FrameTime not reported)", async () => {
    const { series: clean } = await scanPaths([path.join(dir, 'in', 'gated')]);
    expect(clean.map((s) => s.petFrame?.gating?.frameTimeMs)).toEqual([250, 250, 250, 250, 250, 250]);
    const { series } = await scanPaths([gatedWith('frame-time-read', 'FrameTime', 300)]);
    expect(series.map((s) => s.petFrame?.gating?.frameTimeMs)).toEqual([undefined, 250, 250, 250, 250, 250]);
    const warned = series.map((s) => s.warnings.filter((w) => w.code === 'E_INCONSISTENT_SERIES').map((w) => w.message));
    expect(warned.map((w) => w.length)).toEqual([1, 0, 0, 0, 0, 0]);
    expect(warned[0]![0]).toMatch(/#g1: gate 1's slices disagree on FrameTime \((250, 300|300, 250) ms\): its FrameTime is not reported/);
  });

  it.each([
    ['FrameTime', 300, 'Frame Time \\((250, 300|300, 250)\\)'],
    ['TriggerTime', 10, 'Trigger Time \\((0, 10|10, 0)\\)'],
  ])('does not write a gate whose files state two values of %s (E_PET_GATES_UNKNOWN); the other gates are written', async (attribute, value, named) => {
    const input = gatedWith(`two-${attribute}`, attribute, value);
    const report = await denoisePaths([input], { outDir: path.join(dir, `out-${attribute}`), method: 'gaussian' });
    const why = new RegExp(`gate 1 of 6 of a GATED acquisition .* cannot be written GATED: its files state 2 values of ${named} for one gate; series not written`);
    expect(report.errors.map((e) => [e.code, why.test(e.message)])).toEqual([['E_PET_GATES_UNKNOWN', true]]);
    expect(report.series.map((s) => s.input.petFrame?.tag)).toEqual(['g02', 'g03', 'g04', 'g05', 'g06']);
    // The written gates keep their own values: one FrameTime, each gate's TriggerTime, ImageIndex 3..12.
    const written = readWithPydicom(report.series[0]!.output.dir);
    expect(written.map((f) => [Number(f.attributes.ImageIndex), Number(f.attributes.TriggerTime), Number(f.attributes.FrameTime)]).sort((a, b) => a[0]! - b[0]!)).toEqual(
      [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((index) => [index, [0, 250, 500][Math.floor((index - 1) / 2) % 3], 250]),
    );
  });
});
