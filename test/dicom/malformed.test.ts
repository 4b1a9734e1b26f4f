/**
 * Every malformed or unusual file that ../shared/dicom/README.md lists gets a stable answer: a
 * LowdoseError with its code, or the right pixels when the file is actually readable.
 */
import { describe, expect, it } from 'vitest';
import { isLowdoseError, type ErrorCode } from '../../src/errors.js';
import {
  decodeFrameStoredValues,
  readDicomFile,
  readInstanceHeader,
  readPixelModule,
  scanPaths,
} from '../../src/dicom/index.js';
import { frameBytes } from '../../src/dicom/frames.js';
import { corpusPath } from './helpers/corpus.js';

const PYDICOM = 'pydicom__pydicom/src/pydicom/data/test_files/';
const PYDICOM_DATA = 'pydicom__pydicom-data/data_store/data/';
const FO = 'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/';

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (!isLowdoseError(error)) throw error;
    return error.code;
  }
}

/** What reading a file for a series gives: header checks, then every frame decoded. */
async function readWhole(relative: string): Promise<void> {
  const header = await readInstanceHeader(corpusPath(relative));
  for (let frame = 0; frame < header.frames; frame++) await decodeFrameStoredValues(corpusPath(relative), frame);
}

describe('malformed files in the corpus', () => {
  const cases: Array<[string, ErrorCode | 'ok', string]> = [
    [`${PYDICOM}MR_truncated.dcm`, 'E_TRUNCATED', 'pixel data cut short'],
    [`${PYDICOM}rtplan_truncated.dcm`, 'E_TRUNCATED', 'sequence item runs past the end'],
    [`${PYDICOM}badVR.dcm`, 'E_NOT_IMAGE', 'an RT Dose: skipped as non-image (its malformed NumberOfFrames is tested below)'],
    [`${PYDICOM}meta_missing_tsyntax.dcm`, 'E_MALFORMED', 'read as implicit VR; the data set has pixel data but no Rows'],
    [`${PYDICOM}no_meta.dcm`, 'E_NOT_DICOM', 'starts with a stray byte, so no element can be recognised'],
    [`${PYDICOM}JPEG2000-embedded-sequence-delimiter.dcm`, 'E_DECODE', 'its codestream SIZ holds the delimiter bytes: a 3.7e9-pixel width'],
    [`${PYDICOM_DATA}bad_sequence.dcm`, 'ok', 'invalid UN sequence, pixels fine'],
    [`${PYDICOM_DATA}emri_small_jpeg_2k_lossless_too_short.dcm`, 'ok', 'only the sequence delimiter is missing'],
    ['dcmjs-org__dcmjs/test/invalid-vr-length-test.dcm', 'ok', 'odd VR lengths, pixels fine'],
    ['dcmjs-org__dcmjs/test/no-meta-length-test.dcm', 'E_NO_PIXEL_DATA', 'meta without group length; no image in it'],
    [`${FO}GH1339.dcm`, 'ok', 'pixel data without sequence delimiter'],
    [`${FO}GH364.dcm`, 'ok', 'JPEG-LS ultrasound frame'],
    [`${FO}GH626.dcm`, 'E_MALFORMED', '(0000,0000) declares more bytes than the file holds'],
    [`${FO}FreezePattern.dcm`, 'E_UNSUPPORTED_PIXELS', 'RGB'],
    [`${FO}DIRW0007`, 'E_UNSUPPORTED_PIXELS', 'YBR_FULL_422 multi-frame ultrasound'],
    [`${FO}GH179A.dcm`, 'E_NO_PIXEL_DATA', 'no pixel data'],
    [`${FO}GH179B.dcm`, 'E_MALFORMED', 'a private element declares 20300 bytes in a 2848-byte file'],
    [`${FO}GH1376.dcm`, 'ok', 'JPEG lossless pixel data under an Explicit VR Little Endian transfer syntax'],
    [`${FO}GH177_D_CLUNIE_CT1_IVRLE_BigEndian_ELE_undefinded_length.dcm`, 'ok', 'readable variant'],
    [`${FO}GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm`, 'E_MALFORMED', 'undefined-length item without an item tag'],
    [`${FO}CR-MONO1-10-chest`, 'ok', 'no preamble, no meta: implicit VR little endian'],
  ];
  for (const [file, expected, why] of cases) {
    it(`${file.split('/').pop()} → ${expected} (${why})`, async () => {
      expect(await codeOf(readWhole(file))).toBe(expected);
    });
  }

  it('reports badVR.dcm NumberOfFrames "1A" as E_MALFORMED when its pixels are asked for', async () => {
    expect(await codeOf(decodeFrameStoredValues(corpusPath(`${PYDICOM}badVR.dcm`)))).toBe('E_MALFORMED');
  });

  it('reads the whole fragment of JPEG2000-embedded-sequence-delimiter.dcm, not up to the embedded delimiter bytes', async () => {
    const parsed = await readDicomFile(corpusPath(`${PYDICOM}JPEG2000-embedded-sequence-delimiter.dcm`));
    const bytes = frameBytes(parsed, readPixelModule(parsed), 0);
    expect(bytes.length).toBe(250);
    expect([bytes[0], bytes[1], bytes[bytes.length - 2], bytes[bytes.length - 1]]).toEqual([0xff, 0x4f, 0xff, 0xd9]);
  });

  it('decodes emri_small_jpeg_2k_lossless_too_short.dcm exactly like the complete file', async () => {
    for (const frame of [0, 9]) {
      const short = await decodeFrameStoredValues(corpusPath(`${PYDICOM_DATA}emri_small_jpeg_2k_lossless_too_short.dcm`), frame);
      const full = await decodeFrameStoredValues(corpusPath(`${PYDICOM_DATA}emri_small_jpeg_2k_lossless.dcm`), frame);
      expect(short.values).toEqual(full.values);
    }
    const parsed = await readDicomFile(corpusPath(`${PYDICOM_DATA}emri_small_jpeg_2k_lossless_too_short.dcm`));
    expect(parsed.notes.join(' ')).toMatch(/no sequence delimiter/);
  });

  it('reads meta-less files by guessing their encoding and says so', async () => {
    const cr = await readDicomFile(corpusPath(`${FO}CR-MONO1-10-chest`));
    expect(cr.transferSyntax.uid).toBe('1.2.840.10008.1.2');
    expect(cr.notes.join(' ')).toMatch(/no file meta/);
    const bigEndian = await readDicomFile(corpusPath(`${PYDICOM}ExplVR_BigEndNoMeta.dcm`));
    expect(bigEndian.transferSyntax.uid).toBe('1.2.840.10008.1.2.2');
    const littleEndian = await readDicomFile(corpusPath(`${PYDICOM}ExplVR_LitEndNoMeta.dcm`));
    expect(littleEndian.transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
  });

  it('names the file in every error message', async () => {
    for (const [file, expected] of cases) {
      if (expected === 'ok') continue;
      try {
        await readWhole(file);
      } catch (error) {
        expect(isLowdoseError(error) && error.message).toContain(file.split('/').pop());
      }
    }
  });
});

describe('non-image objects and DICOMDIRs', () => {
  const skipped: Array<[string, 'E_NOT_IMAGE' | 'E_DICOMDIR']> = [
    [`${PYDICOM}rtstruct.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}rtplan.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}rtdose.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}test-SR.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}reportsi.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}liver_1frame.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}waveform_ecg.dcm`, 'E_NOT_IMAGE'],
    [`${PYDICOM}dicomdirtests/DICOMDIR`, 'E_DICOMDIR'],
    [`${PYDICOM}dicomdirtests/DICOMDIR-nooffset`, 'E_DICOMDIR'],
    [`${PYDICOM}dicomdirtests/DICOMDIR-implicit`, 'E_DICOMDIR'],
  ];
  for (const [file, code] of skipped) {
    it(`${file.split('/').pop()} → ${code}`, async () => {
      expect(await codeOf(readInstanceHeader(corpusPath(file)))).toBe(code);
    });
  }

  it('lists them as skipped, not as errors, when scanning', async () => {
    const result = await scanPaths(skipped.map(([file]) => corpusPath(file)));
    expect(result.errors).toEqual([]);
    expect(result.series).toEqual([]);
    expect(result.skipped.map((s) => s.code).sort()).toEqual(skipped.map(([, code]) => code).sort());
  });
});
