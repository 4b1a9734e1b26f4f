#!/usr/bin/env bash
# One device call (docs/device.md): exports the training data from the packed slices (shards in
# parallel on all cores), trains the CT and PET models side by side on the GPU for MINUTES each,
# and leaves checkpoints, ONNX files, cards and logs in $OUT/train-result.tar + $OUT/train.log.
#   run: bash scripts/device/train.sh [MINUTES=6]
#   carry: .device/node.xz .device/export-dataset.mjs .device/sources      (bash scripts/device/pack.sh train)
# PYTHON, CONFIG (default gpu), SHARDS (default nproc) and LOWDOSE_CACHE (default .cache) can be set; a
# plumbing check here: PYTHON=/usr/bin/python3 LOWDOSE_CACHE=/tmp/c CONFIG=cpu-tiny bash scripts/device/train.sh 0.2
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/lib.sh
MINUTES=${1:-6}
CONFIG=${CONFIG:-gpu}
SHARDS=${SHARDS:-$(nproc)}
PY=${PYTHON:-python3}   # the python with PyTorch (here: PYTHON=/usr/bin/python3)
exec > >(tee "$OUTDIR/train.log") 2>&1
echo "$(stamp) device: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo none), $(nproc) cores, $($NODE --version), $($PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())')"

export LOWDOSE_SHARED=$KIT/sources LOWDOSE_CACHE=${LOWDOSE_CACHE:-$PWD/.cache}
C=$LOWDOSE_CACHE
for f in .device/sources/*/*.nii.xz; do
  sub=$(basename "$(dirname "$f")"); mkdir -p "$LOWDOSE_SHARED/$sub"
  unxz_to "$f" "$LOWDOSE_SHARED/$sub/tmp.nii" && gzip -1 -c "$LOWDOSE_SHARED/$sub/tmp.nii" > "$LOWDOSE_SHARED/$sub/$(basename "$f" .xz).gz"
  rm "$LOWDOSE_SHARED/$sub/tmp.nii"; cp "${f%.nii.xz}.json" "$LOWDOSE_SHARED/$sub/"
done
rm -rf "$C/train"
echo "$(stamp) export: ct-train and pet-train, $SHARDS shards each"
pids=()
for cmd in ct-train pet-train; do
  for ((i = 0; i < SHARDS; i++)); do
    $NODE .device/export-dataset.mjs $cmd --shard $i/$SHARDS > "$KIT/export-$cmd-$i.log" 2>&1 & pids+=($!)
  done
done
fail=0; for p in "${pids[@]}"; do wait "$p" || fail=1; done
if [ $fail = 1 ]; then tail -n 5 "$KIT"/export-*.log; echo "export failed"; exit 1; fi
$NODE .device/export-dataset.mjs merge-shards || exit 1
du -sh "$C"/train/*/*

echo "$(stamp) training $MINUTES min each (config $CONFIG)"
models=$C/device-models
$PY scripts/train/train.py --modality CT --config "$CONFIG" --prediction v --t-focus 0.1 --t-low-fraction 0.7 \
  --t-low-max 100 --warm-fraction 0.7 --sharpen 0.3 --minutes "$MINUTES" --name lowdose-ct-gpu --out $models > "$KIT/train-ct.log" 2>&1 & ct=$!
$PY scripts/train/train.py --modality PT --config "$CONFIG" --prediction sample --t-focus 0.8 \
  --minutes "$MINUTES" --name lowdose-pet-gpu --out $models > "$KIT/train-pet.log" 2>&1 & pet=$!
wait $ct; rc_ct=$?; wait $pet; rc_pet=$?
echo "$(stamp) CT exit $rc_ct, PET exit $rc_pet"
for m in ct pet; do echo "--- $m"; grep -vE "^iter|Warning|^  " "$KIT/train-$m.log" | tail -n 8; grep "^iter" "$KIT/train-$m.log" | awk 'NR % 20 == 0' ; grep "^iter" "$KIT/train-$m.log" | tail -n 1; done
cp "$KIT"/train-*.log $models/ 2>/dev/null
tar -cf "$OUTDIR/train-result.tar" -C "$C" device-models $(cd "$C" && ls checkpoints/lowdose-*-gpu.pt 2>/dev/null)
ls -la "$OUTDIR"
[ $rc_ct = 0 ] && [ $rc_pet = 0 ]
