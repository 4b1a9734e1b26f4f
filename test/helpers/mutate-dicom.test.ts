/**
 * The UID shifts of the test copies (copyAsOtherStudy / copyAsOtherSeries): distinct shifts must
 * give distinct, valid UIDs of the same length, or tests that think they made a fresh study in a
 * PACS share one.
 */
import { readFileSync } from 'node:fs';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { corpusPath } from '../dicom/helpers/corpus.js';
import { copyAsOtherSeries, copyAsOtherStudy, shiftedUid } from './mutate-dicom.js';

const FILES = ['01.dcm', '02.dcm', '03.dcm'].map((f) => new Uint8Array(readFileSync(corpusPath(`QIICR__dcmqi/data/segmentations/ct-3slice/${f}`))));
const UID_TAGS = { study: 'x0020000d', series: 'x0020000e', sop: 'x00080018', mediaSop: 'x00020003' } as const;
const VALID_UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

function uids(bytes: Uint8Array): Record<keyof typeof UID_TAGS, string> {
  const ds = dicomParser.parseDicom(bytes);
  return Object.fromEntries(Object.entries(UID_TAGS).map(([name, tag]) => [name, ds.string(tag)!])) as Record<keyof typeof UID_TAGS, string>;
}

describe('UID shifts of test copies', () => {
  const SHIFTS = Array.from({ length: 40 }, (_, k) => k + 1);

  it('shifts 1 to 40 make 40 distinct studies of valid UIDs, each file the same length as its original', () => {
    FILES.forEach((original, index) => {
      const before = uids(original);
      const studies = new Set<string>();
      const sops = new Set<string>();
      for (const shift of SHIFTS) {
        const copy = copyAsOtherStudy(FILES, new Set(), shift)[index]!;
        expect(copy.length).toBe(original.length);
        const after = uids(copy);
        for (const name of Object.keys(UID_TAGS) as Array<keyof typeof UID_TAGS>) {
          expect(after[name]).toMatch(VALID_UID);
          expect(after[name].length).toBe(before[name].length);
          expect(after[name].length).toBeLessThanOrEqual(64);
          expect(after[name]).not.toBe(before[name]);
        }
        expect(after.mediaSop).toBe(after.sop);
        studies.add(after.study);
        sops.add(after.sop);
      }
      expect(studies.size).toBe(SHIFTS.length);
      expect(sops.size).toBe(SHIFTS.length);
    });
  });

  it('shifts 1 to 40 make 40 distinct series of the same study', () => {
    const before = uids(FILES[0]!);
    const series = new Set(SHIFTS.map((shift) => uids(copyAsOtherSeries(FILES, shift)[0]!)));
    expect([...series].map((u) => u.study)).toEqual(SHIFTS.map(() => before.study));
    expect(new Set([...series].map((u) => u.series)).size).toBe(SHIFTS.length);
  });

  it('the instances of every copy stay distinct from each other, from the originals and from the other copies', () => {
    const sops = [...FILES, ...SHIFTS.flatMap((shift) => [...copyAsOtherStudy(FILES, new Set(), shift), ...copyAsOtherSeries(FILES, shift)])].map((b) => uids(b).sop);
    expect(new Set(sops).size).toBe(FILES.length * (1 + 2 * SHIFTS.length));
  });

  it('another series of a study copy (the shifts the PACS tests use) is never a series of another study copy', () => {
    const studyCopySeries = new Set(SHIFTS.map((shift) => uids(copyAsOtherStudy(FILES, new Set(), shift)[0]!).series));
    for (const [study, series] of [[11, 1], [21, 1], [9, 7], [8, 5], [3, 1]] as const) {
      const twice = uids(copyAsOtherSeries(copyAsOtherStudy(FILES, new Set(), study), series)[0]!);
      expect(twice.study).toBe(uids(copyAsOtherStudy(FILES, new Set(), study)[0]!).study);
      expect(studyCopySeries.has(twice.series)).toBe(false);
    }
  });

  it('moves the first free digits of the third and later components, never a leading digit or the first two arcs', () => {
    expect(shiftedUid('1.2.392.200103.5', 1)).toBe('1.2.392.210103.5');
    expect(shiftedUid('1.2.392.200103.5', 8)).toBe('1.2.392.280103.5');
    expect(shiftedUid('1.2.392.200103.5', 11)).toBe('1.2.393.210103.5');
    expect(shiftedUid('1.2.392.200103.5', 1, 1)).toBe('1.2.392.200113.5');
    expect(shiftedUid('1.2.3.4.5', 12)).toBe('1.2.3.5.7');
    expect(shiftedUid('2.25.1999', 1)).toBe('2.25.1000');
  });

  it('refuses a shift a window cannot keep distinct, and a UID without enough free digits', () => {
    expect(() => shiftedUid('1.2.392.200103', 1000)).toThrow(/not 1 to 999/);
    expect(() => shiftedUid('1.2.392.200103', 0)).toThrow(/not 1 to 999/);
    expect(() => shiftedUid('1.2.392.200103', 1.5)).toThrow(/not 1 to 999/);
    expect(() => shiftedUid('1.2.39', 1)).toThrow(/too few digits/);
    expect(() => shiftedUid('1.2.392.2001', 1, 1)).toThrow(/too few digits/);
    expect(() => shiftedUid('1.2.03', 1)).toThrow(/not a UID/);
  });
});
