"""Writes a CT series as a reconstruction with another field of view would store it: the same
patient in the same frame of reference (FrameOfReferenceUID and StudyInstanceUID kept), sampled
(bilinear) on a grid whose first pixel lies `dx`, `dy` mm further along the row and column
directions and, optionally, with other square pixels; ImagePositionPatient is rewritten to that
grid's first pixel, so every stored pixel still sits where the patient is. New series / instance
UIDs; outside the original field the stored value 0. With --every n only every n-th slice is
kept (a reference with fewer slices than the test). With --matrix n the new grid is n x n pixels
(a cropped field of view: another matrix). With --turn the grid is then stored mirrored
left-right or turned a quarter (clockwise as shown): the same pixels in the patient under another
ImageOrientationPatient, first pixel and PixelSpacing (a pane the viewer turns back). For checking
slice pairing and grid checks on a reference of another FOV (src/metrics/slice-pairing.ts).

  /usr/bin/python3 scripts/experiments/shift-reference-fov.py <series dir> <out dir> <dx mm> <dy mm> [--pixel mm] [--every n] [--frame-of-reference uid] [--matrix n] [--turn mirror|quarter]
"""
import argparse
import glob
import os

import numpy as np
import pydicom
from pydicom.uid import generate_uid
from scipy.ndimage import map_coordinates

parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("out")
parser.add_argument("dx", type=float, help="mm along the row direction (ImageOrientationPatient[0:3])")
parser.add_argument("dy", type=float, help="mm along the column direction (ImageOrientationPatient[3:6])")
parser.add_argument("--pixel", type=float, default=None, help="new square pixel spacing, mm (default: unchanged)")
parser.add_argument("--every", type=int, default=1, help="keep every n-th slice (by file name order)")
parser.add_argument("--frame-of-reference", default=None, help="write this FrameOfReferenceUID instead of the source's (another patient's frame)")
parser.add_argument("--matrix", type=int, default=None, help="n x n pixels (default: the source's matrix)")
parser.add_argument("--turn", choices=["mirror", "quarter"], default=None, help="store the grid mirrored left-right or turned a quarter clockwise")
args = parser.parse_args()

os.makedirs(args.out, exist_ok=True)
series_uid = generate_uid()
for n, path in enumerate(sorted(glob.glob(os.path.join(args.source, "*")))):
    if n % args.every:
        continue
    d = pydicom.dcmread(path)
    stored = d.pixel_array
    a = stored.astype(np.float64)
    rows, columns = a.shape
    old_row, old_column = (float(v) for v in d.PixelSpacing)
    new_row, new_column = (args.pixel, args.pixel) if args.pixel else (old_row, old_column)
    # New pixel (r, c) lies at new origin + c*new_column*row_dir + r*new_row*column_dir; in the old
    # grid's pixel indices that is ((dy + r*new_row) / old_row, (dx + c*new_column) / old_column).
    if args.matrix:
        rows = columns = args.matrix
        d.Rows = d.Columns = args.matrix
    r, c = np.meshgrid((args.dy + np.arange(rows) * new_row) / old_row, (args.dx + np.arange(columns) * new_column) / old_column, indexing="ij")
    b = map_coordinates(a, [r, c], order=1, mode="constant", cval=0.0)
    row_dir = np.array([float(v) for v in d.ImageOrientationPatient[:3]])
    column_dir = np.array([float(v) for v in d.ImageOrientationPatient[3:]])
    origin = np.array([float(v) for v in d.ImagePositionPatient]) + args.dx * row_dir + args.dy * column_dir
    if args.turn == "mirror":
        # New (r, c) is old (r, C-1-c): the first pixel is the old row's last, rows run the other way.
        b = b[:, ::-1]
        origin = origin + (columns - 1) * new_column * row_dir
        row_dir = -row_dir
    elif args.turn == "quarter":
        # np.rot90(b, -1): new (r, c) is old (R-1-c, r). New rows run along -column_dir (old row
        # spacing), new columns along row_dir (old column spacing); the first pixel is the old last row's first.
        b = np.rot90(b, -1)
        origin = origin + (rows - 1) * new_row * column_dir
        row_dir, column_dir = -column_dir, row_dir
        new_row, new_column = new_column, new_row
        d.Rows, d.Columns = b.shape
    d.PixelData = np.ascontiguousarray(np.rint(b).astype(stored.dtype)).tobytes()
    d.ImageOrientationPatient = [f"{v:.6f}" for v in [*row_dir, *column_dir]]
    d.ImagePositionPatient = [f"{v:.6f}" for v in origin]
    d.PixelSpacing = [new_row, new_column]
    if args.frame_of_reference:
        d.FrameOfReferenceUID = args.frame_of_reference
    d.SeriesInstanceUID = series_uid
    d.SOPInstanceUID = d.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    d.SeriesDescription = f"{d.get('SeriesDescription', '')} FOV shifted {args.dx:g},{args.dy:g} mm" + (f" {args.pixel:g} mm pixels" if args.pixel else "") + (f" {args.matrix}px" if args.matrix else "") + (f" {args.turn}" if args.turn else "")
    d.SeriesNumber = int(d.get("SeriesNumber", 1)) + 800
    d.save_as(os.path.join(args.out, os.path.basename(path)))
