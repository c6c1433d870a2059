#!/usr/bin/env python3
"""HNSW build time against hnswlib at several sizes, the two sides alternating (A B A B).

Usage (from the project root, after `cargo build --release`):
    pip install numpy hnswlib
    python3 benches/build_vs_hnswlib.py [--sizes 10000,50000,100000] [--rounds 3]
        [--extra /tmp/million.fvecs] [--extra-rounds 1] [--bin ./target/release/annscope]

Both sides: cosine, M 16, efConstruction 200, 2 threads, the same fvecs file (the first N rows of
pypi-minilm's base for each size; `--extra` adds a whole file, e.g. the million made by
benches/make_million.py). Each side runs as its own process: annscope `build --json` (its in-process
`build_s` covers checking the values, copying, packing the 8-bit copies, linking and the
reachability repair) and a Python process that reads the file with NumPy and times
hnswlib's `add_items`. Whole-process wall times (file reading, start-up and, for annscope, writing
the index file) are printed beside. Per size: the median of each side and the median of the
per-round ratios; annscope's stage breakdown (median seconds per progress stage).
`--recall` also prints recall@10 at ef 16/32/64 of the last round's annscope index on the full
base (against pypi-minilm's ground truth).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HNSWLIB = r"""
import sys, time, numpy as np, hnswlib
raw = np.fromfile(sys.argv[1], dtype=np.int32); d = int(raw[0])
x = raw.reshape(-1, d + 1)[:, 1:].view(np.float32)
p = hnswlib.Index(space="cosine", dim=d)
p.init_index(max_elements=len(x), ef_construction=int(sys.argv[3]), M=int(sys.argv[2]), random_seed=42)
p.set_num_threads(2)
t = time.perf_counter(); p.add_items(x, np.arange(len(x))); print(time.perf_counter() - t)
"""


def prefix(src, n, out):
    raw = np.fromfile(src, dtype=np.int32)
    d = raw[0]
    raw.reshape(-1, d + 1)[:n].tofile(out)


def run_annscope(a, path, out):
    t = time.perf_counter()
    r = subprocess.run([a.bin, "build", "--base", path, "--metric", "cosine", "--m", str(a.m),
                        "--ef-construction", str(a.ef_construction), "--build-threads", "2",
                        "--out", out, "--json"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    d = json.loads(r.stdout)
    return d["build_s"], wall, {s["stage"].split(" (")[0]: s["seconds"] for s in d["stages"]}


def run_hnswlib(a, path):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", HNSWLIB, path, str(a.m), str(a.ef_construction)],
                       check=True, capture_output=True, text=True)
    return float(r.stdout.strip()), time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm/pypi-minilm")
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--extra", default="", help="another whole fvecs file, e.g. /tmp/million.fvecs")
    ap.add_argument("--extra-rounds", type=int, default=1)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--bin", default="./target/release/annscope")
    ap.add_argument("--recall", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="annscope-build-")
    base = a.data + ".base.fvecs"
    cases = []
    for n in [int(s) for s in a.sizes.split(",") if s]:
        path = os.path.join(tmp, f"base{n}.fvecs")
        prefix(base, n, path)
        cases.append((f"{n:,}", path, a.rounds))
    if a.extra:
        cases.append((os.path.basename(a.extra), a.extra, a.extra_rounds))
    out = os.path.join(tmp, "idx.hnsw")
    for name, path, rounds in cases:
        ours, theirs, ratios, ours_wall, theirs_wall, stages = [], [], [], [], [], []
        for r in range(rounds):
            s, w, st = run_annscope(a, path, out)
            h, hw = run_hnswlib(a, path)
            ours.append(s); ours_wall.append(w); stages.append(st)
            theirs.append(h); theirs_wall.append(hw); ratios.append(s / h)
            print(f"  {name} round {r + 1}: annscope {s:.2f} s (process {w:.2f}), "
                  f"hnswlib {h:.2f} s (process {hw:.2f}), ratio {s / h:.3f}", flush=True)
        med = statistics.median
        print(json.dumps({
            "size": name, "rounds": rounds,
            "annscope_s": round(med(ours), 3), "hnswlib_s": round(med(theirs), 3),
            "ratio_median": round(med(ratios), 3), "ratios": [round(x, 3) for x in ratios],
            "annscope_process_s": round(med(ours_wall), 3), "hnswlib_process_s": round(med(theirs_wall), 3),
            "process_ratio": round(med(ours_wall) / med(theirs_wall), 3),
            "stages": {k: round(med([st.get(k, 0.0) for st in stages]), 3) for k in stages[0]},
        }), flush=True)
        if a.recall and path.endswith(f"base{100000}.fvecs"):
            r = subprocess.run([a.bin, "bench", "--base", base, "--queries", a.data + ".query.fvecs",
                                "--groundtruth", a.data + ".groundtruth.ivecs", "--metric", "cosine",
                                "--k", "10", "--index-file", out, "--ef", "16,32,64", "--threads", "1",
                                "--batch"], check=True, capture_output=True, text=True)
            for line in r.stdout.splitlines():
                p = json.loads(line)
                if "recall" in p:
                    print(f"  recall@10 at ef {p['params']['ef']}: {p['recall']:.4f}")


if __name__ == "__main__":
    main()
