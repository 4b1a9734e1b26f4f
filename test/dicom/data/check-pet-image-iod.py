"""
Checks that DICOM files are valid PET Image instances (1.2.840.10008.5.1.4.1.1.128, PS3.3 A.21),
with pydicom and a list of the modules' Type 1, 1C, 2 and 2C attributes written out from the
standard's tables, not from lowdose's code:

  SOP Common              C.12.1   Table C.12-1
  Patient                 C.7.1.1  Table C.7-1
  General Study           C.7.2.1  Table C.7-3
  General Series          C.7.3.1  Table C.7-5a
  PET Series              C.8.9.1  Table C.8-60
  PET Isotope             C.8.9.2  Table C.8-61
  NM/PET Patient Orient.  C.8.4.6  Table C.8-27
  Frame of Reference      C.7.4.1  Table C.7-6
  General Equipment       C.7.5.1  Table C.7-8
  General Image           C.7.6.1  Table C.7-9
  Image Plane             C.7.6.2  Table C.7-10
  Image Pixel             C.7.6.3  Table C.7-11a
  PET Image               C.8.9.4  Table C.8-63 (with C.8.9.4.1.1: Image Type value 2 PRIMARY)

Type 1: present with a value; Type 2: present, empty allowed; 1C / 2C when their condition
holds (as the tables word it). Also checks the values the tables enumerate, and across the files
of one series that ImageIndex is unique and within NumberOfSlices x NumberOfTimeSlices.

Usage: /usr/bin/python3 check-pet-image-iod.py <file>...   prints JSON {path: [problems]}
"""
import json
import sys

import pydicom

PET_IMAGE = '1.2.840.10008.5.1.4.1.1.128'

TYPE1 = [
    # C.12.1
    'SOPClassUID', 'SOPInstanceUID',
    # C.7.2.1
    'StudyInstanceUID',
    # C.7.3.1
    'Modality', 'SeriesInstanceUID',
    # C.8.9.1
    'SeriesDate', 'SeriesTime', 'Units', 'CountsSource', 'SeriesType', 'NumberOfSlices', 'DecayCorrection',
    # C.7.4.1
    'FrameOfReferenceUID',
    # C.7.6.2
    'PixelSpacing', 'ImageOrientationPatient', 'ImagePositionPatient',
    # C.7.6.3
    'SamplesPerPixel', 'PhotometricInterpretation', 'Rows', 'Columns', 'BitsAllocated', 'BitsStored', 'HighBit',
    'PixelRepresentation', 'PixelData',
    # C.8.9.4
    'ImageType', 'RescaleIntercept', 'RescaleSlope', 'FrameReferenceTime', 'ImageIndex',
]

TYPE2 = [
    # C.7.1.1
    'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex',
    # C.7.2.1
    'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber',
    # C.7.3.1
    'SeriesNumber',
    # C.8.9.1
    'CorrectedImage', 'CollimatorType',
    # C.8.9.2
    'RadiopharmaceuticalInformationSequence',
    # C.8.4.6
    'PatientOrientationCodeSequence', 'PatientGantryRelationshipCodeSequence',
    # C.7.4.1
    'PositionReferenceIndicator',
    # C.7.5.1
    'Manufacturer',
    # C.7.6.1
    'InstanceNumber',
    # C.7.6.2
    'SliceThickness',
    # C.8.9.4
    'AcquisitionDate', 'AcquisitionTime', 'ActualFrameDuration',
]

SERIES_TYPE_1 = {'STATIC', 'DYNAMIC', 'GATED', 'WHOLE BODY'}
SERIES_TYPE_2 = {'IMAGE', 'REPROJECTION'}
UNITS = {'CNTS', 'NONE', 'CM2', 'CM2ML', 'PCNT', 'CPS', 'BQML', 'MGMINML', 'UMOLMINML', 'MLMING', 'MLG', '1CM', 'UMOLML',
         'PROPCNTS', 'PROPCPS', 'MLMINML', 'MLML', 'GML', 'STDDEV'}
DECAY_CORRECTION = {'NONE', 'START', 'ADMIN'}
COUNTS_SOURCE = {'EMISSION', 'TRANSMISSION'}


def has_value(ds, keyword):
    if keyword not in ds:
        return False
    value = ds[keyword].value
    if value is None:
        return False
    if isinstance(value, (str, bytes, list, pydicom.sequence.Sequence, pydicom.multival.MultiValue)):
        return len(value) > 0
    return True


def values(ds, keyword):
    value = ds.get(keyword)
    if value is None:
        return []
    if isinstance(value, (pydicom.multival.MultiValue, list)):
        return [str(v).strip().upper() for v in value]
    return [str(value).strip().upper()]


def check(ds):
    problems = []
    for keyword in TYPE1:
        if not has_value(ds, keyword):
            problems.append(f'Type 1 {keyword} missing or empty')
    for keyword in TYPE2:
        if keyword not in ds:
            problems.append(f'Type 2 {keyword} missing')
    if ds.get('SOPClassUID') != PET_IMAGE:
        problems.append(f'SOPClassUID {ds.get("SOPClassUID")} is not PET Image Storage')
    if ds.get('Modality') != 'PT':
        problems.append(f'Modality {ds.get("Modality")} is not PT')
    series_type = values(ds, 'SeriesType')
    if len(series_type) != 2 or series_type[0] not in SERIES_TYPE_1 or series_type[1] not in SERIES_TYPE_2:
        problems.append(f'SeriesType {series_type} is not two values of C.8.9.1.1.4')
    kind = series_type[0] if series_type else ''
    # C.8.9.1: 1C / 2C.
    if kind == 'DYNAMIC' and not has_value(ds, 'NumberOfTimeSlices'):
        problems.append('Type 1C NumberOfTimeSlices missing (Series Type DYNAMIC)')
    if kind != 'DYNAMIC' and 'NumberOfTimeSlices' in ds:
        problems.append('NumberOfTimeSlices present though Series Type is not DYNAMIC')
    if kind == 'GATED':
        for keyword in ['NumberOfRRIntervals', 'NumberOfTimeSlots', 'TriggerTime', 'FrameTime']:
            if not has_value(ds, keyword):
                problems.append(f'Type 1C {keyword} missing (Series Type GATED)')
    if len(series_type) > 1 and series_type[1] == 'REPROJECTION' and 'ReprojectionMethod' not in ds:
        problems.append('Type 2C ReprojectionMethod missing (Series Type REPROJECTION)')
    for keyword, allowed in [('Units', UNITS), ('DecayCorrection', DECAY_CORRECTION), ('CountsSource', COUNTS_SOURCE)]:
        for v in values(ds, keyword):
            if v not in allowed:
                problems.append(f'{keyword} {v} is not a defined term')
    # C.8.9.4: Decay Factor 1C, required if Decay Correction is other than NONE.
    if values(ds, 'DecayCorrection') not in ([], ['NONE']) and not has_value(ds, 'DecayFactor'):
        problems.append('Type 1C DecayFactor missing (Decay Correction is not NONE)')
    # C.8.9.4 enumerated values and C.8.9.4.1.1.
    image_type = values(ds, 'ImageType')
    if len(image_type) < 2 or image_type[0] not in {'ORIGINAL', 'DERIVED'} or image_type[1] != 'PRIMARY':
        problems.append(f'ImageType {image_type}: value 1 ORIGINAL or DERIVED, value 2 PRIMARY (C.8.9.4.1.1)')
    if ds.get('SamplesPerPixel') != 1:
        problems.append('SamplesPerPixel is not 1')
    if ds.get('PhotometricInterpretation') != 'MONOCHROME2':
        problems.append('PhotometricInterpretation is not MONOCHROME2')
    if ds.get('BitsAllocated') != 16 or ds.get('BitsStored') != ds.get('BitsAllocated') or ds.get('HighBit') != 15:
        problems.append('Bits Allocated / Stored / High Bit are not 16 / 16 / 15')
    if has_value(ds, 'RescaleIntercept') and float(ds.RescaleIntercept) != 0:
        problems.append(f'RescaleIntercept {ds.RescaleIntercept} is not 0')
    return problems


def main(paths):
    out = {}
    datasets = {}
    for path in paths:
        ds = pydicom.dcmread(path)
        datasets[path] = ds
        out[path] = check(ds)
    # Across the series: ImageIndex unique and within NumberOfSlices x NumberOfTimeSlices.
    seen = {}
    for path, ds in datasets.items():
        if not has_value(ds, 'ImageIndex') or not has_value(ds, 'NumberOfSlices'):
            continue
        index = int(ds.ImageIndex)
        limit = int(ds.NumberOfSlices) * (int(ds.NumberOfTimeSlices) if has_value(ds, 'NumberOfTimeSlices') else 1)
        if not 1 <= index <= limit:
            out[path].append(f'ImageIndex {index} outside 1..{limit}')
        if index in seen:
            out[path].append(f'ImageIndex {index} also in {seen[index]}')
        seen[index] = path
    print(json.dumps(out))


main(sys.argv[1:])
