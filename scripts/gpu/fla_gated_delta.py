#!/usr/bin/env python3
"""Times fla's Triton chunk_gated_delta_rule at given (B, T, H, D) shapes, bf16 and fp32, forward and
forward+backward, one CSV row per measurement (written as it is taken, so a time-boxed run keeps what it did).

Run only on the GPU machine by scripts/gpu-run.sh (Zoo itself never needs Python). Inputs as fla's own op benchmark
(benchmarks/ops/registry.py, chunk_gdn): q, k, v ~ N(0, 1) [B, T, H, D]; g = logsigmoid(N(0, 1)) and
beta = sigmoid(N(0, 1)) [B, T, H]; use_qk_l2norm_in_kernel=True; every input requires grad. Forward is timed under
no_grad, as Zoo's bench does; forward+backward backpropagates a fixed random do. The clock is wall time between
torch.cuda.synchronize() calls, as in Zoo's bench.
"""
import argparse
import csv
import os
import statistics
import sys
import time


def percentile(sorted_ms, q):
    if len(sorted_ms) == 1:
        return sorted_ms[0]
    pos = q * (len(sorted_ms) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (pos - lo) * (sorted_ms[hi] - sorted_ms[lo])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True, help='space-separated B,T,H,D, e.g. "1,8192,96,128 8,1024,8,64"')
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--warmup", type=int, default=2, help="untimed calls (the first compiles and autotunes)")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"fla_gated_delta: SKIPPED: torch is not importable ({e})")
        return 0
    if not torch.cuda.is_available():
        print("fla_gated_delta: SKIPPED: no CUDA device (fla's kernels are Triton GPU kernels)")
        return 0
    try:
        from fla.ops.gated_delta_rule import chunk_gated_delta_rule
        import fla
    except ImportError as e:
        print(f"fla_gated_delta: SKIPPED: cannot import fla ({e}); PYTHONPATH={os.environ.get('PYTHONPATH', '')}")
        return 0
    import triton

    dev = torch.device("cuda")
    fields = ["impl", "batch", "length", "heads", "head_dim", "dtype", "mode", "median_ms", "p20_ms", "p80_ms",
              "iterations", "tokens_per_s", "status", "message", "device", "torch_version", "triton_version",
              "fla_version", "utc"]
    new = not os.path.exists(args.out)
    with open(args.out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        if new:
            w.writeheader()
        for shape in args.shapes.split():
            b, t, h, d = (int(x) for x in shape.split(","))
            for dtype_name in args.dtypes.split(","):
                dtype = getattr(torch, dtype_name)
                for mode in ("forward", "forward_backward"):
                    row = dict(impl="fla-chunk_gated_delta_rule", batch=b, length=t, heads=h, head_dim=d,
                               dtype=dtype_name, mode=mode, device=torch.cuda.get_device_name(dev),
                               torch_version=torch.__version__, triton_version=triton.__version__,
                               fla_version=getattr(fla, "__version__", ""),
                               utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                    try:
                        gen = torch.Generator(device=dev).manual_seed(1)
                        randn = lambda *s: torch.randn(*s, device=dev, dtype=dtype, generator=gen)
                        q, k, v = randn(b, t, h, d), randn(b, t, h, d), randn(b, t, h, d)
                        g, beta = F.logsigmoid(randn(b, t, h)), randn(b, t, h).sigmoid()
                        inputs = [x.requires_grad_(True) for x in (q, k, v, g, beta)]
                        do = randn(b, t, h, d)

                        def call():
                            if mode == "forward":
                                with torch.no_grad():
                                    o, _ = chunk_gated_delta_rule(*inputs, use_qk_l2norm_in_kernel=True)
                            else:
                                for x in inputs:
                                    x.grad = None
                                o, _ = chunk_gated_delta_rule(*inputs, use_qk_l2norm_in_kernel=True)
                                o.backward(do)

                        times = []
                        for i in range(args.warmup + args.iterations):
                            torch.cuda.synchronize()
                            t0 = time.perf_counter()
                            call()
                            torch.cuda.synchronize()
                            if i >= args.warmup:
                                times.append((time.perf_counter() - t0) * 1000)
                        times.sort()
                        med = statistics.median(times)
                        row.update(median_ms=round(med, 4), p20_ms=round(percentile(times, 0.2), 4),
                                   p80_ms=round(percentile(times, 0.8), 4), iterations=len(times),
                                   tokens_per_s=round(b * t / (med / 1000), 1), status="ok", message="")
                    except Exception as e:  # one failed shape (OOM, a kernel that does not compile) is a row, not the end
                        oom = "out of memory" in str(e).lower()
                        row.update(status="oom" if oom else "error", message=str(e).splitlines()[0][:300] if str(e) else type(e).__name__)
                    finally:
                        torch.cuda.empty_cache()
                    w.writerow(row)
                    f.flush()
                    print(f"fla B{b} T{t} H{h} D{d} {dtype_name:9} {mode:16} {row['status']:6} "
                          f"median {row.get('median_ms', float('nan'))} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
