/**
 * `info <files and folders>` stops on SIGINT / SIGTERM (src/cli/stop-on-signal.ts): the scan stops at
 * its next file and reports E_CANCELLED (under --json as `{ "errors": [...] }`) with the signal's
 * exit status, instead of dying by the signal with nothing printed. The CLI is spawned on real CT
 * (Mayo L192 B30f quarter dose, 7 slices) behind a named pipe that holds the scan at its first file
 * until the signal is sent.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, symlink, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNAL_EXIT } from '../../src/cli/stop-on-signal.js';
import { runUntil } from '../helpers/signal-run.js';
import { spawnCli } from '../helpers/cli-process.js';

const MAYO = path.resolve('../shared/ldct-mayo/L192/B30f/quarter');
const haveMayo = existsSync(MAYO);
if (!haveMayo) console.warn('skipping the info stop-on-signal tests: ../shared/ldct-mayo is not there');

describe.skipIf(!haveMayo)('info <folder> stopped by a signal', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-info-stop-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * `info <pipe> <MAYO> --json`, signalled once the scan has opened the pipe (its first file): the
   * pipe is written (not DICOM) only after the run logged that it took the signal.
   */
  async function stopScan(signal: 'SIGINT' | 'SIGTERM', extra: readonly string[]) {
    const fifo = path.join(dir, `scan-first-${signal}.dcm`);
    execFileSync('mkfifo', [fifo]);
    let signalled!: () => void;
    const signalledOnce = new Promise<void>((resolve) => (signalled = resolve));
    const reading = open(fifo, 'w');
    const written = reading.then(async (writer) => {
      await signalledOnce;
      await writer.writeFile('not DICOM');
      await writer.close();
    });
    const run = await runUntil(['info', fifo, MAYO, '--json', ...extra], {}, reading.then(() => undefined), signal, signalled);
    // A run that died by the signal never logged taking it: the pipe's writer is let go (its write
    // to a pipe nobody reads then fails), so the checks below fail at once rather than time out.
    signalled();
    await written.catch(() => {});
    return run;
  }

  it.each([
    ['SIGINT', []],
    ['SIGTERM', ['--stats']],
  ] as const)('%s during the scan stops it at the next file: exit 130 / 143, --json is E_CANCELLED naming how many files were read, nothing listed', async (signal, extra) => {
    const run = await stopScan(signal, extra);
    expect(run.code, run.stderr).toBe(SIGNAL_EXIT[signal]);
    expect(JSON.parse(run.stdout)).toEqual({
      errors: [{ code: 'E_CANCELLED', path: null, message: `the input scan was stopped after reading 1 of 8 file(s) (interrupted by ${signal}): nothing was listed` }],
    });
    expect(run.stderr).toContain(`stopping the scan (${signal}): it stops at its next file, nothing is listed`);
    expect(run.stderr).toContain(`lowdose: the input scan was stopped after reading 1 of 8 file(s) (interrupted by ${signal}): nothing was listed [E_CANCELLED]`);
  }, 60_000);

  it('SIGTERM while --stats decodes the slices stops it at the next slice: exit 143, --json is E_CANCELLED naming the series and how many slices were decoded', async () => {
    // The series' middle slice is a named pipe: the scan reads it once (this test writes the slice),
    // --stats opens it again to decode it, and that second read waits until the signal was taken.
    const folder = path.join(dir, 'stats');
    await mkdir(folder);
    for (const name of ['000.IMA', '001.IMA', '002.IMA', '004.IMA', '005.IMA', '006.IMA']) await symlink(path.join(MAYO, name), path.join(folder, name));
    const fifo = path.join(folder, '003.IMA');
    execFileSync('mkfifo', [fifo]);
    const slice = await readFile(path.join(MAYO, '003.IMA'));
    const writeOnce = async (before: Promise<void>) => {
      const writer = await open(fifo, 'w');
      await before;
      await writer.writeFile(slice);
      await writer.close();
    };
    // The pipe's second writer opens only once the scan is over (--stats has begun): opened before,
    // it could meet the scan's read still open and feed the scan instead.
    let secondWriter: Promise<FileHandle> | null = null;
    let sent = false;
    let released = false;
    const first = writeOnce(Promise.resolve());
    const files = ['000.IMA', '001.IMA', '002.IMA', '003.IMA', '004.IMA', '005.IMA', '006.IMA'].map((name) => path.join(folder, name));
    // Named one by one: a folder's walk reads regular files only.
    const cli = spawnCli(['info', ...files, '--stats', '--json'], {
      env: {},
      onOutput: (_stdout, stderr) => {
        if (secondWriter === null && stderr.includes('decoding 7 slice(s)')) {
          secondWriter = open(fifo, 'w');
          void secondWriter.then(() => {
            sent = true;
            cli.child.kill('SIGTERM');
          });
        }
        if (secondWriter !== null && !released && stderr.includes('(SIGTERM): ')) {
          released = true;
          void secondWriter.then(async (writer) => {
            await writer.writeFile(slice).catch(() => {});
            await writer.close();
          });
        }
      },
    });
    const done = await cli.done;
    await first;
    // A run that died by the signal never took it: the pipe's second writer is closed unused.
    if (secondWriter !== null && !released) await (await (secondWriter as Promise<FileHandle>)).close();
    const run = { code: done.code ?? done.signal, stdout: done.stdout, stderr: done.stderr };
    expect(sent).toBe(true);
    expect(run.code, run.stderr).toBe(SIGNAL_EXIT.SIGTERM);
    expect(JSON.parse(run.stdout)).toEqual({
      errors: [{ code: 'E_CANCELLED', path: null, message: expect.stringMatching(/^the --stats decoding of \S+ was stopped after [1-6] of 7 slice\(s\) \(interrupted by SIGTERM\): nothing was listed$/) }],
    });
  }, 60_000);
});
