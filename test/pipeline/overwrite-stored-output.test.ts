/**
 * refuseOverwriteOfStoredOutput (the `--overwrite` with `--stow` / `--store` check): which earlier
 * outputs of -o it finds (completion markers of its series folders, its report.json), which it asks
 * the destination about (only those made from the series to denoise), and what happens when the
 * destination holds one, holds none, or cannot answer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { refuseOverwriteOfStoredOutput } from '../../src/pipeline/remote-denoise.js';
import { LowdoseError } from '../../src/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-overwrite-stored-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const seriesReport = (source: string, output: string, uncertainty?: string) => ({
  input: { seriesInstanceUid: source, key: source, modality: 'CT', files: [] },
  output: { seriesInstanceUid: output, dir: 'x', files: [] },
  ...(uncertainty ? { uncertainty: { seriesInstanceUid: uncertainty, dir: 'x/uncertainty', files: [] } } : {}),
});

/** An -o with a finished series folder (1.1 -> 2.1, uncertainty 2.2) and a report.json that also names 1.3 -> 2.3 (an interrupted --overwrite left no marker for it). */
function outDir(name: string): string {
  const out = path.join(root, name);
  mkdirSync(path.join(out, 'ct-a'), { recursive: true });
  writeFileSync(path.join(out, 'ct-a', '.lowdose-complete.json'), JSON.stringify(seriesReport('1.1', '2.1', '2.2')));
  writeFileSync(path.join(out, 'report.json'), JSON.stringify({ series: [seriesReport('1.1', '2.1', '2.2'), seriesReport('1.3', '2.3')], errors: [] }));
  mkdirSync(path.join(out, 'previews'));
  return out;
}

describe('refuseOverwriteOfStoredOutput', () => {
  it('asks only about outputs made from the series to denoise, and refuses (E_EXISTS) naming the ones the destination holds', async () => {
    const out = outDir('held');
    const asked: string[] = [];
    const error = await refuseOverwriteOfStoredOutput(out, [{ seriesInstanceUid: '1.1' }, { seriesInstanceUid: '1.3' }], {
      option: '--stow',
      where: 'http://pacs/dicom-web',
      holds: (uid) => {
        asked.push(uid);
        return Promise.resolve(uid !== '2.2');
      },
    }, () => {}).then(() => null, (e: unknown) => e);
    expect(asked.sort()).toEqual(['2.1', '2.2', '2.3']);
    expect(error).toBeInstanceOf(LowdoseError);
    expect((error as LowdoseError).code).toBe('E_EXISTS');
    expect((error as LowdoseError).message).toContain('--overwrite with --stow: http://pacs/dicom-web still holds denoised series 2.1 (from series 1.1), denoised series 2.3 (from series 1.3), stored from');
    expect((error as LowdoseError).message).toContain('Delete those series on the PACS');
  });

  it('goes on when the destination holds none of them, or when -o has no earlier output of these series', async () => {
    const out = outDir('gone');
    const holdsNothing = { option: '--store', where: 'dimse://PACS@h:104', holds: () => Promise.resolve(false) };
    await expect(refuseOverwriteOfStoredOutput(out, [{ seriesInstanceUid: '1.1' }], holdsNothing, () => {})).resolves.toBeUndefined();
    const never = { option: '--store', where: 'dimse://PACS@h:104', holds: () => Promise.reject(new Error('not asked')) };
    await expect(refuseOverwriteOfStoredOutput(out, [{ seriesInstanceUid: '9.9' }], never, () => {})).resolves.toBeUndefined();
    await expect(refuseOverwriteOfStoredOutput(path.join(root, 'missing'), [{ seriesInstanceUid: '1.1' }], never, () => {})).resolves.toBeUndefined();
  });

  it('a destination that cannot answer the query (a storage SCP without C-FIND) is logged and the run goes on', async () => {
    const out = outDir('unknown');
    const logged: string[] = [];
    const cannot = { option: '--store', where: 'dimse://STORE@h:104', holds: () => Promise.reject(new LowdoseError('E_USAGE', 'C-FIND refused')) };
    await expect(refuseOverwriteOfStoredOutput(out, [{ seriesInstanceUid: '1.3' }], cannot, (m) => logged.push(m))).resolves.toBeUndefined();
    expect(logged).toEqual([expect.stringContaining('cannot tell whether dimse://STORE@h:104 still holds denoised series 2.3 (made from series 1.3')]);
  });
});
