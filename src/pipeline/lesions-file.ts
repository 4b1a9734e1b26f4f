/**
 * The `metrics --lesions <file>` format: JSON, `{ "lesions": [ { "name"?, "centre": [x, y, z],
 * "radius" } ] }` (or the bare array), centres in patient coordinates (DICOM's LPS, as
 * ImagePositionPatient) and radii in mm. Read strictly: in a QA script a misspelt key that silently
 * drops a lesion is worse than a refusal, so every problem is an E_USAGE naming the file and entry.
 */
import { readFile } from 'node:fs/promises';
import { LowdoseError } from '../errors.js';
import type { Lesion } from '../metrics/lesions.js';

export async function readLesionsFile(file: string): Promise<Lesion[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new LowdoseError('E_NOT_FOUND', `--lesions ${file}: no such file`, { path: file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LowdoseError('E_USAGE', `--lesions ${file}: not JSON (${(error as Error).message})`, { path: file });
  }
  return parseLesions(raw, file);
}

export function parseLesions(raw: unknown, source: string): Lesion[] {
  const bad = (message: string) => new LowdoseError('E_USAGE', `--lesions ${source}: ${message}`, { path: source });
  let list: unknown = raw;
  if (isObject(raw)) {
    const extra = Object.keys(raw).filter((k) => k !== 'lesions');
    if (extra.length > 0) throw bad(`unknown top-level key "${extra[0]}" (expected { "lesions": [...] })`);
    list = raw.lesions;
  }
  if (!Array.isArray(list) || list.length === 0) throw bad('expected { "lesions": [ { "centre": [x, y, z], "radius" }, ... ] } with at least one lesion');
  const names = new Set<string>();
  return list.map((entry: unknown, i) => {
    const at = `lesions[${i}]`;
    if (!isObject(entry)) throw bad(`${at}: expected { "name"?, "centre": [x, y, z], "radius" }`);
    for (const key of Object.keys(entry)) {
      if (!['name', 'centre', 'radius'].includes(key)) throw bad(`${at}: unknown key "${key}" (allowed: name, centre, radius)`);
    }
    const { centre, radius } = entry;
    if (!Array.isArray(centre) || centre.length !== 3 || !centre.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw bad(`${at}.centre: expected [x, y, z] in patient mm, got ${JSON.stringify(centre)}`);
    }
    if (typeof radius !== 'number' || !(radius > 0) || !Number.isFinite(radius)) throw bad(`${at}.radius: expected a positive number of mm, got ${JSON.stringify(radius)}`);
    const name = entry.name === undefined ? `lesion ${i + 1}` : entry.name;
    if (typeof name !== 'string' || name === '') throw bad(`${at}.name: expected a non-empty string`);
    if (names.has(name)) throw bad(`${at}.name: "${name}" is used twice`);
    names.add(name);
    return { name, centre: [centre[0], centre[1], centre[2]] as const, radius };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
