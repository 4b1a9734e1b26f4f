/** `--studies-from <file>` and `--accession`: what a cohort file's lines are, and which are refused with their line number. */
import { describe, expect, it } from 'vitest';
import { checkAccessionNumber, parseStudiesFile } from '../../src/pipeline/studies-file.js';

const parse = (text: string) => parseStudiesFile(text, 'cohort.csv');
const refusal = (text: string) => {
  try {
    parse(text);
  } catch (error) {
    return `${(error as { code: string }).code} ${(error as Error).message}`;
  }
  return 'accepted';
};

describe('a studies file', () => {
  it('takes accession numbers and StudyInstanceUIDs one a line, in order, each once; skips a BOM, blank and # lines and one header line', () => {
    const text = '\uFEFFStudy Instance UID\r\n\r\n# arm A\r\n  1.2.840.113619.2.55.3.604688119.969  \r\n"24A00117"\r\nACC-7/3\r\n24A00117\r\n1.2.840.113619.2.55.3.604688119.969\r\n';
    expect(parse(text)).toEqual({ accessions: ['24A00117', 'ACC-7/3'], studyInstanceUids: ['1.2.840.113619.2.55.3.604688119.969'] });
    expect(parse('Accession Number\n03086212\n')).toEqual({ accessions: ['03086212'], studyInstanceUids: [] });
    // a header word after the first value is a value
    expect(parse('03086212\nAccession\n')).toEqual({ accessions: ['03086212', 'Accession'], studyInstanceUids: [] });
  });

  it('refuses, naming the line, several columns, an invalid UID, an accession number that cannot be an exact key; and a file listing nothing', () => {
    expect(refusal('AccessionNumber\n24A00117\n24A00118,TRIAL07-0042\n')).toBe('E_USAGE cohort.csv line 3: "24A00118,TRIAL07-0042" is not one accession number or StudyInstanceUID: one value per line (export the one column alone)');
    expect(refusal('24A00117\t99017\n')).toMatch(/^E_USAGE cohort\.csv line 1: /);
    expect(refusal('1.2.840.0113619\n')).toMatch(/^E_USAGE cohort\.csv line 1: "1\.2\.840\.0113619" is digits and dots, so a StudyInstanceUID, but not a valid one/);
    expect(refusal('1..2\n')).toMatch(/^E_USAGE cohort\.csv line 1: .* not a valid one/);
    expect(refusal(`1.${'2'.repeat(63)}\n`)).toMatch(/not a valid one/);
    expect(refusal('# x\n\n24A*\n')).toBe('E_USAGE cohort.csv line 3: "24A*" is not an accession number: it holds a backslash or a wildcard (* ?): accession numbers are matched exactly');
    expect(refusal('ABCDEFGHIJKLMNOPQ\n')).toMatch(/line 1: .* it is 17 characters long/);
    expect(refusal('""\n')).toBe('E_USAGE cohort.csv line 1: "" is not an accession number: it is empty');
    expect(refusal('StudyInstanceUID\n# none yet\n\n')).toBe('E_USAGE cohort.csv lists no accession number or StudyInstanceUID');
  });

  it('--accession takes an exact key only', () => {
    expect(checkAccessionNumber('24A00117')).toBe('24A00117');
    expect(() => checkAccessionNumber('24A?0117')).toThrow(/--accession "24A\?0117" is not an accession number: it holds a backslash or a wildcard/);
    expect(() => checkAccessionNumber(' 24A00117')).toThrow(/starts or ends with a space/);
    expect(() => checkAccessionNumber('')).toThrow(/it is empty/);
  });
});
