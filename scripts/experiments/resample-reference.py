"""Writes a CT series resampled (bilinear) to other square pixels from the same first pixel, as a
reference on another pixel grid for scripts/experiments/roi-other-grid.ts (same matrix, same
ImagePositionPatient, PixelSpacing changed, new series / instance UIDs; outside the original field
the stored value 0).

  /usr/bin/python3 scripts/experiments/resample-reference.py <series dir> <out dir> <pixel mm>
"""
import glob
import os
import sys

import numpy as np
import pydicom
from pydicom.uid import generate_uid
from scipy.ndimage import map_coordinates

source, out, pixel = sys.argv[1], sys.argv[2], float(sys.argv[3])
os.makedirs(out, exist_ok=True)
series_uid = generate_uid()
for path in sorted(glob.glob(os.path.join(source, "*"))):
    d = pydicom.dcmread(path)
    a = d.pixel_array.astype(np.float64)
    rows, columns = a.shape
    old_row, old_column = (float(v) for v in d.PixelSpacing)
    r, c = np.meshgrid(np.arange(rows) * pixel / old_row, np.arange(columns) * pixel / old_column, indexing="ij")
    b = map_coordinates(a, [r, c], order=1, mode="constant", cval=0.0)
    d.PixelData = np.rint(b).astype(d.pixel_array.dtype).tobytes()
    d.PixelSpacing = [pixel, pixel]
    d.SeriesInstanceUID = series_uid
    d.SOPInstanceUID = d.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    d.SeriesDescription = f"{d.get('SeriesDescription', '')} resampled {pixel} mm"
    d.SeriesNumber = int(d.get("SeriesNumber", 1)) + 900
    d.save_as(os.path.join(out, os.path.basename(path)))
