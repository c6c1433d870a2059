#!/usr/bin/env python3
"""HFresh's posting lists as vectors (f32, f16) or as codes, in one run on the
same files: where codes in the lists help.

Usage (from the project root, after `cargo build --release`):
    python3 benches/hfresh_codes.py [--data ../shared/data/pypi-minilm/pypi-minilm] [--runs 3]
        [--postings f32,f16,sq8,sq4,rabitq:4,pq:96]

Each row: one HFresh build (default parameters, seed 42), search_probe swept
over PROBES and, for codes, oversample over OVERSAMPLES (re-scored from the
f32 vectors the index keeps in RAM); one search thread, each point the
fastest of --runs. Columns: the posting file's size (what scans read), RAM held (centroids, tables, and for codes
the f32 vectors), recall at search_probe 32 (codes: at oversample 1 and 4),
QPS at recall 0.90 and 0.95 (interpolated between measured points, any probe
and oversample), build time.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import BIN, qps_at  # noqa: E402

PROBES = [4, 8, 16, 32, 64, 128]
OVERSAMPLES = [1, 2, 4, 10]
TABLE_PROBE = 32


def bench(data, extra, runs, cache):
    args = [BIN, "bench", "--base", data + ".base.fvecs", "--queries", data + ".query.fvecs",
            "--groundtruth", data + ".groundtruth.ivecs", "--metric", "cosine", "--k", "10",
            "--index", "hfresh", "--threads", "1", "--build-threads", "2",
            "--search-probe", ",".join(map(str, PROBES)), "--runs", str(runs),
            "--format", "json"] + extra
    out = subprocess.run(args, check=True, capture_output=True, text=True,
                         env={**os.environ, "ANNSCOPE_CACHE": cache}).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm/pypi-minilm")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--postings", default="f32,f16,sq8,sq4,rabitq:4,pq:96")
    a = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="annscope-hfresh-codes-")
    print("| postings | posting file MB | RAM MB | recall @ probe 32 (codes: os 1 / os 4) "
          "| QPS at 0.90 | QPS at 0.95 | build s |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for kind in a.postings.split(","):
        if kind in ("f32", "f16"):
            pts = bench(a.data, ["--posting-precision", kind], a.runs, cache)
        else:
            pts = bench(a.data, ["--quantizer", kind, "--oversample",
                                 ",".join(map(str, OVERSAMPLES))], a.runs, cache)
        first = pts[0]
        at_probe = [p for p in pts if p["params"]["search_probe"] == TABLE_PROBE]
        if kind in ("f32", "f16"):
            recall = f"{at_probe[0]['recall']:.3f}"
        else:
            by_os = {p["params"]["oversample"]: p["recall"] for p in at_probe}
            recall = f"{by_os[1.0]:.3f} / {by_os[4.0]:.3f}"
        # The best QPS at the target over every oversample's own curve.
        best = {}
        for target in (0.90, 0.95):
            vals = []
            for os_ in {p["params"].get("oversample") for p in pts}:
                c = [(p["recall"], p["qps"]) for p in pts if p["params"].get("oversample") == os_]
                v = qps_at(c, target)
                if v == v:
                    vals.append(v)
            best[target] = max(vals) if vals else float("nan")
        fmt = lambda v: "never" if v != v else f"{v:,.0f}"  # noqa: E731
        print(f"| {kind} | {first['disk_bytes'] / 1e6:.1f} | "
              f"{first['index_bytes'] / 1e6:.1f} | {recall} | {fmt(best[0.90])} | {fmt(best[0.95])} | "
              f"{first['build_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
