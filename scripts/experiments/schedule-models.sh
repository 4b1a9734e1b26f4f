#!/usr/bin/env bash
# Schedules experiment, part 2: the denoising quality a model reaches when trained on each beta
# schedule. Trains one CT v-prediction model per schedule (linear, cosine, aggressive) from scratch
# with the same seed, data, network, iteration count and loss (t uniform in 0..T-1, so that every
# model sees its whole chain), then measures each on the validation volume (lidc-0314, 25 % and
# 10 % dose) with DDIM from pure noise (1, 4, 16 steps) and a warm start (strength 0.05 and 0.2,
# 1 step). Writes docs/experiments/schedule-models.json and prints the markdown table.
#
#   bash scripts/experiments/schedule-models.sh [iterations=2000] [threads=1]
#
# Needs the exported training data (docs/training.md step 1) and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/../.."
iters=${1:-2000}
threads=${2:-1}
py=/usr/bin/python3
configs=noise:1,noise:4,noise:16,warm0.05:1,warm0.2:1
mkdir -p .cache/candidates .cache/eval/schedules
for s in linear cosine aggressive; do
  $py scripts/train/train.py --modality CT --config cpu-small --prediction v --schedule "$s" \
    --name "schedule-$s" --out .cache/candidates --iters "$iters" --t-focus 0 --threads "$threads"
  $py scripts/train/evaluate.py --modality CT --name "schedule-$s" --card ".cache/candidates/schedule-$s.json" \
    --ckpt ".cache/checkpoints/schedule-$s.pt" --skip-test --configs "$configs" --threads "$threads" \
    --out ".cache/eval/schedules/$s.json"
done
$py - "$iters" "$configs" <<'EOF'
import json, sys
iters, configs = int(sys.argv[1]), sys.argv[2].split(",")
rows = {s: json.load(open(f".cache/eval/schedules/{s}.json")) for s in ["linear", "cosine", "aggressive"]}
out = {"command": f"bash scripts/experiments/schedule-models.sh {iters}", "iterations": iters,
       "validationVolumes": rows["cosine"]["validationVolumes"],
       "results": {s: r["validation"] for s, r in rows.items()}}
with open("docs/experiments/schedule-models.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
doses = rows["cosine"]["doses"]
print("| schedule | " + " | ".join(f"{c} @ {int(d * 100)} %" for d in doses for c in configs) + " |")
print("| --- |" + " ---: |" * (len(doses) * len(configs)))
for s, r in rows.items():
    v = r["validation"]
    print(f"| {s} | " + " | ".join(f"{v[f'{c}@{d}']['psnr']:.2f} / {v[f'{c}@{d}']['ssim']:.3f}" for d in doses for c in configs) + " |")
c = rows["cosine"]["validation"]
print("\ninput: " + ", ".join(f"{int(d * 100)} % {c[f'input@{d}']['psnr']:.2f} / {c[f'input@{d}']['ssim']:.3f}" for d in doses))
EOF
