/**
 * A whole series' metrics stop scoring once nobody waits for them: when the HTTP client of
 * `GET /api/comparisons/:id/metrics` disconnects mid-series, the slices after the one being scored
 * are never scored (counted, not timed: each slice's scoring waits for the test to let it go). A
 * second client asking for the same series keeps the computation going, and a later request goes
 * on from the slices already scored. The value range of a series other than CT, read over every
 * slice of it, stops the same way (whole-series metrics, one slice's, and a figure's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ComparisonSummary } from '../../src/server/api-types.js';
import { ComparisonMetricsService } from '../../src/server/comparison-metrics.js';
import { readSliceImage, type Series } from '../../src/dicom/index.js';
import type { IndexedComparison } from '../../src/server/data/data-index.js';
import type { IndexedSeries } from '../../src/server/data/pairing.js';
import { scoreSlice, type SliceScoreInput, type SliceScoreOutput } from '../../src/server/slice-scores.js';
import { SliceStore } from '../../src/server/slice-store.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { writeFixtureStudy } from './fixture-study.js';

const SLICES = 6;
let root: string;
let app: FastifyInstance;
let summary: ComparisonSummary;
let comparison: IndexedComparison;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-client-gone-'));
  const data = path.join(root, 'data');
  await writeFixtureStudy(data, { size: 32, slices: SLICES, denoised: 'headers' });
  app = await serverOver(root, data);
  summary = (await listedComparisons(app))[0]!;
  comparison = app.data.index.comparison(summary.id);
});

afterAll(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

interface Gate<A, R = unknown> {
  readonly run: (input: A) => Promise<R>;
  /** Calls asked for so far. */
  readonly asked: () => number;
  /** Resolves when the next call is asked for. */
  readonly nextAsked: () => Promise<void>;
  /** Lets the oldest held call go on. */
  readonly release: () => void;
  /** Lets every call, held or to come, go on. */
  readonly open: () => void;
}

/** How a run ends: its error code, or that it went on to another call (then it would hang on the gate). */
function outcome(run: Promise<unknown>, gate: Gate<never>): Promise<string> {
  return Promise.race([
    run.then(
      () => 'completed',
      (error: { code?: string }) => error.code ?? 'failed',
    ),
    gate.nextAsked().then(() => 'went on to another slice'),
  ]);
}

/** `work` held at each call until the test lets it go, counting the calls it was asked for. */
function gated<A, R>(work: (input: A) => Promise<R> | R): Gate<A, R> {
  let asked = 0;
  let opened = false;
  const waiting: Array<() => void> = [];
  let onAsked: (() => void) | null = null;
  return {
    run: async (input) => {
      asked++;
      onAsked?.();
      if (!opened) await new Promise<void>((resolve) => waiting.push(resolve));
      return work(input);
    },
    asked: () => asked,
    nextAsked: () => new Promise<void>((resolve) => (onAsked = resolve)),
    release: () => waiting.shift()?.(),
    open: () => {
      opened = true;
      for (const go of waiting.splice(0)) go();
    },
  };
}

/** Scoring that holds each slice until the test lets it go, and counts the slices it was asked for. */
function gatedScoring(): Gate<SliceScoreInput, SliceScoreOutput> & { score: (input: SliceScoreInput) => Promise<SliceScoreOutput> } {
  const gate = gated((input: SliceScoreInput) => scoreSlice(input));
  return { ...gate, score: gate.run };
}

/**
 * Starts a run for one caller, who gives up as soon as the gate is first asked: how the run ends
 * once that call goes on.
 */
async function endWhenOnlyCallerLeaves(gate: Gate<never>, start: (signal: AbortSignal) => Promise<unknown>): Promise<string> {
  const caller = new AbortController();
  const firstAsked = gate.nextAsked();
  const run = start(caller.signal);
  await firstAsked;
  caller.abort();
  const ended = outcome(run, gate);
  gate.release();
  return ended;
}

/**
 * GETs `url` and disconnects once the gate is first asked; `observe` is the test's own interest in
 * the same run, so it can see the run end, given up right after the client's: how the run ends once
 * the held call goes on.
 */
async function endWhenClientLeaves(gate: Gate<never>, url: string, observe: (signal: AbortSignal) => Promise<unknown>): Promise<string> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const firstAsked = gate.nextAsked();
  const request = http.get({ host: '127.0.0.1', port, path: url });
  request.on('error', () => {}); // destroyed below
  await firstAsked;
  const observer = new AbortController();
  const run = observe(observer.signal);
  request.destroy();
  // Until the server has seen the connection close (a generous wait on a loaded machine: no time is asserted).
  await vi.waitFor(async () => expect(await new Promise<number>((resolve) => app.server.getConnections((_, n) => resolve(n)))).toBe(0), { timeout: 60_000, interval: 20 });
  observer.abort();
  const ended = outcome(run, gate);
  gate.release();
  return ended;
}

describe('whole-series metrics for a client that has gone', () => {
  it('score no slice after the one in progress once the only caller aborts', async () => {
    const gate = gatedScoring();
    const service = new ComparisonMetricsService(app.data.slices, gate.score);
    expect(await endWhenOnlyCallerLeaves(gate, (signal) => service.all(comparison, signal))).toBe('E_CANCELLED');
    expect(gate.asked()).toBe(1);

    // A later caller goes on from there: slice 0 is not scored again.
    gate.open();
    const again = await service.all(comparison);
    expect(again.slices).toHaveLength(SLICES);
    expect(gate.asked()).toBe(SLICES);
  });

  it('go on while another caller still waits for them', async () => {
    const gate = gatedScoring();
    const service = new ComparisonMetricsService(app.data.slices, gate.score);
    const [first, second] = [new AbortController(), new AbortController()];
    const firstAsked = gate.nextAsked();
    const metrics = service.all(comparison, first.signal);
    const same = service.all(comparison, second.signal);
    await firstAsked;
    first.abort();
    gate.open();
    expect((await same).slices).toHaveLength(SLICES);
    expect(await metrics).toBe(await same);
    expect(gate.asked()).toBe(SLICES);
  });

  it('stop at the slice in progress when the HTTP client of GET /api/comparisons/:id/metrics disconnects', async () => {
    const gate = gatedScoring();
    // The routes ask app.data for the service on each request: this one scores through the gate.
    (app.data as { metrics: ComparisonMetricsService }).metrics = new ComparisonMetricsService(app.data.slices, gate.score);
    const ended = await endWhenClientLeaves(gate, `/api/comparisons/${summary.id}/metrics`, (signal) => app.data.metrics.all(comparison, signal));
    expect(ended).toBe('E_CANCELLED');
    expect(gate.asked()).toBe(1);
  });
});

/**
 * The comparison as one other than CT: its range is then [0, max] over every slice of the series
 * scored against (the reference here), read through `reads`, which holds each slice of that series
 * until the test lets it go. The pixels are the fixture's own.
 */
function asPet(c: IndexedComparison) {
  const pt = (entry: IndexedSeries): IndexedSeries => ({ ...entry, series: { ...entry.series, modality: 'PT' } });
  const pet: IndexedComparison = { ...c, lowDose: pt(c.lowDose), denoised: pt(c.denoised), reference: c.reference && pt(c.reference) };
  const against = pet.reference!.series;
  const original = (series: Series) => [c.lowDose, c.denoised, c.reference!].find((e) => e.series.seriesInstanceUid === series.seriesInstanceUid)!.series;
  const reads = gated((index: number) => readSliceImage(original(against), index));
  const store = new SliceStore(64 * 1024 * 1024, (series, index) => (series === against ? reads.run(index) : readSliceImage(original(series), index)));
  return { pet, reads, store };
}

describe('the value range of a series other than CT for a client that has gone', () => {
  it('reads no slice of it after the one in progress once the only caller of the whole-series metrics aborts', async () => {
    const { pet, reads, store } = asPet(comparison);
    const service = new ComparisonMetricsService(store);
    expect(await endWhenOnlyCallerLeaves(reads, (signal) => service.all(pet, signal))).toBe('E_CANCELLED');
    expect(reads.asked()).toBe(1);

    // A later caller reads the series again and gets the range.
    reads.open();
    const again = await service.all(pet);
    expect(again.range[0]).toBe(0);
    expect(again.range[1]).toBeGreaterThan(0);
  });

  it('reads no slice of it after the one in progress when the HTTP client of GET /api/comparisons/:id/metrics/slices/:index disconnects', async () => {
    const { pet, reads, store } = asPet(comparison);
    (app.data as { metrics: ComparisonMetricsService }).metrics = new ComparisonMetricsService(store);
    const lookup = vi.spyOn(app.data.index, 'comparison').mockReturnValue(pet);
    try {
      const ended = await endWhenClientLeaves(reads, `/api/comparisons/${summary.id}/metrics/slices/0`, (signal) => app.data.metrics.slice(pet, 0, signal));
      expect(ended).toBe('E_CANCELLED');
      expect(reads.asked()).toBe(1);
    } finally {
      lookup.mockRestore();
    }
  });

  it('reads no slice of it after the one in progress when the HTTP client of GET /api/figure.png disconnects', async () => {
    const { pet, reads, store } = asPet(comparison);
    (app.data as { metrics: ComparisonMetricsService }).metrics = new ComparisonMetricsService(store);
    const lookup = vi.spyOn(app.data.index, 'comparison').mockReturnValue(pet);
    try {
      const ended = await endWhenClientLeaves(reads, `/api/figure.png?comparisons=${summary.id}&index=0`, (signal) => app.data.metrics.slice(pet, 0, signal));
      expect(ended).toBe('E_CANCELLED');
      expect(reads.asked()).toBe(1);
    } finally {
      lookup.mockRestore();
    }
  });
});
