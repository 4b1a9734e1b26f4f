/**
 * `lowdose metrics --lesions` as text: the lesion block's columns line up under their headers, for
 * CT (differences in HU, four-digit values in air and bone) as for PET (ratios, and a series in
 * PROPCPS whose values are about 1e-4), and a long lesion name is printed whole.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { lesionLines } from '../../src/cli/commands/metrics.js';
import { main } from '../../src/cli/main.js';
import type { LesionReading, LesionResult } from '../../src/pipeline/metrics.js';

const MAYO_L143_B30F = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L143/B30f');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-lesion-text-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A reading value cell: "ref -> test (diff or ratio)". */
const CELL = String.raw`\S+ -> \S+ \(\S+\)`;
const ROW = new RegExp(String.raw`^(.+?) +(\d+)   (${CELL}) +(${CELL}) +(${CELL})(?: +(.*))?$`);

/**
 * Checks that every row of a lesion block sits under its header: the name at column 0, the voxel
 * count ending where "voxels" ends, each reading cell starting where its header starts. Returns the rows' names.
 */
function expectAligned(block: readonly string[], unit: string, what: string): string[] {
  const [header, ...rows] = block;
  const starts = ['mean', 'max', 'peak'].map((k) => header!.indexOf(`${unit}${k} ref -> test (${what})`));
  expect(starts.every((s) => s > 0), header).toBe(true);
  const voxelsEnd = header!.indexOf('voxels') + 'voxels'.length;
  return rows.map((row) => {
    const m = ROW.exec(row);
    expect(m, row).not.toBeNull();
    const [, name, voxels, ...cells] = m!;
    expect(row.indexOf(`${voxels!}   ${cells[0]!}`) + voxels!.length, row).toBe(voxelsEnd);
    let from = voxelsEnd;
    for (const [k, cell] of cells.slice(0, 3).entries()) {
      const at = row.indexOf(cell!, from);
      expect(at, `${row}\n${header!}: column ${k + 1}`).toBe(starts[k]);
      from = at + cell!.length;
    }
    return name!;
  });
}

function reading(mean: number, max: number, peak: number, voxels = 123, peakSphereCut = false): LesionReading {
  return { voxels, mean, max, peak, peakCentre: [0, 0, 0], peakSphereCut };
}

function lesion(name: string, reference: LesionReading, test: LesionReading, ratio: boolean): LesionResult {
  const r = (t: number, ref: number) => (ratio && ref !== 0 ? t / ref : null);
  return {
    name,
    centre: [0, 0, 0],
    radius: 5,
    reference,
    test,
    recovery: { mean: r(test.mean, reference.mean), max: r(test.max, reference.max), peak: r(test.peak, reference.peak) },
    difference: { mean: test.mean - reference.mean, max: test.max - reference.max, peak: test.peak - reference.peak },
  };
}

describe('the --lesions text block', () => {
  it('lines up CT differences of four-digit HU under their headers and prints long names whole', () => {
    const block = lesionLines(
      [
        lesion('soft tissue', reading(45.12, 80, 50.5), reading(40.03, 90, 48.1), false),
        lesion('cortical bone, posterior vertebral body', reading(1234.567, 1890, 1500.25, 4321), reading(1210.123, 1850, 1490.5, 4321), false),
        lesion('air', reading(-1000.428, -983, -998.74, 430, true), reading(-1000.572, -963, -998.734, 430, true), false),
      ],
      'HU',
    );
    expect(expectAligned(block, 'HU', 'diff')).toEqual(['soft tissue', 'cortical bone, posterior vertebral body', 'air']);
    expect(block[3]).toMatch(/\(\+0\.006000\) +peak sphere cut by the volume's edge$/);
  });

  it('lines up PET ratios, in SUV and in PROPCPS at 1e-4', () => {
    expect(expectAligned(lesionLines([lesion('37mm', reading(7.5, 9.1, 8.2), reading(7.1, 9.4, 7.9), true), lesion('10mm', reading(3.05, 4.2, 3.3), reading(1.2, 2.2, 1.4), true)], 'SUVbw'), 'SUV', 'ratio')).toEqual(['37mm', '10mm']);
    const propcps = lesionLines([lesion('hot', reading(0.0001234, 0.0002501, 0.0001802), reading(0.0001111, 0.0002199, 0.0001650), true), lesion('cold', reading(0.00002, 0.00003, 0.000025), reading(0.000021, 0.00003, 0.000024), true)], 'PROPCPS');
    expect(expectAligned(propcps, 'PROPCPS', 'ratio')).toEqual(['hot', 'cold']);
  });
});

describe.runIf(existsSync(MAYO_L143_B30F))('lowdose metrics --lesions on real CT (Mayo L143 B30f)', () => {
  it('prints the lesion block with its columns under their headers', async () => {
    const file = path.join(root, 'lesions.json');
    // Soft tissue in the middle of the slice, the air in front of the patient (-1000 HU: the widest numbers), a long name.
    const lesions = [
      { name: 'centre', centre: [3, -165, -64.9], radius: 15 },
      { name: 'air outside the patient, anterior', centre: [3, -360, -64.9], radius: 8 },
      { name: 'left', centre: [150, -165, -64.9], radius: 10 },
    ];
    writeFileSync(file, JSON.stringify({ lesions }));
    const out: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(['node', 'lowdose', 'metrics', '--reference', path.join(MAYO_L143_B30F, 'full'), '--test', path.join(MAYO_L143_B30F, 'quarter'), '--lesions', file]);
      expect(code).toBe(0);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const lines = out.join('').split('\n');
    const start = lines.findIndex((l) => l.startsWith('lesion '));
    expect(start).toBeGreaterThan(0);
    const block = lines.slice(start, start + 1 + lesions.length);
    expect(expectAligned(block, 'HU', 'diff')).toEqual(lesions.map((l) => l.name));
    // The air sphere reads about -1000 HU in both: a nine-character value, wider than the old fixed column allowed.
    expect(block[2]).toMatch(/-1000\.\d{3} -> -1000\.\d{3}/);
  });
});
