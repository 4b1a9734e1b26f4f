#!/usr/bin/env bash
# Continue the pixel and the lossless-latent budget models (docs/latent.md) side by side for one more
# chunk of EQUAL CPU time each, on a shared CPU: each run stops on its own process CPU time
# (--cpu-seconds, one torch thread), so the two get the same compute whatever the machine's load.
#   bash scripts/train/latent-budget.sh CHUNK_INDEX CPU_SECONDS
# Chunk 1 resumes from docs/experiments/latent/<name>.pt; chunk k > 1 from the checkpoint chunk k-1
# wrote. Each chunk's checkpoint, ONNX files, card and log are kept in .cache/latent-budget/chunk-<k>/,
# so the curve (quality against CPU seconds) can be measured afterwards with latent-eval.ts.
# Run under nice (the machine is shared): nice -n 15 bash scripts/train/latent-budget.sh 1 300
set -euo pipefail
cd "$(dirname "$0")/../.."
K=${1:?chunk index}
CPU=${2:?CPU seconds per model}
PY=${PYTHON:-/usr/bin/python3}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
B=.cache/latent-budget
OUT=$B/chunk-$K
PREV=$B/chunk-$((K - 1))
from() { if [ "$K" = 1 ]; then echo "docs/experiments/latent/$1.pt"; else echo "$PREV/$1.pt"; fi; }
mkdir -p "$OUT"
[ -f .cache/checkpoints/lowdose-ct-s2d-f4.pt ] || $PY scripts/train/autoencoder.py unshuffle --factor 4 --name lowdose-ct-s2d-f4
# Another seed per chunk: the patch sampler and the noise draws must not replay the previous chunk.
SEED=${SEED:-$((2000 + K))}  # SEED=... when chunk 1 restarts from newer committed checkpoints
# --minutes only as a safety net far beyond the CPU budget: the CPU seconds end each run.
$PY scripts/train/train.py --modality CT --config cpu-small --prediction v --t-focus 0.1 --t-low-fraction 0.7 --t-low-max 100 \
  --warm-fraction 0.7 --sharpen 0.3 --extra-train mayo-L143-B30f,mayo-L143-D45f --real-weight 12 --threads 1 \
  --minutes 600 --cpu-seconds "$CPU" --seed "$SEED" --resume "$(from lowdose-ct-pixel-budget)" \
  --name lowdose-ct-pixel-budget --out "$OUT" > "$OUT/pixel.log" 2>&1 & p1=$!
$PY scripts/train/latent-train.py --autoencoder .cache/checkpoints/lowdose-ct-s2d-f4.pt --channels 32,64,128 --threads 1 \
  --minutes 600 --cpu-seconds "$CPU" --seed "$SEED" --resume "$(from lowdose-ct-latent-s2d)" \
  --name lowdose-ct-latent-s2d --out "$OUT" > "$OUT/latent.log" 2>&1 & p2=$!
rc=0; wait $p1 || rc=1; wait $p2 || rc=1
cp .cache/checkpoints/lowdose-ct-pixel-budget.pt .cache/checkpoints/lowdose-ct-latent-s2d.pt "$OUT/"
# The pixel card as the latent cards sample: warm start at strength 0.1, one step.
$PY - "$OUT/lowdose-ct-pixel-budget.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["sampler"] = {"default": "warm-start", "steps": 1, "eta": 0.0, "spacing": "trailing", "strength": 0.1}
json.dump(c, open(p, "w"), indent=2)
EOF
for f in pixel latent; do tail -n 1 "$OUT/$f.log"; done
exit $rc
