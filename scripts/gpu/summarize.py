#!/usr/bin/env python3
"""Summarises a scripts/gpu-run.sh output folder: Zoo/fla and Zoo/cuDNN time ratios, time-vs-L exponents per layer,
peak GPU memory per step, the STM rate and the paper grid's projected time, smoke tokens/s against the CPU rows.
Writes OUT/ratios.csv and prints the same. Usage: summarize.py OUT_DIR [CPU_SMOKE_CSV]"""
import csv
import json
import math
import os
import re
import sys
from datetime import datetime


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def slope(points):
    """Least-squares slope of log(time) on log(L)."""
    xs = [math.log(l) for l, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den > 0 else math.nan


def main():
    out = sys.argv[1]
    cpu_smoke = sys.argv[2] if len(sys.argv) > 2 else ""
    summary = []

    def emit(kind, key, value, note=""):
        summary.append(dict(kind=kind, key=key, value=value, note=note))
        print(f"{kind:14} {key:58} {value:>12} {note}")

    # Zoo's op against fla's kernel, same (B, T, H, D, dtype, mode).
    zoo = {}
    for r in rows(os.path.join(out, "op-zoo.csv")):
        o = json.loads(r["layer_options"])
        h = o["heads"]
        key = (int(r["batch"]), int(r["length"]), h, int(r["d_model"]) // h, o["dtype"], r["mode"])
        zoo[key] = (num(r["median_ms"]) if r["status"] == "ok" else math.nan, r["status"], r["message"])
    fla = {(int(r["batch"]), int(r["length"]), int(r["heads"]), int(r["head_dim"]), r["dtype"], r["mode"]):
           (num(r["median_ms"]) if r["status"] == "ok" else math.nan, r["status"], r["message"])
           for r in rows(os.path.join(out, "op-fla.csv"))}
    for key in sorted(set(zoo) | set(fla)):
        b, t, h, d, dt, mode = key
        z, f = zoo.get(key, (math.nan, "missing", "")), fla.get(key, (math.nan, "missing", ""))
        ratio = z[0] / f[0] if f[0] > 0 else math.nan
        note = f"zoo {z[0]:.3f} ms ({z[1]}), fla {f[0]:.3f} ms ({f[1]})" + (" within 2x" if ratio <= 2 else "")
        emit("op zoo/fla", f"B{b} T{t} H{h} D{d} {dt} {mode}", f"{ratio:.2f}", note)

    # Zoo's LSTM against the bare TorchSharp LSTM (cuDNN on a GPU).
    lstm = {(r["layer"], r["mode"]): num(r["median_ms"]) for r in rows(os.path.join(out, "lstm.csv")) if r["status"] == "ok"}
    for mode in ("forward", "forward_backward"):
        z, c = lstm.get(("lstm", mode), math.nan), lstm.get(("torch-lstm", mode), math.nan)
        emit("lstm zoo/torch", mode, f"{z / c:.3f}" if c > 0 else "nan", f"zoo {z:.3f} ms, torch {c:.3f} ms" + (" within 1.2x" if z / c <= 1.2 else ""))

    # Time against L per layer and mode: exponent over the lengths that ran.
    by = {}
    for r in rows(os.path.join(out, "bench-layers.csv")):
        if r["status"] == "ok":
            by.setdefault((r["layer"], r["mode"]), []).append((int(r["length"]), num(r["median_ms"])))
        else:
            emit("bench", f"{r['layer']} {r['mode']} L{r['length']}", r["status"], r["message"][:80])
    for (layer, mode), pts in sorted(by.items()):
        pts.sort()
        s = slope(pts) if len(pts) >= 2 else math.nan
        emit("time ~ L^k", f"{layer} {mode}", f"{s:.2f}", " ".join(f"L{l}:{t:.1f}ms" for l, t in pts))

    # Peak GPU memory per step (sampled by nvidia-smi; the machine's whole memory.used).
    samples = []
    for line in open(os.path.join(out, "gpu-memory.csv")) if os.path.exists(os.path.join(out, "gpu-memory.csv")) else []:
        parts = [p.strip() for p in line.split(",")]
        try:
            samples.append((datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f"), int(parts[1].split()[0])))
        except (ValueError, IndexError):
            pass
    for r in rows(os.path.join(out, "steps.csv")):
        if samples and r["start_local"]:
            t0 = datetime.strptime(r["start_local"], "%Y-%m-%dT%H:%M:%S")
            t1 = datetime.strptime(r["end_local"], "%Y-%m-%dT%H:%M:%S")
            inside = [m for t, m in samples if t0 <= t.replace(microsecond=0) <= t1]
            if inside:
                emit("peak MiB", r["step"], max(inside), "nvidia-smi memory.used, 250 ms samples")

    # Short-term memory: training rate, analysis cost, the paper grid's projected time.
    paper = open(os.path.join(out, "stm-paper.plan.txt")).read() if os.path.exists(os.path.join(out, "stm-paper.plan.txt")) else ""
    pm = re.search(r"([\d,]+) networks.*?([\d,]+) network-epochs, ([\d,]+) network-steps", paper)
    i = 1
    while os.path.exists(os.path.join(out, f"stm-gpu-{i}.json")):
        log = open(os.path.join(out, f"stm-{i}.log")).read() if os.path.exists(os.path.join(out, f"stm-{i}.log")) else ""
        plan = open(os.path.join(out, f"stm-gpu-{i}.plan.txt")).read()
        ens = re.findall(r"(\d+) networks, (\d+) epochs, ([\d.]+) s \(training ([\d.]+) network-epochs/s, analysis ([\d.]+) s\)", log)
        mp = re.search(r"([\d,]+) network-epochs, ([\d,]+) network-steps", plan)
        if not ens or not mp:
            emit("stm", f"stm-gpu-{i}", "no ensemble finished", f"see stm-{i}.log")
        else:
            n, epochs, wall, rate, analysis = ens[-1]
            steps_per_epoch = int(mp.group(2).replace(",", "")) / int(mp.group(1).replace(",", ""))
            emit("stm", f"stm-gpu-{i}: E {n}, {epochs} epochs", f"{float(rate):.1f}", f"network-epochs/s; analysis {float(analysis) / int(n):.3f} s/network")
            if pm:
                nets, steps = int(pm.group(1).replace(",", "")), int(pm.group(3).replace(",", ""))
                hours = (steps / (float(rate) * steps_per_epoch) + nets * float(analysis) / int(n)) / 3600
                emit("stm paper grid", f"{nets} networks, {steps:,} network-steps, at stm-gpu-{i}'s rate", f"{hours:.1f} h",
                     "one GPU, this ensemble size")
        i += 1

    # Smoke suite on the device against the CPU rows of the same configurations.
    cpu = {r["config_hash"]: num(r["train_tokens_per_s"]) for r in rows(cpu_smoke) if r.get("status") == "ok"}
    for r in rows(os.path.join(out, "smoke", "smoke.csv")):
        c = cpu.get(r["config_hash"], math.nan)
        g = num(r["train_tokens_per_s"])
        emit("smoke tok/s", f"{r['layer']} {r['task']} ({r['status']})", f"{g:.0f}", f"cpu {c:.0f}, x{g / c:.1f}" if c > 0 else "no cpu row")

    with open(os.path.join(out, "ratios.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["kind", "key", "value", "note"])
        w.writeheader()
        w.writerows(summary)
    print(f"wrote {os.path.join(out, 'ratios.csv')} ({len(summary)} lines)")


if __name__ == "__main__":
    main()
