/**
 * The lowdose item of a Contributing Equipment Sequence read back (src/dicom/read-contributing-equipment.ts)
 * from Part 10 bytes that the writer's own item function made: the last lowdose item among the
 * scanner's and other software's, its version, model fingerprint and time; null without one.
 */
import { describe, expect, it } from 'vitest';
import { completionMarkerVersion, modelFingerprintVersion, processingEquipmentItem, statedCountEquipment, statedCountVersion } from '../../src/dicom/contributing-equipment.js';
import { parseDicomBytes } from '../../src/dicom/parse.js';
import { isoDateTime, lowdoseCompletionMarker, lowdoseContribution, lowdoseStatedCount } from '../../src/dicom/read-contributing-equipment.js';
import { type DcmDataset, setElement, writePart10 } from '../../src/dicom/write-dcmjs.js';
import { fileMeta } from '../../src/dicom/write-file.js';
import { packageVersion } from '../../src/util/package-root.js';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const SHA = '03535c8f9a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef01234567';

function otherEquipment(manufacturer: string, model: string): DcmDataset {
  const item: DcmDataset = {};
  setElement(item, 'Manufacturer', [manufacturer]);
  setElement(item, 'ManufacturerModelName', [model]);
  setElement(item, 'SoftwareVersions', ['7.1']);
  return item;
}

/** A file with the given Contributing Equipment items (none: no sequence at all), parsed as the server parses it. */
function fileWith(items: DcmDataset[] | null) {
  const dataset: DcmDataset = {};
  setElement(dataset, 'SOPClassUID', [CT_IMAGE_STORAGE]);
  setElement(dataset, 'SOPInstanceUID', ['2.25.1']);
  setElement(dataset, 'Modality', ['CT']);
  if (items) setElement(dataset, 'ContributingEquipmentSequence', items);
  return parseDicomBytes(writePart10(fileMeta(CT_IMAGE_STORAGE, '2.25.1'), dataset)).dataSet;
}

describe('lowdoseContribution', () => {
  it('reads the model, the lowdose version, the fingerprint prefix and the time of the item lowdose writes', () => {
    const when = new Date(2026, 11, 6, 10, 22, 12, 345);
    const item = processingEquipmentItem({ modelName: 'lowdose-ct', softwareVersions: [modelFingerprintVersion(SHA)] }, 'lowdose diffusion model lowdose-ct', when);
    const read = lowdoseContribution(fileWith([item]))!;
    expect(read).toMatchObject({ model: 'lowdose-ct', toolkitVersion: packageVersion(), modelSha256: SHA.slice(0, 16) });
    // The clock time as written, with the writer's UTC offset.
    expect(read.contributionDateTime).toMatch(/^2026-12-06T10:22:12\.345[+-]\d{2}:\d{2}$/);
    expect(Date.parse(read.contributionDateTime!)).toBe(when.getTime());
  });

  it('takes the last lowdose item, past the scanner\'s and other software\'s, and has no fingerprint for a filter', () => {
    const first = processingEquipmentItem({ modelName: 'lowdose-ct', softwareVersions: [modelFingerprintVersion(SHA)] }, 'first run', null);
    const last = processingEquipmentItem({ modelName: 'gaussian filter' }, 'second run', null);
    const read = lowdoseContribution(fileWith([otherEquipment('ACME', 'Scanner 9000'), first, last, otherEquipment('PACS Inc', 'QA station')]));
    expect(read).toEqual({ model: 'gaussian filter', toolkitVersion: packageVersion(), modelSha256: null, contributionDateTime: null });
  });

  it('is null for a file without the sequence or with other software\'s items only', () => {
    expect(lowdoseContribution(fileWith(null))).toBeNull();
    expect(lowdoseContribution(fileWith([otherEquipment('ACME', 'Scanner 9000')]))).toBeNull();
  });
});

describe('lowdoseCompletionMarker', () => {
  const naming = (name: string) => fileWith([processingEquipmentItem({ modelName: 'lowdose-ct', softwareVersions: [modelFingerprintVersion(SHA), completionMarkerVersion(name)] }, 'run', null)]);

  it("reads the marker a series names in its folder or, for denoise's uncertainty series and map, one or two folders up", () => {
    expect(lowdoseCompletionMarker(naming('.lowdose-complete.json'))).toBe('.lowdose-complete.json');
    expect(lowdoseCompletionMarker(naming('../.lowdose-complete-t01.json'))).toBe('../.lowdose-complete-t01.json');
    expect(lowdoseCompletionMarker(naming('../../.lowdose-complete.json'))).toBe('../../.lowdose-complete.json');
  });

  it('names none for a path elsewhere (three folders up, absolute, below, a folder itself) or no marker value', () => {
    for (const name of ['../../../.lowdose-complete.json', '/tmp/.lowdose-complete.json', 'sub/.lowdose-complete.json', '..', '../..', '.', 'lowdose-complete.json']) {
      expect(lowdoseCompletionMarker(naming(name)), name).toBeNull();
    }
    expect(lowdoseCompletionMarker(fileWith([processingEquipmentItem({ modelName: 'gaussian filter' }, 'run', null)]))).toBeNull();
  });
});

describe('lowdoseStatedCount', () => {
  const marked = (files: number, frame: boolean, marker = '../../.lowdose-complete-t100.json') =>
    statedCountEquipment({ modelName: 'lowdose-ct', softwareVersions: [modelFingerprintVersion(SHA), completionMarkerVersion(marker)] }, files, frame);

  it('reads the count a series states next to its marker, for a series of its own and for a frame of an acquisition', () => {
    expect(lowdoseStatedCount(fileWith([processingEquipmentItem(marked(7, false), 'run', null)]))).toEqual({ files: 7, frame: false });
    expect(lowdoseStatedCount(fileWith([processingEquipmentItem(marked(2, true), 'run', null)]))).toEqual({ files: 2, frame: true });
    // The values as written: the marker's name, then the count, each a value of its own.
    expect(marked(7, false).softwareVersions).toEqual([modelFingerprintVersion(SHA), completionMarkerVersion('../../.lowdose-complete-t100.json'), 'series of 7 files numbered 1-7']);
  });

  it('keeps each value within the 64 characters of LO, the longest marker name and a large count included', () => {
    const item = marked(123456789, false, '../../.lowdose-complete-t1000.json');
    for (const value of [...item.softwareVersions!, statedCountVersion(123456789, true)]) expect(value.length, value).toBeLessThanOrEqual(64);
    expect(lowdoseStatedCount(fileWith([processingEquipmentItem(item, 'run', null)]))).toEqual({ files: 123456789, frame: false });
  });

  it("states none without a marker (a run that writes none), for the older form that names a marker only, and for another run's count", () => {
    expect(statedCountEquipment({ modelName: 'gaussian filter' }, 7, false)).toEqual({ modelName: 'gaussian filter' });
    const older = processingEquipmentItem({ modelName: 'lowdose-ct', softwareVersions: [completionMarkerVersion('.lowdose-complete.json')] }, 'run', null);
    expect(lowdoseStatedCount(fileWith([older]))).toBeNull();
    expect(lowdoseCompletionMarker(fileWith([older]))).toBe('.lowdose-complete.json');
    // The last lowdose item is the run that made these pixels: an earlier run's count is not this series'.
    expect(lowdoseStatedCount(fileWith([processingEquipmentItem(marked(7, false), 'first', null), older]))).toBeNull();
    // A value that is not the form written.
    const odd = processingEquipmentItem({ modelName: 'x', softwareVersions: [completionMarkerVersion('.lowdose-complete.json'), 'series of 7 files numbered 1-6'] }, 'run', null);
    expect(lowdoseStatedCount(fileWith([odd]))).toBeNull();
  });
});

describe('isoDateTime', () => {
  it('writes a DICOM DT as ISO 8601 to the precision it has, with its offset', () => {
    expect(isoDateTime('20261206102212.345678+0100')).toBe('2026-12-06T10:22:12.345+01:00');
    expect(isoDateTime('20261206102212-0530')).toBe('2026-12-06T10:22:12-05:30');
    expect(isoDateTime('202612061022')).toBe('2026-12-06T10:22');
    expect(isoDateTime('20261206')).toBe('2026-12-06');
  });

  it('is null for what is not a DT', () => {
    expect(isoDateTime('2026-12-06')).toBeNull();
    expect(isoDateTime('yesterday')).toBeNull();
    expect(isoDateTime('')).toBeNull();
  });
});
