#!/usr/bin/env bash
# Every measurement of docs/latent.md's side-by-side tables for one chunk of latent-budget.sh: the
# pixel and the lossless-latent model at 1, 2, 4 and 8 steps through the toolkit (latent-eval.ts:
# simulated test volumes and the real L192 pairs), the QA phantoms (lowdose qa: ACR and water at
# 25 %) and the CPU speed and memory (lowdose bench, one model per process so that each peak RSS is
# its own). One thread each, seed 0, CPU. Writes docs/experiments/latent/{eval-latent-s2d,eval-pixel,
# qa,bench-cpu-latent,bench-cpu-pixel}-<BUDGET>.json.
#   nice -n 10 bash scripts/train/latent-measure.sh CHUNK_INDEX BUDGET_CPU_SECONDS
set -euo pipefail
cd "$(dirname "$0")/../.."
K=${1:?chunk index}
B=${2:?training CPU seconds of both models (the file suffix)}
C=.cache/latent-budget/chunk-$K
E=docs/experiments/latent
PY=${PYTHON:-/usr/bin/python3}
export OMP_WAIT_POLICY=PASSIVE
for m in latent-s2d pixel-budget; do
  tag=${m%-budget}
  npx tsx scripts/train/latent-eval.ts --card "$C/lowdose-ct-$m.json" --steps 1,2,4,8 --per-volume 2 --threads 1 \
    --out "$E/eval-$tag-$B.json" > "$C/eval-$tag.log" 2>&1
  node bin/lowdose.js bench --model "$C/lowdose-ct-$m.json" --steps 1,2,4,8 --batch 1 --threads 1 --device cpu --repeats 5 --json \
    > "$E/bench-cpu-${tag%-s2d}-$B.json" 2> "$C/bench-$tag.log"
done
Q=$C/qa
mkdir -p "$Q"
for m in latent-s2d pixel-budget; do
  for s in 1 2 4 8; do
    # exit 1 = a check failed, which is a result here
    node bin/lowdose.js qa --model "$C/lowdose-ct-$m.json" --phantoms acr,water --doses 0.25 --steps "$s" --threads 1 --device cpu \
      -o "$Q/out-${m%-budget}-$s" --no-progress --json > "$Q/${m%-budget}-$s.json" 2> "$Q/${m%-budget}-$s.log" || [ $? = 1 ]
  done
done
$PY - "$Q" "$E/qa-$B.json" "$C" <<'EOF'
import glob, json, os, sys
q, out, c = sys.argv[1:]
merged = {os.path.basename(f)[:-5]: json.load(open(f)) for f in sorted(glob.glob(os.path.join(q, "*-*.json")))}
merged["command"] = (f"node bin/lowdose.js qa --model {c}/lowdose-ct-<latent-s2d|pixel-budget>.json --phantoms acr,water --doses 0.25 "
                     "--steps <1|2|4|8> --threads 1 --device cpu --no-progress --json")
json.dump(merged, open(out, "w"), indent=1)
EOF
echo "wrote $E/{eval-latent-s2d,eval-pixel,qa,bench-cpu-latent,bench-cpu-pixel}-$B.json"
