#!/usr/bin/env python3
"""annscope's HNSW against hnswlib on the same files, in one run.

Usage (from the project root, after `cargo build --release`):
    pip install numpy hnswlib
    python3 benches/compare_hnswlib.py [--data ../shared/data/pypi-minilm/pypi-minilm] [--m 16]
        [--ef-construction 200] [--efs 10,16,24,32,48,64,96,128,256] [--runs 3] [--build-runs 3] [--variants sq8/f16,f32/f32]

Both sides: cosine, k = 10, build on 2 threads, search on one thread with the whole batch of
queries (hnswlib's knn_query(..., num_threads=1); annscope bench --batch --threads 1), the fastest
of --runs runs per ef. Recall is ann-benchmarks' recall@10 against the exact ground truth file.
Prints both curves, build times, graph memory, and QPS at recall 0.95 interpolated along each curve,
once per annscope variant (build precision / search walk precision): sq8/f16, the defaults (the
build reads 8-bit copies, searches walk half-precision copies and re-score in f32), and f32/f32
(reads the same f32 vectors hnswlib reads).
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import hnswlib
import numpy as np

from bench_common import BIN, qps_at, read_fvecs, read_ivecs, recall_at_k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm/pypi-minilm")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--efs", default="10,16,24,32,48,64,96,128,256")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--build-runs", type=int, default=3,
                    help="builds per side, alternating, for the median build times")
    ap.add_argument("--variants", default="sq8/f16,f32/f32",
                    help="annscope variants, each --build-precision/--search-precision")
    a = ap.parse_args()
    efs = [int(e) for e in a.efs.split(",")]
    base, queries, gt_path = a.data + ".base.fvecs", a.data + ".query.fvecs", a.data + ".groundtruth.ivecs"
    xb, xq, gt = read_fvecs(base), read_fvecs(queries), read_ivecs(gt_path)
    n, dim = xb.shape

    # hnswlib
    p = hnswlib.Index(space="cosine", dim=dim)
    p.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.m, random_seed=42)
    p.set_num_threads(2)
    t = time.perf_counter()
    p.add_items(xb, np.arange(n))
    hl_build = time.perf_counter() - t
    hl = []
    for ef in efs:
        p.set_ef(ef)
        best = float("inf")
        for _ in range(a.runs):
            t = time.perf_counter()
            labels, _ = p.knn_query(xq, k=a.k, num_threads=1)
            best = min(best, time.perf_counter() - t)
        hl.append((ef, recall_at_k(xb, xq, labels, gt, a.k), len(xq) / best))
    # hnswlib's layout: (2M+1)*4 bytes of layer-0 links per node plus, for the 1/(M-1) share of
    # upper-layer entries per node, (M+1)*4 bytes each, plus a 4-byte level and 8-byte link pointer.
    hl_graph = n * ((2 * a.m + 1) * 4 + (a.m + 1) * 4 / (a.m - 1) + 12)

    # annscope, once per variant: the defaults (build reads sq8, searches walk f16 and re-score
    # in f32) and f32/f32 (reads what hnswlib reads).
    cache = tempfile.mkdtemp(prefix="annscope-cache-")
    variants = {}
    for prec in a.variants.split(","):
        build_prec, search_prec = prec.split("/")
        args = [BIN, "bench", "--base", base, "--queries", queries, "--groundtruth", gt_path, "--metric",
                "cosine", "--k", str(a.k), "--index", "hnsw", "--m", str(a.m), "--ef-construction",
                str(a.ef_construction), "--build-precision", build_prec, "--search-precision", search_prec, "--ef", a.efs,
                "--build-threads", "2", "--threads", "1", "--batch", "--runs", str(a.runs)]
        out = subprocess.run(args, check=True, capture_output=True, text=True,
                             env={**os.environ, "ANNSCOPE_CACHE": cache}).stdout
        variants[prec] = [json.loads(line) for line in out.splitlines() if line.strip()]
    graph = subprocess.run([BIN, "build", "--base", base, "--metric", "cosine", "--index", "hnsw", "--m", str(a.m),
                            "--ef-construction", str(a.ef_construction), "--build-threads", "2", "--out",
                            os.path.join(cache, "index.hnsw"), "--json"],
                           capture_output=True, text=True)
    graph_bytes = json.loads(graph.stdout)["graph_bytes"] if graph.returncode == 0 else float("nan")

    # Build times: the machine's speed drifts over minutes, so build each side in turn,
    # --build-runs times (the builds above count as the first), and compare medians.
    hl_builds = [hl_build]
    our_builds = {prec: [ours[0]["build_s"]] for prec, ours in variants.items()}
    for _ in range(a.build_runs - 1):
        h = hnswlib.Index(space="cosine", dim=dim)
        h.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.m, random_seed=42)
        h.set_num_threads(2)
        t = time.perf_counter()
        h.add_items(xb, np.arange(n))
        hl_builds.append(time.perf_counter() - t)
        del h
        for prec in variants:
            out = subprocess.run([BIN, "build", "--base", base, "--metric", "cosine", "--index", "hnsw", "--m",
                                  str(a.m), "--ef-construction", str(a.ef_construction), "--build-precision",
                                  prec.split("/")[0], "--search-precision", prec.split("/")[1], "--build-threads", "2",
                                  "--out",
                                  os.path.join(cache, "index.hnsw"), "--json"],
                                 check=True, capture_output=True, text=True).stdout
            our_builds[prec].append(json.loads(out)["build_s"])

    print(f"data: {base} ({n} x {dim}), {len(xq)} queries, k={a.k}, M={a.m}, efConstruction={a.ef_construction}")
    print(f"graph bytes per vector: annscope {graph_bytes / n:.1f}, hnswlib layout {hl_graph / n:.1f}")
    for prec, ours in variants.items():
        print(f"\n== annscope, build reads {prec.split('/')[0]}, search walks {prec.split('/')[1]}")
        ob, hb = statistics.median(our_builds[prec]), statistics.median(hl_builds)
        print(f"build on 2 threads, median of {len(hl_builds)}: annscope {ob:.1f} s, hnswlib {hb:.1f} s "
              f"(hnswlib/annscope {hb / ob:.2f}); runs: annscope "
              f"{', '.join(f'{b:.1f}' for b in our_builds[prec])}, hnswlib {', '.join(f'{b:.1f}' for b in hl_builds)}")
        print(f"RAM: annscope {ours[0]['index_bytes'] / 1e6:.1f} MB (hnswlib: vectors {n * dim * 4 / 1e6:.1f} MB "
              f"+ graph {hl_graph / 1e6:.1f} MB)")
        print(f"{'ef':>5} {'recall ours':>12} {'recall hnswlib':>15} {'QPS ours':>10} {'QPS hnswlib':>12} {'ratio':>7}")
        for (ef, r_h, q_h), o in zip(hl, ours):
            print(f"{ef:>5} {o['recall']:>12.4f} {r_h:>15.4f} {o['qps']:>10.0f} {q_h:>12.0f} {o['qps'] / q_h:>7.2f}")
        for target in (0.90, 0.95, 0.99):
            qo = qps_at([(o["recall"], o["qps"]) for o in ours], target)
            qh = qps_at([(r, q) for _, r, q in hl], target)
            print(f"QPS at recall {target:.2f}: annscope {qo:.0f}, hnswlib {qh:.0f}, ratio {qo / qh:.2f}")


if __name__ == "__main__":
    main()
