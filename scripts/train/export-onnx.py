#!/usr/bin/env python3
"""Writes the ONNX graph of a training checkpoint (its EMA weights), as train.py does at its end.

  /usr/bin/python3 scripts/train/export-onnx.py .cache/checkpoints/<name>.pt models/<name>.onnx

For checkpoints made where the ONNX export failed or was not wanted (a GPU machine with another
torch version); the card train.py wrote next to it stays valid, since the graph is the same.
"""
import sys

import torch

from model import from_checkpoint
from train import export_onnx


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    st = torch.load(sys.argv[1], map_location="cpu")
    model = from_checkpoint(st).eval()
    model.load_state_dict(st["state"])
    export_onnx(model, sys.argv[2])
    print(f"wrote {sys.argv[2]} from {sys.argv[1]} ({st['iterations']} iterations)")


if __name__ == "__main__":
    main()
