/**
 * A denoised dynamic PET acquisition to judge away from its run: the 3-time-point dynamic series of
 * make-pet-timing.py (./pet-timing.ts, needs pydicom) denoised with the gaussian filter, its
 * acquisition folder copied alone.
 */
import { cpSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { seriesFolderIn } from './disc-ct.js';
import { makePetTiming } from './pet-timing.js';

/** The source under `<data>/source/dynamic`, denoised into `run` (folder `dir`), the folder copied to `<data>/copied/<its name>` (`copy`). */
export async function copiedDenoisedDynamic(data: string, run: string): Promise<{ source: string; dir: string; copy: string }> {
  makePetTiming(path.join(data, 'source'));
  const source = path.join(data, 'source', 'dynamic');
  await denoisePaths([source], { outDir: run, method: 'gaussian' });
  const dir = seriesFolderIn(run);
  const copy = path.join(data, 'copied', path.basename(dir));
  cpSync(dir, copy, { recursive: true });
  return { source, dir, copy };
}

/** The acquisition folder `copy` as a PACS gives it back without time point `tag`: none of its files, no completion marker. */
export function withoutTimePoint(copy: string, tag: string): void {
  for (const f of readdirSync(copy).filter((f) => f.startsWith('.lowdose-complete') || f.startsWith(`${tag}-`))) unlinkSync(path.join(copy, f));
}
