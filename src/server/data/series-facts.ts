/**
 * The few header facts the server needs beyond `Series` to pair series and label them: how a
 * series was made (ImageType, DerivationDescription, SourceImageSequence) and how to show it
 * (study description and date, default window). Read from the first slice's file only. Patient
 * name and ID are deliberately not read: the API never carries them.
 */
import { getItems, getNumbers, getString, getStrings } from '../../dicom/attributes.js';
import { readDicomFile, type Series } from '../../dicom/index.js';

const TAGS = {
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
  /** SOPInstanceUIDs the first slice was derived from (SourceImageSequence). */
  readonly sourceSopInstanceUids: string[];
}

export async function readSeriesFacts(series: Series): Promise<SeriesFacts> {
  const first = series.slices[0];
  if (!first) return emptyFacts();
  const { dataSet } = await readDicomFile(first.file);
  const centre = getNumbers(dataSet, TAGS.WindowCenter, 'DS')[0];
  const width = getNumbers(dataSet, TAGS.WindowWidth, 'DS')[0];
  const seriesNumber = getNumbers(dataSet, TAGS.SeriesNumber, 'IS')[0];
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
    sourceSopInstanceUids: getItems(dataSet, TAGS.SourceImageSequence)
      .map((item) => getString(item, TAGS.ReferencedSOPInstanceUID))
      .filter((uid): uid is string => uid !== undefined),
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
    sourceSopInstanceUids: [],
  };
}
