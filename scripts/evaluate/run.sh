#!/usr/bin/env bash
# Reproduces every number of the model card (models/README.md) and writes them to models/eval/:
#   ct.json / pet.json        held-out volumes: input, Gaussian / bilateral / NLM (tuned on validation),
#                             the model at 1, 2, 4, 8, 16 steps (scripts/train/evaluate.py)
#   ct.md / pet.md            the same as markdown tables (scripts/train/report.py)
#   ct-per-volume.json / .md  the CT test table per held-out volume and reconstruction kernel
#                             (scripts/train/per-volume.py)
#   phantoms.json / .md       MTF50 on acr, SUVmean bias / SUVmax recovery in the iec spheres, per
#                             method, measured by `lowdose qa` (scripts/train/phantom-eval.mjs)
#   engine-ct.json / engine-pet.json   the shipped ONNX models through the toolkit's own runtime,
#                             sampler and metrics (scripts/train/engine-eval.ts): checks that the
#                             PyTorch-side numbers are what `lowdose denoise` delivers
#   pet-lesions.json / .md    hot lesions (10 to 37 mm, 2 to 10 x background) inserted into the held-out
#                             real PET volume sts-001, simulated at 25 % / 10 % counts: SUVmean / SUVmax /
#                             SUVpeak against the full-count reconstruction (scripts/evaluate/pet-lesions.ts;
#                             about 13 minutes the first time, the simulations are cached in .cache/)
#   ct-real.json / .md        REAL quarter-dose CT (../shared/ldct-mayo, L143 / L192, B30f / D45f):
#                             input, Gaussian / bilateral / NLM tuned on those slices, the model at its
#                             default, 2 steps and with the dose given (scripts/evaluate/real-pairs.ts;
#                             2.3 CPU minutes the first time, 33 s once the filters are cached in .cache/)
#   ssim-regions.json / .md   where the model's SSIM margin over the best filter comes from on L192, by
#                             region (air, table, skin band, soft tissue, lung, bone), from ct-real.json's
#                             tuned settings (scripts/experiments/ssim-regions.ts; about 30 s)
# Needs the exported evaluation data in .cache/eval (docs/training.md, step 1), Debian's
# python3-torch / python3-skimage / python3-scipy, and a built CLI (npm run build).
# About 30 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=models/eval
mkdir -p "$out"
py=/usr/bin/python3
threads=${THREADS:-2}   # CPU threads for the models (THREADS=1 when something else runs beside it)

npx tsx scripts/train/classical-eval.ts CT
npx tsx scripts/train/classical-eval.ts PT
npx tsx scripts/train/card-outputs.ts PT lowdose-pet "$threads"   # lowdose-pet at its card default (consistency on) for evaluate.py

ct_configs=warm0.05:1,warm0.05:2,warm0.05:4,warm0.1:1,noise:1,noise:4
pet_configs=noise:1,noise:2,noise:4,noise:8,noise:16,warm0.2:1
$py scripts/train/evaluate.py --modality CT --stride 2 --configs "$ct_configs" --write-card --threads "$threads" --out "$out/ct.json"
$py scripts/train/evaluate.py --modality PT --configs "$pet_configs" --write-card --threads "$threads" --out "$out/pet.json"
$py scripts/train/report.py "$out/ct.json" > "$out/ct.md"
$py scripts/train/report.py "$out/pet.json" > "$out/pet.md"
$py scripts/train/per-volume.py --modality CT --stride 2 --threads "$threads" --out "$out/ct-per-volume.json" > "$out/ct-per-volume.md"

node scripts/train/phantom-eval.mjs --steps 1,2,4,8,16 --threads "$threads" --out "$out/phantoms.json" > "$out/phantoms.md"
npx tsx scripts/evaluate/pet-lesions.ts --realisations 3 --threads "$threads"

npx esbuild scripts/train/engine-eval.ts --bundle --platform=node --format=esm --packages=external \
  --outfile=.cache/engine-eval.mjs --log-level=warning
node .cache/engine-eval.mjs lowdose-ct CT "" 4 "$threads" > "$out/engine-ct.json"
node .cache/engine-eval.mjs lowdose-pet PT "" 4 "$threads" > "$out/engine-pet.json"

npx tsx scripts/evaluate/real-pairs.ts --threads "$threads" --variant "" --variant "--steps 2" --variant "--dose 0.25"
npx tsx scripts/experiments/ssim-regions.ts --threads "$threads"
echo "wrote $out/"
