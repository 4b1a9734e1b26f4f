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
import { readDicomFile } from '../../src/dicom/parse.js';
import { requiredType2Attributes, TYPE2_ATTRIBUTES, type2AttributesOf } from '../../src/dicom/type2-attributes.js';
import { COPIED_KEYWORDS } from '../../src/dicom/derived-attributes.js';
import { SOP_CLASS } from '../../src/dicom/uid.js';
import { setElement, tagOf, type DcmDataset } from '../../src/dicom/write-dcmjs.js';
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
      // The unconditional ones; 2C ones have their own tests below.
      const attributes = type2AttributesOf(sopClassUid).filter((a) => !a.requiredWhen);
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

  it('a CT source without PatientPosition (2C: CT, no Patient Orientation Code Sequence) gives derived files with it present and empty', async () => {
    const path = corpus('qurit__rt-utils/tests/oriented_data');
    const { sources, derived, sopClassUid } = await derive(path);
    expect(sopClassUid).toBe(SOP_CLASS.ctImage);
    expect(sources.map((s) => element(s, 'PatientPosition'))).toEqual(sources.map(() => undefined));
    expect(derived).toHaveLength(3);
    for (const file of derived) {
      // The toolkit's own parser and dicom-parser read the same zero-length element.
      const ours = (await readDicomFile(file)).dataSet.elements.x00185100;
      expect(ours, file).toBeDefined();
      expect(ours!.length).toBe(0);
      expect(element(parse(file), 'PatientPosition')!.length).toBe(0);
      expect(element(parse(file), 'PatientOrientationCodeSequence')).toBeUndefined();
    }
  });

  it('2C attributes whose condition does not hold are not added: a PET source (Series Type IMAGE) gets no ReprojectionMethod, its PatientPosition stays', async () => {
    const { sources, derived } = await derive(corpus('fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH184.dcm'));
    expect(valueOf(sources[0]!, 'SeriesType')).toBe('STATIC\\IMAGE');
    const ds = parse(derived[0]!);
    expect(element(ds, 'ReprojectionMethod')).toBeUndefined();
    expect(valueOf(ds, 'PatientPosition')).toBe(valueOf(sources[0]!, 'PatientPosition'));
  });

  it('an MR Image written from an enhanced MR source carries the MR Image module\'s Type 2 attributes, empty where the source has them only per frame', async () => {
    const { sources, derived, sopClassUid } = await derive(corpus('pydicom__pydicom-data/data_store/data/emri_small.dcm'));
    expect(sopClassUid).toBe(SOP_CLASS.mrImage);
    const mrType2 = ['ScanOptions', 'MRAcquisitionType', 'EchoTime', 'EchoTrainLength'];
    const absent = mrType2.filter((k) => element(sources[0]!, k) === undefined);
    expect(absent).toEqual(['ScanOptions', 'EchoTime', 'EchoTrainLength']);
    for (const file of derived) {
      const ds = parse(file);
      for (const keyword of absent) expect(element(ds, keyword)?.length, `${keyword} in ${file}`).toBe(0);
      expect(valueOf(ds, 'MRAcquisitionType')).toBe(valueOf(sources[0]!, 'MRAcquisitionType'));
      // No Scanning Sequence (Type 1, per frame in the source): whether it is echo planar is unknown.
      expect(element(ds, 'RepetitionTime')).toBeUndefined();
    }
  });

  describe('2C conditions, judged on the copied source values', () => {
    const dataset = (values: Record<string, unknown[]>): DcmDataset => {
      const ds: DcmDataset = {};
      for (const [keyword, v] of Object.entries(values)) setElement(ds, keyword, v);
      return ds;
    };
    const required = (values: Record<string, unknown[]>, sop: string = SOP_CLASS.mrImage) =>
      requiredType2Attributes(dataset(values), sop)
        .filter((a) => a.requiredWhen)
        .map((a) => a.keyword);

    it('PatientPosition: CT and MR without Patient Orientation Code Sequence only', () => {
      expect(required({}, SOP_CLASS.ctImage)).toEqual(['PatientPosition']);
      expect(required({ PatientOrientationCodeSequence: [] }, SOP_CLASS.ctImage)).toEqual([]);
      expect(required({}, SOP_CLASS.petImage)).toEqual([]);
      expect(required({}, SOP_CLASS.secondaryCapture)).toEqual([]);
    });

    it('RepetitionTime: except echo planar without segmented k-space; unknown without a Scanning Sequence', () => {
      expect(required({ ScanningSequence: ['SE'], SequenceVariant: ['NONE'] })).toEqual(['PatientPosition', 'RepetitionTime']);
      expect(required({ ScanningSequence: ['EP'], SequenceVariant: ['NONE'] })).toEqual(['PatientPosition']);
      expect(required({ ScanningSequence: ['EP'], SequenceVariant: ['SK'] })).toEqual(['PatientPosition', 'RepetitionTime']);
      expect(required({})).toEqual(['PatientPosition']);
    });

    it('InversionTime with IR, TriggerTime with cardiac or peripheral pulse gating', () => {
      expect(required({ ScanningSequence: ['GR', 'IR'], SequenceVariant: ['SK'] })).toEqual(['PatientPosition', 'RepetitionTime', 'InversionTime']);
      expect(required({ ScanningSequence: ['GR'], SequenceVariant: ['SP'], ScanOptions: ['FS', 'CG'] })).toEqual([
        'PatientPosition',
        'RepetitionTime',
        'TriggerTime',
      ]);
    });

    it('ReprojectionMethod: PET with Series Type Value 2 REPROJECTION', () => {
      expect(required({ SeriesType: ['STATIC', 'REPROJECTION'] }, SOP_CLASS.petImage)).toEqual(['ReprojectionMethod']);
      expect(required({ SeriesType: ['STATIC', 'IMAGE'] }, SOP_CLASS.petImage)).toEqual([]);
    });
  });
});
