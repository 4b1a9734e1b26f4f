/**
 * The HTTP API through `app.inject`: listing and pairing, slice pixels, metrics, errors,
 * traversal attempts and what reaches the log.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { compareSlices, CT_RANGE, estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/index.js';
import type { ComparisonDetail, ComparisonMetrics, SeriesDetail, SliceMetrics, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { paddingMaskOf } from '../../src/server/slice-codec.js';
import { decodeSlice } from '../../src/server/slice-encoding.js';
import { writeFixtureStudy, type FixtureStudy } from './fixture-study.js';
import { asWord } from '../helpers/as-word.js';
import { doseUnknownLesionBias } from '../helpers/lesion-bias.js';

const CT_3SLICE = path.resolve(import.meta.dirname, '../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');

let root: string;
let study: FixtureStudy;
let app: FastifyInstance;
const logLines: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-api-'));
  study = await writeFixtureStudy(path.join(root, 'data'), { size: 64, slices: 4 });
  const viewerDir = path.join(root, 'viewer');
  mkdirSync(viewerDir);
  writeFileSync(path.join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
  app = await buildApp({
    data: [path.join(root, 'data')],
    workDir: path.join(root, 'work'),
    viewerDir,
    logger: { level: 'info', stream: { write: (line) => void logLines.push(line) } },
  });
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

async function getJson<T>(url: string): Promise<T> {
  const response = await app.inject({ url });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
  return response.json() as T;
}

async function firstComparison(): Promise<ComparisonDetail> {
  const { studies } = await getJson<StudiesResponse>('/api/studies');
  return getJson<ComparisonDetail>(`/api/comparisons/${studies[0]!.comparisons[0]!.id}`);
}

describe('start-up', () => {
  it('waits for the first index of the data folders however long it takes (no plugin time limit)', () => {
    // A folder of many studies takes longer to index than fastify's default 10 s plugin limit,
    // which would stop the server with "Plugin did not start in time".
    expect(app.initialConfig.pluginTimeout).toBe(0);
  });
});

describe('listing', () => {
  it('lists the study with each series in its role and the denoised series paired by its report', async () => {
    const { studies, unreadableFiles } = await getJson<StudiesResponse>('/api/studies');
    expect(unreadableFiles).toBe(0);
    expect(studies).toHaveLength(1);
    const [only] = studies;
    expect(only!.description).toBe('lowdose server test');
    expect(only!.series.map((s) => s.role).sort()).toEqual(['denoised', 'low-dose', 'original']);
    expect(only!.comparisons).toHaveLength(1);
    const comparison = only!.comparisons[0]!;
    const byRole = Object.fromEntries(only!.series.map((s) => [s.role, s.id]));
    expect(comparison).toMatchObject({
      lowDose: byRole['low-dose'],
      denoised: byRole.denoised,
      reference: byRole.original,
      uncertainty: null,
      hallucination: null,
      pairedBy: 'report',
    });
    for (const id of [only!.id, comparison.id, ...only!.series.map((s) => s.id)]) expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('gives the same ids after a rescan', async () => {
    const before = await getJson<StudiesResponse>('/api/studies');
    const response = await app.inject({ method: 'POST', url: '/api/studies/refresh' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(before);
  });

  it('describes a series without any path, with its slice locations and revision', async () => {
    const { studies } = await getJson<StudiesResponse>('/api/studies');
    const low = studies[0]!.series.find((s) => s.role === 'low-dose')!;
    const detail = await getJson<SeriesDetail>(`/api/series/${low.id}`);
    expect(detail).toMatchObject({ modality: 'CT', rows: 64, columns: 64, slices: 4, units: 'HU', role: 'low-dose' });
    expect(detail.locations).toHaveLength(4);
    expect(detail.locations[1]! - detail.locations[0]!).toBeCloseTo(detail.spacing[2], 3);
    expect(detail.derivation).toContain('lowdose simulate');
    expect(JSON.stringify(detail)).not.toContain(root);
  });

  it("carries the overlay facts: patient name and ID, study date and description, slice thickness, orientation", async () => {
    const { studies } = await getJson<StudiesResponse>('/api/studies');
    const full = studies[0]!.series.find((s) => s.role === 'original')!;
    const detail = await getJson<SeriesDetail>(`/api/series/${full.id}`);
    expect(detail).toMatchObject({ patientName: 'DOE^JANE', patientId: 'SECRET-ID-123', studyDescription: 'lowdose server test' });
    expect(detail.studyDate).toMatch(/^\d{8}$/);
    expect(detail.orientation).toEqual([1, 0, 0, 0, 1, 0]);
    expect(detail.sliceThickness).toBeCloseTo(detail.spacing[2], 3);
    // Only the series' own detail carries them: the study list does not.
    expect(JSON.stringify(studies)).not.toMatch(asWord('DOE'));
    expect(JSON.stringify(studies)).not.toContain('SECRET-ID-123');
  });

  it('aligns every pane slice by slice and carries the report facts', async () => {
    const comparison = await firstComparison();
    expect(comparison.alignment).toEqual({
      denoised: [0, 1, 2, 3],
      reference: [0, 1, 2, 3],
      uncertainty: null,
      hallucination: null,
      matchedBy: { denoised: 'position', reference: 'position', uncertainty: null, hallucination: null },
    });
    expect(comparison.report).toMatchObject({ method: 'nlm', device: 'cpu', samples: 1 });
  });

  it("serves an E_LESION_BIAS warning's numbers (lesionBias) in the comparison's report facts", async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'lowdose-api-lesion-'));
    try {
      const fixture = await writeFixtureStudy(other, { size: 32, slices: 2 });
      // As written since the per-quantity levels: a dose-unknown run's worst over both measured levels.
      const lesionBias = doseUnknownLesionBias(
        { percent: 12.52, source: 'sts-001 inserted lesions', diameterMm: 37 },
        { percent: -15.46, source: 'sts-001 inserted lesions', diameterMm: 10 },
      );
      const warning = { path: null, code: 'E_LESION_BIAS', message: 'lesion SUVs read on this series carry ...', lesionBias };
      const file = path.join(fixture.denoisedDir!, 'report.json');
      writeFileSync(file, JSON.stringify({ ...fixture.report, series: fixture.report!.series.map((s) => ({ ...s, warnings: [...s.warnings, warning] })) }));
      const lesionApp = await buildApp({ data: [other], workDir: path.join(other, 'work') });
      try {
        const { studies } = (await lesionApp.inject({ url: '/api/studies' })).json() as StudiesResponse;
        const detail = (await lesionApp.inject({ url: `/api/comparisons/${studies[0]!.comparisons[0]!.id}` })).json() as ComparisonDetail;
        expect(detail.report?.warnings).toEqual([{ code: 'E_LESION_BIAS', message: warning.message, lesionBias }]);
      } finally {
        await lesionApp.close();
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('pairs a denoised series from its DICOM derivation headers when there is no report', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'lowdose-api-headers-'));
    try {
      await writeFixtureStudy(other, { size: 32, slices: 2, denoised: 'headers' });
      const headersApp = await buildApp({ data: [other], workDir: path.join(other, 'work') });
      try {
        const { studies } = (await headersApp.inject({ url: '/api/studies' })).json() as StudiesResponse;
        const [only] = studies;
        const byRole = Object.fromEntries(only!.series.map((s) => [s.role, s.id]));
        expect(only!.comparisons).toEqual([
          expect.objectContaining({ lowDose: byRole['low-dose'], denoised: byRole.denoised, reference: byRole.original, pairedBy: 'headers' }),
        ]);
      } finally {
        await headersApp.close();
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('slice pixels', () => {
  it('sends int16 with the slice rescale that reproduces the DICOM values exactly', async () => {
    const { studies } = await getJson<StudiesResponse>('/api/studies');
    const low = studies[0]!.series.find((s) => s.role === 'low-dose')!;
    const detail = await getJson<SeriesDetail>(`/api/series/${low.id}`);
    const response = await app.inject({ url: `/api/series/${low.id}/slices/2?v=${detail.rev}` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers['cache-control']).toContain('immutable');
    const { header, values } = decodeSlice(response.rawPayload);
    expect(header).toMatchObject({ rows: 64, columns: 64, index: 2, dtype: 'int16', units: 'HU' });
    expect(response.rawPayload.length).toBeLessThan(64 * 64 * 4);
    const expected = await readSliceImage(study.lowDose, 2);
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - expected.data[i]!));
    expect(worst).toBeLessThan(1e-3);
    expect(header.min).toBeCloseTo(Math.min(...expected.data), 3);
    expect(header.max).toBeCloseTo(Math.max(...expected.data), 3);
  });

  it('sends float32 bit for bit on request', async () => {
    const { studies } = await getJson<StudiesResponse>('/api/studies');
    const denoised = studies[0]!.series.find((s) => s.role === 'denoised')!;
    const response = await app.inject({ url: `/api/series/${denoised.id}/slices/1?dtype=float32` });
    const { header, values } = decodeSlice(response.rawPayload);
    expect(header.dtype).toBe('float32');
    const scan = await scanPaths([study.denoisedDir!]);
    const expected = await readSliceImage(scan.series[0]!, 1);
    expect(Array.from(values)).toEqual(Array.from(expected.data));
  });

  it('answers a matching ETag with 304 and an outdated revision without immutable caching', async () => {
    const { studies } = await getJson<StudiesResponse>('/api/studies');
    const id = studies[0]!.series[0]!.id;
    const first = await app.inject({ url: `/api/series/${id}/slices/0?v=stale` });
    expect(first.headers['cache-control']).toBe('no-cache');
    const again = await app.inject({ url: `/api/series/${id}/slices/0?v=stale`, headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
  });

  it('serves a real scanner CT slice in HU as the reader decodes it', async () => {
    const realApp = await buildApp({ data: [CT_3SLICE], workDir: path.join(root, 'work-real') });
    try {
      const { studies } = (await realApp.inject({ url: '/api/studies' })).json() as StudiesResponse;
      const series = studies[0]!.series[0]!;
      expect(series).toMatchObject({ modality: 'CT', rows: 512, columns: 512, slices: 3, role: 'original' });
      const { header, values } = decodeSlice((await realApp.inject({ url: `/api/series/${series.id}/slices/0` })).rawPayload);
      expect(header.dtype).toBe('int16');
      const scan = await scanPaths([CT_3SLICE]);
      const expected = await readSliceImage(scan.series[0]!, 0);
      expect(Array.from(values)).toEqual(Array.from(expected.data));
    } finally {
      await realApp.close();
    }
  });

  it('marks the out-of-field pixels of a real CT slice in the header, as runs that rebuild the reader mask', async () => {
    const realApp = await buildApp({ data: [CT_3SLICE], workDir: path.join(root, 'work-real-padding') });
    try {
      const { studies } = (await realApp.inject({ url: '/api/studies' })).json() as StudiesResponse;
      const series = studies[0]!.series[0]!;
      const { header } = decodeSlice((await realApp.inject({ url: `/api/series/${series.id}/slices/1` })).rawPayload);
      const expected = await readSliceImage((await scanPaths([CT_3SLICE])).series[0]!, 1);
      const mask = paddingMaskOf(header.padding, header.rows * header.columns);
      expect(expected.padding!.reduce((n, v) => n + v, 0)).toBeGreaterThan(10_000);
      expect(Array.from(mask!)).toEqual(Array.from(expected.padding!));
      // About one run per image row (the outside of the reconstruction circle).
      expect(header.padding!.length / 2).toBeLessThan(2 * header.rows);
    } finally {
      await realApp.close();
    }
  });

  it('compresses slices for a client that accepts brotli or gzip, to the same bytes', async () => {
    const realApp = await buildApp({ data: [CT_3SLICE], workDir: path.join(root, 'work-real-compress') });
    try {
      const { studies } = (await realApp.inject({ url: '/api/studies' })).json() as StudiesResponse;
      const url = `/api/series/${studies[0]!.series[0]!.id}/slices/0`;
      const plain = await realApp.inject({ url, headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers['content-encoding']).toBeUndefined();
      for (const [encoding, decode] of [
        ['br', zlib.brotliDecompressSync],
        ['gzip', zlib.gunzipSync],
      ] as const) {
        const response = await realApp.inject({ url, headers: { 'accept-encoding': `${encoding}` } });
        expect(response.headers['content-encoding']).toBe(encoding);
        expect(response.headers.vary).toContain('accept-encoding');
        expect(decode(response.rawPayload).equals(plain.rawPayload)).toBe(true);
        // A 512 x 512 CT slice with its out-of-field fill: well under two thirds of the bytes.
        expect(response.rawPayload.length / plain.rawPayload.length).toBeLessThan(0.67);
      }
    } finally {
      await realApp.close();
    }
  });

  it('refuses slice indices outside the series with a JSON 404', async () => {
    const { studies } = await getJson<StudiesResponse>('/api/studies');
    const response = await app.inject({ url: `/api/series/${studies[0]!.series[0]!.id}/slices/4` });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ code: 'E_NOT_FOUND', message: expect.stringContaining('has no slice 4') });
  });
});

describe('metrics', () => {
  it('scores denoised and low-dose slices against the reference as `lowdose metrics` would', async () => {
    const comparison = await firstComparison();
    const metrics = await getJson<ComparisonMetrics>(`/api/comparisons/${comparison.id}/metrics`);
    expect(metrics).toMatchObject({ against: 'reference', range: [...CT_RANGE], units: 'HU' });
    expect(metrics.slices.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    const denoised = (await scanPaths([study.denoisedDir!])).series[0]!;
    for (const slice of metrics.slices) {
      const reference = await readSliceImage(study.fullDose, slice.index);
      const expectedDenoised = compareSlices(reference, await readSliceImage(denoised, slice.index), CT_RANGE);
      const expectedLow = compareSlices(reference, await readSliceImage(study.lowDose, slice.index), CT_RANGE);
      expect(slice.denoised!.psnr).toBeCloseTo(expectedDenoised.psnr, 9);
      expect(slice.denoised!.ssim).toBeCloseTo(expectedDenoised.ssim, 9);
      expect(slice.lowDose!.rmse).toBeCloseTo(expectedLow.rmse, 6);
      // Non-local means on 60 HU noise: far less noise than the input on every slice.
      expect(slice.noise.denoised!).toBeLessThan(slice.noise.lowDose! / 2);
      // The full-dose noise it is read against: the same estimate of the reference slice.
      expect(slice.noise.reference).toBeCloseTo(estimateNoise(reference, { valueRange: SOFT_TISSUE_HU }).std, 9);
    }
    const meanSsim = metrics.slices.reduce((a, s) => a + s.denoised!.ssim, 0) / 4;
    expect(metrics.mean.denoised!.ssim).toBeCloseTo(meanSsim, 12);
    expect(metrics.mean.noise.reference).toBeCloseTo(metrics.slices.reduce((a, s) => a + s.noise.reference!, 0) / 4, 12);
    const one = await getJson<SliceMetrics>(`/api/comparisons/${comparison.id}/metrics/slices/3`);
    expect(one).toEqual(metrics.slices[3]);
  });

  it('scores against the low-dose source, with noise estimates, when no reference is known', async () => {
    const noReference = await buildApp({ data: [study.lowDoseDir, study.denoisedDir!], workDir: path.join(root, 'work-noref') });
    try {
      const { studies } = (await noReference.inject({ url: '/api/studies' })).json() as StudiesResponse;
      const comparison = studies[0]!.comparisons[0]!;
      expect(comparison.reference).toBeNull();
      const metrics = (await noReference.inject({ url: `/api/comparisons/${comparison.id}/metrics` })).json() as ComparisonMetrics;
      expect(metrics.against).toBe('source');
      const low = await readSliceImage(study.lowDose, 0);
      const den = await readSliceImage((await scanPaths([study.denoisedDir!])).series[0]!, 0);
      expect(metrics.slices[0]!.denoised!.rmse).toBeCloseTo(compareSlices(low, den, CT_RANGE).rmse, 6);
      expect(metrics.slices[0]!.lowDose).toBeNull();
      // No reference: a no-reference noise estimate of each low-dose slice instead.
      for (const slice of metrics.slices) {
        const image = await readSliceImage(study.lowDose, slice.index);
        expect(slice.noise.lowDose).toBeCloseTo(estimateNoise(image, { valueRange: SOFT_TISSUE_HU }).std, 9);
      }
      const mean = metrics.slices.reduce((sum, s) => sum + s.noise.lowDose!, 0) / metrics.slices.length;
      expect(metrics.mean.noise.lowDose).toBeCloseTo(mean, 12);
      // No reference, no reference noise.
      expect(metrics.slices[0]!.noise).not.toHaveProperty('reference');
      expect(metrics.mean.noise).not.toHaveProperty('reference');
    } finally {
      await noReference.close();
    }
  });
});

describe('safety', () => {
  const attempts = [
    '/api/series/..%2f..%2f..%2fetc%2fpasswd',
    '/api/series/..%2f..%2fetc%2fpasswd/slices/0',
    '/api/series/%2e%2e%2f%2e%2e%2fetc/slices/0',
    '/api/series/....//....//etc/slices/0',
    '/api/comparisons/..%5c..%5cwindows/metrics',
    '/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/../../../../etc/passwd',
    '/index.html/..%2f..%2f..%2fetc%2fpasswd',
  ];
  it.each(attempts)('never serves a file outside its folders for %s', async (url) => {
    const response = await app.inject({ url });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.body).not.toContain('root:');
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.json()).toHaveProperty('code');
  });

  it('rejects ids that are not ids before looking anything up', async () => {
    const response = await app.inject({ url: '/api/series/not-an-id!/slices/0' });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('E_USAGE');
  });

  it('answers unknown ids with E_NOT_FOUND', async () => {
    const response = await app.inject({ url: '/api/comparisons/AAAAAAAAAAAA' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ code: 'E_NOT_FOUND', message: 'no comparison with id AAAAAAAAAAAA' });
  });

  it('refuses requests addressed to a foreign host name and cross-origin writes', async () => {
    const rebinding = await app.inject({ url: '/api/studies', headers: { host: 'evil.example:8080' } });
    expect(rebinding.statusCode).toBe(400);
    const crossOrigin = await app.inject({
      method: 'POST',
      url: '/api/studies/refresh',
      headers: { origin: 'http://evil.example' },
    });
    expect(crossOrigin.statusCode).toBe(400);
    expect(crossOrigin.json().message).toContain('cross-origin');
  });

  it('serves the viewer page with a strict content security policy', async () => {
    const response = await app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<title>viewer</title>');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('logs requests and errors without patient names, IDs or folder names', async () => {
    await app.inject({ url: '/api/comparisons/AAAAAAAAAAAA' });
    const text = logLines.join('');
    expect(text).toContain('/api/studies');
    expect(text).toContain('no comparison with id');
    for (const secret of ['DOE^JANE', 'SECRET-ID-123', root]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(asWord('DOE'));
  });
});
