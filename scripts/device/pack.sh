#!/usr/bin/env bash
# Builds, here, what a GPU machine needs for one call (docs/device.md) into .device/ (git-ignored):
#   bash scripts/device/pack.sh train   # node, the dataset export bundle, the training slices (~45 MB)
#   bash scripts/device/pack.sh bench   # node, production node_modules (linux-x64 onnxruntime only),
#                                       # dist/ and the Vulkan loader .deb (~50 MB)
# The device machine has python3 + PyTorch but no Node.js, cannot download anything, and a call
# carries at most 64 MiB, so everything is xz-compressed; the device scripts unpack it. Last, it
# prints what each call would carry (`pack.sh sizes` only that, after node.xz) and fails over 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
mkdir -p .device
node_bin=$(command -v node)
if [ ! -s .device/node.xz ] || [ "$node_bin" -nt .device/node.xz ]; then
  echo "compressing $node_bin ($(node --version))"
  xz -T2 -9 -c "$node_bin" > .device/node.xz
fi

if [ "$what" = train ] || [ "$what" = all ]; then
  # Self-contained bundle (nifti-reader-js inside): no node_modules on the device.
  npx esbuild scripts/train/export-dataset.ts --bundle --platform=node --format=esm --log-level=warning \
    --banner:js="import { createRequire as lowdoseRequire } from 'node:module'; const require = lowdoseRequire(import.meta.url);" \
    --outfile=.device/export-dataset.mjs
  rm -rf .device/sources .device/sources.tmp
  node .device/export-dataset.mjs pack-sources .device/sources.tmp
  # gzip -> xz: the packed NIfTIs shrink by a quarter, which the 64 MiB limit needs.
  for f in .device/sources.tmp/*/*.nii.gz; do
    sub=$(basename "$(dirname "$f")"); mkdir -p ".device/sources/$sub"
    gunzip -c "$f" | xz -T2 -9 > ".device/sources/$sub/$(basename "$f" .gz).xz"
    cp "${f%.nii.gz}.json" ".device/sources/$sub/"
  done
  rm -rf .device/sources.tmp
  # The real quarter/full-dose pairs of the training patient (../shared/ldct-mayo), int16 in xz.
  cache=${LOWDOSE_CACHE:-.cache}
  npx tsx scripts/train/export-real-pairs.ts --out "$cache/train/CT"
  py=${PYTHON:-/usr/bin/python3}
  rm -rf .device/real && $py scripts/device/real-pairs.py pack "$cache/train/CT" .device/real
  # The shipped models' weights as checkpoints to continue (checkpoints are not committed; the ONNX
  # files hold the same EMA weights, and the rebuild is checked bit for bit).
  mkdir -p .device/resume
  for m in lowdose-ct lowdose-pet; do
    $py scripts/train/onnx-to-checkpoint.py "models/$m.json" ".device/resume/$m.pt" 2>/dev/null
  done
  # The CPU fine-tune with the low-frequency loss (committed: ct-lowband in train.sh continues it).
  cp docs/experiments/lowband/lowdose-ct-lowband.pt .device/resume/
  # The grown network's CPU run (committed: ct-grow in train.sh continues it).
  cp docs/experiments/deep/lowdose-ct-deep-c2.pt .device/resume/
fi

if [ "$what" = bench ] || [ "$what" = all ]; then
  npm run build --silent
  tmp=$(mktemp -d)
  cp package.json package-lock.json .npmrc "$tmp/"
  (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
  # onnxruntime-node ships every platform's binaries (290 MB); the device is linux-x64.
  ort="$tmp/node_modules/onnxruntime-node/bin/napi-v6"
  find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
  tar -C "$tmp" -cf - node_modules | xz -T2 -6 > .device/modules.tar.xz
  rm -rf "$tmp"
  # Vulkan loader and libglvnd for WebGPU (the device README's recipe); the NVIDIA ICD is on the machine.
  mkdir -p .gl /tmp/amd64/partial
  apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${apt_opts[@]}" update -qq
  (cd .gl && rm -f ./*.deb && apt-get "${apt_opts[@]}" download -qq libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2)
fi
du -sh .device/* .gl 2>/dev/null || true   # .gl exists only after a bench pack
# What each call would carry: the working tree git sees (tracked + untracked, not ignored) plus the
# kit's paths; the device refuses more than 64 MiB.
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r du -cb 2>/dev/null | awk '/\ttotal$/ {s += $1} END {print s + 0}')
# The whole tree (~58 MB) no longer fits beside any kit: scripts/device/slim.sh <kit> leaves only
# the files the kit's script reads, for the length of the call, and the check is made for that.
for kit in "train:.device/node.xz .device/export-dataset.mjs .device/sources .device/real .device/resume" "bench:.device/node.xz .device/modules.tar.xz dist .gl"; do
  name=${kit%%:*}
  paths=${kit#*:}
  # shellcheck disable=SC2086
  kit_bytes=$(du -cb $paths 2>/dev/null | tail -n 1 | cut -f1 || true)
  slim=$(bash scripts/device/slim.sh size "$name")
  mib=$(( (slim + kit_bytes) / 1048576 ))
  echo "$name call carries ~$(( (tree + kit_bytes) / 1048576 )) MiB with the whole tree, ~${mib} MiB of 64 after 'bash scripts/device/slim.sh $name' ($paths)"
  [ "$mib" -lt 64 ] || { echo "too large for one device call even slimmed"; exit 1; }
done
