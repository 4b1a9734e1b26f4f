/**
 * What a model is made of, hashed: its card and every ONNX file the card names (the network, and a
 * latent model's encoder and decoder). A result measured with a model (`lowdose qa --json`,
 * settings.modelFingerprint) records it, so that a script reusing the result later can tell
 * whether it still describes the model files as they are (scripts/train/qa-gate.ts
 * --baseline-json, scripts/evaluate/lesion-recovery.ts).
 *
 * The card is hashed without its record blocks, `training` and `quality`: they describe how the
 * model was made and measured and change no output, and `quality.lesionRecovery` is itself built
 * from QA results (scripts/evaluate/lesion-recovery-card.ts), so hashing it would make every QA
 * result it was built from stale the moment it is written. Every other field (sampler with its
 * consistency block, normalization, schedule, tiling, inputs, ...) counts, whatever it is.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileRevision } from '../util/file-revision.js';

/** The card's blocks left out of its hash (records, not settings). */
export const CARD_RECORD_BLOCKS: readonly string[] = ['training', 'quality'];

export interface ModelFingerprint {
  /** sha256 of `card` and every `onnx` entry together (`combinedSha256`): equal fingerprints have equal `sha256`. */
  readonly sha256: string;
  /** sha256 of the card's JSON (`JSON.stringify`, the file's key order) without `training` and `quality`. */
  readonly card: string;
  /** sha256 of each ONNX file's bytes, by the name the card gives it (relative to the card's folder). */
  readonly onnx: Readonly<Record<string, string>>;
}

/**
 * The files each fingerprint was read from, as they were before the read (filesStamp): a later
 * `fingerprintStillHolds` compares them with the files as they are then.
 */
const hashedFiles = new WeakMap<ModelFingerprint, string>();

/** The fingerprint of the model whose card is at `cardPath` (each file read once, streamed). */
export async function modelFingerprint(cardPath: string, signal?: AbortSignal): Promise<ModelFingerprint> {
  const stamp = await filesStamp(cardPath);
  const text = await readFile(cardPath, signal ? { encoding: 'utf8', signal } : 'utf8');
  const card = JSON.parse(text) as Record<string, unknown>;
  const dir = path.dirname(cardPath);
  const onnx: Record<string, string> = {};
  for (const name of onnxFilesOf(card)) onnx[name] = await sha256File(path.resolve(dir, name), signal);
  const fingerprint = withCombined(cardSha256(card), onnx);
  if (stamp !== null) hashedFiles.set(fingerprint, stamp);
  return fingerprint;
}

/**
 * Whether `fingerprint`, made by modelFingerprint in this process, still describes the model whose
 * card is at `cardPath`: the card and every ONNX file it names have the same revision (size, mtime,
 * ctime, inode: src/util/file-revision.ts) as before that hash read them. So a model loaded after
 * its files were hashed is not hashed again (denoise hashes them to plan a run, before it loads the
 * model), unless a file was replaced or written meanwhile, its mtime put back or not. False for a fingerprint made otherwise (read from a result).
 */
export async function fingerprintStillHolds(fingerprint: ModelFingerprint, cardPath: string): Promise<boolean> {
  const before = hashedFiles.get(fingerprint);
  return before !== undefined && before === (await filesStamp(cardPath));
}

/** The card's path and the revision of it and of each ONNX file it names, as one string; null when one cannot be read. */
async function filesStamp(cardPath: string): Promise<string | null> {
  try {
    const card = JSON.parse(await readFile(cardPath, 'utf8')) as Record<string, unknown>;
    const files = [cardPath, ...onnxFilesOf(card).map((name) => path.resolve(path.dirname(cardPath), name))];
    const infos = await Promise.all(files.map((file) => stat(file)));
    return files.map((file, i) => `${path.resolve(file)} ${fileRevision(infos[i]!)}`).join('\n');
  } catch {
    return null;
  }
}

/** The ONNX files a card names: `onnx`, and a latent model's `latent.encoder.onnx` and `latent.decoder.onnx`. */
export function onnxFilesOf(card: Record<string, unknown>): string[] {
  const names = [card['onnx']];
  const latent = card['space'] === 'latent' ? (card['latent'] as Record<string, { onnx?: unknown } | undefined> | undefined) : undefined;
  if (latent) names.push(latent['encoder']?.onnx, latent['decoder']?.onnx);
  return names.filter((n): n is string => typeof n === 'string');
}

/** sha256 of a parsed card without its record blocks (CARD_RECORD_BLOCKS). */
export function cardSha256(card: Record<string, unknown>): string {
  const settings = Object.fromEntries(Object.entries(card).filter(([key]) => !CARD_RECORD_BLOCKS.includes(key)));
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

/** The combined hash of a card hash and ONNX hashes (names sorted). */
export function combinedSha256(card: string, onnx: Readonly<Record<string, string>>): string {
  const lines = [`card ${card}`, ...Object.keys(onnx).sort().map((name) => `onnx ${name} ${onnx[name]}`)];
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

function withCombined(card: string, onnx: Record<string, string>): ModelFingerprint {
  return { sha256: combinedSha256(card, onnx), card, onnx };
}

/** sha256 of a file; `signal` stops the read (a model on a slow or stalled disk is not waited for). */
async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash, signal ? { signal } : {});
  return hash.digest('hex');
}

/**
 * How a recorded fingerprint differs from the model's current one, as lines for humans (which
 * part changed); empty when they are the same.
 */
export function fingerprintDifferences(recorded: ModelFingerprint, current: ModelFingerprint): string[] {
  if (recorded.sha256 === current.sha256) return [];
  const out: string[] = [];
  if (recorded.card !== current.card) out.push(`card settings: recorded ${short(recorded.card)}, now ${short(current.card)}`);
  for (const name of new Set([...Object.keys(recorded.onnx ?? {}), ...Object.keys(current.onnx)])) {
    const r = recorded.onnx?.[name];
    const c = current.onnx[name];
    if (r !== c) out.push(`${name}: recorded ${r ? short(r) : 'absent'}, now ${c ? short(c) : 'absent'}`);
  }
  // A recorded fingerprint whose parts agree but whose sha256 does not was edited by hand.
  if (out.length === 0) out.push(`sha256: recorded ${short(recorded.sha256)}, now ${short(current.sha256)}`);
  return out;
}

const short = (sha: string) => (typeof sha === 'string' ? sha.slice(0, 12) : String(sha));
