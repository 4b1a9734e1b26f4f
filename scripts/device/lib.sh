# Shared by the device scripts: unpacking without relying on the xz binary (python3's lzma is
# always there), and the carried node.
unxz_to() { # <file.xz> <target>
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
KIT=${KIT:-/tmp/lowdose-kit}
OUTDIR=${OUT:-/tmp/lowdose-out}
mkdir -p "$KIT" "$OUTDIR"
if [ ! -x "$KIT/node" ]; then unxz_to .device/node.xz "$KIT/node" && chmod +x "$KIT/node"; fi
NODE=$KIT/node
stamp() { date -u +%H:%M:%S; }
