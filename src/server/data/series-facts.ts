/**
 * The few header facts the server needs beyond `Series` to pair series and label them: how a
 * series was made (ImageType, DerivationDescription, SourceImageSequence) and how to show it
 * (study description and date, default window, slice thickness, and the patient's name and ID
 * for the viewer's overlay), and which software and model made it (the lowdose item of its
 * Contributing Equipment Sequence). Read from the first slice's file only. The patient's name and ID go
 * to `GET /api/series/:id` alone, never into a log line, a list or an error message.
 */
import { getItems, getNumbers, getString, getStrings } from '../../dicom/attributes.js';
import { readDicomFile, type Series } from '../../dicom/index.js';
import type { StatedCount } from '../../dicom/contributing-equipment.js';
import { lowdoseCompletionMarker, lowdoseContribution, lowdoseStatedCount, type LowdoseContribution } from '../../dicom/read-contributing-equipment.js';

const TAGS = {
  PatientName: 'x00100010',
  PatientID: 'x00100020',
  SliceThickness: 'x00180050',
  ImageType: 'x00080008',
  StudyDate: 'x00080020',
  StudyDescription: 'x00081030',
  DerivationDescription: 'x00082111',
  SourceImageSequence: 'x00082112',
  ReferencedSOPInstanceUID: 'x00081155',
  SeriesNumber: 'x00200011',
  FrameOfReferenceUID: 'x00200052',
  WindowCenter: 'x00281050',
  WindowWidth: 'x00281051',
  WindowCenterWidthExplanation: 'x00281055',
} as const;

export interface SeriesFacts {
  readonly imageType: string[];
  readonly derivationDescription: string;
  readonly studyDescription: string;
  /** DICOM DA (YYYYMMDD), '' when absent. */
  readonly studyDate: string;
  readonly seriesNumber: number | null;
  readonly frameOfReferenceUid: string;
  /** The file's first VOI window [centre, width], when it has one. */
  readonly window: [number, number] | null;
  /** The first window's WindowCenterWidthExplanation, '' when absent (an uncertainty series says there what it holds: src/dicom/sigma-window.ts). */
  readonly windowExplanation: string;
  /** SOPInstanceUIDs the first slice was derived from (SourceImageSequence). */
  readonly sourceSopInstanceUids: string[];
  /** PatientName as stored (PN, components joined by ^), '' when absent. */
  readonly patientName: string;
  readonly patientId: string;
  /** SliceThickness (mm) of the first slice, null when absent. */
  readonly sliceThickness: number | null;
  /** Which lowdose model or method and version made the series; null for a series without that item. */
  readonly provenance: LowdoseContribution | null;
  /**
   * The completion marker its lowdose run writes once the series is finished, relative to its
   * folder (SoftwareVersions `completion marker <name>`, src/pipeline/output-markers.ts); null when
   * it names none (written before markers were named, or by other software).
   */
  readonly completionMarker: string | null;
  /**
   * How many files the whole series has, as its files state next to the marker (SoftwareVersions
   * `series of 7 files numbered 1-7`, `frame of 7 files`); null when they state none.
   */
  readonly statedCount: StatedCount | null;
}

export async function readSeriesFacts(series: Series): Promise<SeriesFacts> {
  const first = series.slices[0];
  if (!first) return emptyFacts();
  const { dataSet } = await readDicomFile(first.file);
  const centre = getNumbers(dataSet, TAGS.WindowCenter, 'DS')[0];
  const width = getNumbers(dataSet, TAGS.WindowWidth, 'DS')[0];
  const seriesNumber = getNumbers(dataSet, TAGS.SeriesNumber, 'IS')[0];
  const thickness = getNumbers(dataSet, TAGS.SliceThickness, 'DS')[0];
  return {
    imageType: getStrings(dataSet, TAGS.ImageType).map((s) => s.toUpperCase()),
    derivationDescription: getString(dataSet, TAGS.DerivationDescription) ?? '',
    studyDescription: getString(dataSet, TAGS.StudyDescription) ?? '',
    studyDate: getString(dataSet, TAGS.StudyDate) ?? '',
    seriesNumber: seriesNumber !== undefined && Number.isFinite(seriesNumber) ? seriesNumber : null,
    frameOfReferenceUid: getString(dataSet, TAGS.FrameOfReferenceUID) ?? '',
    window:
      centre !== undefined && width !== undefined && Number.isFinite(centre) && Number.isFinite(width) && width > 0
        ? [centre, width]
        : null,
    windowExplanation: getStrings(dataSet, TAGS.WindowCenterWidthExplanation)[0] ?? '',
    sourceSopInstanceUids: getItems(dataSet, TAGS.SourceImageSequence)
      .map((item) => getString(item, TAGS.ReferencedSOPInstanceUID))
      .filter((uid): uid is string => uid !== undefined),
    patientName: getString(dataSet, TAGS.PatientName) ?? '',
    patientId: getString(dataSet, TAGS.PatientID) ?? '',
    sliceThickness: thickness !== undefined && Number.isFinite(thickness) && thickness > 0 ? thickness : null,
    provenance: lowdoseContribution(dataSet),
    completionMarker: lowdoseCompletionMarker(dataSet),
    statedCount: lowdoseStatedCount(dataSet),
  };
}

function emptyFacts(): SeriesFacts {
  return {
    imageType: [],
    derivationDescription: '',
    studyDescription: '',
    studyDate: '',
    seriesNumber: null,
    frameOfReferenceUid: '',
    window: null,
    windowExplanation: '',
    sourceSopInstanceUids: [],
    patientName: '',
    patientId: '',
    sliceThickness: null,
    provenance: null,
    completionMarker: null,
    statedCount: null,
  };
}
