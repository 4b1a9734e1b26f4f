#!/usr/bin/env bash
# One device call (docs/device.md): `lowdose bench` on WebGPU (Vulkan, the NVIDIA ICD) and on the
# machine's CPU, for the shipped models and any extra model cards given; writes $OUT/bench-gpu.json
# and $OUT/bench.log.
#   run: bash scripts/device/bench.sh [extra model.json ...]
#   carry: .device/node.xz .device/modules.tar.xz dist .gl             (bash scripts/device/pack.sh bench)
# BENCH_ARGS overrides the step / batch grid, DEVICES the devices (webgpu,cpu), NAME the output's name.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/device/lib.sh
NAME=${NAME:-bench-gpu}
exec > >(tee "$OUTDIR/$NAME.log") 2>&1
if [ ! -d node_modules/onnxruntime-node ]; then
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(".")' .device/modules.tar.xz || exit 1
fi
# Vulkan loader and GL dispatch libraries from the carried .debs (the machine has the driver's ICD
# but neither: without libglvnd the ICD's libGLX_nvidia.so.0 does not load and Dawn finds "no
# drivers", as in session 5's first call). Only where there is an NVIDIA GPU: elsewhere (a plumbing
# check here) nothing is installed into /.
if command -v nvidia-smi >/dev/null && ! { ldconfig -p | grep -q libvulkan.so.1 && ldconfig -p | grep -q libGLdispatch.so.0; }; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f $icd ]; then export VK_DRIVER_FILES=$icd; fi
echo "$(stamp) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'), $(nproc) cores, node $($NODE --version), VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
models=(--model lowdose-ct lowdose-pet "$@")
args=${BENCH_ARGS:---steps 1,2,4,8 --batch 1,2,4,8 --repeats 5}
# shellcheck disable=SC2086
$NODE bin/lowdose.js bench "${models[@]}" --device "${DEVICES:-webgpu,cpu}" $args --json > "$OUTDIR/$NAME.json"
rc=$?
$NODE -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const x of r.runs) console.log(x.model, x.device, x.size, "b" + x.batch, "s" + x.steps, x.msPerSlice, "ms/slice", x.slicesPerSecond, "/s"); for (const d of r.devices) console.log(JSON.stringify(d));' "$OUTDIR/$NAME.json"
exit $rc
