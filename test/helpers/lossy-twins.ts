/**
 * The corpus' lossy-compressed CT slices, each with the same slice stored losslessly (its twin),
 * paths relative to ../shared/dicom. The twin's padding and out-of-field mask is the truth the
 * lossy slice's mask is measured against (test/dicom/out-of-field.test.ts,
 * scripts/dev/lossy-out-of-field.ts).
 */
const TEST_IMAGES = 'cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/';

/** JPEG 2000 at ratio 69, PixelPaddingValue -2000: 2 284 of the 55 772 fill pixels still hold it. */
export const CT1_J2KI_TWIN = ['fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/CT1_J2KI', `${TEST_IMAGES}CT1_J2KR`] as const;

/** JPEG 2000 at ratio 339: the fill moved by up to 2080 stored values. */
export const J2KI_693_TWIN = ['pydicom__pydicom/src/pydicom/data/test_files/693_J2KI.dcm', 'pydicom__pydicom-data/data_store/data/693_UNCR.dcm'] as const;

/** GE declaring -32768 and filling -2000, in JPEG 2000, JPEG-LS near-lossless and four JPEG processes. */
export const CTIMAGE_LOSSY_TWINS: readonly (readonly [string, string])[] = [
  'JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91',
  'JPEGLSLossyTransferSyntax_1.2.840.10008.1.2.4.81',
  'JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50',
  'JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51',
  'JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53',
  'JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55',
].map((syntax) => [`${TEST_IMAGES}CTImage.dcm_${syntax}.dcm`, `${TEST_IMAGES}CTImage.dcm`] as const);
