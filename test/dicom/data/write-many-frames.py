"""Writes a small multi-frame CT declaring very many tiny frames: the header of pydicom's
eCT_Supplemental.dcm with Rows = Columns = 1, NumberOfFrames FRAMES and, for --items, a Per-frame
Functional Groups Sequence written by hand (each item one Plane Position Sequence whose
ImagePositionPatient steps 1 mm a frame), then the pixel data: FRAMES 16-bit pixels (native) or
one RLE fragment per frame. A million frames is a file of a few megabytes; what reading it costs
grows with the frames it declares, not with its bytes.

usage: write-many-frames.py SOURCE OUT FRAMES [--items N] [--empty-items] [--zero-slope] [--syntax native|rle]
                           [--instance K] [--series S]
  --items N       a Per-frame Functional Groups Sequence of N items (none without it)
  --empty-items   its items hold nothing (8 bytes each)
  --zero-slope    each item also holds a Pixel Value Transformation Sequence of RescaleSlope 0 (a
                  corrupt header, met only when the frames' groups are read)
  --syntax rle    RLE Lossless, one fragment (68 bytes) per frame, an empty basic offset table
  --instance K    SOPInstanceUID ends in .K, InstanceNumber K, positions from K * FRAMES mm (several
                  files of one series)
  --series S      SeriesInstanceUID ends in .S (files of several series)
"""
import argparse
import io
import struct

import pydicom
from pydicom.uid import ExplicitVRLittleEndian, RLELossless


def element(group, tag, vr, value):
    if len(value) % 2:
        value += b' ' if vr in ('DS', 'IS', 'CS') else b'\0'
    if vr in ('SQ', 'OB', 'OW', 'UN'):
        return struct.pack('<HH2sHI', group, tag, vr.encode(), 0, len(value)) + value
    return struct.pack('<HH2sH', group, tag, vr.encode(), len(value)) + value


def item(value):
    return struct.pack('<HHI', 0xFFFE, 0xE000, len(value)) + value


def plane_position_item(k, zero_slope):
    position = element(0x0020, 0x0032, 'DS', f'0\\0\\{k}'.encode())
    groups = element(0x0020, 0x9113, 'SQ', item(position))
    if zero_slope:
        rescale = element(0x0028, 0x1052, 'DS', b'-1024') + element(0x0028, 0x1053, 'DS', b'0')
        groups += element(0x0028, 0x9145, 'SQ', item(rescale))
    return item(groups)


def per_frame_groups(items, empty, first, zero_slope):
    body = b''.join(item(b'') if empty else plane_position_item(first + k, zero_slope) for k in range(items))
    return element(0x5200, 0x9230, 'SQ', body)


def rle_fragment(k):
    """A 1 x 1 16-bit frame in DICOM RLE: a 64-byte header, a high-byte and a low-byte segment (a literal run of one byte, padded)."""
    value = k % 2000
    header = struct.pack('<16I', 2, 64, 66, *([0] * 13))
    return header + bytes([0, value >> 8, 0, value & 0xFF])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('source', help="pydicom's eCT_Supplemental.dcm")
    parser.add_argument('out')
    parser.add_argument('frames', type=int)
    parser.add_argument('--items', type=int, default=0)
    parser.add_argument('--empty-items', action='store_true')
    parser.add_argument('--zero-slope', action='store_true')
    parser.add_argument('--syntax', default='native', choices=['native', 'rle'])
    parser.add_argument('--instance', type=int, default=0)
    parser.add_argument('--series', type=int, default=0)
    args = parser.parse_args()

    ds = pydicom.dcmread(args.source)
    del ds.PixelData
    del ds.PerFrameFunctionalGroupsSequence
    ds.Rows = 1
    ds.Columns = 1
    ds.NumberOfFrames = args.frames
    if args.instance:
        ds.SOPInstanceUID = f'{ds.SOPInstanceUID}.{args.instance}'
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = args.instance
    if args.series:
        ds.SeriesInstanceUID = f'{ds.SeriesInstanceUID}.{args.series}'
    ds.file_meta.TransferSyntaxUID = RLELossless if args.syntax == 'rle' else ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.save_as(buffer, write_like_original=False)

    with open(args.out, 'wb') as out:
        out.write(buffer.getvalue())
        if args.items:
            out.write(per_frame_groups(args.items, args.empty_items, args.instance * args.frames, args.zero_slope))
        if args.syntax == 'native':
            out.write(element(0x7FE0, 0x0010, 'OW', b''.join(struct.pack('<H', k % 2000) for k in range(args.frames))))
        else:
            out.write(struct.pack('<HH2sHI', 0x7FE0, 0x0010, b'OB', 0, 0xFFFFFFFF))
            out.write(item(b''))
            for k in range(args.frames):
                out.write(item(rle_fragment(k)))
            out.write(struct.pack('<HHI', 0xFFFE, 0xE0DD, 0))


if __name__ == '__main__':
    main()
