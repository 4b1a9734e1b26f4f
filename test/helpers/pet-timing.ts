/**
 * The dynamic and gated PET copies of the ACRIN slice that test/dicom/data/make-pet-timing.py
 * writes with pydicom: made into a folder, read back with pydicom (test/dicom/data/read-pet-series.py,
 * not lowdose's reader), and the dynamic one (3 time points x 2 slices, one SeriesInstanceUID)
 * uploaded to a test Orthanc for the PACS round trips.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS } from '../dicom/helpers/corpus.js';
import type { RunningOrthanc } from './orthanc.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('../dicom/data/make-pet-timing.py', import.meta.url));
const READER = fileURLToPath(new URL('../dicom/data/read-pet-series.py', import.meta.url));

/** Whether the Python with pydicom and numpy that make-pet-timing.py needs is here. */
export const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

/** Uploads make-pet-timing.py's dynamic series (written under `dir`) to Orthanc: its study and series UIDs and its 6 files. */
export async function uploadDynamicPet(orthanc: RunningOrthanc, dir: string): Promise<{ study: string; series: string; files: string[] }> {
  execFileSync(PYTHON, [GENERATOR, CORPUS, dir], { stdio: 'ignore' });
  const folder = path.join(dir, 'dynamic');
  const files = readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(folder, f));
  let tags: Record<string, string> = {};
  for (const file of files) {
    const response = await orthanc.rest('/instances', { method: 'POST', body: await readFile(file) });
    if (!response.ok) throw new Error(`Orthanc refused ${file}: HTTP ${response.status}`);
    tags = (await (await orthanc.rest(`/instances/${((await response.json()) as { ID: string }).ID}/simplified-tags`)).json()) as Record<string, string>;
  }
  return { study: tags.StudyInstanceUID!, series: tags.SeriesInstanceUID!, files };
}

/** ImageIndex and NumberOfTimeSlices of each of Orthanc's instances (by Orthanc id), sorted by ImageIndex. */
export async function imageIndexes(orthanc: RunningOrthanc, ids: readonly string[]): Promise<Array<[number, number]>> {
  const read = await Promise.all(ids.map(async (id): Promise<[number, number]> => {
    const t = (await (await orthanc.rest(`/instances/${id}/simplified-tags`)).json()) as Record<string, string>;
    return [Number(t.ImageIndex), Number(t.NumberOfTimeSlices)];
  }));
  return read.sort((a, b) => a[0] - b[0]);
}

/** Writes make-pet-timing.py's folders (`dynamic/`, `gated/`, `dynamic-late/`, `expected.json`) into `dir`. */
export function makePetTiming(dir: string): void {
  const run = spawnSync(PYTHON, [GENERATOR, CORPUS, dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`make-pet-timing.py failed: ${run.stderr}`);
}

/**
 * From make-pet-timing.py's gated set (`gated`: 2 R-R intervals x 3 time slots x 2 slices), written
 * with pydicom under `dir`: `gate2`, gate 2's two files (TriggerTime 250 ms) as a series of their
 * own, and `ungated`, gate 1's two files rewritten as a STATIC series of their own (no gating
 * attributes): a gate and an ungated series at the same positions.
 */
export function makeGateAndUngated(gated: string, dir: string): { gate2: string; ungated: string } {
  const gate2 = path.join(dir, 'gate2');
  const ungated = path.join(dir, 'ungated');
  const script = [
    'import sys, os, pydicom',
    'from pydicom.uid import generate_uid',
    'os.makedirs(sys.argv[2], exist_ok=True)',
    'os.makedirs(sys.argv[3], exist_ok=True)',
    "uid = generate_uid(entropy_srcs=['lowdose-pet-gate-2'])",
    "for s in ('1', '2'):",
    "    d = pydicom.dcmread(os.path.join(sys.argv[1], f'rr1-slot2-s{s}.dcm'))",
    '    d.SeriesInstanceUID = uid',
    "    d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-gate-2', s])",
    '    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID',
    "    d.save_as(os.path.join(sys.argv[3], f'rr1-slot2-s{s}.dcm'))",
    "uid = generate_uid(entropy_srcs=['lowdose-pet-ungated'])",
    "for s in ('1', '2'):",
    "    d = pydicom.dcmread(os.path.join(sys.argv[1], f'rr1-slot1-s{s}.dcm'))",
    '    d.SeriesInstanceUID = uid',
    "    d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-ungated', s])",
    '    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID',
    "    d.SeriesType = ['STATIC', 'IMAGE']",
    "    for k in ('NumberOfRRIntervals', 'NumberOfTimeSlots', 'TriggerTime', 'FrameTime', 'LowRRValue', 'HighRRValue'): delattr(d, k)",
    '    d.ImageIndex = int(s)',
    '    d.InstanceNumber = int(s)',
    "    d.save_as(os.path.join(sys.argv[2], f's{s}.dcm'))",
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', script, gated, ungated, gate2], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the gate / ungated copies failed: ${run.stderr}`);
  return { gate2, ungated };
}

/** A written PET file as pydicom reads it. */
export interface PydicomFile {
  name: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  source: string | null;
  attributes: Record<string, unknown>;
  /** Empty unless read with pixels. */
  bqml: number[];
}

/** Every DICOM file of `folder` as pydicom reads it (pixels in Bq/ml when asked). */
export function readWithPydicom(folder: string, pixels = false): PydicomFile[] {
  const run = spawnSync(PYTHON, [READER, folder, ...(pixels ? [] : ['--no-pixels'])], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`read-pet-series.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PydicomFile[];
}
