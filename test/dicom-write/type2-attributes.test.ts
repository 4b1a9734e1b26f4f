/**
 * A derived file is a valid instance of its IOD only when every Type 2 attribute of the IOD's
 * modules is there, empty when unknown (PS3.3 7.4.3). Real corpus files lack some (anonymised
 * test files without PatientSex, StudyID, AccessionNumber; converted ones without KVP,
 * SliceThickness, PositionReferenceIndicator); before, their derived files lacked them too. Read
 * back with dicom-parser and dcmdump, not our reader.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, scanPaths } from '../../src/dicom/index.js';
import { TYPE2_ATTRIBUTES, type2AttributesOf } from '../../src/dicom/type2-attributes.js';
import { COPIED_KEYWORDS } from '../../src/dicom/derived-attributes.js';
import { tagOf } from '../../src/dicom/write-dcmjs.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { corpus, type DataSet, DCMDUMP, hasDcmdump, parse, temporaryDirectory } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Set by the writer for every file, so never the source's. */
const WRITER_SET = new Set(['SeriesNumber', 'InstanceNumber']);

const element = (ds: DataSet, keyword: string) => ds.elements[`x${tagOf(keyword).toLowerCase()}`];

/** A value as text: a sequence by its item count, anything else by its trimmed string. */
function valueOf(ds: DataSet, keyword: string): string {
  const found = element(ds, keyword)!;
  return found.items ? `${found.items.length} items` : (ds.string(`x${tagOf(keyword).toLowerCase()}`) ?? '').trim();
}

async function derive(path: string): Promise<{ sources: DataSet[]; derived: string[]; sopClassUid: string }> {
  const { series } = await scanPaths([path]);
  expect(series).toHaveLength(1);
  const source = series[0]!;
  const outDir = temporaryDirectory('type2');
  dirs.push(outDir);
  const writer = createDerivedSeriesWriter(source, { outDir, derivationDescription: 'lowdose test', now: null });
  for (let k = 0; k < source.slices.length; k++) await writer.writeSlice(k, await readSlice(source.slices[k]!));
  clearSliceCache();
  const derived = readdirSync(writer.dir)
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f) => join(writer.dir, f));
  return { sources: source.slices.map((s) => parse(s.file)), derived, sopClassUid: parse(derived[0]!).string('x00080016')! };
}

interface Case {
  readonly name: string;
  readonly path: string;
  /** Type 2 attributes of the written IOD that the source lacks at its top level. */
  readonly absent: readonly string[];
  /** Of those, the ones the writer takes from a multi-frame source's functional groups. */
  readonly fromFrames?: readonly string[];
  /** Present source values the writer repairs (docs/dicom-writing.md: `1993.04.30` → `19930430`, `11:27:24` → `112724`). */
  readonly repaired?: readonly string[];
}

const CASES: readonly Case[] = [
  {
    // Written as Secondary Capture like its source: only the modules of that IOD (no Image Plane, CT Image).
    name: 'CT-MONO2-16-ankle (Secondary Capture)',
    path: 'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/CT-MONO2-16-ankle',
    absent: ['PatientID', 'PatientBirthDate', 'PatientSex', 'StudyID', 'AccessionNumber'],
    repaired: ['StudyDate', 'StudyTime'],
  },
  {
    name: 'rt-utils oriented_data (CT Image, 3 slices)',
    path: 'qurit__rt-utils/tests/oriented_data',
    absent: ['PositionReferenceIndicator', 'Manufacturer', 'SliceThickness', 'KVP', 'AcquisitionNumber'],
  },
  {
    name: 'CT0012 (2-frame CT, one CT Image per frame)',
    path: 'cornerstonejs__dicomParser/testImages/encapsulated/multi-frame/CT0012.explicit_little_endian.dcm',
    absent: ['SliceThickness', 'KVP'],
    fromFrames: ['SliceThickness'],
  },
  // Real PET files carry them all: the values must come through unchanged.
  { name: 'GH184 (PET Image)', path: 'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH184.dcm', absent: [] },
  { name: 'suyashkumar 1.dcm (PET Image)', path: 'suyashkumar__dicom/testdata/1.dcm', absent: [] },
];

describe('Type 2 attributes of a derived file', () => {
  it('are all copied from the source or set by the writer (a present source value can reach the output)', () => {
    const copied = new Set(COPIED_KEYWORDS);
    expect(TYPE2_ATTRIBUTES.filter((a) => !copied.has(a.keyword) && !WRITER_SET.has(a.keyword))).toEqual([]);
  });

  it('are listed only for the modules of the written IOD', () => {
    const ct = type2AttributesOf('1.2.840.10008.5.1.4.1.1.2').map((a) => a.keyword);
    const pet = type2AttributesOf('1.2.840.10008.5.1.4.1.1.128').map((a) => a.keyword);
    expect(ct).toContain('KVP');
    expect(ct).not.toContain('CorrectedImage');
    expect(pet).toContain('RadiopharmaceuticalInformationSequence');
    expect(pet).not.toContain('KVP');
    expect(type2AttributesOf('1.2.840.10008.5.1.4.1.1.7').map((a) => a.keyword)).not.toContain('SliceThickness');
  });

  for (const { name, path, absent, fromFrames = [], repaired = [] } of CASES) {
    it(`are all present, source values kept, missing ones empty: ${name}`, async () => {
      const { sources, derived, sopClassUid } = await derive(corpus(path));
      const attributes = type2AttributesOf(sopClassUid);
      expect(attributes.length).toBeGreaterThanOrEqual(11);
      expect(attributes.filter((a) => element(sources[0]!, a.keyword) === undefined).map((a) => a.keyword)).toEqual(absent);
      derived.forEach((file, k) => {
        const ds = parse(file);
        const source = sources[Math.min(k, sources.length - 1)]!;
        for (const { keyword } of attributes) {
          expect(element(ds, keyword), `${keyword} in ${file}`).toBeDefined();
          if (WRITER_SET.has(keyword) || fromFrames.includes(keyword)) continue;
          if (element(source, keyword) === undefined) expect(element(ds, keyword)!.length, `${keyword} empty`).toBe(0);
          else if (repaired.includes(keyword)) expect(valueOf(ds, keyword), keyword).not.toBe('');
          else expect(valueOf(ds, keyword), keyword).toBe(valueOf(source, keyword));
        }
      });
    });
  }

  it.skipIf(!hasDcmdump)('are read by dcmdump +E as empty, without a warning or error', async () => {
    const empty = {
      'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/CT-MONO2-16-ankle': /\(0020,0010\) SH \(no value available\)/,
      'qurit__rt-utils/tests/oriented_data': /\(0018,0060\) DS \(no value available\)/,
    };
    for (const [path, line] of Object.entries(empty)) {
      const { derived } = await derive(corpus(path));
      for (const file of derived) {
        const result = spawnSync(DCMDUMP, ['+E', file], { encoding: 'utf8' });
        expect(result.status).toBe(0);
        expect(result.stderr).toBe('');
        expect(result.stdout).toMatch(line);
      }
    }
  });
});
