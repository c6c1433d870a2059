#!/usr/bin/env python3
"""A million real-looking sentence embeddings for the app's large-view
measurements: pypi-minilm's 100,000 base vectors, each repeated 10 times
with Gaussian noise (sigma 0.005 per coordinate, about a tenth of a typical
coordinate of these unit vectors, so copies stay nearer each other than to
other packages), renormalised; labels repeated with the copy number.

    python3 benches/make_million.py --out /tmp/million
    # writes /tmp/million.fvecs (1.5 GB) and /tmp/million.txt
"""

import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm")
    ap.add_argument("--out", default="/tmp/million")
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--sigma", type=float, default=0.005)
    args = ap.parse_args()
    raw = np.fromfile(os.path.join(args.data, "pypi-minilm.base.fvecs"), dtype=np.int32)
    dim = raw[0]
    x = raw.reshape(-1, dim + 1)[:, 1:].view(np.float32)
    labels = open(os.path.join(args.data, "pypi-minilm.base.txt"), encoding="utf-8").read().splitlines()
    rng = np.random.default_rng(7)
    with open(args.out + ".fvecs", "wb") as f, open(args.out + ".txt", "w", encoding="utf-8") as t:
        for c in range(args.copies):
            y = x + rng.normal(0.0, args.sigma, x.shape).astype(np.float32)
            y /= np.linalg.norm(y, axis=1, keepdims=True)
            rows = np.empty((len(y), dim + 1), dtype=np.int32)
            rows[:, 0] = dim
            rows[:, 1:] = y.view(np.int32)
            rows.tofile(f)
            for l in labels:
                t.write(f"{l} [copy {c}]\n")
    print(f"wrote {args.copies * len(x)} vectors to {args.out}.fvecs")


if __name__ == "__main__":
    main()
