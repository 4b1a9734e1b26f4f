/**
 * lowdose's own package folder (the one with its package.json) and version, found from this file's
 * location: the same answer from src/ under tsx or vitest, from dist/, and from an installed
 * node_modules/lowdose. The shipped models/, fixtures/, qa/ and viewer/dist/ are found through it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LowdoseError } from '../errors.js';

let root: string | null = null;

export function packageRoot(): string {
  if (root !== null) return root;
  const here = fileURLToPath(import.meta.url);
  let dir = path.dirname(here);
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new LowdoseError('E_INTERNAL', `no package.json above ${here}`);
    dir = parent;
  }
  root = dir;
  return dir;
}

/** `path.join(packageRoot(), ...parts)`. */
export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

/** The version in lowdose's package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}
