#!/usr/bin/env python3
"""annscope's exact search against FAISS's, on the same files, in one run.

Usage (from the project root, after `cargo build --release`):
    pip install numpy faiss-cpu
    python3 benches/compare_faiss.py [--data ../shared/data/pypi-minilm/pypi-minilm] [--repeats 5]

Prints, for each measurement, the median of --repeats runs on both sides and their ratio:
  1. exact top-100 of all queries, 2 threads, whole batch (ground truth);
  2. flat top-10, 1 thread, whole batch; and one query at a time beside it;
  3. `annscope info` on the base file (wall time of the whole process).
FAISS runs with the machine's environment as it is (OPENBLAS_* untouched).
"""
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
        runs = [annscope_bench(base, queries, k, threads, batch, 1, cache) for _ in range(a.repeats)]
        return statistics.median(nq / r["qps"] for r in runs)

    print(f"data: {base} ({len(xb)} x {xb.shape[1]}), {nq} queries; median of {a.repeats} runs")
    print(f"{'measurement':<46} {'annscope':>10} {'faiss':>10} {'faiss/annscope':>15}")
    rows = []
    t_ours, t_faiss = ours(100, 2, True), faiss_time(index, xq, 100, 2, a.repeats)
    rows.append(("top-100 ground truth, 2 threads, batch (s)", t_ours, t_faiss))
    t_ours, t_faiss = ours(10, 1, True), faiss_time(index, xq, 10, 1, a.repeats)
    rows.append(("flat top-10, 1 thread, batch (s)", t_ours, t_faiss))
    t_ours = ours(10, 1, False)
    t_faiss = statistics.median(faiss_one_at_a_time(index, xq, 10) for _ in range(a.repeats))
    rows.append(("flat top-10, 1 thread, one query at a time (s)", t_ours, t_faiss))
    for name, o, f in rows:
        print(f"{name:<46} {o:>10.3f} {f:>10.3f} {f / o:>15.2f}   (annscope {nq / o:,.0f} QPS, faiss {nq / f:,.0f} QPS)")
    info = []
    for _ in range(max(a.repeats, 10)):
        t = time.perf_counter()
        subprocess.run([BIN, "info", base, "--json"], check=True, capture_output=True)
        info.append(time.perf_counter() - t)
    print(f"{'annscope info on the base file (ms)':<46} {statistics.median(info) * 1e3:>10.1f}")


if __name__ == "__main__":
    main()
