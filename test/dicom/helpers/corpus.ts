/** Where the shared real-world DICOM corpus lives (../shared/dicom beside the repository). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const CORPUS = fileURLToPath(new URL('../../../../shared/dicom/', import.meta.url));

export function corpusPath(relative: string): string {
  return join(CORPUS, relative);
}

export interface ReferenceRow {
  path: string;
  modality: string;
  transferSyntax: string;
  lossless: boolean;
  rows: number;
  columns: number;
  frames: number;
  bitsAllocated: number;
  pixelRepresentation: number;
  slope: number;
  intercept: number;
  storedMin: number;
  storedMax: number;
  storedMean: number;
  modalityMeanFrame0: number;
  sha256: string;
}

export function referenceRows(): ReferenceRow[] {
  const lines = readFileSync(join(CORPUS, 'REFERENCE.tsv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const c = line.split('\t');
    return {
      path: c[0]!,
      modality: c[1]!,
      transferSyntax: c[2]!,
      lossless: c[3] === 'yes',
      rows: Number(c[4]),
      columns: Number(c[5]),
      frames: Number(c[6]),
      bitsAllocated: Number(c[7]),
      pixelRepresentation: Number(c[8]),
      slope: Number(c[9]),
      intercept: Number(c[10]),
      storedMin: Number(c[11]),
      storedMax: Number(c[12]),
      storedMean: Number(c[13]),
      modalityMeanFrame0: Number(c[14]),
      sha256: c[15]!,
    };
  });
}
