/**
 * The series reference (SeriesDate / SeriesTime) of the classic frames derived from an Enhanced PET
 * that states none and is not decay-corrected (src/dicom/derived-pet-frame.ts): the earliest frame
 * start, its frames' starts read once per file, not again for each frame written (frames² work on
 * 1,000 frames: docs/benchmarks.md). The source is test/dicom/data/make-enhanced-pet.py's
 * not-decay-corrected/ file as write-many-pet-frames.py --no-series-time repeats it: no Series Date /
 * Time, and each frame starting a second before the one before it, so the last frame starts first.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as attributes from '../../src/dicom/attributes.js';
import { derivedHeaderValues, readDicomFile } from '../../src/dicom/index.js';
import { CORPUS } from './helpers/corpus.js';

// Every functional group looked up, counted.
vi.mock('../../src/dicom/attributes.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/dicom/attributes.js')>();
  return { ...actual, functionalGroup: vi.fn(actual.functionalGroup) };
});
const groupLookups = vi.mocked(attributes.functionalGroup);
const FRAME_CONTENT = 'x00209111';

const PYTHON = '/usr/bin/python3';
const DATA = fileURLToPath(new URL('./data/', import.meta.url));
const FRAMES = 30;
let dir: string;
let file: string;

function python(script: string, args: string[]): void {
  const run = spawnSync(PYTHON, [path.join(DATA, script), ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${script} failed: ${run.stderr}`);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lowdose-pet-series-reference-'));
  python('make-enhanced-pet.py', [CORPUS, dir]);
  file = path.join(dir, 'many.dcm');
  python('write-many-pet-frames.py', [path.join(dir, 'not-decay-corrected', 'not-decay-corrected.dcm'), file, String(FRAMES), '--no-series-time']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The SeriesDate and SeriesTime a frame's derived file states. */
function seriesReference(values: Map<string, string>): [string | undefined, string | undefined] {
  const of = (name: string) => [...values].find(([key]) => key.startsWith(`${name} `) || key === name)?.[1];
  return [of('SeriesDate'), of('SeriesTime')];
}

describe('an Enhanced PET without Series Date / Time, not decay-corrected', () => {
  it("reads each frame's Frame Content once per file for the series reference, not again for every frame written", async () => {
    const parsed = await readDicomFile(file);
    groupLookups.mockClear();
    for (let frame = 0; frame < FRAMES; frame++) derivedHeaderValues(parsed, frame);
    // Lookups of each frame's Frame Content over the whole file.
    const byFrame = new Map<number, number>();
    for (const [, frame, tag] of groupLookups.mock.calls) if (tag === FRAME_CONTENT) byFrame.set(frame, (byFrame.get(frame) ?? 0) + 1);
    const perFrame = [...byFrame.values()];
    expect(perFrame).toHaveLength(FRAMES);
    // Each frame's own lookups plus one for the file's scan; before, one more for every frame derived
    // (the writer sets the same values with the same setClassicPetFrameAttributes).
    expect(Math.max(...perFrame)).toBeLessThan(FRAMES / 2);
  });

  it('states the earliest frame start (the last frame\'s) as every frame\'s series reference, as a fresh read of the file does', async () => {
    const shared = await readDicomFile(file);
    const inOrder = Array.from({ length: FRAMES }, (_, frame) => derivedHeaderValues(shared, frame));
    const lastStart = derivedHeaderValues(await readDicomFile(file), FRAMES - 1).get('AcquisitionTime (derived for PET frame)');
    expect(lastStart).toBeDefined();
    for (let frame = FRAMES - 1; frame >= 0; frame--) {
      const [date, time] = seriesReference(inOrder[frame]!);
      expect(date, `frame ${frame}`).toBeDefined();
      expect(time, `frame ${frame}`).toBeDefined();
      expect(time, `frame ${frame}`).toBe(lastStart);
      expect([...inOrder[frame]!], `frame ${frame}`).toEqual([...derivedHeaderValues(await readDicomFile(file), frame)]);
    }
  });
});
