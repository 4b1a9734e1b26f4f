/**
 * The server's numbers are refused when they would mean something else than they say: a bound of
 * NaN (every comparison with it false: no bound at all), zero, negative, fractional or beyond
 * 2^53 - 1, a memory size too large to count in bytes exactly or a fraction of a byte, a Redis port 0 or a
 * database number Redis cannot hold. Each is E_USAGE (exit 2 from `serve`) naming the setting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMemorySize, resolveMemoryBudget } from '../../src/pipeline/memory-budget.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { buildApp } from '../../src/server/app.js';
import { parsePacsCacheSize, resolveConfig } from '../../src/server/config.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'lowdose-config-numbers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const workDir = join(root, 'work');
const BAD_COUNTS = [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53];

describe('resolveConfig refuses a count that means something else', () => {
  it.each(BAD_COUNTS)('maxJobPasses %d', (value) => {
    expect(() => resolveConfig({ workDir, maxJobPasses: value })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(`server setting maxJobPasses must be a whole number from 1 to 9007199254740991, got ${value}`) }),
    );
  });

  it.each(BAD_COUNTS)('memoryBudget %d', (value) => {
    expect(() => resolveConfig({ workDir, memoryBudget: value })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: `--memory-budget must be a whole number of bytes, at least 64M and below 8192T (2^53), got ${value}` }),
    );
  });

  it.each([
    ['fileBytes', 0],
    ['files', Number.NaN],
    ['queuedJobs', -3],
    ['imagePixels', 1.5],
    ['diskReserveBytes', -1],
    ['eventStreams', Number.POSITIVE_INFINITY],
  ] as const)('limits.%s %d', (name, value) => {
    expect(() => resolveConfig({ workDir, limits: { [name]: value } })).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(`limits.${name} must be a whole number`) }));
  });

  it('sliceCacheBytes NaN', () => {
    expect(() => resolveConfig({ workDir, sliceCacheBytes: Number.NaN })).toThrow(/sliceCacheBytes must be a whole number from 0/);
  });

  it('takes the edges: 1 pass, a 64 MiB budget, no disk reserve, no slice cache', () => {
    const config = resolveConfig({ workDir, maxJobPasses: 1, memoryBudget: 64 * 2 ** 20, limits: { diskReserveBytes: 0 }, sliceCacheBytes: 0 });
    expect(config).toMatchObject({ maxJobPasses: 1, memoryBudget: { bytes: 64 * 2 ** 20 }, limits: { diskReserveBytes: 0 }, sliceCacheBytes: 0 });
  });

  it('buildApp refuses before it listens', async () => {
    await expect(buildApp({ data: [root], workDir, maxJobPasses: Number.NaN })).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});

describe('memory sizes (--memory-budget, LOWDOSE_MEMORY_BUDGET)', () => {
  it.each(['1e300', '1e20', '9007199254740993', '67108864.5', '9000T'])('"%s" is refused', (text) => {
    expect(() => parseMemorySize(text, 'LOWDOSE_MEMORY_BUDGET')).toThrow(/LOWDOSE_MEMORY_BUDGET must be a size of at least 64M and below 8192T/);
    expect(() => resolveMemoryBudget(undefined, { LOWDOSE_MEMORY_BUDGET: text })).toThrow(/LOWDOSE_MEMORY_BUDGET must be a size/);
  });

  it.each(['1e300', '1e20', '8192T'])('"%s" (2^53 bytes or more) is refused', (text) => {
    expect(() => parseMemorySize(text)).toThrow(/below 8192T/);
  });

  it.each([
    ['8G', 8 * 2 ** 30],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['67108864', 64 * 2 ** 20],
    ['8191T', 8191 * 2 ** 40],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('"%s" is %d bytes', (text, bytes) => {
    expect(parseMemorySize(text)).toBe(bytes);
  });

  it('serve exits 2 on LOWDOSE_MEMORY_BUDGET=1e300 and on --memory-budget 1e20', async () => {
    const previous = process.env.LOWDOSE_MEMORY_BUDGET;
    process.env.LOWDOSE_MEMORY_BUDGET = '1e300';
    try {
      const fromEnv = await runCli('serve', '--port', '0', '--work', join(root, 'serve-env'), '--data', root);
      expect(fromEnv.code).toBe(2);
      expect(fromEnv.stderr).toContain('LOWDOSE_MEMORY_BUDGET must be a size of at least 64M and below 8192T (2^53 bytes)');
    } finally {
      if (previous === undefined) delete process.env.LOWDOSE_MEMORY_BUDGET;
      else process.env.LOWDOSE_MEMORY_BUDGET = previous;
    }
    const option = await runCli('serve', '--port', '0', '--work', join(root, 'serve-option'), '--data', root, '--memory-budget', '1e20');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('--memory-budget must be a size of at least 64M and below 8192T');
  });
});

describe('the PACS cache size (serve --pacs-cache-size)', () => {
  it.each([
    ['0', 0],
    ['0G', 0],
    ['20G', 20 * 2 ** 30],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['512m', 512 * 2 ** 20],
    ['4096', 4096],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('"%s" is %d bytes', (text, bytes) => {
    expect(parsePacsCacheSize(text)).toBe(bytes);
  });

  it.each(['-1', '', 'lots', '1e300', '8192T', '9007199254740993', '4096.5', '0x10'])('"%s" is refused', (text) => {
    expect(() => parsePacsCacheSize(text)).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(`--pacs-cache-size must be 0 (no cache) or a size below 8192T (2^53 bytes) such as 20G, 512M, 1.5GiB or a whole number of bytes, got "${text}"`) }));
  });

  it('serve exits 2 on a size it cannot read, and on --pacs-cache-size without a PACS', async () => {
    const bad = await runCli('serve', '--port', '0', '--work', join(root, 'serve-cache-bad'), '--data', root, '--dicomweb', 'http://127.0.0.1:9/dicom-web', '--pacs-cache-size', '-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--pacs-cache-size must be 0 (no cache) or a size below 8192T');
    const alone = await runCli('serve', '--port', '0', '--work', join(root, 'serve-cache-alone'), '--data', root, '--pacs-cache-size', '1G');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--pacs-cache-size goes with --dicomweb or --dimse');
  });
});

describe('--redis', () => {
  it('refuses port 0 and a database number beyond a C int', () => {
    expect(() => parseRedisUrl('redis://127.0.0.1:0')).toThrow(expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('--redis port must be 1 to 65535, got 0') }));
    expect(() => parseRedisUrl('redis://127.0.0.1/99999999999999999999')).toThrow(/--redis database must be a number from 0 to 2147483647/);
    expect(() => parseRedisUrl('redis://127.0.0.1/2147483648')).toThrow(/--redis database must be a number from 0 to 2147483647/);
  });

  it('takes port 65535 and database 2147483647', () => {
    expect(parseRedisUrl('redis://127.0.0.1:65535/2147483647')).toMatchObject({ port: 65535, db: 2147483647 });
  });
});
