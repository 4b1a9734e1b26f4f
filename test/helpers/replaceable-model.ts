/**
 * A test model whose files can be replaced under the same card name and version, as a user who
 * retrains a model and copies the new ONNX file over the old one does: the card of
 * test/fixtures-models/bench-conv.json (optionally for PET, in SUVbw) beside a copy of its ONNX
 * file, which `replaceWeights` overwrites with per-pixel.onnx (the same inputs and output, other
 * weights).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelFingerprint } from '../../src/models/fingerprint.js';

const FIXTURES = fileURLToPath(new URL('../fixtures-models/', import.meta.url));

export interface ReplaceableModel {
  /** The card's path (for --model). */
  readonly card: string;
  /** Overwrites the ONNX file with other weights (`original`: puts the first ones back). */
  replaceWeights(original?: boolean): void;
  /** The model's fingerprint sha256 as the files are now. */
  sha256(): Promise<string>;
}

export function replaceableModel(dir: string, modality: 'CT' | 'PT' = 'CT'): ReplaceableModel {
  mkdirSync(dir, { recursive: true });
  const card = JSON.parse(readFileSync(path.join(FIXTURES, 'bench-conv.json'), 'utf8')) as Record<string, unknown>;
  const onnx = path.join(dir, card['onnx'] as string);
  const cardPath = path.join(dir, `bench-conv-${modality.toLowerCase()}.json`);
  const pet = { modalities: ['PT'], normalization: { units: 'SUVbw', transform: 'linear', offset: 0, scale: 4 } };
  writeFileSync(cardPath, JSON.stringify({ ...card, ...(modality === 'PT' ? pet : {}) }, null, 2));
  const replaceWeights = (original = false) => copyFileSync(path.join(FIXTURES, original ? 'bench-conv.onnx' : 'per-pixel.onnx'), onnx);
  replaceWeights(true);
  return { card: cardPath, replaceWeights, sha256: async () => (await modelFingerprint(cardPath)).sha256 };
}
