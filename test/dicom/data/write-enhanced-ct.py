"""Writes an Enhanced CT of many 512 x 512 frames, as a large multi-frame file is laid out, without
holding its pixel data in memory: the header of pydicom's eCT_Supplemental.dcm with NumberOfFrames
and one Per-frame Functional Groups item per frame (each its own ImagePositionPatient), then the
Pixel Data element written by hand, frame by frame.

Only the frames named by --written hold pixels; the others are left as holes of the file (zeros,
no disk used), so a 1 GiB file costs a few megabytes. Frame k's stored value at row r, column c is
(k * 37 + r * 3 + c) % 2000 (what the tests expect back).

usage: write-enhanced-ct.py SOURCE OUT FRAMES [--syntax native|rle] [--written 0,5,9] [--no-table]
                            [--cut BYTES] [--tail BYTES]
  --syntax rle   RLE Lossless, one fragment per frame (literal runs only, 528,448 bytes a frame)
  --no-table     an empty basic offset table (RLE)
  --split        each frame in two fragments of equal length (RLE, with its basic offset table)
  --cut BYTES    the file ends BYTES early (inside its pixel data)
  --tail BYTES   BYTES of zeros follow the pixel data
"""
import argparse
import copy
import struct

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

ROWS = COLUMNS = 512


def frame_values(k):
    r = np.arange(ROWS, dtype=np.int64)[:, None]
    c = np.arange(COLUMNS, dtype=np.int64)[None, :]
    return ((k * 37 + r * 3 + c) % 2000).astype('<u2')


def rle_frame(values):
    """DICOM RLE of a 16-bit frame: a 64-byte header, then the high-byte and the low-byte segments, every row as literal runs of 128 bytes."""
    planes = [(values >> 8).astype(np.uint8), (values & 0xFF).astype(np.uint8)]
    segments = []
    for plane in planes:
        runs = plane.reshape(ROWS, COLUMNS // 128, 128)
        coded = np.concatenate([np.full((ROWS, COLUMNS // 128, 1), 127, np.uint8), runs], axis=2)
        segments.append(coded.tobytes())
    offsets = [64, 64 + len(segments[0])] + [0] * 13
    return struct.pack('<16I', 2, *offsets) + segments[0] + segments[1]


RLE_FRAME_BYTES = 64 + 2 * ROWS * (COLUMNS // 128) * 129


def header(source, frames, syntax):
    ds = pydicom.dcmread(source)
    del ds.PixelData
    ds.NumberOfFrames = frames
    first, second = ds.PerFrameFunctionalGroupsSequence[0], ds.PerFrameFunctionalGroupsSequence[1]
    x, y, z = [float(v) for v in first.PlanePositionSequence[0].ImagePositionPatient]
    step = float(second.PlanePositionSequence[0].ImagePositionPatient[2]) - z or -1.25
    items = []
    for k in range(frames):
        item = copy.deepcopy(first)
        item.FrameContentSequence[0].InStackPositionNumber = k + 1
        item.FrameContentSequence[0].DimensionIndexValues = [1, k + 1]
        item.PlanePositionSequence[0].ImagePositionPatient = [x, y, round(z + k * step, 4)]
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = items
    ds.file_meta.TransferSyntaxUID = RLELossless if syntax == 'rle' else ExplicitVRLittleEndian
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('source', help="pydicom's eCT_Supplemental.dcm")
    parser.add_argument('out')
    parser.add_argument('frames', type=int)
    parser.add_argument('--syntax', default='native', choices=['native', 'rle'])
    parser.add_argument('--written', default='')
    parser.add_argument('--no-table', action='store_true')
    parser.add_argument('--split', action='store_true')
    parser.add_argument('--cut', type=int, default=0)
    parser.add_argument('--tail', type=int, default=0)
    args = parser.parse_args()
    written = [int(k) for k in args.written.split(',') if k]

    ds = header(args.source, args.frames, args.syntax)
    ds.save_as(args.out, write_like_original=False)
    with open(args.out, 'r+b') as f:
        f.seek(0, 2)
        if args.syntax == 'native':
            frame_bytes = ROWS * COLUMNS * 2
            f.write(struct.pack('<HH2sHI', 0x7FE0, 0x0010, b'OW', 0, frame_bytes * args.frames))
            start = f.tell()
            for k in written:
                f.seek(start + k * frame_bytes)
                f.write(frame_values(k).tobytes())
            end = start + frame_bytes * args.frames
        else:
            f.write(struct.pack('<HH2sHI', 0x7FE0, 0x0010, b'OB', 0, 0xFFFFFFFF))
            parts = 2 if args.split else 1
            part = RLE_FRAME_BYTES // parts
            item = (part + 8) * parts
            table = b'' if args.no_table else struct.pack(f'<{args.frames}I', *[k * item for k in range(args.frames)])
            f.write(struct.pack('<HHI', 0xFFFE, 0xE000, len(table)) + table)
            start = f.tell()
            for k in range(args.frames):
                coded = rle_frame(frame_values(k)) if k in written else None
                for p in range(parts):
                    f.seek(start + k * item + p * (part + 8))
                    f.write(struct.pack('<HHI', 0xFFFE, 0xE000, part))
                    if coded is not None:
                        f.write(coded[p * part:(p + 1) * part])
            f.seek(start + args.frames * item)
            f.write(struct.pack('<HHI', 0xFFFE, 0xE0DD, 0))
            end = f.tell()
        f.truncate(end + args.tail - args.cut)


if __name__ == '__main__':
    main()
