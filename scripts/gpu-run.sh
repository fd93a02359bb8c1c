#!/usr/bin/env bash
# Runs the GPU bundle (scripts/gpu-bundle.sh) on a machine that brings its own torch, and takes issue 21's
# measurement set into CSVs. Every step prints what it found and is time-boxed; the whole run keeps to --budget.
#
#   scripts/gpu-run.sh [--bundle FILE.tar.xz] [--torch-lib DIR] [--device cuda|cpu] [--plan full|tiny]
#                      [--out DIR] [--budget SECONDS] [--steps op,fla,lstm,layers,stm,smoke]
#
#   --torch-lib DIR  libtorch folder to load (default: the lib folder of python3's torch package)
#   --plan full      the measurement set of issue 21 (d_model 1024, L up to 16k, fla's shapes); tiny: seconds-sized
#                    shapes, for checking the bundle and this script on a CPU (scripts/gpu-cpu-check.sh)
#   --out DIR        where CSVs and logs go (default $OUT, else ./gpu-out)
#   --steps LIST     measurement groups to run, in this order (default all): op,fla,lstm,layers,stm,smoke
# Environment:
#   TORCHSHARP_NATIVE_SRC  TorchSharp's src/Native folder (dotnet/TorchSharp at v0.107.0), carried, never committed:
#                          compiled against this torch when the bundled shim does not bind or fails its first op
#   FLA_SRC                a checkout of fla-org/flash-linear-attention (the folder holding fla/), for the comparison
set -uo pipefail   # no -e: a failed step is reported and the run goes on

repo="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$repo/artifacts/gpu-bundle/zoo-gpu-linux-x64.tar.xz"
torch_lib="" device="cuda" plan="full" out="${OUT:-$PWD/gpu-out}" budget=470 steps="op,fla,lstm,layers,stm,smoke"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --torch-lib) torch_lib="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --plan) plan="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "gpu-run: unknown argument '$1'; allowed: --bundle, --torch-lib, --device, --plan full|tiny, --out, --budget, --steps" >&2; exit 2 ;;
  esac
done
case "$plan" in full|tiny) ;; *) echo "gpu-run: --plan '$plan' is not allowed; use full or tiny" >&2; exit 2 ;; esac
for g in ${steps//,/ }; do
  case "$g" in op|fla|lstm|layers|stm|smoke) ;; *) echo "gpu-run: --steps '$g' is not a step group; allowed: op, fla, lstm, layers, stm, smoke" >&2; exit 2 ;; esac
done
want() { [[ ",$steps," == *",$1,"* ]]; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
start=$(date +%s)
log="$out/run.log"
: > "$log"
echo "step,start_local,end_local,seconds,rc,status" > "$out/steps.csv"   # local time, as nvidia-smi's samples

say() { echo "[gpu-run +$(( $(date +%s) - start ))s] $*" | tee -a "$log"; }
remaining() { echo $(( budget - ($(date +%s) - start) )); }

# step NAME BOX CMD...: runs CMD under `timeout` (BOX seconds, less if the budget has less left), its output in
# $out/NAME.log; records the outcome in steps.csv and prints the tail of the log when it failed.
step() {
  local name="$1" box="$2"; shift 2
  local left; left=$(( $(remaining) - 5 ))
  [ "$box" -gt "$left" ] && box=$left
  if [ "$box" -lt 5 ]; then
    say "$name: SKIPPED, the budget is spent"
    echo "$name,,,0,,skipped" >> "$out/steps.csv"
    return 124
  fi
  local t0 u0 rc status
  t0=$(date +%s); u0=$(date +%FT%T)
  say "$name: start (time box ${box}s): $*"
  timeout -k 5 "$box" "$@" >> "$out/$name.log" 2>&1
  rc=$?
  case $rc in 0) status=ok ;; 124|137) status=timeout ;; *) status=failed ;; esac
  echo "$name,$u0,$(date +%FT%T),$(( $(date +%s) - t0 )),$rc,$status" >> "$out/steps.csv"
  say "$name: $status (exit $rc, $(( $(date +%s) - t0 ))s)"
  if [ $rc -ne 0 ]; then tail -n 8 "$out/$name.log" | sed 's/^/    | /' | tee -a "$log"; fi
  return $rc
}

say "plan $plan, device $device, budget ${budget}s, output $out"
say "host: $(uname -srm); $(getconf _NPROCESSORS_ONLN) CPUs; $( (command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) || echo 'no nvidia-smi')"

# 1. Unpack the bundle.
if [ ! -f "$bundle" ]; then say "FAILED: bundle $bundle not found (build it with scripts/gpu-bundle.sh and carry it)"; exit 1; fi
work="$(mktemp -d "${TMPDIR:-/tmp}/zoo-gpu-run.XXXXXX")"
say "unpacking $bundle ($(du -h "$bundle" | cut -f1)) into $work"
if ! tar -C "$work" -xJf "$bundle"; then say "FAILED: could not unpack $bundle"; exit 1; fi
zoo="$work/zoo/zoo"
[ -x "$zoo" ] || { say "FAILED: $zoo missing from the bundle"; exit 1; }
say "bundle holds: $(ls "$work/zoo" | grep -cE '\.dll$') managed DLLs; natives: $(cd "$work/zoo" && ls *.so 2>/dev/null | tr '\n' ' ')"

# 2. Find the machine's torch and point the loader at it. TorchSharp loads torch_cpu / torch_cuda and its shim by name
#    (NativeLibrary.TryLoad relative to TorchSharp.dll, then the system search), and the shim's libtorch.so, libc10.so
#    and libtorch_cpu.so come through the dynamic loader: LD_LIBRARY_PATH reaches all of them.
torch_root=""
if [ -z "$torch_lib" ]; then
  if ! command -v python3 >/dev/null; then say "FAILED: no python3 to find torch; give --torch-lib DIR"; exit 1; fi
  torch_root="$(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))" 2>>"$log")"
  if [ -z "$torch_root" ]; then say "FAILED: python3 cannot import torch (see $log); give --torch-lib DIR"; exit 1; fi
  torch_lib="$torch_root/lib"
  say "python torch: $(python3 -c "import torch; print(torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'available', torch.cuda.is_available())" 2>&1)"
  # pip's torch finds the CUDA libraries of the nvidia-* wheels through its own preloading; a non-Python process needs them on the path.
  nvidia_libs="$(ls -d "$(dirname "$torch_root")"/nvidia/*/lib 2>/dev/null | tr '\n' ':')"
  [ -n "$nvidia_libs" ] && say "nvidia wheel libraries: $(echo "$nvidia_libs" | tr ':' ' ')"
else
  torch_lib="$(cd "$torch_lib" && pwd)"
  torch_root="$(dirname "$torch_lib")"
  nvidia_libs=""
fi
for f in libtorch.so libtorch_cpu.so libc10.so libtorch_cuda.so; do
  if [ -e "$torch_lib/$f" ]; then say "found $torch_lib/$f"; else say "not in $torch_lib: $f"; fi
done
[ -e "$torch_lib/libtorch_cpu.so" ] || { say "FAILED: $torch_lib has no libtorch_cpu.so"; exit 1; }
export LD_LIBRARY_PATH="$torch_lib:${nvidia_libs}${LD_LIBRARY_PATH:-}"
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

# 3. Doctor; on failure, build TorchSharp's shim against this torch and retry. A shim built on an earlier call of
#    this machine (kept in the ignored artifacts/gpu-shim) is used first.
shim_cache="$repo/artifacts/gpu-shim/libLibTorchSharp.so"
if [ -f "$shim_cache" ]; then say "using the shim built earlier: $shim_cache"; cp "$shim_cache" "$work/zoo/libLibTorchSharp.so"; fi

build_shim() {
  local src="${TORCHSHARP_NATIVE_SRC:-}"
  if [ -z "$src" ] || [ ! -f "$src/LibTorchSharp/CMakeLists.txt" ]; then
    say "cannot rebuild the shim: TORCHSHARP_NATIVE_SRC='$src' is not TorchSharp's src/Native (with LibTorchSharp/CMakeLists.txt)"; return 1
  fi
  command -v cmake >/dev/null || { say "cannot rebuild the shim: no cmake"; return 1; }
  local cmake_dir="$torch_root/share/cmake/Torch"
  [ -f "$cmake_dir/TorchConfig.cmake" ] || { say "cannot rebuild the shim: no TorchConfig.cmake in $cmake_dir"; return 1; }
  rm -rf "$work/native-src" "$work/native-build"
  cp -r "$src" "$work/native-src"
  # TorchSharp builds with -Werror against its own libtorch; a newer torch's headers may warn (deprecations).
  sed -i 's/^\s*add_definitions(-Werror).*$/# -Werror dropped by gpu-run.sh/' "$work/native-src/CMakeLists.txt"
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  say "building the shim from $src against $cmake_dir ($(cmake --version | head -1); generator ${gen[*]:-make})"
  step shim-configure 120 cmake -S "$work/native-src" -B "$work/native-build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DTorch_DIR="$cmake_dir" -DLIBTORCH_PATH="$cmake_dir" || return 1
  step shim-build 300 cmake --build "$work/native-build" -j "$(getconf _NPROCESSORS_ONLN)" || return 1
  local so; so="$(find "$work/native-build" -name libLibTorchSharp.so | head -1)"
  [ -n "$so" ] || { say "the shim build produced no libLibTorchSharp.so"; return 1; }
  cp "$so" "$work/zoo/libLibTorchSharp.so"
  mkdir -p "$(dirname "$shim_cache")" && cp "$so" "$shim_cache" && cp "$so" "$out/libLibTorchSharp.so"
  say "built $so ($(du -h "$so" | cut -f1)); kept in $shim_cache and $out"
}

cd "$repo"   # zoo reads tasks/ and records the commit from here
if step doctor 90 "$zoo" doctor --device "$device"; then
  sed 's/^/    | /' "$out/doctor.log" | tee -a "$log"
  say "doctor: the bundled shim binds to $torch_lib and runs on $device"
else
  cat "$out/doctor.log" | sed 's/^/    | /' | tee -a "$log"
  # A libtorch_cuda.so that cannot resolve its CUDA libraries leaves torch loaded but CUDA "not available".
  if [ -e "$torch_lib/libtorch_cuda.so" ]; then
    missing="$(ldd "$torch_lib/libtorch_cuda.so" 2>&1 | grep 'not found' | tr -s ' \t' ' ')"
    say "libtorch_cuda.so dependencies not found through LD_LIBRARY_PATH: ${missing:-none}"
  fi
  say "doctor failed with the bundled shim (built for libtorch 2.10); rebuilding it against this torch"
  if build_shim && step doctor-rebuilt 90 "$zoo" doctor --device "$device"; then
    say "doctor: the rebuilt shim binds and runs on $device"
  else
    say "FAILED: zoo cannot run on $device here; see $out/doctor*.log and $out/shim-*.log"
    exit 1
  fi
fi

# 4. Measurements, most wanted first. GPU memory is sampled alongside (TorchSharp 0.107 has no allocator statistics):
#    peak per step = the largest memory.used in the step's window of steps.csv.
if [ "$device" != "cpu" ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader -lms 250 > "$out/gpu-memory.csv" 2>/dev/null &
  sampler=$!
  trap 'kill $sampler 2>/dev/null' EXIT
  say "sampling GPU memory every 250 ms into gpu-memory.csv (pid $sampler)"
fi

if [ "$plan" = full ]; then
  op_shapes="1,8192,96,128 2,16384,16,128 4,2048,16,128 4,4096,64,128 8,1024,8,64"   # fla's (B, T, H, D)
  lstm=(100 64 512); bench_lengths=1024,4096,16384; bench_batch=4; bench_d=1024; heads=8; layer_box=25
  stm_grids=('"delays":[40],"lr_max":0.01,"lr_min":0.01,"lr_count":1,"seeds":100,"epoch_cap":100,"ensemble_size":100'
             '"delays":[40],"lr_max":0.1,"lr_min":0.01,"lr_count":4,"seeds":100,"epoch_cap":300,"ensemble_size":400')
else
  op_shapes="1,64,2,16 2,32,2,8"
  lstm=(10 4 16); bench_lengths=32,64; bench_batch=2; bench_d=32; heads=2; layer_box=60
  stm_grids=('"delays":[4],"lr_max":0.1,"lr_min":0.1,"lr_count":1,"seeds":4,"trials":8,"epoch_cap":20,"ensemble_size":4')
fi

# 4a. The gated delta op, Zoo's chunked form at fla's shapes (fp32 and bf16), then fla's Triton kernel.
for s in $op_shapes; do
  want op || break
  IFS=, read -r b t h d <<< "$s"
  step "op-zoo-B${b}-T${t}-H${h}-D${d}" 40 "$zoo" bench --device "$device" \
    --layers "gated-delta-op:{\"heads\":$h,\"dtype\":\"float32\"},gated-delta-op:{\"heads\":$h,\"dtype\":\"bfloat16\"}" \
    --lengths "$t" --batch "$b" --d-model $((h * d)) --modes forward,forward_backward --warmup 1 --iterations 5 \
    --max-seconds 10 --out "$out/op-zoo.csv"
done
if ! want fla; then
  :
elif [ -n "${FLA_SRC:-}" ] && [ -d "$FLA_SRC/fla" ]; then
  step op-fla 120 env PYTHONPATH="$FLA_SRC${PYTHONPATH:+:$PYTHONPATH}" python3 "$repo/scripts/gpu/fla_gated_delta.py" \
    --shapes "$op_shapes" --out "$out/op-fla.csv"
else
  say "op-fla: SKIPPED: FLA_SRC='${FLA_SRC:-}' is not a flash-linear-attention checkout (a folder holding fla/)"
fi

# 4b. Zoo's LSTM against the bare TorchSharp LSTM (cuDNN on a GPU) at T, B, hidden.
want lstm && step lstm 40 "$zoo" bench --device "$device" --layers lstm,torch-lstm --lengths "${lstm[0]}" --batch "${lstm[1]}" \
  --d-model "${lstm[2]}" --modes forward,forward_backward --warmup 2 --iterations 10 --out "$out/lstm.csv"

# 4c. Every layer at d_model 1024 (8 heads where a layer has heads), L up to 16k: one process per layer, so a slow
#     layer costs only its own box.
"$zoo" list layers > "$out/layers.txt" 2>&1
layer_options() {   # JSON options giving layer $1 $heads heads (memory and attention heads too)
  awk -v L="$1" -v H="$heads" '
    /^[^ ]/ { cur = $1 }
    cur == L && $1 == "heads" { top = 1 }
    cur == L && $1 == "memory.heads" { mem = 1 }
    cur == L && $1 == "attention.heads" { att = 1 }
    END {
      s = ""
      if (top) s = s "\"heads\":" H
      if (mem) s = s (s == "" ? "" : ",") "\"memory\":{\"heads\":" H "}"
      if (att) s = s (s == "" ? "" : ",") "\"attention\":{\"heads\":" H "}"
      print (s == "" ? "" : "{" s "}")
    }' "$out/layers.txt"
}
layers="$(awk '/^[^ ]/ { print $1 }' "$out/layers.txt")"
[ "$plan" = tiny ] && layers="gated-deltanet lstm"
want layers || layers=""
say "layers to bench: $(echo $layers)"
for l in $layers; do
  opts="$(layer_options "$l")"
  step "bench-$l" "$layer_box" "$zoo" bench --device "$device" --layers "$l${opts:+:$opts}" --lengths "$bench_lengths" \
    --batch "$bench_batch" --d-model "$bench_d" --warmup 1 --iterations 3 --max-seconds 3 --out "$out/bench-layers.csv"
done

# 4d. Short-term-memory ensembles at the paper's network settings, then the paper grid's size for the projection.
i=0
want stm || stm_grids=()
for grid in "${stm_grids[@]}"; do
  i=$((i + 1))
  echo "{\"name\": \"stm-gpu-$i\", $grid}" > "$out/stm-gpu-$i.json"
  "$zoo" stm "$out/stm-gpu-$i.json" --dry-run > "$out/stm-gpu-$i.plan.txt" 2>&1
  step "stm-$i" 60 "$zoo" stm "$out/stm-gpu-$i.json" --device "$device" --out "$out/stm-gpu-$i.csv" --force
done
echo '{"name": "stm-paper"}' > "$out/stm-paper.json"
"$zoo" stm "$out/stm-paper.json" --dry-run 2>&1 | tail -n 1 > "$out/stm-paper.plan.txt"
say "paper grid: $(cat "$out/stm-paper.plan.txt")"

# 4e. The smoke suite (tokens/s against the committed CPU rows in results/smoke.csv).
if ! want smoke; then
  :
elif [ "$plan" = full ]; then
  step smoke 120 "$zoo" run tasks/smoke.json --device "$device" --out "$out/smoke" --force
else
  step smoke-plan 30 "$zoo" run tasks/smoke.json --device "$device" --out "$out/smoke" --dry-run
fi

# 5. Summary: ratios, scaling exponents, the STM projection.
if command -v python3 >/dev/null; then
  python3 "$repo/scripts/gpu/summarize.py" "$out" "$repo/results/smoke.csv" 2>&1 | tee "$out/summary.txt" | tee -a "$log"
else
  say "no python3: summary skipped (the CSVs are complete without it)"
fi
say "done in $(( $(date +%s) - start ))s; $(grep -c ',ok$' "$out/steps.csv") steps ok, $(grep -cE ',(failed|timeout|skipped)$' "$out/steps.csv") not; files in $out"
rm -rf "$work"
