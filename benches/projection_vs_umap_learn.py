#!/usr/bin/env python3
"""annscope's PCA and UMAP against umap-learn on the same vectors, judged by
the same figure: neighbours_kept_10, the share of each point's exact 10
nearest neighbours (cosine) that are among its 10 nearest on the plane.

The figure is computed here, in NumPy/FAISS/SciPy, for all three layouts
on the same seeded sample of at most 10,000 points, so no side grades its
own work; annscope's own reported figure is printed beside as a check.

    pip install umap-learn faiss-cpu
    cargo build --release
    python3 benches/projection_vs_umap_learn.py --n 100000

umap-learn runs with random_state (which makes it single-threaded, as
annscope's epochs are) unless --umap-learn-parallel.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def read_fvecs(path, n=None):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    rows = raw.reshape(-1, dim + 1)
    if n is not None:
        rows = rows[:n]
    return np.ascontiguousarray(rows[:, 1:].view(np.float32))


def write_fvecs(path, x):
    n, dim = x.shape
    out = np.empty((n, dim + 1), dtype=np.int32)
    out[:, 0] = dim
    out[:, 1:] = x.view(np.int32)
    out.tofile(path)


def exact_neighbours(x, rows, k):
    import faiss

    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(unit.shape[1])
    index.add(unit)
    _, ids = index.search(unit[rows], k + 1)
    out = np.empty((len(rows), k), dtype=np.int64)
    for i, r in enumerate(rows):
        others = [j for j in ids[i] if j != r][:k]
        out[i] = others
    return out


def kept(points, rows, high, k=10):
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    _, near = tree.query(points[rows], k=k + 1)
    shares = []
    for i, r in enumerate(rows):
        mine = [j for j in near[i] if j != r][:k]
        shares.append(len(set(mine) & set(high[i].tolist())) / k)
    return float(np.mean(shares))


def annscope(binary, base, method, out, extra):
    cmd = [binary, "project", "--base", base, "--metric", "cosine",
           "--method", method, "--out", out] + extra
    started = time.perf_counter()
    line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    report = json.loads(line.strip().splitlines()[-1])
    report["wall_seconds"] = wall
    return np.load(out), report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--annscope", default="target/release/annscope")
    ap.add_argument("--knn", default="auto", help="annscope's --knn")
    ap.add_argument("--umap-learn-parallel", action="store_true")
    ap.add_argument("--umap-learn-init", default="spectral")
    ap.add_argument("--skip-umap-learn", action="store_true")
    ap.add_argument("--sample", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    x = read_fvecs(os.path.join(args.data, "pypi-minilm.base.fvecs"), args.n)
    n = len(x)
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(n, size=min(n, args.sample), replace=False))
    high = exact_neighbours(x, rows, 10)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base.fvecs")
        write_fvecs(base, x)
        for method in ["pca", "umap"]:
            extra = ["--knn", args.knn] if method == "umap" else []
            pts, rep = annscope(args.annscope, base, method,
                                os.path.join(tmp, f"{method}.npy"), extra)
            results.append({
                "layout": f"annscope {method}",
                "seconds": rep["wall_seconds"],
                "knn_seconds": rep.get("knn_seconds"),
                "neighbours_kept_10": kept(pts, rows, high),
                "own_figure": rep["neighbours_kept_10"],
                "knn": rep.get("knn"),
            })
            print(json.dumps(results[-1]), flush=True)

    if not args.skip_umap_learn:
        import umap

        kw = dict(n_neighbors=15, min_dist=0.1, metric="cosine",
                  init=args.umap_learn_init)
        if not args.umap_learn_parallel:
            kw["random_state"] = args.seed
        started = time.perf_counter()
        pts = umap.UMAP(**kw).fit_transform(x)
        secs = time.perf_counter() - started
        results.append({
            "layout": "umap-learn " + umap.__version__
            + (" parallel" if args.umap_learn_parallel else " seeded")
            + f" init={args.umap_learn_init}",
            "seconds": secs,
            "neighbours_kept_10": kept(pts, rows, high),
        })
        print(json.dumps(results[-1]), flush=True)

    print(f"\n{n} vectors, neighbours_kept_10 on {len(rows)} points (exact cosine neighbours)")
    for r in results:
        print(f"  {r['layout']:<44} {r['neighbours_kept_10']:.3f}  {r['seconds']:7.1f} s")


if __name__ == "__main__":
    sys.exit(main())
