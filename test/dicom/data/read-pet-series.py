"""
A PET series folder as pydicom reads it (not with lowdose's code): per file the identity, the frame
attributes of a dynamic or gated series, the source image it names and its pixels in Bq/ml
(stored x RescaleSlope + RescaleIntercept), as JSON on stdout.

Usage: /usr/bin/python3 test/dicom/data/read-pet-series.py <folder> [--no-pixels]
"""
import json
import os
import sys

import pydicom

FRAME_ATTRIBUTES = ['SeriesType', 'NumberOfSlices', 'NumberOfTimeSlices', 'NumberOfRRIntervals', 'NumberOfTimeSlots',
                    'ImageIndex', 'AcquisitionTime', 'FrameReferenceTime', 'ActualFrameDuration', 'TriggerTime',
                    'FrameTime', 'LowRRValue', 'HighRRValue', 'SeriesTime', 'DecayCorrection', 'Units']


def plain(value):
    if isinstance(value, pydicom.multival.MultiValue):
        return [plain(v) for v in value]
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


folder = sys.argv[1]
with_pixels = '--no-pixels' not in sys.argv[2:]
files = []
for name in sorted(os.listdir(folder)):
    if not name.endswith('.dcm'):
        continue
    d = pydicom.dcmread(os.path.join(folder, name))
    pixels = d.pixel_array.astype('float64') * float(d.RescaleSlope) + float(getattr(d, 'RescaleIntercept', 0)) if with_pixels else None
    source = d.SourceImageSequence[0].ReferencedSOPInstanceUID if 'SourceImageSequence' in d else None
    files.append({
        'name': name,
        'seriesInstanceUid': d.SeriesInstanceUID,
        'sopInstanceUid': d.SOPInstanceUID,
        'seriesNumber': int(d.SeriesNumber),
        'instanceNumber': int(d.InstanceNumber),
        'source': source,
        'attributes': {k: plain(getattr(d, k)) for k in FRAME_ATTRIBUTES if k in d},
        'bqml': pixels.ravel().tolist() if with_pixels else [],
    })
json.dump(files, sys.stdout)
