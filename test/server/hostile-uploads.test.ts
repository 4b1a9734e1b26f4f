/**
 * The server never parses an upload on its event loop: files are read in its files thread
 * (src/server/worker-pool.ts), so a hostile upload costs that thread its time while every other
 * request is answered. Hostile files are real corpus files mutated in memory.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DATA_SET_ENTRIES, MAX_TOP_LEVEL_ELEMENTS } from '../../src/dicom/parse.js';
import type { UploadResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { encodeElement, withElement, withEmptyItems } from '../helpers/mutate-dicom.js';
import { multipart } from './http.js';

const CT_SMALL = path.resolve(import.meta.dirname, '../../../shared/dicom/pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
const original = () => new Uint8Array(readFileSync(CT_SMALL));

/**
 * CT_small.dcm with `count` empty private elements before its pixel data: an "element bomb" that
 * takes dicom-parser seconds (400,000 elements: about 1.5 s on the 2-core VM) for 3.2 MB.
 */
function elementBomb(count: number): Uint8Array {
  const bytes = original();
  // The pixel data element's header: explicit VR OW, 12 bytes.
  const pixels = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' }).elements.x7fe00010!.dataOffset - 12;
  const bomb = new Uint8Array(count * 8);
  const view = new DataView(bomb.buffer);
  for (let i = 0; i < count; i++) {
    // Unique tags in private groups 6001, 6003, ...: elements 1000-ffff of each.
    view.setUint16(i * 8, 0x6001 + 2 * Math.floor(i / 0xf000), true);
    view.setUint16(i * 8 + 2, 0x1000 + (i % 0xf000), true);
    bomb[i * 8 + 4] = 0x4c; // LO, length 0
    bomb[i * 8 + 5] = 0x4f;
  }
  const out = new Uint8Array(bytes.length + bomb.length);
  out.set(bytes.subarray(0, pixels));
  out.set(bomb, pixels);
  out.set(bytes.subarray(pixels), pixels + bomb.length);
  return out;
}

let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-hostile-upload-'));
  app = await buildApp({ data: [path.join(root, 'empty')], workDir: path.join(root, 'work') });
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('hostile uploads', () => {
  it('the health check answers while an element bomb is read in the files thread, which then refuses it', async () => {
    const bomb = elementBomb(400_000);
    let settled = false;
    const upload = app.inject({ method: 'POST', url: '/api/uploads', ...multipart([{ name: 'bomb.dcm', data: bomb }]) }).finally(() => {
      settled = true;
    });
    // Wait until the file is in the thread...
    await expect.poll(() => app.data.files.busy, { timeout: 20_000, interval: 5 }).toBeGreaterThan(0);
    // ...then the event loop is free: the health check answers while the thread still reads it.
    const health = await app.inject({ url: '/api/health' });
    expect(health.statusCode).toBe(200);
    expect(app.data.files.busy).toBeGreaterThan(0);
    expect(settled).toBe(false);
    const response = await upload;
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'E_MALFORMED' });
    expect(response.json().message).toContain(`more than ${MAX_TOP_LEVEL_ELEMENTS} elements`);
  });

  it('refuses a file declaring 2^31 - 1 frames at once, and keeps the good file of the same upload', async () => {
    const frames = withElement(original(), 'x00280008', encodeElement('x00280008', 'IS', '2147483647'));
    const response = await app.inject({
      method: 'POST',
      url: '/api/uploads',
      ...multipart([
        { name: 'frames.dcm', data: frames },
        { name: 'good.dcm', data: original() },
      ]),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as UploadResponse;
    expect(body.files).toBe(1);
    expect(body.rejected).toEqual([expect.objectContaining({ name: 'frames.dcm', code: 'E_TRUNCATED' })]);
    expect(body.rejected[0]!.message).toMatch(/^"frames\.dcm": pixel data holds/);
  });

  it('refuses a file of more sequence items than a data set may hold, and keeps the good file of the same upload', async () => {
    const items = withEmptyItems(original(), MAX_DATA_SET_ENTRIES + 1);
    const response = await app.inject({
      method: 'POST',
      url: '/api/uploads',
      ...multipart([
        { name: 'items.dcm', data: items },
        { name: 'good.dcm', data: original() },
      ]),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as UploadResponse;
    expect(body.files).toBe(1);
    expect(body.rejected).toEqual([expect.objectContaining({ name: 'items.dcm', code: 'E_MALFORMED' })]);
    expect(body.rejected[0]!.message).toContain(`more than ${MAX_DATA_SET_ENTRIES} elements, sequence items and fragments`);
  });
});
