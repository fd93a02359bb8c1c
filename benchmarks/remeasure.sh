#!/usr/bin/env bash
# The CPU throughput measurements behind the README's Throughput section (issue 20), in one go, for a quiet machine:
# nothing else may run while it does (the numbers are only comparable within one run). About 40 minutes on 2 cores.
#   bash benchmarks/remeasure.sh [OUT]      # OUT defaults to runs/remeasure-<UTC date>
# Writes OUT/throughput.csv (zoo bench, d_model 256, B 4, L 256/1,024/4,096, 2 threads: the layout of
# results/throughput.csv), OUT/memory-layers-cpu.csv (d_model 64, B 64, L 64/256, forward+backward, 1 thread: the
# layout of results/memory-layers-cpu.csv) and BenchmarkDotNet's TrainingStep and GatedDeltaForms tables at 1 and 2
# threads, Memory Caching against its number of caches
# (OUT/memory-caching-scaling-cpu.csv) and the data generators' tokens/s under OUT/bdn-*/. Copy the CSVs to results/ to publish them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/remeasure-$(date -u +%Y%m%d)}
mkdir -p "$out"
out=$(realpath "$out"); root=$(pwd)
echo "load before: $(cat /proc/loadavg)" | tee "$out/machine.txt"
nproc >> "$out/machine.txt"; grep -m1 'model name' /proc/cpuinfo >> "$out/machine.txt" || true

dotnet build Zoo.sln -c Release -m:1 -v q -nologo
zoo() { dotnet "$root"/src/Zoo.Cli/bin/Release/net10.0/zoo.dll "$@"; }

# 1. The memory layers against Gated DeltaNet and LSTM (one thread; Gated DeltaNet first and last, as a drift check).
OMP_NUM_THREADS=1 zoo bench --d-model 64 --batch 64 --lengths 64,256 --modes forward_backward --out "$out/memory-layers-cpu.csv" \
  --layers 'gated-deltanet:{"heads":2},lstm,mom:{"compute":"dense"},mom:{"compute":"sparse","capacity_factor":1.25},titans-lmm,titans-mac:{"segment":16},gated-kalmanet:{"chunk_size":16},gated-kalmanet:{"chunk_size":32},gated-kalmanet:{"chunk_size":64},gated-deltanet:{"heads":2},gated-deltanet:{"heads":2,"chunk_size":32}'

# 2. BenchmarkDotNet: a training step (LSTM vs Gated DeltaNet) and the bare op (chunked vs reference), 1 and 2 threads.
for threads in 1 2; do
  (cd "$out" && OMP_NUM_THREADS=$threads dotnet run --project "$root/benchmarks/Zoo.Benchmarks" -c Release --no-build -- \
     --filter '*TrainingStep*' '*GatedDeltaForms*' --artifacts "$out/bdn-x$threads" > "bdn-x$threads.log" 2>&1)
done

# 3. Every layer at d_model 256, two threads (results/throughput.csv).
OMP_NUM_THREADS=2 zoo bench --out "$out/throughput.csv" \
  --layers 'attention,lstm,gru,leaky-rnn,linear-attention,deltanet,gated-deltanet,gated-deltanet:{"form":"reference"},simple-gla,mom,memory-caching,titans-lmm,titans-mac,titans-mag,titans-mal,torch-lstm,torch-gru'
# 4. Memory Caching's cost against the number of cached segments (segment 16: 64 → 256 caches), one thread.
mc='{"base_options":{"heads":4,"chunk_size":16},"segment":16,"rule":'
OMP_NUM_THREADS=1 zoo bench --d-model 64 --batch 8 --lengths 1024,4096 --modes forward_backward --iterations 3 --max-seconds 0 \
  --out "$out/memory-caching-scaling-cpu.csv" --layers "gated-deltanet:{\"heads\":4,\"chunk_size\":64},memory-caching:${mc}\"residual\"},memory-caching:${mc}\"sparse_selective\"},memory-caching:${mc}\"gated_residual\"},memory-caching:${mc}\"soup\"}"

# 5. The training-data generators' tokens/s (BenchmarkDotNet, one thread).
(cd "$out" && OMP_NUM_THREADS=1 dotnet run --project "$root/benchmarks/Zoo.Benchmarks" -c Release --no-build -- \
   --filter '*TaskBatchGeneration*' --artifacts "$out/bdn-generators" > "bdn-generators.log" 2>&1)
echo "load after: $(cat /proc/loadavg)" | tee -a "$out/machine.txt"
