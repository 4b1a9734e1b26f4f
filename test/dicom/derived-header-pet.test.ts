/**
 * What a derived file takes from a multi-frame PET source, by frame (src/dicom/derived-header.ts
 * derivedHeaderValues, which a rerun's input check hashes for every slice): the copied attributes
 * are read once per file, not again for each frame (1,000 frames of an Enhanced PET: docs/benchmarks.md),
 * and each frame's values are those a fresh read of its file gives it, whatever frames were
 * asked for before. The sources are test/dicom/data/make-enhanced-pet.py's Enhanced and Legacy
 * Converted Enhanced PET files (static, dynamic, gated, two agents, file zones, ...).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as source from '../../src/dicom/derived-source.js';
import { derivedHeaderValues, readDicomFile, readInstanceHeader } from '../../src/dicom/index.js';
import { CORPUS } from './helpers/corpus.js';

// Every read of copied attributes, counted.
vi.mock('../../src/dicom/derived-source.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/dicom/derived-source.js')>();
  return { ...actual, readCopiedAttributes: vi.fn(actual.readCopiedAttributes) };
});
const copiedReads = vi.mocked(source.readCopiedAttributes);

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('./data/make-enhanced-pet.py', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lowdose-derived-header-pet-'));
  const run = spawnSync(PYTHON, [GENERATOR, CORPUS, dir], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`make-enhanced-pet.py failed: ${run.stderr}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every multi-frame file make-enhanced-pet.py wrote, with its frame count. */
async function multiFrameSources(): Promise<{ file: string; frames: number }[]> {
  const out: { file: string; frames: number }[] = [];
  for (const set of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    for (const name of readdirSync(path.join(dir, set)).filter((n) => n.endsWith('.dcm')).sort()) {
      const file = path.join(dir, set, name);
      const header = await readInstanceHeader(file);
      if (header.frames > 1) out.push({ file, frames: header.frames });
    }
  }
  return out;
}

describe('the values a multi-frame PET source gives each derived frame', () => {
  it('read its copied attributes once per file, not once per frame', async () => {
    const parsed = await readDicomFile(path.join(dir, 'enhanced', 'enhanced.dcm'));
    copiedReads.mockClear();
    for (let frame = 0; frame < 2; frame++) derivedHeaderValues(parsed, frame);
    expect(copiedReads).toHaveBeenCalledTimes(1);
  });

  it('are those a fresh read of the file gives each frame, whatever frames were asked for before', async () => {
    const sources = await multiFrameSources();
    expect(sources.length).toBeGreaterThan(10);
    for (const { file, frames } of sources) {
      const shared = await readDicomFile(file);
      // Asked for in order on one read of the file, then each frame on a read of its own, last first.
      const inOrder = Array.from({ length: frames }, (_, frame) => [...derivedHeaderValues(shared, frame)]);
      for (let frame = frames - 1; frame >= 0; frame--) {
        expect(inOrder[frame], `${file} frame ${frame}`).toEqual([...derivedHeaderValues(await readDicomFile(file), frame)]);
      }
    }
  });
});
