"""
Lesion SUVmean / SUVmax / SUVpeak per frame of a dynamic or gated PET series folder, with pydicom
and numpy (not with lowdose's code), as the known answer for `lowdose metrics --lesions`:

- a file's frame is ceil(ImageIndex / NumberOfSlices) (PS3.3 C.8.9.4.1.9);
- its SUVbw is (stored x RescaleSlope + RescaleIntercept) x the factor given (make-pet-timing.py's
  expected.json, computed there from the DICOM attributes);
- a voxel's centre is ImagePositionPatient + column x column spacing x row cosines + row x row
  spacing x column cosines (PixelSpacing is row spacing, then column spacing);
- the VOI holds the voxel centres within the radius of the lesion's centre; SUVmean and SUVmax are
  its mean and maximum; SUVpeak the highest mean, over the VOI's voxel centres as centres, of the
  frame's voxels within 6 mm (PERCIST's 1.2 cm sphere), searched by brute force.

Usage: /usr/bin/python3 test/dicom/data/pet-lesion-stats.py <folder> <factor> <lesions.json>
prints { "<frame>": [ { "name", "voxels", "mean", "max", "peak" } ] } (frames 1-based).
"""
import json
import math
import os
import sys

import numpy as np
import pydicom

folder, factor, lesions_file = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with open(lesions_file) as fh:
    lesions = json.load(fh)['lesions']

frames = {}
for name in sorted(n for n in os.listdir(folder) if n.endswith('.dcm')):  # not the completion markers
    d = pydicom.dcmread(os.path.join(folder, name))
    frame = math.ceil(int(d.ImageIndex) / int(d.NumberOfSlices))
    suv = (d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(getattr(d, 'RescaleIntercept', 0))) * factor
    position = np.array([float(v) for v in d.ImagePositionPatient])
    cosines = [float(v) for v in d.ImageOrientationPatient]
    row_cos, col_cos = np.array(cosines[:3]), np.array(cosines[3:])
    row_spacing, col_spacing = (float(v) for v in d.PixelSpacing)
    rows, cols = np.meshgrid(np.arange(d.Rows), np.arange(d.Columns), indexing='ij')
    centres = position + (cols * col_spacing)[..., None] * row_cos + (rows * row_spacing)[..., None] * col_cos
    frames.setdefault(frame, []).append((centres.reshape(-1, 3), suv.reshape(-1)))

out = {}
for frame, slices in sorted(frames.items()):
    xyz = np.concatenate([c for c, _ in slices])
    values = np.concatenate([v for _, v in slices])
    readings = []
    for lesion in lesions:
        centre = np.array(lesion['centre'], dtype=np.float64)
        inside = np.sum((xyz - centre) ** 2, axis=1) <= lesion['radius'] ** 2
        voi = xyz[inside]
        peak = max(float(values[np.sum((xyz - c) ** 2, axis=1) <= 36].mean()) for c in voi)
        readings.append({'name': lesion['name'], 'voxels': int(inside.sum()), 'mean': float(values[inside].mean()),
                         'max': float(values[inside].max()), 'peak': peak})
    out[str(frame)] = readings
print(json.dumps(out))
