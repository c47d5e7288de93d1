#!/usr/bin/env python3
"""p50 and p95 per-iteration latency of criterion benchmarks, from the raw samples criterion
keeps in target/criterion/<group>/<bench>/new/sample.json (each sample: iterations, total ns).

Usage: python3 benches/percentiles.py target/criterion/key_generation
"""
import json
import pathlib
import sys


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def show(ns):
    return f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.1f} µs"


root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
for sample in sorted(root.glob("**/new/sample.json")):
    data = json.loads(sample.read_text())
    per_iteration = [t / n for n, t in zip(data["iters"], data["times"])]
    name = sample.parent.parent.relative_to(root)
    print(f"{name}: n={len(per_iteration)} p50={show(percentile(per_iteration, 50))} "
          f"p95={show(percentile(per_iteration, 95))}")
