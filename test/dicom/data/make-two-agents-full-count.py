"""
A full-count reference of make-enhanced-pet.py's two-agents-split set, made with pydicom and numpy:
the same Enhanced PET file (agents 1, 2, 1, 2 by position, each frame's Radiopharmaceutical Usage
Sequence and rescale kept), each frame's stored pixels a 3 x 3 mean (edges repeated, rounded), its
own SeriesInstanceUID and SOPInstanceUID. Prints, as JSON, each agent's maximum SUVbw over its
frames: stored x RescaleSlope + RescaleIntercept (Bq/ml) x that agent's SUVbw factor (given, from
expected.json), computed here, not with lowdose's code; for a source whose frames are respiratory
gates too (two-agents-respiratory), also under "gates" each agent's maximum per gate, keyed
"<agent>/<Nominal Percentage of Respiratory Phase>".

Usage: /usr/bin/python3 make-two-agents-full-count.py <two-agents-split.dcm> <output.dcm> '<factors JSON>'
"""
import json
import sys

import numpy as np
import pydicom
from pydicom.uid import generate_uid

src, dst, factors = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
d = pydicom.dcmread(src)
smooth = []
for frame in d.pixel_array.astype(np.float64):
    padded = np.pad(frame, 1, mode='edge')
    rows, cols = frame.shape
    smooth.append(sum(padded[i:i + rows, j:j + cols] for i in range(3) for j in range(3)) / 9)
smooth = np.stack(smooth).round().astype(d.pixel_array.dtype)
d.PixelData = smooth.tobytes()
d.SeriesInstanceUID = generate_uid(entropy_srcs=['lowdose-two-agents-full-count', 'series'])
d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-two-agents-full-count', 'instance'])
d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
d.save_as(dst)
top = {}
gates = {}
for pixels, group in zip(smooth, d.PerFrameFunctionalGroupsSequence):
    agent = int(group.RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber)
    t = group.PixelValueTransformationSequence[0]
    suv = (float(pixels.max()) * float(t.RescaleSlope) + float(t.RescaleIntercept)) * factors[agent - 1]
    top[agent] = max(top.get(agent, 0.0), suv)
    if 'RespiratorySynchronizationSequence' in group:
        key = f'{agent}/{float(group.RespiratorySynchronizationSequence[0].NominalPercentageOfRespiratoryPhase):g}'
        gates[key] = max(gates.get(key, 0.0), suv)
print(json.dumps({**top, 'gates': gates} if gates else top))
