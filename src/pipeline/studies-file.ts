/**
 * `--studies-from <file>` and `--accession <number>`: the studies of a cohort named by accession
 * number or StudyInstanceUID, as a trial spreadsheet lists them. The file is read strictly, before
 * any query: one value per line (optionally in double quotes); blank lines, `#` comment lines and
 * one header line (`AccessionNumber`, `Accession`, `StudyInstanceUID`, `UID`, ...) are skipped; a
 * value of digits and dots with at least one dot is a StudyInstanceUID (it must be a valid UID),
 * anything else an accession number (DICOM SH: at most 16 characters, no backslash, no wildcard).
 * Any other line is E_USAGE naming its number.
 */
import { readFile } from 'node:fs/promises';
import { LowdoseError } from '../errors.js';

/** Studies named one by one: each is its own query (with the run's other keys), reported on its own. */
export interface StudyIdentifiers {
  readonly accessions: readonly string[];
  readonly studyInstanceUids: readonly string[];
}

const UID_LIKE = /^[0-9.]+$/;
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
const HEADER = /^(accession([ _-]?(number|no\.?|nr|#))?|study[ _-]?instance[ _-]?uid|study[ _-]?uid|uid)$/i;

/** Why `value` is not an accession number usable as an exact C-FIND / QIDO-RS key, or null. */
function accessionProblem(value: string): string | null {
  if (value === '') return 'it is empty';
  if (value.length > 16) return `it is ${value.length} characters long (an accession number, DICOM SH, has at most 16)`;
  if (/[\\*?]/.test(value)) return 'it holds a backslash or a wildcard (* ?): accession numbers are matched exactly';
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return 'it holds a control character';
  if (value !== value.trim()) return 'it starts or ends with a space';
  return null;
}

/** An accession number given with `--accession`: E_USAGE when it cannot be an exact key. */
export function checkAccessionNumber(value: string): string {
  const problem = accessionProblem(value);
  if (problem !== null) throw new LowdoseError('E_USAGE', `--accession "${value}" is not an accession number: ${problem}`);
  return value;
}

/** The identifiers a studies file lists, in its order, each once; see the module comment. */
export function parseStudiesFile(text: string, name: string): StudyIdentifiers {
  const accessions: string[] = [];
  const uids: string[] = [];
  let first = true;
  for (const [index, raw] of text.replace(/^\uFEFF/, '').split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${name} line ${index + 1}`;
    const quoted = /^"([^"]*)"$/.exec(line);
    const value = quoted ? quoted[1]!.trim() : line;
    if (/[,;\t"]/.test(value)) {
      throw new LowdoseError('E_USAGE', `${where}: "${line}" is not one accession number or StudyInstanceUID: one value per line (export the one column alone)`);
    }
    const isFirst = first;
    first = false;
    if (isFirst && HEADER.test(value)) continue;
    if (UID_LIKE.test(value) && value.includes('.')) {
      if (!UID.test(value) || value.length > 64) {
        throw new LowdoseError('E_USAGE', `${where}: "${value}" is digits and dots, so a StudyInstanceUID, but not a valid one (no empty or zero-led component, at most 64 characters)`);
      }
      if (!uids.includes(value)) uids.push(value);
      continue;
    }
    const problem = accessionProblem(value);
    if (problem !== null) throw new LowdoseError('E_USAGE', `${where}: "${value}" is not an accession number: ${problem}`);
    if (!accessions.includes(value)) accessions.push(value);
  }
  if (accessions.length + uids.length === 0) throw new LowdoseError('E_USAGE', `${name} lists no accession number or StudyInstanceUID`);
  return { accessions, studyInstanceUids: uids };
}

/** Reads and parses a studies file; a file that cannot be read is E_USAGE. */
export async function readStudiesFile(file: string): Promise<StudyIdentifiers> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new LowdoseError('E_USAGE', `--studies-from ${file}: cannot read it: ${(error as Error).message}`, { path: file });
  }
  return parseStudiesFile(text, file);
}

/**
 * The studies `--accession` (each checked) and `--studies-from` (read and checked) name together,
 * each accession number and StudyInstanceUID once: read before any query, so a bad value stops the
 * run before the PACS is asked anything.
 */
export async function namedStudies(options: { readonly accession?: readonly string[]; readonly studiesFrom?: string }): Promise<StudyIdentifiers> {
  const fromFile = options.studiesFrom !== undefined ? await readStudiesFile(options.studiesFrom) : { accessions: [], studyInstanceUids: [] };
  const given = (options.accession ?? []).map(checkAccessionNumber);
  return { accessions: [...new Set([...given, ...fromFile.accessions])], studyInstanceUids: fromFile.studyInstanceUids };
}
