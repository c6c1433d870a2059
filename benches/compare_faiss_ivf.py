#!/usr/bin/env python3
"""annscope's HFresh against FAISS IVF-Flat on the same files, in one run.

Usage (from the project root, after `cargo build --release`):
    pip install numpy faiss-cpu
    python3 benches/compare_faiss_ivf.py [--data ../shared/data/pypi-minilm/pypi-minilm]
        [--max-posting-size 128] [--replicas 2] [--epsilon 0.05] [--precision f16|f32] [--runs 3]
        [--incremental]

Both sides: cosine (FAISS on unit vectors with inner product), k = 10, search on one thread with
the whole batch of queries, the fastest of --runs runs per setting, page cache warm. FAISS: nlist =
4·sqrt(n), trained on all vectors, nprobe swept, both IVF-Flat and IVF with fp16 scalar
quantisation (the like-for-like index for HFresh's default f16 postings); annscope: bench --index hfresh, search_probe swept.
Prints both curves, QPS at recall 0.90 (interpolated), and HFresh's RAM against the HNSW index's
(graph + vectors, M = 16) from `annscope bench --index hnsw`'s index_bytes when --hnsw-bytes is not
given. Also (--incremental): HFresh built on 80% then the other 20% inserted, against a fresh build.
"""
import argparse
import json
import math
import os
import subprocess
import tempfile
import time

import faiss
import numpy as np

from bench_common import BIN, qps_at, read_fvecs, read_ivecs, recall_at_k


def annscope(args, cache):
    out = subprocess.run([BIN, "bench", *args], check=True, capture_output=True, text=True,
                         env={**os.environ, "ANNSCOPE_CACHE": cache}).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm/pypi-minilm")
    ap.add_argument("--max-posting-size", type=int, default=128)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--epsilon", type=float, default=0.05)
    ap.add_argument("--precision", default="f16", choices=["f16", "f32"])
    ap.add_argument("--probes", default="1,2,4,8,12,16,24,32,48,64")
    ap.add_argument("--nprobes", default="1,2,4,8,12,16,24,32,48,64,96,128")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--hnsw-bytes", type=float, default=None)
    ap.add_argument("--incremental", action="store_true")
    a = ap.parse_args()
    base, queries, gt_path = a.data + ".base.fvecs", a.data + ".query.fvecs", a.data + ".groundtruth.ivecs"
    xb, xq, gt = read_fvecs(base), read_fvecs(queries), read_ivecs(gt_path)
    n, dim = xb.shape
    cache = tempfile.mkdtemp(prefix="annscope-cache-")
    common = ["--base", base, "--queries", queries, "--groundtruth", gt_path, "--metric", "cosine",
              "--k", str(a.k), "--threads", "1", "--batch", "--runs", str(a.runs)]
    hf_args = common + ["--index", "hfresh", "--max-posting-size", str(a.max_posting_size),
                        "--replicas", str(a.replicas), "--epsilon", str(a.epsilon), "--search-probe", a.probes,
                        "--posting-precision", a.precision]

    # FAISS IVF-Flat, nlist = 4 sqrt(n).
    faiss.omp_set_num_threads(2)
    xbn = xb / np.linalg.norm(xb, axis=1, keepdims=True)
    xqn = np.ascontiguousarray(xq / np.linalg.norm(xq, axis=1, keepdims=True))
    nlist = int(round(4 * math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    ivf.train(xbn)
    ivf.add(xbn)
    f_build = time.perf_counter() - t
    # The like-for-like index for f16 postings: IVF with fp16 scalar quantisation.
    sq = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                       faiss.METRIC_INNER_PRODUCT)
    sq.train(xbn)
    sq.add(xbn)
    faiss.omp_set_num_threads(1)

    def sweep(index):
        out = []
        for nprobe in [int(x) for x in a.nprobes.split(",")]:
            index.nprobe = nprobe
            best = float("inf")
            for _ in range(a.runs):
                t = time.perf_counter()
                _, labels = index.search(xqn, a.k)
                best = min(best, time.perf_counter() - t)
            out.append((nprobe, recall_at_k(xb, xq, labels, gt, a.k), len(xq) / best))
        return out

    fv = sweep(ivf)
    fsq = sweep(sq)

    ours = annscope(hf_args, cache)
    hnsw_bytes = a.hnsw_bytes
    if hnsw_bytes is None:
        h = annscope(common + ["--index", "hnsw", "--m", "16", "--ef-construction", "200", "--ef", "64"], cache)
        hnsw_bytes = h[0]["index_bytes"]

    print(f"data: {base} ({n} x {dim}), {len(xq)} queries, k={a.k}")
    print(f"FAISS IVF-Flat nlist={nlist}: build {f_build:.1f} s on 2 threads")
    o0 = ours[0]
    print(f"annscope HFresh max_posting_size={a.max_posting_size} replicas={a.replicas} epsilon={a.epsilon} "
          f"postings {a.precision}: "
          f"{o0['params']['lists']} lists, build {o0['build_s']:.1f} s, RAM {o0['index_bytes'] / 1e6:.1f} MB, "
          f"disk {o0['disk_bytes'] / 1e6:.1f} MB")
    print(f"HNSW M=16 RAM (graph + vectors): {hnsw_bytes / 1e6:.1f} MB; HFresh RAM is "
          f"{100 * o0['index_bytes'] / hnsw_bytes:.1f}% of it (target < 30%)")
    print(f"{'nprobe':>7} {'IVF-Flat recall':>15} {'QPS':>8} {'SQfp16 recall':>14} {'QPS':>8}    "
          f"{'probe':>6} {'recall':>8} {'QPS':>8}")
    for i in range(max(len(fv), len(ours))):
        left = (f"{fv[i][0]:>7} {fv[i][1]:>15.4f} {fv[i][2]:>8.0f} {fsq[i][1]:>14.4f} {fsq[i][2]:>8.0f}"
                if i < len(fv) else " " * 56)
        right = ""
        if i < len(ours):
            o = ours[i]
            right = f"{o['params']['search_probe']:>6} {o['recall']:>8.4f} {o['qps']:>8.0f}"
        print(f"{left}    {right}")
    for target in (0.85, 0.90, 0.95):
        qo = qps_at([(o["recall"], o["qps"]) for o in ours], target)
        qf = qps_at([(r, q) for _, r, q in fv], target)
        qs = qps_at([(r, q) for _, r, q in fsq], target)
        print(f"QPS at recall {target:.2f}: annscope HFresh {qo:.0f}, FAISS IVF-Flat {qf:.0f} (ratio {qo / qf:.2f}), "
              f"FAISS IVF-SQfp16 {qs:.0f} (ratio {qo / qs:.2f})")

    if a.incremental:
        inc = annscope(hf_args + ["--build-fraction", "0.8"], cache)
        print("incremental (build on 80%, insert 20%) against the fresh build, same search_probe:")
        for o, f in zip(inc, ours):
            print(f"  probe {o['params']['search_probe']:>3}: recall {o['recall']:.4f} vs fresh {f['recall']:.4f} "
                  f"(diff {o['recall'] - f['recall']:+.4f}), QPS {o['qps']:.0f} vs {f['qps']:.0f}, "
                  f"{o['params']['lists']} lists, "
                  f"build+insert {o['build_s']:.1f} s")


if __name__ == "__main__":
    main()
