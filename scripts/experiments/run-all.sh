#!/usr/bin/env bash
# Regenerates every figure and table of docs/trace.md and docs/benchmarks.md (about 10 minutes on
# 2 CPU cores). Needs the shipped models in models/ and a built CLI (npm run build).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/experiments
npx tsx scripts/experiments/schedules.ts
npx tsx scripts/experiments/schedules-warmstart.ts --threads 1
npx tsx scripts/experiments/guidance.ts --threads 1
npx tsx scripts/experiments/steps.ts --samplers warm-start,ddim --threads 1
node bin/lowdose.js trace fixtures/body/dose25 -o $out/trace-body.png --dose 0.25 --panel 128 --threads 1
node bin/lowdose.js trace fixtures/body/dose25 -o $out/trace-body-ddim.png --dose 0.25 --sampler ddim --steps 8 --panel 128 --threads 1
node bin/lowdose.js trace fixtures/iec/dose25 -o $out/trace-iec.png --dose 0.25 --threads 1
node bin/lowdose.js bench --json > $out/bench-cpu.json
npx tsx scripts/experiments/bench-table.ts $out/bench-cpu.json
