/** POST /api/uploads: good files become series, anything else is refused with a reason. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudiesResponse, UploadResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { writeFixtureStudy, type FixtureStudy } from './fixture-study.js';
import { multipart } from './http.js';

const TRUNCATED = path.resolve(import.meta.dirname, '../../../shared/dicom/pydicom__pydicom/src/pydicom/data/test_files/MR_truncated.dcm');

let root: string;
let study: FixtureStudy;
let app: FastifyInstance;

function dicomFiles(dir: string): Array<{ name: string; data: Buffer }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => ({ name: f, data: readFileSync(path.join(dir, f)) }));
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-upload-'));
  study = await writeFixtureStudy(path.join(root, 'source'), { size: 32, slices: 3, denoised: 'none' });
  app = await buildApp({
    data: [path.join(root, 'empty')],
    workDir: path.join(root, 'work'),
    limits: { fileBytes: 64 * 1024, files: 8, totalBytes: 256 * 1024 },
  });
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('uploads', () => {
  it('stores a DICOM series under its own names and lists it at once', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart(dicomFiles(study.fullDoseDir)) });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as UploadResponse;
    expect(body).toMatchObject({ files: 3, rejected: [], alreadyLoaded: [] });
    expect(body.series).toEqual([expect.objectContaining({ modality: 'CT', slices: 3, rows: 32, role: 'original' })]);
    const stored = readdirSync(path.join(root, 'work', 'uploads', body.uploadId)).sort();
    expect(stored).toEqual(['00001.dcm', '00002.dcm', '00003.dcm']);
    const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
    expect(studies.flatMap((s) => s.series.map((x) => x.id))).toContain(body.series[0]!.id);
  });

  it('names a series uploaded again as already loaded and still returns it to open', async () => {
    // The test above uploaded these files already; once more, and again.
    const first = (await app.inject({ method: 'POST', url: '/api/uploads', ...multipart(dicomFiles(study.fullDoseDir)) })).json() as UploadResponse;
    const again = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart(dicomFiles(study.fullDoseDir)) });
    expect(again.statusCode, again.body).toBe(200);
    const body = again.json() as UploadResponse;
    expect(body.files).toBe(3);
    expect(body.series.map((s) => s.id)).toEqual([first.series[0]!.id]);
    expect(body.alreadyLoaded).toEqual([first.series[0]!.id]);
    expect(first.alreadyLoaded).toEqual([first.series[0]!.id]);
  });

  it('refuses a file that is not DICOM with E_NOT_DICOM naming it', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/uploads',
      ...multipart([{ name: 'notes.txt', data: 'Patient looked fine. Nothing to see here, just some text.\n'.repeat(20) }]),
    });
    expect(response.statusCode).toBe(415);
    const body = response.json();
    expect(body.code).toBe('E_NOT_DICOM');
    expect(body.message).toContain('"notes.txt"');
    expect(body.message).not.toContain(root);
  });

  it('keeps the good files of a mixed upload and lists the refused ones with their reasons', async () => {
    const files = [
      dicomFiles(study.lowDoseDir)[0]!,
      { name: 'MR_truncated.dcm', data: readFileSync(TRUNCATED) },
      { name: 'image.png', data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(200).fill(0)]) },
    ];
    const response = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart(files) });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as UploadResponse;
    expect(body.files).toBe(1);
    expect(body.rejected.map((r) => r.name)).toEqual(['MR_truncated.dcm', 'image.png']);
    expect(body.rejected[0]!.code).toBe('E_TRUNCATED');
    expect(body.rejected[1]!.code).toBe('E_NOT_DICOM');
    expect(readdirSync(path.join(root, 'work', 'uploads', body.uploadId))).toEqual(['00001.dcm']);
  });

  it('refuses a file over the size limit with 413 and keeps nothing of that upload', async () => {
    const before = readdirSync(path.join(root, 'work', 'uploads')).length;
    const response = await app.inject({
      method: 'POST',
      url: '/api/uploads',
      ...multipart([{ name: 'huge.dcm', data: Buffer.alloc(100 * 1024, 1) }]),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ code: 'E_USAGE', message: '"huge.dcm" is larger than the 64 KiB limit per file' });
    expect(readdirSync(path.join(root, 'work', 'uploads')).length).toBe(before);
  });

  it('refuses more files than the per-upload limit', async () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ name: `f${i}.dcm`, data: 'x' }));
    const response = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart(many) });
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toBe('an upload may hold at most 8 files');
  });

  it('refuses more form fields than the limit in the words of the other limits, not the multipart library\'s', async () => {
    const boundary = '----lowdose-test-fields';
    const fields = Array.from({ length: 17 }, (_, i) => `--${boundary}\r\nContent-Disposition: form-data; name="note${i}"\r\n\r\nx\r\n`).join('');
    const file = `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.dcm"\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n`;
    const payload = Buffer.from(`${file}${fields}--${boundary}--\r\n`);
    const before = readdirSync(path.join(root, 'work', 'uploads')).length;
    const response = await app.inject({ method: 'POST', url: '/api/uploads', payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ code: 'E_USAGE', message: 'an upload may hold at most 16 form fields besides its files' });
    expect(readdirSync(path.join(root, 'work', 'uploads')).length).toBe(before);
  });

  it('refuses a body that is not multipart', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/uploads', payload: { files: [] } });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('E_USAGE');
  });
});
