"""Writes an Enhanced PET Image of many small frames, to time what a multi-frame PET source costs per
frame: enhanced/enhanced.dcm of ./make-enhanced-pet.py (two 168 x 168 frames of one slice) with
Rows = Columns = 4 and NumberOfFrames FRAMES, frame k a copy of frame 1's functional groups at
ImagePositionPatient z + k mm (In-Stack Position Number k + 1) and 16 pixels of value k % 1000.

usage: /usr/bin/python3 write-many-pet-frames.py ENHANCED_DCM OUT FRAMES [--no-series-time]
  ENHANCED_DCM      enhanced/enhanced.dcm as ./make-enhanced-pet.py writes it (or another of its
                    Enhanced PET files, e.g. not-decay-corrected/not-decay-corrected.dcm)
  --no-series-time  no SeriesDate / SeriesTime, and frame k's Frame Acquisition DateTime k s before
                    frame 1's: the last frame starts first (the series reference of a source that
                    is not decay-corrected is then the earliest frame start)
"""
import copy
import datetime as dt
import sys

import numpy as np
import pydicom
from pydicom.sequence import Sequence

source, out, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
no_series_time = '--no-series-time' in sys.argv[4:]
ds = pydicom.dcmread(source)
first = ds.PerFrameFunctionalGroupsSequence[0]
x, y, z = (float(v) for v in first.PlanePositionSequence[0].ImagePositionPatient)
items = []
for k in range(frames):
    item = copy.deepcopy(first)
    item.PlanePositionSequence[0].ImagePositionPatient = [x, y, z + k]
    item.FrameContentSequence[0].InStackPositionNumber = k + 1
    if no_series_time:
        content = item.FrameContentSequence[0]
        start = dt.datetime.strptime(content.FrameAcquisitionDateTime[:14], '%Y%m%d%H%M%S') - dt.timedelta(seconds=k)
        content.FrameAcquisitionDateTime = start.strftime('%Y%m%d%H%M%S') + content.FrameAcquisitionDateTime[14:]
    items.append(item)
ds.PerFrameFunctionalGroupsSequence = Sequence(items)
ds.NumberOfFrames = frames
ds.Rows = 4
ds.Columns = 4
if 'NumberOfSlices' in ds:
    ds.NumberOfSlices = frames
if no_series_time:
    for keyword in ('SeriesDate', 'SeriesTime'):
        if keyword in ds:
            delattr(ds, keyword)
ds.PixelData = np.repeat(np.arange(frames, dtype='<i2') % 1000, 16).tobytes()
ds.save_as(out, write_like_original=False)
