/**
 * A folder of many tiny files that are not DICOM but are named as if they were (`.dcm`: each is an
 * error of the scan, E_NOT_DICOM; with another `extension` the scan passes them over), plus truncated copies of a real slice (E_TRUNCATED). The bytes
 * are seeded: the same call writes the same files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../src/util/random.js';

export interface JunkFolder {
  readonly dir: string;
  readonly notDicom: number;
  readonly truncated: number;
}

export function writeJunkFolder(dir: string, options: { notDicom: number; truncatedOf?: string; truncated?: number; seed?: number; extension?: string }): JunkFolder {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(options.seed ?? 1);
  for (let i = 0; i < options.notDicom; i++) {
    const bytes = Buffer.alloc(64);
    for (let k = 0; k < bytes.length; k += 4) bytes.writeUInt32LE(rng.nextUint32(), k);
    writeFileSync(path.join(dir, `junk${String(i).padStart(6, '0')}${options.extension ?? '.dcm'}`), bytes);
  }
  const truncated = options.truncatedOf ? (options.truncated ?? 0) : 0;
  if (options.truncatedOf) {
    const slice = readFileSync(options.truncatedOf);
    for (let i = 0; i < truncated; i++) writeFileSync(path.join(dir, `truncated${i}.dcm`), slice.subarray(0, slice.length - 500 - i));
  }
  return { dir, notDicom: options.notDicom, truncated };
}
