#!/usr/bin/env python3
"""Carries the real-pair training volumes (scripts/train/export-real-pairs.ts) to a GPU machine.

  python3 scripts/device/real-pairs.py pack <cache>/train/CT .device/real      # here
  python3 scripts/device/real-pairs.py unpack .device/real <cache>/train/CT    # there

The pairs are whole HU values (Siemens int16 stored, slope 1), so they travel as int16 in xz
(about a third of the float32 size) and come back bit-identical; pack refuses anything that is not.
"""
import glob
import json
import lzma
import os
import shutil
import sys

import numpy as np


def pack(src: str, dst: str) -> None:
    for folder in sorted(glob.glob(os.path.join(src, "*"))):
        meta_path = os.path.join(folder, "meta.json")
        if not os.path.exists(meta_path) or json.load(open(meta_path)).get("kind") != "ct-real-pair":
            continue
        out = os.path.join(dst, os.path.basename(folder))
        os.makedirs(out, exist_ok=True)
        shutil.copy(meta_path, out)
        for name in ("clean", "low"):
            a = np.fromfile(os.path.join(folder, f"{name}.f32"), dtype="<f4")
            b = a.astype("<i2")
            if not np.array_equal(b.astype("<f4"), a):
                raise SystemExit(f"{folder}/{name}.f32 holds values that are not whole int16 HU")
            with lzma.open(os.path.join(out, f"{name}.i16.xz"), "wb", preset=9) as f:
                f.write(b.tobytes())
        print(f"packed {out}")


def unpack(src: str, dst: str) -> None:
    for folder in sorted(glob.glob(os.path.join(src, "*"))):
        out = os.path.join(dst, os.path.basename(folder))
        os.makedirs(out, exist_ok=True)
        shutil.copy(os.path.join(folder, "meta.json"), out)
        for name in ("clean", "low"):
            with lzma.open(os.path.join(folder, f"{name}.i16.xz")) as f:
                b = np.frombuffer(f.read(), dtype="<i2")
            b.astype("<f4").tofile(os.path.join(out, f"{name}.f32"))
        print(f"unpacked {out}")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("pack", "unpack"):
        raise SystemExit(__doc__)
    (pack if sys.argv[1] == "pack" else unpack)(sys.argv[2], sys.argv[3])
