#!/usr/bin/env bash
# Re-measures every committed number that depends on lowdose-pet's card (its sampler, consistency
# step or network), in the order their consumers need them, after the card changed:
#   qa-iec.json / qa-iec-dose-unknown.json     `lowdose qa --phantoms iec` (8 realisations each; < 2 min)
#   pet-lesions.json / .md                      sts-001 lesions, one draw (pet-lesions.ts; 10 to 20 min)
#   pet-lesions-expected{,-unknown}/dose{25,10} the 12-draw expectations (36 draws each: about 3 min a
#                                               file on 2 idle cores, many times that beside other jobs)
#   pet.json / pet.md and the card's quality    held-out volumes (classical-eval.ts, card-outputs.ts, evaluate.py --write-card)
#   quality.lesionRecovery in the card          from the lesion files and the QA results (lesion-recovery-card.ts)
#   phantoms.json / .md                         IEC and ACR through `lowdose qa` per method and step count
#   engine-pet.json                             the network through the toolkit's runtime
#   uncertainty-pet.json / .md, the card's uncertainty block   calibrate.ts --modality PT --write-card
#   pet-real-slices.md                          the real corpus slices (pydicom)
# Then re-read what models/README.md and docs/ quote from them (test/evaluate/docs-quote-eval.test.ts
# re-renders the tables; test/qa/committed-results.test.ts and test/evaluate/pet-lesions-committed.test.ts
# re-run the QA and lesion rows). Run it from a clean checkout with the card committed: the QA
# results record the commit and whether the tree was dirty, so they are written to a temporary
# file first. Needs what scripts/evaluate/run.sh needs (.cache/eval exported, Debian's python3-torch).
#
#   bash scripts/evaluate/pet-card-evals.sh [--skip-expected]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=models/eval
py=/usr/bin/python3
threads=${THREADS:-2}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
step() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
# The command a committed result records, re-run word for word (its rows and options are what the docs quote).
rerun_recorded() {
  node -e '
    const { spawnSync } = require("node:child_process");
    const words = require(require("node:path").resolve(process.argv[1])).command.split(/\s+/);
    process.exit(spawnSync(words[0], words.slice(1), { stdio: "inherit" }).status ?? 1);
  ' "$1"
}

npx tsc -p tsconfig.json
# First: the uncertainty block is part of the card's fingerprint (src/models/fingerprint.ts), which
# the QA results and quality.lesionRecovery record.
step uncertainty calibration
npx tsx scripts/uncertainty/calibrate.ts --modality PT --write-card
step qa iec
node bin/lowdose.js qa --phantoms iec --threads "$threads" --json -o .cache/qa-iec > "$scratch/qa-iec.json" || [ $? -eq 1 ]
node bin/lowdose.js qa --phantoms iec --threads "$threads" --json -o .cache/qa-iec-dose-unknown --dose-unknown > "$scratch/qa-iec-dose-unknown.json" || [ $? -eq 1 ]
cp "$scratch/qa-iec.json" "$scratch/qa-iec-dose-unknown.json" "$out/"

step pet-lesions, one draw
rerun_recorded "$out/pet-lesions.json"
if [ "${1:-}" != --skip-expected ]; then
  for file in "$out"/pet-lesions-expected/dose{25,10}.json "$out"/pet-lesions-expected-unknown/dose{25,10}.json; do
    step "pet-lesions, 12 draws: $file"
    rerun_recorded "$file"
  done
fi

step pet.json
npx tsx scripts/train/classical-eval.ts PT   # the bilateral and NLM rows (tuned on validation)
npx tsx scripts/train/card-outputs.ts PT lowdose-pet "$threads"
$py scripts/train/evaluate.py --modality PT --configs noise:1,noise:2,noise:4,noise:8,noise:16,warm0.2:1 --write-card --threads "$threads" --out "$out/pet.json"
$py scripts/train/report.py "$out/pet.json" > "$out/pet.md"
if [ "${1:-}" != --skip-expected ]; then
  step lesion-recovery block   # after evaluate.py, which rewrites the card's quality
  npx tsx scripts/evaluate/lesion-recovery-card.ts
fi

step phantoms.json
node scripts/train/phantom-eval.mjs --steps 1,2,4,8,16 --threads "$threads" --out "$out/phantoms.json" > "$out/phantoms.md"

step engine-pet.json
npx esbuild scripts/train/engine-eval.ts --bundle --platform=node --format=esm --packages=external --outfile=.cache/engine-eval.mjs --log-level=warning
node .cache/engine-eval.mjs lowdose-pet PT "" 4 "$threads" > "$out/engine-pet.json"

step real slices
$py scripts/experiments/pet-real-slices.py
step "done: re-read models/README.md and docs/ against $out/"
