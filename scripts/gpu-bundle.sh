#!/usr/bin/env bash
# Builds the GPU bundle: a self-contained `zoo` for linux-x64 with TorchSharp and its (GLIBCXX-patched) native shim but
# no libtorch (-p:TorchBackend=none), packed as one .tar.xz for a machine that brings its own torch (scripts/gpu-run.sh).
# Output (ignored by git): artifacts/gpu-bundle/zoo-gpu-linux-x64.tar.xz. Usage: scripts/gpu-bundle.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
out="${1:-$root/artifacts/gpu-bundle}"
build="$root/artifacts/gpu-build"     # own obj/bin tree, so the normal cpu build's restore state is not touched
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rm -rf "$out/zoo"
mkdir -p "$out"
echo "gpu-bundle: publishing src/Zoo.Cli (Release, linux-x64, self-contained, TorchBackend=none) to $out/zoo"
dotnet publish src/Zoo.Cli -c Release -r linux-x64 --self-contained true -p:TorchBackend=none \
  -p:UseArtifactsOutput=true -p:ArtifactsPath="$build" -o "$out/zoo"
if ls "$out/zoo" | grep -qE '^libtorch(_cpu|_cuda)?\.so$'; then
  echo "gpu-bundle: FAILED: libtorch found in the bundle; TorchBackend=none should leave it out" >&2
  exit 1
fi
[ -f "$out/zoo/libLibTorchSharp.so" ] || { echo "gpu-bundle: FAILED: libLibTorchSharp.so missing from the bundle" >&2; exit 1; }
archive="$out/zoo-gpu-linux-x64.tar.xz"
echo "gpu-bundle: packing $archive"
tar -C "$out" -cf - zoo | xz -T0 -6 > "$archive.tmp"
mv "$archive.tmp" "$archive"
bytes=$(stat -c %s "$archive")
echo "gpu-bundle: $archive: $((bytes / 1024 / 1024)) MiB ($bytes bytes; unpacked $(du -sh "$out/zoo" | cut -f1))"
if [ "$bytes" -ge $((60 * 1024 * 1024)) ]; then
  echo "gpu-bundle: FAILED: the archive is over 60 MiB (the GPU machine takes at most 64 MiB per call)" >&2
  exit 1
fi
