/**
 * A whole series' metrics stop scoring once nobody waits for them: when the HTTP client of
 * `GET /api/comparisons/:id/metrics` disconnects mid-series, the slices after the one being scored
 * are never scored (counted, not timed: each slice's scoring waits for the test to let it go). A
 * second client asking for the same series keeps the computation going, and a later request goes
 * on from the slices already scored.
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
import type { IndexedComparison } from '../../src/server/data/data-index.js';
import { scoreSlice, type SliceScoreInput, type SliceScoreOutput } from '../../src/server/slice-scores.js';
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

interface Gate {
  readonly score: (input: SliceScoreInput) => Promise<SliceScoreOutput>;
  /** Slices asked for so far. */
  readonly asked: () => number;
  /** Resolves when the next slice is asked for. */
  readonly nextAsked: () => Promise<void>;
  /** Lets the oldest held slice be scored. */
  readonly release: () => void;
  /** Lets every slice, held or to come, be scored. */
  readonly open: () => void;
}

/** How a run ends: its error code, or that it went on to score another slice (then it would hang on the gate). */
function outcome(run: Promise<unknown>, gate: Gate): Promise<string> {
  return Promise.race([
    run.then(
      () => 'completed',
      (error: { code?: string }) => error.code ?? 'failed',
    ),
    gate.nextAsked().then(() => 'scored another slice'),
  ]);
}

/** Scoring that holds each slice until the test lets it go, and counts the slices it was asked for. */
function gatedScoring(): Gate {
  let asked = 0;
  let opened = false;
  const waiting: Array<() => void> = [];
  let onAsked: (() => void) | null = null;
  return {
    score: async (input) => {
      asked++;
      onAsked?.();
      if (!opened) await new Promise<void>((resolve) => waiting.push(resolve));
      return scoreSlice(input);
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

describe('whole-series metrics for a client that has gone', () => {
  it('score no slice after the one in progress once the only caller aborts', async () => {
    const gate = gatedScoring();
    const service = new ComparisonMetricsService(app.data.slices, gate.score);
    const caller = new AbortController();
    const firstAsked = gate.nextAsked();
    const metrics = service.all(comparison, caller.signal);
    await firstAsked;
    caller.abort();
    const ended = outcome(metrics, gate);
    gate.release();
    expect(await ended).toBe('E_CANCELLED');
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
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const firstAsked = gate.nextAsked();
    const request = http.get({ host: '127.0.0.1', port, path: `/api/comparisons/${summary.id}/metrics` });
    request.on('error', () => {}); // destroyed below
    await firstAsked;
    // The test's own interest in the same run, so it can see the run end; given up right after the client's.
    const observer = new AbortController();
    const run = app.data.metrics.all(comparison, observer.signal);
    request.destroy();
    // Until the server has seen the connection close (a generous wait on a loaded machine: no time is asserted).
    await vi.waitFor(async () => expect(await new Promise<number>((resolve) => app.server.getConnections((_, n) => resolve(n)))).toBe(0), { timeout: 60_000, interval: 20 });
    observer.abort();
    const ended = outcome(run, gate);
    gate.release();
    expect(await ended).toBe('E_CANCELLED');
    expect(gate.asked()).toBe(1);
  });
});
