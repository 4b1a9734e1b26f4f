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
  PET Multi-gated Acq.    C.8.9.3  Table C.8-62 (required when Series Type value 1 is GATED)
  PET Image               C.8.9.4  Table C.8-63 (with C.8.9.4.1.1: Image Type value 2 PRIMARY)

Type 1: present with a value; Type 2: present, empty allowed; 1C / 2C when their condition
holds (as the tables word it). Also checks the values the tables enumerate, and across the files
of each series (grouped by SeriesInstanceUID) what makes it one classic PET series a reader can
measure: the PET Series and PET Isotope modules are series-level, so every file carries the same
values of them (one radiopharmaceutical, one Series Type, one series reference time, ...);
InstanceNumber and ImageIndex are unique, ImageIndex within NumberOfSlices x NumberOfTimeSlices
(DYNAMIC) or x NumberOfRRIntervals x NumberOfTimeSlots (GATED); NumberOfSlices is at least the
number of distinct positions along the slice normal (a series written in part may have fewer), and
the slice ImageIndex gives (C.8.9.4.1.9: the
remainder by NumberOfSlices) is the same for the files at one position and differs between
positions; the images of one gate (GATED) share their TriggerTime; the time slices of a DYNAMIC
series are different times: two images at one position in different time slices do not share their
Frame Reference Time (C.8.9.4: the time the pixel values occurred), which frames taken over the
same span, as the gates of a respiratory-gated acquisition are, would.

With --source <multi-frame file> (repeatable), each derived file's Source Image Sequence names its
source frame (Referenced SOP Instance UID, Referenced Frame Number), and a series holds frames of
one respiratory gate of the source only: one set of the values of their Respiratory Synchronization
functional groups (0020,9253), since no classic PET attribute tells a respiratory gate, and one
radiopharmaceutical (Radiopharmaceutical Usage Sequence (0018,9737)), since a classic series has
one PET Isotope Module.

Usage: /usr/bin/python3 check-pet-image-iod.py [--source <file>]... <file>...   prints JSON {path: [problems]}
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
        # C.8.9.3 PET Multi-gated Acquisition Module, required for GATED: Beat Rejection Flag Type 2, Y / N.
        if 'BeatRejectionFlag' not in ds:
            problems.append('Type 2 BeatRejectionFlag missing (PET Multi-gated Acquisition Module, Series Type GATED)')
        flag = [v for v in values(ds, 'BeatRejectionFlag') if v]  # Type 2: empty is allowed
        if flag not in ([], ['Y'], ['N']):
            problems.append(f'BeatRejectionFlag {flag} is not Y or N')
        if flag == ['Y']:
            for keyword in ['LowRRValue', 'HighRRValue']:
                if not has_value(ds, keyword):
                    problems.append(f'Type 1C {keyword} missing (Series Type GATED, Beat Rejection Flag Y)')
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


SERIES_LEVEL = ['SeriesType', 'NumberOfSlices', 'NumberOfTimeSlices', 'NumberOfRRIntervals', 'NumberOfTimeSlots', 'Units',
                'DecayCorrection', 'SeriesDate', 'SeriesTime', 'CountsSource', 'BeatRejectionFlag']
ISOTOPE = ['RadiopharmaceuticalAgentNumber', 'RadionuclideTotalDose', 'RadionuclideHalfLife', 'RadiopharmaceuticalStartDateTime',
           'RadiopharmaceuticalStartTime', 'Radiopharmaceutical']


def isotope(ds):
    """The PET Isotope Module's radiopharmaceuticals as comparable text."""
    items = ds.get('RadiopharmaceuticalInformationSequence') or []
    out = []
    for item in items:
        codes = [str(c.get('CodeValue', '')) for c in (item.get('RadionuclideCodeSequence') or [])]
        out.append(tuple([str(item.get(k, '')).strip() for k in ISOTOPE] + codes))
    return tuple(out)


def location(ds):
    o = [float(v) for v in ds.ImageOrientationPatient]
    p = [float(v) for v in ds.ImagePositionPatient]
    n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]]
    return round(sum(a * b for a, b in zip(p, n)), 3)


def check_series(files, out):
    """Checks across the files of one series (see the header); problems go to each file concerned."""
    first_path, first = files[0]
    for keyword in SERIES_LEVEL:
        found = {tuple(values(ds, keyword)) for _, ds in files}
        if len(found) > 1:
            out[first_path].append(f'series-level {keyword} differs between the files of the series: {sorted(found)}')
    agents = {isotope(ds) for _, ds in files}
    if len(agents) > 1:
        out[first_path].append(f'the files of the series carry {len(agents)} different PET Isotope Modules (radiopharmaceuticals): {sorted(agents)}')
    instance_seen = {}
    for path, ds in files:
        if has_value(ds, 'InstanceNumber'):
            number = int(ds.InstanceNumber)
            if number in instance_seen:
                out[path].append(f'InstanceNumber {number} also in {instance_seen[number]}')
            instance_seen[number] = path
    seen = {}
    slice_of_position = {}
    position_of_slice = {}
    trigger_of_gate = {}
    slice_of_reference = {}
    for path, ds in files:
        if not has_value(ds, 'ImageIndex') or not has_value(ds, 'NumberOfSlices'):
            continue
        index = int(ds.ImageIndex)
        slices = int(ds.NumberOfSlices)
        kind = (values(ds, 'SeriesType') or [''])[0]
        if kind == 'GATED' and has_value(ds, 'NumberOfRRIntervals') and has_value(ds, 'NumberOfTimeSlots'):
            frames = int(ds.NumberOfRRIntervals) * int(ds.NumberOfTimeSlots)
        elif kind == 'DYNAMIC' and has_value(ds, 'NumberOfTimeSlices'):
            frames = int(ds.NumberOfTimeSlices)
        else:
            frames = 1
        limit = slices * frames
        if not 1 <= index <= limit:
            out[path].append(f'ImageIndex {index} outside 1..{limit}')
        if index in seen:
            out[path].append(f'ImageIndex {index} also in {seen[index]}')
        seen[index] = path
        if has_value(ds, 'ImagePositionPatient') and has_value(ds, 'ImageOrientationPatient'):
            at = location(ds)
            slice_index = (index - 1) % slices + 1
            if slice_of_position.setdefault(at, slice_index) != slice_index:
                out[path].append(f'ImageIndex {index} gives slice {slice_index} at {at} mm, where another file gives slice {slice_of_position[at]}')
            if position_of_slice.setdefault(slice_index, at) != at:
                out[path].append(f'ImageIndex {index} gives slice {slice_index} at {at} mm, which another file gives at {position_of_slice[slice_index]} mm')
        if kind == 'DYNAMIC' and has_value(ds, 'FrameReferenceTime') and has_value(ds, 'ImagePositionPatient') and has_value(ds, 'ImageOrientationPatient'):
            time_slice = (index - 1) // slices + 1
            key = (location(ds), float(ds.FrameReferenceTime))
            other = slice_of_reference.setdefault(key, time_slice)
            if other != time_slice:
                out[path].append(f'time slices {other} and {time_slice} at {key[0]} mm share FrameReferenceTime {key[1]} ms: not different times of a DYNAMIC series')
        if kind == 'GATED' and has_value(ds, 'TriggerTime'):
            gate = (index - 1) // slices + 1
            trigger = float(ds.TriggerTime)
            if trigger_of_gate.setdefault(gate, trigger) != trigger:
                out[path].append(f'gate {gate} (ImageIndex {index}) has TriggerTime {trigger}, another image of it {trigger_of_gate[gate]}')
    if slice_of_position:
        # Fewer positions than NumberOfSlices is a series written in part; more cannot be.
        declared = {int(ds.NumberOfSlices) for _, ds in files if has_value(ds, 'NumberOfSlices')}
        for n in declared:
            if n < len(slice_of_position):
                out[first_path].append(f'NumberOfSlices {n}, but the series has {len(slice_of_position)} positions along the normal')


RESPIRATORY = ['NominalPercentageOfRespiratoryPhase', 'NominalRespiratoryTriggerDelayTime', 'StartingRespiratoryAmplitude',
               'StartingRespiratoryPhase', 'EndingRespiratoryAmplitude', 'EndingRespiratoryPhase']


def frame_group(src, frame, keyword):
    """The first item of a functional group of one frame (per-frame, else shared), or None."""
    for holder in (src.PerFrameFunctionalGroupsSequence[frame], (src.get('SharedFunctionalGroupsSequence') or [None])[0]):
        if holder is not None and holder.get(keyword):
            return holder.get(keyword)[0]
    return None


def source_frames(paths):
    """(SOP Instance UID, frame number) -> the frame's respiratory gate and agents, of each multi-frame source."""
    frames = {}
    for path in paths:
        src = pydicom.dcmread(path)
        for k in range(len(src.PerFrameFunctionalGroupsSequence)):
            sync = frame_group(src, k, 'RespiratorySynchronizationSequence')
            gate = tuple(str(sync.get(w, '')) for w in RESPIRATORY) if sync is not None else None
            usage = frame_group(src, k, 'RadiopharmaceuticalUsageSequence')
            agent = str(usage.get('RadiopharmaceuticalAgentNumber', '')) if usage is not None else ''
            frames[(str(src.SOPInstanceUID), k + 1)] = {'gate': gate, 'agent': agent}
    return frames


def check_sources(files, frames, out):
    """One respiratory gate and one agent of the source per derived series (see the header)."""
    gates, agents = {}, {}
    for path, ds in files:
        for item in ds.get('SourceImageSequence') or []:
            key = (str(item.ReferencedSOPInstanceUID), int(item.get('ReferencedFrameNumber', 1)))
            if key in frames:
                gates.setdefault(frames[key]['gate'], path)
                agents.setdefault(frames[key]['agent'], path)
    first_path = files[0][0]
    if len(gates) > 1:
        out[first_path].append(f'the series holds frames of {len(gates)} respiratory gates of the source: {sorted(map(str, gates))}')
    if len(agents) > 1:
        out[first_path].append(f'the series holds frames of {len(agents)} radiopharmaceuticals of the source: {sorted(agents)}')


def main(args):
    sources = [args[i + 1] for i, a in enumerate(args) if a == '--source']
    paths = [a for i, a in enumerate(args) if a != '--source' and (i == 0 or args[i - 1] != '--source')]
    frames = source_frames(sources)
    out = {}
    series = {}
    for path in paths:
        ds = pydicom.dcmread(path)
        out[path] = check(ds)
        series.setdefault(str(ds.get('SeriesInstanceUID', path)), []).append((path, ds))
    for files in series.values():
        check_series(files, out)
        check_sources(files, frames, out)
    print(json.dumps(out))


main(sys.argv[1:])
