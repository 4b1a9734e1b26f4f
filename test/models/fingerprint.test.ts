/**
 * The model fingerprint (src/models/fingerprint.ts) that QA results record: the card without its
 * record blocks and every ONNX file the card names, each equal to an independent sha256.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintDifferences, fingerprintStillHolds, modelFingerprint } from '../../src/models/fingerprint.js';

const MODELS = path.resolve(import.meta.dirname, '..', '..', 'models');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const readCard = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
/** The card hash, computed here from the rule: the card's JSON without `training` and `quality`. */
function cardHash(card: Record<string, unknown>): string {
  const { training: _t, quality: _q, ...settings } = card;
  return sha256(JSON.stringify(settings));
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'lowdose-fingerprint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the shipped CT model in the scratch folder, its card changed by `edit`. */
function ctCopy(name: string, edit: (card: Record<string, unknown>) => Record<string, unknown>): string {
  const card = readCard(path.join(MODELS, 'lowdose-ct.json'));
  copyFileSync(path.join(MODELS, 'lowdose-ct.onnx'), path.join(scratch, 'lowdose-ct.onnx'));
  const file = path.join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(edit(card), null, 2));
  return file;
}

describe('modelFingerprint', () => {
  it("hashes the card and every ONNX file a latent card names (network, encoder, decoder), each equal to an independent sha256", async () => {
    const cardPath = path.join(MODELS, 'lowdose-ct-latent.json');
    const card = readCard(cardPath) as Record<string, unknown> & { onnx: string; latent: { encoder: { onnx: string }; decoder: { onnx: string } } };
    const fingerprint = await modelFingerprint(cardPath);
    const files = [card.onnx, card.latent.encoder.onnx, card.latent.decoder.onnx];
    expect(Object.keys(fingerprint.onnx).sort()).toEqual([...files].sort());
    for (const file of files) expect(fingerprint.onnx[file]).toBe(sha256(readFileSync(path.join(MODELS, file))));
    expect(fingerprint.card).toBe(cardHash(card));
    expect(fingerprint.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes with the card's settings (the consistency block), not with its training and quality records", async () => {
    const shipped = await modelFingerprint(path.join(MODELS, 'lowdose-ct.json'));
    const records = await modelFingerprint(ctCopy('records', (c) => ({ ...c, quality: { note: 'measured again' }, training: {} })));
    expect(records).toEqual(shipped);
    const sampler = (c: Record<string, unknown>) => c['sampler'] as Record<string, unknown>;
    const consistency = await modelFingerprint(ctCopy('consistency', (c) => ({ ...c, sampler: { ...sampler(c), consistency: { ...(sampler(c)['consistency'] as object), strength: 0.123 } } })));
    expect(consistency.card).not.toBe(shipped.card);
    expect(consistency.onnx).toEqual(shipped.onnx);
    expect(fingerprintDifferences(shipped, consistency)).toEqual([expect.stringMatching(/^card settings: recorded [0-9a-f]{12}, now [0-9a-f]{12}$/)]);
  });

  it('names the ONNX file whose bytes changed', async () => {
    const shipped = await modelFingerprint(path.join(MODELS, 'lowdose-ct.json'));
    const file = ctCopy('weights', (c) => c);
    writeFileSync(path.join(scratch, 'lowdose-ct.onnx'), Buffer.concat([readFileSync(path.join(MODELS, 'lowdose-ct.onnx')), Buffer.from([0])]));
    const changed = await modelFingerprint(file);
    expect(changed.card).toBe(shipped.card);
    expect(fingerprintDifferences(shipped, changed)).toEqual([expect.stringMatching(/^lowdose-ct\.onnx: recorded /)]);
    expect(fingerprintDifferences(shipped, shipped)).toEqual([]);
  });
});

describe('fingerprintStillHolds', () => {
  it('holds while the files are untouched, not once an ONNX file is rewritten in place with its size and mtime put back (cp -p, rsync -t)', async () => {
    const card = ctCopy('rewritten-in-place', (c) => c);
    const onnx = path.join(scratch, 'lowdose-ct.onnx');
    // A whole millisecond, so that utimes can put the mtime back exactly.
    const stamp = new Date('2026-01-02T03:04:05.678Z');
    utimesSync(onnx, stamp, stamp);
    const fingerprint = await modelFingerprint(card);
    expect(await fingerprintStillHolds(fingerprint, card)).toBe(true);
    const before = statSync(onnx);
    // Past the file system's timestamp granularity, so that the rewrite's ctime is another.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const bytes = readFileSync(onnx);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(onnx, bytes);
    utimesSync(onnx, stamp, stamp);
    const after = statSync(onnx);
    expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);
    expect(await fingerprintStillHolds(fingerprint, card)).toBe(false);
    expect((await modelFingerprint(card)).sha256).not.toBe(fingerprint.sha256);
  });
});
