#!/usr/bin/env bash
# A device call carries the whole working tree git sees beside its kit, 64 MiB in all
# (docs/device.md). The tree alone is about 58 MB (QA fixtures, committed experiment checkpoints and
# figures), and a kit is 50 to 55 MB, so no kit fits beside it. This removes, from the working tree
# only, every tracked file the kit's script does not read; git still tracks them and `restore` puts
# them back from the index. Nothing is committed or staged.
#   bash scripts/device/slim.sh train|bench   # before the device call; prints what would travel
#   bash scripts/device/slim.sh restore       # after it (also run by hand if a call was cut off)
#   bash scripts/device/slim.sh size train    # bytes the slimmed tree would have; deletes nothing
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-}
dry=0
if [ "$what" = size ]; then dry=1; what=${2:-}; fi
case "$what" in
  # train.sh: lib.sh, the python training code, the carried kit (.device/, git-ignored).
  train) keep=(scripts/device scripts/train .gitignore) ;;
  # bench.sh: the CLI (bin/ and the carried dist/), the shipped models it benches, package.json
  # for the module type.
  bench) keep=(scripts/device bin models package.json .gitignore) ;;
  restore)
    missing=$(git ls-files --deleted | wc -l | tr -d ' ')
    git ls-files -z --deleted | xargs -0 -r git checkout --
    echo "restored $missing files; still missing: $(git ls-files --deleted | wc -l | tr -d ' '); git status:"
    git status --short | head -n 20
    exit 0 ;;
  *) echo "usage: slim.sh train|bench|restore" >&2; exit 2 ;;
esac
is_kept() { # <tracked path>: read by the kit's script?
  local k
  for k in "${keep[@]}"; do [[ "$1" == "$k" || "$1" == "$k"/* ]] && return 0; done
  return 1
}
if [ $dry = 1 ]; then
  while IFS= read -r -d '' f; do if is_kept "$f"; then printf '%s\0' "$f"; fi; done < <(git ls-files -z) |
    xargs -0 -r du -cb 2>/dev/null | awk '/\ttotal$/ {s += $1} END {print s + 0}'
  exit 0
fi
# Refuse to delete files with changes nobody committed: restore could not bring those back.
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "the working tree has uncommitted changes to tracked files: commit them first" >&2
  exit 1
fi
kept=0
removed=0
while IFS= read -r -d '' f; do
  if is_kept "$f"; then kept=$((kept + 1)); else rm -f -- "$f"; removed=$((removed + 1)); fi
done < <(git ls-files -z)
echo "kept $kept tracked files, removed $removed from the working tree (bash scripts/device/slim.sh restore puts them back)"
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | { xargs -0 -r du -cb 2>/dev/null || true; } | awk '/\ttotal$/ {s += $1} END {print s + 0}')
echo "the tree that travels now: $((tree / 1048576)) MiB, beside the kit's paths (bash scripts/device/pack.sh sizes)"
