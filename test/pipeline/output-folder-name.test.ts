/**
 * A series' output folder is named `<modality>-<description>-<hash>`, its description cut after the
 * last whole word within 32 characters (src/pipeline/denoise.ts outputFolderName), not mid-word. A
 * folder an earlier lowdose named with the description cut at 32 characters is still the series'
 * folder (seriesFolderIn): a rerun into it finds the series finished there and makes no second
 * folder. The fixture's description, "BODY phantom seed 13 arterial simulated 25% dose", was cut
 * to "body-phantom-seed-13-arterial-si".
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Series } from '../../src/dicom/index.js';
import { denoisePaths, outputFolderName, seriesFolderIn } from '../../src/pipeline/denoise.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-output-folder-name-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));

/** What outputFolderName reads of a series. */
const series = (seriesDescription: string, key = '1.2.3') => ({ seriesDescription, modality: 'CT', key }) as unknown as Series;
/** The name's description part: between the modality and the 10-digit hash. */
const described = (name: string) => /^ct-(.*?)-?[0-9a-f]{10}$/.exec(name)![1];

describe('output folder names', () => {
  it('cut a long description after its last whole word within 32 characters', () => {
    expect(described(outputFolderName(series('Thorax Abdomen Pelvis Routine Contrast 1.0 B30f')))).toBe('thorax-abdomen-pelvis-routine');
    // A word ending at the 32nd character is kept whole; a 32-character description is as it is.
    expect(described(outputFolderName(series('ABCDEFGHIJ klmnopqrst uvwxyzabcd efgh')))).toBe('abcdefghij-klmnopqrst-uvwxyzabcd');
    expect(described(outputFolderName(series('abcdefghij klmnopqrst uvwxyzabcd')))).toBe('abcdefghij-klmnopqrst-uvwxyzabcd');
    // One word longer than the limit is cut at it.
    expect(described(outputFolderName(series('A'.repeat(40))))).toBe('a'.repeat(32));
    expect(described(outputFolderName(series('AX 1.25mm/0.6 [head]')))).toBe('ax-1-25mm-0-6-head');
    expect(outputFolderName(series(''))).toMatch(/^ct-[0-9a-f]{10}$/);
    // Two series cut to the same words stay apart by their hash.
    expect(outputFolderName(series('Routine Contrast Thorax Abdomen Pelvis A', '1.2.3'))).not.toBe(outputFolderName(series('Routine Contrast Thorax Abdomen Pelvis B', '1.2.4')));
  });

  it('a rerun into the folder an earlier lowdose named (description cut mid-word) finds the series finished there and makes no other folder', async () => {
    const outDir = path.join(root, 'rerun');
    const first = await denoisePaths([lowDoseDir], { outDir, method: 'gaussian' });
    expect(first.errors).toEqual([]);
    const made = path.basename(first.series[0]!.output.dir);
    expect(described(made)).toBe('body-phantom-seed-13-arterial');
    // The folder as an earlier lowdose named it, its completion marker naming it so.
    const earlier = made.replace('-arterial-', '-arterial-si-');
    renameSync(path.join(outDir, made), path.join(outDir, earlier));
    for (const marker of readdirSync(path.join(outDir, earlier)).filter((name) => name.startsWith('.lowdose-complete'))) {
      const file = path.join(outDir, earlier, marker);
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll(made, earlier));
    }

    const again = await denoisePaths([lowDoseDir], { outDir, method: 'gaussian' });
    expect(again.errors).toEqual([]);
    expect(again.series).toHaveLength(1);
    expect(again.series[0]!.skipped).toBe(true);
    expect(again.series[0]!.output.dir).toBe(path.join(outDir, earlier));
    expect(existsSync(path.join(outDir, made))).toBe(false);
    expect(readdirSync(outDir).filter((name) => name.startsWith('ct-'))).toEqual([earlier]);
  });

  it('a new output folder takes the whole-word name; the earlier name is used only where that folder is there', () => {
    const s = series('BODY phantom seed 13 arterial simulated 25% dose');
    const outDir = path.join(root, 'fresh');
    expect(seriesFolderIn(outDir, s)).toBe(outputFolderName(s));
    expect(described(seriesFolderIn(outDir, s))).toBe('body-phantom-seed-13-arterial');
  });
});
