/**
 * An upload of hundreds of files of which none is a usable DICOM image is refused with a message of
 * one line: the first three files' reasons and the count of the rest by code (the viewer shows it
 * in a toast), while the log gets the counts alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { buildApp } from '../../src/server/app.js';
import { Rng } from '../../src/util/random.js';
import { multipart } from './http.js';

const FILES = 200;
let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-upload-refused-'));
  await runPhantom('water', { outDir: path.join(root, 'data', 'water'), size: 16, slices: 1, uidSeed: 'upload-refused' });
  app = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'work'), limits: { files: FILES } });
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('an upload with no usable file', () => {
  it('names the first three refused files and counts the rest by code (415)', async () => {
    const rng = new Rng(21);
    const files = Array.from({ length: FILES }, (_, i) => {
      const data = new Uint8Array(64);
      for (let k = 0; k < data.length; k++) data[k] = rng.nextUint32() & 0xff;
      return { name: `scan-${String(i).padStart(4, '0')}.dcm`, data };
    });
    const response = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart(files) });
    expect(response.statusCode).toBe(415);
    const { code, message } = response.json() as { code: string; message: string };
    expect(code).toBe('E_NOT_DICOM');
    expect(message).toMatch(new RegExp(`^none of the ${FILES} uploaded file\\(s\\) is a DICOM image lowdose can read: "scan-0000\\.dcm": not DICOM`));
    expect(message).toContain('"scan-0002.dcm"');
    expect(message).not.toContain('"scan-0003.dcm"');
    expect(message.endsWith(`; and ${FILES - 3} more (${FILES} E_NOT_DICOM in all)`)).toBe(true);
  }, 60_000);
});
