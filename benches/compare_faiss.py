#!/usr/bin/env python3
"""annscope's exact search against FAISS's, on the same files, in one run.

Usage (from the project root, after `cargo build --release`):
    pip install numpy faiss-cpu
    python3 benches/compare_faiss.py [--data ../shared/data/pypi-minilm/pypi-minilm] [--repeats 5]

FAISS's OpenBLAS is told this CPU's kind (OPENBLAS_CORETYPE=SkylakeX, unless the variable is
already set): on this machine OpenBLAS does not recognise the virtual CPU and otherwise falls back
to a generic kernel several times slower. The two sides alternate (annscope, FAISS, annscope, ...)
and each figure is the median of --repeats:
  1. exact top-100 of all queries, 2 threads, whole batch (ground truth);
  2. flat top-10, 1 thread, whole batch; and one query at a time beside it;
  in-process (annscope `bench`'s own timing of the searches; FAISS's `index.search`), and
  whole-process for 1 and 2: `annscope groundtruth --k K --threads T` against a Python process
  that reads the same files with NumPy, searches with FAISS and writes the same .ivecs;
  3. `annscope info` on the base file (wall time of the whole process).
"""
import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import faiss
import numpy as np

BIN = "./target/release/annscope"


def read_fvecs(path):
    a = np.fromfile(path, np.int32)
    return a.reshape(-1, a[0] + 1)[:, 1:].view(np.float32).copy()


def annscope_bench(base, queries, k, threads, batch, runs, cache):
    args = [BIN, "bench", "--base", base, "--queries", queries, "--metric", "cosine", "--k", str(k),
            "--index", "flat", "--threads", str(threads), "--runs", str(runs), "--format", "json"]
    if batch:
        args.append("--batch")
    out = subprocess.run(args, check=True, capture_output=True, text=True,
                         env={**os.environ, "ANNSCOPE_CACHE": cache}).stdout
    return json.loads(out.strip().splitlines()[-1])


def faiss_time(index, xq, k, threads, repeats):
    faiss.omp_set_num_threads(threads)
    index.search(xq[:10], k)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        index.search(xq, k)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def faiss_one_at_a_time(index, xq, k):
    faiss.omp_set_num_threads(1)
    t = time.perf_counter()
    for i in range(len(xq)):
        index.search(xq[i:i + 1], k)
    return time.perf_counter() - t


FAISS_PROCESS = r"""
import sys, numpy as np, faiss
def rf(p):
    a = np.fromfile(p, np.int32); return a.reshape(-1, a[0] + 1)[:, 1:].view(np.float32).copy()
xb, xq = rf(sys.argv[1]), rf(sys.argv[2]); k, t = int(sys.argv[3]), int(sys.argv[4])
faiss.normalize_L2(xb); faiss.normalize_L2(xq)
faiss.omp_set_num_threads(t)
index = faiss.IndexFlatIP(xb.shape[1]); index.add(xb)
_, ids = index.search(xq, k)
out = np.hstack([np.full((len(ids), 1), k, np.int32), ids.astype(np.int32)])
out.tofile(sys.argv[5])
"""


def whole_process(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm/pypi-minilm")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    base, queries = a.data + ".base.fvecs", a.data + ".query.fvecs"
    xb, xq = read_fvecs(base), read_fvecs(queries)
    nq = len(xq)
    # The data is unit length, so inner product ranks as cosine does.
    index = faiss.IndexFlatIP(xb.shape[1])
    index.add(xb)
    cache = tempfile.mkdtemp(prefix="annscope-cache-")
    annscope_bench(base, queries, 100, 2, True, 1, cache)  # fills the ground-truth cache

    def ours(k, threads, batch):
        return nq / annscope_bench(base, queries, k, threads, batch, 1, cache)["qps"]

    print(f"data: {base} ({len(xb)} x {xb.shape[1]}), {nq} queries; median of {a.repeats} runs, "
          f"alternating; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print(f"{'measurement':<58} {'annscope':>10} {'faiss':>10} {'faiss/annscope':>15}")
    out = os.path.join(cache, "gt.ivecs")
    cases = [
        ("top-100 ground truth, 2 threads, batch (s)", 100, 2),
        ("flat top-10, 1 thread, batch (s)", 10, 1),
    ]
    rows = []
    for name, k, threads in cases:
        o, f, ow, fw = [], [], [], []
        for _ in range(a.repeats):
            o.append(ours(k, threads, True))
            f.append(faiss_time(index, xq, k, threads, 1))
            ow.append(whole_process([BIN, "groundtruth", "--base", base, "--queries", queries, "--metric",
                                     "cosine", "--k", str(k), "--threads", str(threads), "--out", out]))
            fw.append(whole_process(["python3", "-c", FAISS_PROCESS, base, queries, str(k), str(threads), out]))
        med = statistics.median
        rows.append((name, med(o), med(f)))
        rows.append((name.replace("(s)", "whole process (s)"), med(ow), med(fw)))
    o, f = [], []
    for _ in range(a.repeats):
        o.append(ours(10, 1, False))
        f.append(faiss_one_at_a_time(index, xq, 10))
    rows.append(("flat top-10, 1 thread, one query at a time (s)", statistics.median(o), statistics.median(f)))
    for name, o, f in rows:
        print(f"{name:<58} {o:>10.3f} {f:>10.3f} {f / o:>15.2f}   (annscope {nq / o:,.0f} QPS, faiss {nq / f:,.0f} QPS)")
    info = []
    for _ in range(max(a.repeats, 10)):
        t = time.perf_counter()
        subprocess.run([BIN, "info", base, "--json"], check=True, capture_output=True)
        info.append(time.perf_counter() - t)
    print(f"{'annscope info on the base file (ms)':<46} {statistics.median(info) * 1e3:>10.1f}")


if __name__ == "__main__":
    main()
