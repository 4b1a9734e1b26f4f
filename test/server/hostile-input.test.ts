/**
 * The server trusts nothing it is sent or finds: symlinks out of a data folder are not followed,
 * upload file names (possibly patient names) never reach the log, a write from another origin
 * (another port of localhost included) is refused, a malformed multipart body is a 400, and an
 * unexpected error's own words (the engine's, a library's) go to the log, not to the client.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { StudiesResponse, UploadResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { toHttpError } from '../../src/server/http-errors.js';
import { JobQueue } from '../../src/server/jobs/queue.js';
import { asWord } from '../helpers/as-word.js';
import { multipart } from './http.js';

let root: string;
let app: FastifyInstance;
let outsideId: string;
let outsideUid: string;
const logLines: string[] = [];
const dicomIn = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => path.join(dir, f));

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-hostile-'));
  const data = path.join(root, 'data');
  const inside = await runPhantom('water', { outDir: path.join(data, 'inside'), size: 16, slices: 2, uidSeed: 'inside' });
  const outside = await runPhantom('water', { outDir: path.join(root, 'private', 'patient-x'), size: 16, slices: 2, uidSeed: 'outside' });
  outsideUid = outside.seriesInstanceUid;
  // Three ways out of the data folder: a folder link, a file link, and a report naming outside inputs.
  symlinkSync(outside.dir, path.join(data, 'link-to-folder'));
  symlinkSync(dicomIn(outside.dir)[0]!, path.join(data, 'link-to-file.dcm'));
  writeFileSync(
    path.join(data, 'inside', 'report.json'),
    JSON.stringify({
      series: [{ input: { seriesInstanceUid: outside.seriesInstanceUid, files: dicomIn(outside.dir) }, output: { seriesInstanceUid: inside.seriesInstanceUid, files: [] } }],
      errors: [],
    }),
  );

  const probe = await buildApp({ data: [outside.dir], workDir: path.join(root, 'probe') });
  outsideId = ((await probe.inject({ url: '/api/studies' })).json() as StudiesResponse).studies[0]!.series[0]!.id;
  await probe.close();

  app = await buildApp({
    data: [data],
    workDir: path.join(root, 'work'),
    limits: { fileBytes: 64 * 1024, files: 8, totalBytes: 256 * 1024 },
    logger: { level: 'info', stream: { write: (line) => void logLines.push(line) } },
  });
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('symlinks in a data folder', () => {
  it('lists and serves only what really lies inside the data folders', async () => {
    const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
    const series = studies.flatMap((s) => s.series);
    expect(series).toHaveLength(1);
    expect(series[0]!.id).not.toBe(outsideId);
    expect(JSON.stringify(studies)).not.toContain(outsideUid);
    for (const url of [`/api/series/${outsideId}`, `/api/series/${outsideId}/slices/0`]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(404);
    }
    const log = logLines.join('');
    expect(log).toMatch(/\d+ path\(s\) lead outside the data folders/);
    expect(log).not.toContain('patient-x');
  });
});

describe('upload file names', () => {
  const phi = 'DOE^JANE_19600101';
  const notDicom = (name: string) => ({ name, data: 'not an image, just text that names nobody.\n'.repeat(10) });

  it('go back to the client but never into the log, which gets counts and codes', async () => {
    logLines.length = 0;
    const allRefused = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart([notDicom(`${phi}.dcm`), notDicom(`${phi}_2.txt`)]) });
    expect(allRefused.statusCode).toBe(415);
    expect(allRefused.json().message).toContain(`"${phi}.dcm"`);

    const good = { name: `${phi}_ok.dcm`, data: readFileSync(dicomIn(path.join(root, 'data', 'inside'))[0]!) };
    const mixed = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart([good, notDicom(`${phi}_3.dcm`)]) });
    expect(mixed.statusCode).toBe(200);
    expect((mixed.json() as UploadResponse).rejected.map((r) => r.name)).toEqual([`${phi}_3.dcm`]);

    const tooLarge = await app.inject({ method: 'POST', url: '/api/uploads', ...multipart([{ name: `${phi}_big.dcm`, data: Buffer.alloc(100 * 1024, 1) }]) });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().message).toContain(phi);

    const log = logLines.join('');
    expect(log).not.toContain(phi);
    expect(log).not.toMatch(asWord('DOE'));
    expect(log).not.toMatch(asWord('JANE'));
    expect(log).toContain('none of the 2 uploaded file(s) kept: E_NOT_DICOM x2');
    expect(log).toContain('upload refused 1 of 2 file(s): E_NOT_DICOM x1');
    expect(log).toContain('file 1 of the upload is larger than the 64 KiB limit per file');
  });
});

describe('cross-origin writes', () => {
  const post = (origin: string | undefined, host = 'localhost:8080') =>
    app.inject({ method: 'POST', url: '/api/studies/refresh', headers: { host, ...(origin === undefined ? {} : { origin }) } });

  it('are refused unless scheme, host and port are the server own', async () => {
    for (const origin of ['http://localhost:3000', 'http://localhost', 'https://localhost:8080', 'http://127.0.0.1:8080', 'null', 'http://evil.example:8080']) {
      const response = await post(origin);
      expect(response.statusCode, origin).toBe(400);
      expect(response.json().message).toContain('cross-origin');
    }
    for (const origin of ['http://localhost:8080', 'HTTP://LOCALHOST:8080', undefined]) {
      expect((await post(origin)).statusCode, String(origin)).toBe(200);
    }
    expect((await post('http://[::1]:9000', '[::1]:9000')).statusCode).toBe(200);
  });
});

describe('malformed multipart bodies', () => {
  it.each([
    ['multipart/form-data; boundary=XYZ', 'garbage without any boundary'],
    ['multipart/form-data', '--XYZ\r\n'],
    ['multipart/form-data; boundary=XYZ', '--XYZ\r\nContent-Disposition: form-data; name="files"; filename="a.dcm"\r\n\r\nabc'],
    ['multipart/form-data; boundary=XYZ', '--XYZ\r\nContent-Disposition: form-data; name="files"; filename="a.dcm"\r\n\r\nabc\r\n--XYZ'],
  ])('%s with %j is a 400 E_USAGE that keeps nothing', async (contentType, payload) => {
    const before = readdirSync(path.join(root, 'work', 'uploads')).length;
    const response = await app.inject({ method: 'POST', url: '/api/uploads', headers: { 'content-type': contentType }, payload });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json()).toMatchObject({ code: 'E_USAGE' });
    expect(response.json().message).toContain('not well-formed multipart/form-data');
    expect(readdirSync(path.join(root, 'work', 'uploads')).length).toBe(before);
  });
});

describe('unexpected errors', () => {
  const engineWords = "Cannot read properties of undefined (reading 'rows')";

  it('answer 500 E_INTERNAL without the engine or library words', () => {
    const { status, body } = toHttpError(new TypeError(engineWords), (t) => t);
    expect(status).toBe(500);
    expect(body.code).toBe('E_INTERNAL');
    expect(body.message).not.toContain('Cannot read');
    expect(body.message).toContain('server log');
  });

  it('show a failed job as E_INTERNAL without them, and log them', async () => {
    const logged: string[] = [];
    const queue = new JobQueue(
      async () => {
        throw new TypeError(engineWords);
      },
      { outDirFor: (id) => path.join(root, 'jobs', id), completed: async () => ({ comparisons: [] }), log: (m) => void logged.push(m) },
    );
    const view = queue.submit({ series: [], reference: null, options: {}, device: 'cpu' });
    await expect.poll(() => queue.get(view.id).status, { timeout: 15_000, interval: 20 }).toBe('failed');
    expect(queue.get(view.id).error!.code).toBe('E_INTERNAL');
    expect(queue.get(view.id).error!.message).not.toContain('Cannot read');
    expect(logged.join('\n')).toContain(engineWords);
    await queue.close();
  });
});
