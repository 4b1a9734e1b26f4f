/** `lowdose phantom`: the JSON result, the files, and the exit codes of the contract. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runCli } from '../helpers/cli.js';
import { scanPaths } from '../../src/dicom/index.js';
import { parse, temporaryDirectories } from '../dicom-write/helpers.js';

const tmp = temporaryDirectories();

const cli = runCli;

describe('lowdose phantom', () => {
  it('writes the ACR phantom and prints the JSON result of the contract', async () => {
    const dir = join(tmp('acr'), 'out');
    const { code, stdout } = await cli('phantom', 'acr', '-o', dir, '--slices', '4', '--size', '64', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ phantom: 'acr', modality: 'CT', rows: 64, columns: 64, slices: 4 });
    expect(result.files).toHaveLength(4);
    for (const file of result.files) expect(existsSync(file)).toBe(true);
    expect(result.geometry.inserts.length).toBeGreaterThan(20);
    const { series } = await scanPaths([dir]);
    expect(series).toHaveLength(1);
    expect(series[0]!.seriesInstanceUid).toBe(result.seriesInstanceUid);
    // Written z positions are the phantom's module centres.
    const z = series[0]!.slices.map((s) => s.position![2]);
    expect(z).toEqual(result.geometry.modules.map((m: { zCentre: number }) => m.zCentre));
  });

  it('exits 2 for an unknown phantom or an option of another phantom, writing nothing', async () => {
    const dir = join(tmp('bad'), 'out');
    const unknown = await cli('phantom', 'catphan', '-o', dir, '--json');
    expect(unknown.code).toBe(2);
    // --json: the thrown usage error is the machine output (docs/contract.md "Every command")
    expect(JSON.parse(unknown.stdout)).toEqual({ errors: [expect.objectContaining({ code: 'E_USAGE' })] });
    expect(unknown.stderr).toContain('unknown phantom');
    expect((await cli('phantom', 'water', '-o', dir, '--ratio', '8')).code).toBe(2);
    expect((await cli('phantom', 'body', '-o', dir, '--phase', 'delayed')).code).toBe(2);
    expect((await cli('phantom', 'water', '-o', dir, '--size', 'big')).code).toBe(2);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses to overwrite without --overwrite (exit 2)', async () => {
    const dir = tmp('twice');
    expect((await cli('phantom', 'water', '-o', dir, '--size', '32', '--slices', '1')).code).toBe(0);
    expect((await cli('phantom', 'water', '-o', dir, '--size', '32', '--slices', '1')).code).toBe(2);
    expect((await cli('phantom', 'water', '-o', dir, '--size', '32', '--slices', '1', '--overwrite')).code).toBe(0);
  });

  it('writes the same bytes twice with --uid-seed, and PET with its patient and units', async () => {
    const a = await runPhantom('iec', { outDir: tmp('iec-a'), size: 32, slices: 3, uidSeed: 'fixture' });
    const b = await runPhantom('iec', { outDir: tmp('iec-b'), size: 32, slices: 3, uidSeed: 'fixture' });
    a.files.forEach((file, k) => expect(readFileSync(file).equals(readFileSync(b.files[k]!))).toBe(true));
    const ds = parse(a.files[0]!);
    expect(ds.string('x00100010')).toBe('PHANTOM^IEC');
    expect(ds.string('x00541001')).toBe('BQML');
    expect(a.units).toBe('BQML');
  });

  it('names each body patient by its seed', async () => {
    const r = await runPhantom('body', { outDir: tmp('body'), size: 48, slices: 1, seed: 17, phase: 'arterial' });
    const ds = parse(r.files[0]!);
    expect(ds.string('x00100020')).toBe('PHANTOM-BODY-17');
    expect(ds.string('x0008103e')).toContain('arterial');
  });
});
