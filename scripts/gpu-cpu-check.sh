#!/usr/bin/env bash
# Checks the GPU path on this CPU machine: builds the bundle (scripts/gpu-bundle.sh) and runs it through
# scripts/gpu-run.sh with the tiny plan against the CPU libtorch of the NuGet cache, loaded exactly as on the GPU
# machine (LD_LIBRARY_PATH to a torch lib folder, the bundle carrying no libtorch). So on the GPU machine only CUDA
# itself (and the shim rebuild, which needs torch's CMake files) is new. A few minutes; not part of dotnet test.
#
#   scripts/gpu-cpu-check.sh [--no-build]      # --no-build: reuse artifacts/gpu-bundle/zoo-gpu-linux-x64.tar.xz
set -uo pipefail
cd "$(dirname "$0")/.."
libtorch="${NUGET_PACKAGES:-$HOME/.nuget/packages}/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native"
out="artifacts/gpu-cpu-check"
if [ "${1:-}" != "--no-build" ]; then
  scripts/gpu-bundle.sh || { echo "gpu-cpu-check: FAILED: the bundle did not build"; exit 1; }
fi
[ -d "$libtorch" ] || { echo "gpu-cpu-check: FAILED: no CPU libtorch at $libtorch (run dotnet build once to restore it)"; exit 1; }
rm -rf "$out"
OMP_NUM_THREADS=1 scripts/gpu-run.sh --torch-lib "$libtorch" --device cpu --plan tiny --out "$out" --budget 900
rc=$?
fail=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}" >/dev/null 2>&1; then echo "gpu-cpu-check: ok   $1"; else echo "gpu-cpu-check: FAIL $1"; fail=1; fi
}
check "gpu-run.sh exited 0" test "$rc" -eq 0
check "the bundle holds no libtorch" bash -c "! tar -tJf artifacts/gpu-bundle/zoo-gpu-linux-x64.tar.xz | grep -qE '/libtorch(_cpu)?\.so$'"
check "doctor loaded libtorch from $libtorch, not from the bundle" grep -q "native *$libtorch/libtorch_cpu.so" "$out/doctor.log"
check "doctor's first op on cpu" grep -q "cpu: first op ok" "$out/doctor.log"
check "the op bench wrote ok rows (fp32, both shapes, fwd and fwd+bwd)" test "$(grep -c 'gated-delta-op.*float32.*,ok,' "$out/op-zoo.csv")" -eq 4
check "the op bench wrote ok rows in bfloat16 too" test "$(grep -c 'gated-delta-op.*bfloat16.*,ok,' "$out/op-zoo.csv")" -eq 4
check "the LSTM comparison wrote rows for lstm and torch-lstm" test "$(grep -cE '^(torch-)?lstm,.*,ok,' "$out/lstm.csv")" -eq 4
check "the layer bench wrote ok rows" grep -q ',ok,' "$out/bench-layers.csv"
check "an STM ensemble trained" grep -q 'network-epochs/s' "$out/stm-1.log"
check "the summary ran" test -s "$out/ratios.csv"
if [ $fail -eq 0 ]; then echo "gpu-cpu-check: PASSED (output in $out)"; else echo "gpu-cpu-check: FAILED (output in $out)"; fi
exit $fail
