/**
 * The one import of dicom-parser, with types for the parts its own declarations leave out
 * (the DataSet constructor). Everything in src/dicom that needs the parser imports it from here.
 */
import dicomParserDefault from 'dicom-parser';
import type { ByteArrayParser, ByteStream, DataSet, Element, Fragment } from 'dicom-parser';

export type { ByteArrayParser, ByteStream, DataSet, Element, Fragment };

interface DicomParserModule {
  ByteStream: typeof import('dicom-parser').ByteStream;
  DataSet: new (parser: ByteArrayParser, byteArray: Uint8Array, elements: Record<string, Element>) => DataSet;
  littleEndianByteArrayParser: ByteArrayParser;
  bigEndianByteArrayParser: ByteArrayParser;
  readDicomElementExplicit: typeof import('dicom-parser').readDicomElementExplicit;
  readDicomElementImplicit: typeof import('dicom-parser').readDicomElementImplicit;
  readSequenceItem: typeof import('dicom-parser').readSequenceItem;
  readTag: typeof import('dicom-parser').readTag;
  parseDicomDataSetExplicit: typeof import('dicom-parser').parseDicomDataSetExplicit;
  parseDicomDataSetImplicit: typeof import('dicom-parser').parseDicomDataSetImplicit;
  readEncapsulatedImageFrame: typeof import('dicom-parser').readEncapsulatedImageFrame;
  readEncapsulatedPixelDataFromFragments: typeof import('dicom-parser').readEncapsulatedPixelDataFromFragments;
}

export const dicomParser = dicomParserDefault as unknown as DicomParserModule;
