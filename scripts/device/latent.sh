#!/usr/bin/env bash
# One device call (docs/device.md, docs/latent.md): pixel against latent diffusion at equal GPU time.
#   run: bash scripts/device/latent.sh [MINUTES=6]
#   carry: as train.sh (bash scripts/device/pack.sh train), plus .device/resume/ with any of
#          lowdose-ct-pixel-budget.pt, lowdose-ct-latent-s2d.pt, lowdose-ct-ae-f4.pt, lowdose-ct-latent-f4.pt
#          (docs/experiments/latent/ has the CPU-trained ones) to continue them.
# Exports the CT training data (train.sh with EXPORT_ONLY=1), then side by side on the GPU for
# MINUTES each: the pixel-space model (train.py, 16-32-64), the lossless 4x latent model
# (pixel-unshuffle codec, 32-64-128 UNet on 16 channels), and the learned 4x latent model (its
# autoencoder for MINUTES/2, then its denoiser for MINUTES/2). Each run's checkpoint, ONNX files,
# card and log come back in $OUT/latent-<run>.tar.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/lib.sh
MINUTES=${1:-6}
HALF=$(python3 -c "print($MINUTES / 2)")
PY=${PYTHON:-python3}
EXPORT_ONLY=1 EXPORTS="ct-train" bash scripts/device/train.sh "$MINUTES" || exit 1
exec > >(tee "$OUTDIR/latent.log") 2>&1
export LOWDOSE_CACHE=${LOWDOSE_CACHE:-$PWD/.cache}
C=$LOWDOSE_CACHE
R=.device/resume
models=$C/device-models
real=$(ls .device/real 2>/dev/null | paste -sd, -)
resume() { [ -f "$R/$1.pt" ] && echo "--resume $R/$1.pt"; }
common=(--device cuda --batch 64 --patch 128 --lr 1e-3 --out "$models")
echo "$(stamp) $MINUTES min each (real pairs: ${real:-none})"
# shellcheck disable=SC2046
$PY scripts/train/train.py --modality CT --config gpu --channels 16,32,64 --prediction v --t-focus 0.1 --t-low-fraction 0.7 \
  --t-low-max 100 --warm-fraction 0.7 --sharpen 0.3 ${real:+--extra-train $real --real-weight 12} --minutes "$MINUTES" \
  --workers 3 --out "$models" --name lowdose-ct-pixel-budget $(resume lowdose-ct-pixel-budget) > "$KIT/latent-pixel.log" 2>&1 & p1=$!
$PY scripts/train/autoencoder.py unshuffle --factor 4 --name lowdose-ct-s2d-f4 > "$KIT/latent-s2d.log" 2>&1
# shellcheck disable=SC2046
$PY scripts/train/latent-train.py --autoencoder "$C/checkpoints/lowdose-ct-s2d-f4.pt" --channels 32,64,128 "${common[@]}" \
  --minutes "$MINUTES" --name lowdose-ct-latent-s2d $(resume lowdose-ct-latent-s2d) >> "$KIT/latent-s2d.log" 2>&1 & p2=$!
# shellcheck disable=SC2046
( $PY scripts/train/autoencoder.py train --device cuda --factor 4 --channels 4 --batch 64 --patch 128 --minutes "$HALF" \
    --name lowdose-ct-ae-f4 $(resume lowdose-ct-ae-f4) \
  && $PY scripts/train/latent-train.py --autoencoder "$C/checkpoints/lowdose-ct-ae-f4.pt" "${common[@]}" --minutes "$HALF" \
    --name lowdose-ct-latent-f4 $(resume lowdose-ct-latent-f4) ) > "$KIT/latent-f4.log" 2>&1 & p3=$!
rc=0; for p in $p1 $p2 $p3; do wait "$p" || rc=1; done
echo "$(stamp) training done (any failure: $rc)"
for pair in lowdose-ct-pixel-budget:latent-pixel lowdose-ct-latent-s2d:latent-s2d lowdose-ct-latent-f4:latent-f4; do
  n=${pair%%:*}; log=$KIT/${pair#*:}.log
  echo "--- $n"; grep -vE "^iter|Warning|^  " "$log" | tail -n 4; grep "^iter" "$log" | tail -n 1
  cp "$log" "$models/$n.log" 2>/dev/null
  (cd "$C" && tar -cf "$OUTDIR/latent-$n.tar" checkpoints/$n.pt device-models/$n.json device-models/$n.onnx device-models/$n-*.onnx \
     device-models/$n.log 2>/dev/null)
done
(cd "$C" && tar -rf "$OUTDIR/latent-lowdose-ct-latent-f4.tar" checkpoints/lowdose-ct-ae-f4.pt 2>/dev/null)
ls -la "$OUTDIR"
[ $rc = 0 ]
