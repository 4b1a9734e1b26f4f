/**
 * A series on a remote DICOM server as both protocols see it: found on it (QIDO-RS or C-FIND),
 * pulled from it into a folder (WADO-RS or C-GET / C-MOVE) and stored back to it (STOW-RS or
 * C-STORE). One set of shapes, so `denoise <url>`, `denoise dimse://...` and `serve --dicomweb`
 * report pulls and stores alike (src/dicomweb/study.ts, src/dimse/study.ts).
 */

export interface RemoteSeries {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly description: string;
  readonly seriesNumber: number | null;
  readonly instances: number | null;
  /** The series' address: a DICOMweb URL, or `dimse://AET@host:port/<study>/<series>`. */
  readonly url: string;
}

export interface PulledSeries {
  readonly seriesInstanceUid: string;
  readonly url: string;
  readonly modality: string;
  /** Instances the server listed and this run has on disk (retrieved now or by an earlier run). */
  readonly instances: number;
  readonly retrieved: number;
  readonly dir: string;
}

export interface StoredSeries {
  readonly kind: 'denoised' | 'uncertainty';
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly url: string;
  readonly instances: number;
}
