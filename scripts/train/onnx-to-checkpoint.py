#!/usr/bin/env python3
"""Rebuilds a training checkpoint from a shipped ONNX file and its card, so a shipped model can be
continued (`train.py --resume`) on a machine that never had its checkpoint (checkpoints live in the
git-ignored .cache/ and are gone with the machine; the ONNX file holds the same EMA weights).

  /usr/bin/python3 scripts/train/onnx-to-checkpoint.py models/lowdose-ct.json .cache/checkpoints/lowdose-ct.pt

Initialisers are matched to the PyTorch state by name; the exporter renames a parameter it folded
into an expression (mask_emb -> onnx::Mul_NNN, with a broadcast axis added), and those are matched
by a unique size and squeezed shape. The result
is checked by exporting it again: the same weights, bit for bit.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from model import CondUNet


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    card_path, out = sys.argv[1], sys.argv[2]
    card = json.load(open(card_path))
    onnx_path = os.path.join(os.path.dirname(card_path), card.get("onnx", os.path.basename(card_path)[:-5] + ".onnx"))
    tr = card["training"]
    cond = 3 if card.get("neighbours") else 1
    ctx = tr.get("context", {})
    context, hidden = tuple(ctx.get("dilations", ())), ctx.get("hidden", 32)
    net = CondUNet(tuple(tr["channels"]), cond_channels=cond, prediction=card["prediction"], context=context,
                   context_hidden=hidden).eval()
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(onnx_path).graph.initializer}
    state = net.state_dict()
    unnamed = {k: v for k, v in inits.items() if k not in state}
    loaded = {}
    for k, v in state.items():
        if k in inits:
            arr = inits[k]
        else:
            # A folded parameter may carry the broadcast axis its expression added ([None, :]).
            same = [n for n, a in unnamed.items() if a.size == v.numel() and a.squeeze().shape == tuple(v.shape)]
            if len(same) != 1:
                raise SystemExit(f"{k}: no unique initialiser of shape {tuple(v.shape)} ({same})")
            arr = unnamed.pop(same[0]).reshape(tuple(v.shape))
        if arr.shape != tuple(v.shape):
            raise SystemExit(f"{k}: shape {arr.shape} in ONNX, {tuple(v.shape)} in the network")
        loaded[k] = torch.from_numpy(np.array(arr))
    net.load_state_dict(loaded)
    check(net, onnx_path, cond)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.save({"state": net.state_dict(), "channels": tuple(tr["channels"]), "prediction": card["prediction"],
                "condChannels": cond, **({"context": list(context), "contextHidden": hidden} if context else {}), "schedule": card["schedule"]["kind"], "normalization": card["normalization"],
                "iterations": tr["iterations"], "wallSeconds": tr.get("wallSeconds", 0.0),
                "history": [{"iterations": tr["iterations"], "wallSeconds": tr.get("wallSeconds", 0.0),
                             "lossCurve": tr.get("lossCurve", []), "from": os.path.relpath(onnx_path)}]}, out)
    print(f"wrote {out} from {onnx_path} ({tr['iterations']} iterations)")


def check(net, onnx_path, cond):
    """Exporting the rebuilt network again must give the shipped graph's weights bit for bit
    (export-onnx.py reproduces a shipped file byte for byte from its original checkpoint)."""
    import tempfile
    from train import export_onnx
    with tempfile.TemporaryDirectory() as tmp:
        again = os.path.join(tmp, "again.onnx")
        export_onnx(net, again)
        a = {i.name: numpy_helper.to_array(i) for i in onnx.load(onnx_path).graph.initializer}
        b = {i.name: numpy_helper.to_array(i) for i in onnx.load(again).graph.initializer}
    if sorted(x.tobytes() for x in a.values()) != sorted(x.tobytes() for x in b.values()):
        raise SystemExit("the rebuilt network does not export to the same weights")
    print(f"re-exported weights equal the ONNX file's ({len(a)} initialisers)")


if __name__ == "__main__":
    main()
