#!/usr/bin/env bash
# One device call (docs/device.md): exports the training data from the packed slices (shards in
# parallel on all cores), trains the CT and PET models side by side on the GPU for MINUTES each,
# and leaves each run's checkpoint, ONNX file, card and log in $OUT/train-<run>.tar, + $OUT/train.log.
#   run: bash scripts/device/train.sh [MINUTES=6]
#   carry: .device/node.xz .device/export-dataset.mjs .device/sources      (bash scripts/device/pack.sh train)
# With .device/resume/ carried too (lowdose-ct.pt, lowdose-pet.pt, lowdose-ct-wide.pt,
# lowdose-ct-lowband.pt: CPU-trained checkpoints), it also continues each of those on the GPU beside
# the from-scratch runs.
# With .device/real carried too (real quarter/full-dose CT pairs of the training patient, packed by
# pack.sh train), the ct-real* runs continue or train CT on the simulated data plus those pairs.
# EXPORT_ONLY=1 stops after the export (scripts/device/latent.sh). PYTHON, CONFIG (default gpu), SHARDS (default nproc), WORKERS (sampler processes per run, default 3),
# EXPORTS (export-dataset commands, default "ct-train pet-train"; add pet-lesions for the
# pet-lesions run), ONLY (comma-separated run names to keep) and LOWDOSE_CACHE (default .cache) can be set; a
# plumbing check here: PYTHON=/usr/bin/python3 LOWDOSE_CACHE=/tmp/c CONFIG=cpu-tiny bash scripts/device/train.sh 0.2
# Training across calls, PLAN_MINUTES=P (P > MINUTES): the from-scratch runs plan one lr decay over P minutes
# and stop after MINUTES of it (train.py --minutes P --chunk-minutes MINUTES); train-<run>-state.tar
# brings back the training state (raw weights, AdamW state, sampler streams) beside the checkpoint. Put
# lowdose-<run>.pt and lowdose-<run>.state.pt into .device/resume/ and the next call with PLAN_MINUTES
# continues that run's schedule where it stopped (--lr-schedule continue) instead of starting it again.
# Sizes (float32): a gpu-config run's state is 9.3 MB beside its 3.1 MB checkpoint, 12.4 MB more to carry
# beside the ~55 MiB kit: continue one run per call (ONLY=ct-gpu), without .device/real where it is not
# needed; ct-deep-lowband's state is 37 MB, over the 16 MiB a file may come back with, so that run
# cannot be continued this way. The fine-tunes of carried checkpoints
# always start their own schedule (--lr-schedule restart, --minutes MINUTES).
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
EXPORTS=${EXPORTS:-ct-train pet-train}
echo "$(stamp) export: $EXPORTS, $SHARDS shards each"
pids=()
for cmd in $EXPORTS; do
  for ((i = 0; i < SHARDS; i++)); do
    $NODE .device/export-dataset.mjs $cmd --shard $i/$SHARDS > "$KIT/export-$cmd-$i.log" 2>&1 & pids+=($!)
  done
done
fail=0; for p in "${pids[@]}"; do wait "$p" || fail=1; done
if [ $fail = 1 ]; then tail -n 5 "$KIT"/export-*.log; echo "export failed"; exit 1; fi
$NODE .device/export-dataset.mjs merge-shards || exit 1
[ -d .device/real ] && { $PY scripts/device/real-pairs.py unpack .device/real "$C/train/CT" || exit 1; }
du -sh "$C"/train/*/*
# EXPORT_ONLY=1: the data and nothing else (scripts/device/latent.sh trains its own runs on it).
[ -n "${EXPORT_ONLY:-}" ] && exit 0

echo "$(stamp) training $MINUTES min each (config $CONFIG${PLAN_MINUTES:+; from-scratch runs: a chunk of a $PLAN_MINUTES min plan})"
models=$C/device-models
common=(--config "$CONFIG" --out "$models")
ct_loss=(--modality CT --prediction v --t-focus 0.1 --t-low-fraction 0.7 --t-low-max 100 --warm-fraction 0.7 --sharpen 0.3)
pet_loss=(--modality PT --prediction sample --t-focus 0.8)
R=.device/resume
# name: train.py arguments (beyond common); each run gets its own sampler workers (WORKERS, default 3).
runs=()
# A run from scratch; with PLAN_MINUTES, one chunk of its plan, continuing its carried chunk if there is one.
scratch() { # <name> <train.py arguments>
  if [ -n "${PLAN_MINUTES:-}" ] && [ -f "$R/lowdose-$1.pt" ]; then
    runs+=("$1|$2 --resume $R/lowdose-$1.pt --lr-schedule continue --chunk-minutes $MINUTES")
  elif [ -n "${PLAN_MINUTES:-}" ]; then
    runs+=("$1|$2 --minutes $PLAN_MINUTES --chunk-minutes $MINUTES")
  else
    runs+=("$1|$2 --minutes $MINUTES")
  fi
}
# A fine-tune of a carried checkpoint (its arguments include --resume): a schedule of its own over MINUTES.
finetune() { runs+=("$1|$2 --lr-schedule restart --minutes $MINUTES"); }
scratch ct-gpu "${ct_loss[*]}"
scratch pet-gpu "${pet_loss[*]}"
[ -f $R/lowdose-ct.pt ] && finetune ct-gpu-small "${ct_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1238 --resume $R/lowdose-ct.pt"
[ -f $R/lowdose-ct-wide.pt ] && finetune ct-gpu-wide "${ct_loss[*]} --channels 32,64,128 --lr 5e-4 --seed 1239 --resume $R/lowdose-ct-wide.pt"
[ -f $R/lowdose-pet.pt ] && finetune pet-gpu-small "${pet_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1238 --resume $R/lowdose-pet.pt"
# Real pairs (training patient only; the other one validates): the shipped CT model continued with
# them at two shares of the draws, and the wide network from scratch with them.
real=$(ls .device/real 2>/dev/null | paste -sd, -)
if [ -n "$real" ]; then
  [ -f $R/lowdose-ct.pt ] && finetune ct-real "${ct_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1240 --resume $R/lowdose-ct.pt --extra-train $real --real-weight 4"
  [ -f $R/lowdose-ct.pt ] && finetune ct-real-heavy "${ct_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1241 --resume $R/lowdose-ct.pt --extra-train $real --real-weight 12"
  scratch ct-wide-real "${ct_loss[*]} --seed 1242 --extra-train $real --real-weight 4"
  # The low-frequency loss term (train.py --lowfreq-weight; docs/training.md): continues the CPU
  # fine-tune committed in docs/experiments/lowband/ (pack.sh copies it), else the shipped model.
  lb=$R/lowdose-ct-lowband.pt; [ -f $lb ] || lb=$R/lowdose-ct.pt
  [ -f $lb ] && finetune ct-lowband "${ct_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1252 --resume $lb --extra-train $real --real-weight 12 --lowfreq-weight 20 --lowfreq-sigma 2"
  # A fourth resolution level from scratch: the CPU low-band runs showed that noise slower than
  # 0.05 cycles/mm (20-60 px periods) stays because the 3-level net's receptive field is 57 px
  # (docs/training.md); one more level doubles it, within the 1.5 s / slice CPU limit.
  scratch ct-deep-lowband "${ct_loss[*]} --channels 32,64,128,256 --seed 1253 --extra-train $real --real-weight 4 --lowfreq-weight 20 --lowfreq-sigma 2"
  # The shipped network grown by zero-initialised dilated context blocks (57 -> 281 px receptive
  # field; train.py --context) and trained whole at 192 px patches: continues the CPU run committed
  # in docs/experiments/deep/ (only its new blocks trained; pack.sh copies it), else grows the shipped model.
  gr=$R/lowdose-ct-deep-c2.pt; [ -f $gr ] || gr=$R/lowdose-ct.pt
  [ -f $gr ] && finetune ct-grow "${ct_loss[*]} --channels 16,32,64 --context 2,4,8 --patch 192 --lr 5e-4 --seed 1255 --resume $gr --extra-train $real --real-weight 12 --lowfreq-weight 20 --lowfreq-sigma 3"
  # The SSIM loss term (docs/training.md, "SSIM loss term"): the CPU stages 9 and 10 that made the
  # shipped model ran at batch 8 and 16 of 96 px; ct-ssim continues it at the GPU config's batch
  # (64 of 128 px), whose larger batches may move the one L192 column the CPU runs could not (B30f
  # in [-1000, 1000] HU, +0.0056 of the +0.01 SSIM target). ct-wide-ssim trains the 32-64-128 network
  # from scratch with the same loss and data.
  [ -f $R/lowdose-ct.pt ] && finetune ct-ssim "${ct_loss[*]} --channels 16,32,64 --lr 2e-4 --seed 1260 --resume $R/lowdose-ct.pt --extra-train $real --real-weight 12 --ssim-weight 1 --ssim-window both"
  scratch ct-wide-ssim "${ct_loss[*]} --seed 1261 --extra-train $real --real-weight 12 --ssim-weight 1 --ssim-window both"
fi
# Lesion-aware PET loss (train.py --lesion-weight / --lesion-mean-weight; the pet-lesions export
# writes each pixel's lesion coverage): the weights of the CPU candidate M (models/eval/pet-lesion-finetune.md).
[ -f $R/lowdose-pet.pt ] && [[ " $EXPORTS " == *" pet-lesions "* ]] && finetune pet-lesion-loss "${pet_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1254 --resume $R/lowdose-pet.pt --extra-train pet-lesions --lesion-weight 5 --lesion-mean-weight 0.2"
[ -f $R/lowdose-pet.pt ] && [[ " $EXPORTS " == *" pet-lesions "* ]] && finetune pet-lesions "${pet_loss[*]} --channels 16,32,64 --lr 5e-4 --seed 1243 --resume $R/lowdose-pet.pt --extra-train pet-lesions"
if [ -n "${ONLY:-}" ]; then   # e.g. ONLY=ct-gpu: one run alone on the GPU (its unshared speed)
  kept=(); for r in "${runs[@]}"; do [[ ",$ONLY," == *",${r%%|*},"* ]] && kept+=("$r"); done; runs=("${kept[@]}")
fi
pids=()
for r in "${runs[@]}"; do
  n=${r%%|*}
  # shellcheck disable=SC2086
  $PY scripts/train/train.py ${r#*|} "${common[@]}" --workers "${WORKERS:-3}" --name "lowdose-$n" > "$KIT/train-$n.log" 2>&1 & pids+=($!)
done
rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
echo "$(stamp) training done (any failure: $rc)"
# Per run: a summary of its log, and one tar (checkpoint, card, ONNX, log): a file coming back may be
# at most 16 MiB, and all five runs in one tar were 22 MB (session 5 lost it and fetched it again).
for r in "${runs[@]}"; do
  m=${r%%|*}; n=lowdose-$m; log=$KIT/train-$m.log
  echo "--- $m"; grep -vE "^iter|Warning|^  " "$log" | tail -n 6; grep "^iter" "$log" | awk 'NR % 25 == 0'; grep "^iter" "$log" | tail -n 1
  cp "$log" "$models/$n.log" 2>/dev/null
  (cd "$C" && tar -cf "$OUTDIR/train-$n.tar" checkpoints/$n.pt device-models/$n.json device-models/$n.onnx device-models/$n.log 2>/dev/null)
  # The training state of an unfinished plan, in a tar of its own (each file that comes back is at most 16 MiB).
  [ -n "${PLAN_MINUTES:-}" ] && [ -f "$C/checkpoints/$n.state.pt" ] && (cd "$C" && tar -cf "$OUTDIR/train-$n-state.tar" checkpoints/$n.state.pt)
done
ls -la "$OUTDIR"
[ $rc = 0 ]
