import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { part10FromDataset, splitPart10 } from '../../src/dicom/part10.js';
import { checkAeTitle, dimseUrl, parseDimsePeer, parseDimseUrl } from '../../src/dimse/url.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');

describe('dimse:// addresses', () => {
  it('reads the called AE title, host, port and optional study and series UIDs, and prints them back', () => {
    expect(parseDimseUrl('dimse://PACS@pacs.example.org:104')).toEqual({ aet: 'PACS', host: 'pacs.example.org', port: 104, studyInstanceUid: null, seriesInstanceUid: null });
    const series = parseDimseUrl('dimse://MY%20PACS@[::1]:11112/1.2.3/1.2.3.4/');
    expect(series).toEqual({ aet: 'MY PACS', host: '::1', port: 11112, studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4' });
    expect(dimseUrl(series, '1.2.3', '1.2.3.4')).toBe('dimse://MY%20PACS@[::1]:11112/1.2.3/1.2.3.4');
    expect(parseDimsePeer('dimse://STORE@10.0.0.2:4242')).toEqual({ aet: 'STORE', host: '10.0.0.2', port: 4242 });
  });

  it('refuses addresses without a port, with a bad UID, an AE title over 16 characters, or UIDs for a C-STORE destination', () => {
    expect(() => parseDimseUrl('dimse://PACS@host')).toThrow(/not a DIMSE address/);
    expect(() => parseDimseUrl('dimse://PACS@host:70000')).toThrow(/port 70000/);
    expect(() => parseDimseUrl('dimse://PACS@host:104/1.2.abc')).toThrow(/not a DICOM UID/);
    expect(() => parseDimseUrl('dimse://ABCDEFGHIJKLMNOPQ@host:104')).toThrow(/not a DICOM AE title/);
    expect(() => checkAeTitle(' LEAD', '--calling-aet')).toThrow(/--calling-aet/);
    expect(() => checkAeTitle('A\\B', '--calling-aet')).toThrow(/not a DICOM AE title/);
    expect(() => parseDimsePeer('dimse://PACS@host:104/1.2.3')).toThrow(/without UIDs/);
  });
});

describe('Part 10 framing of network datasets', () => {
  it('splits a real CT file at the end of its meta and rebuilds a file with the same dataset bytes', async () => {
    const name = readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()[0]!;
    const bytes = new Uint8Array(await readFile(path.join(CT_DIR, name)));
    const split = splitPart10(bytes, name);
    expect(split.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    expect(split.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.2');
    const rebuilt = part10FromDataset(split.dataset, split);
    const again = splitPart10(rebuilt, 'rebuilt');
    expect({ ...again, dataset: Buffer.from(again.dataset) }).toEqual({ ...split, dataset: Buffer.from(split.dataset) });
    expect(() => splitPart10(bytes.subarray(0, 100), 'short')).toThrow(/not a DICOM Part 10 file/);
  });
});
