"""Derives sample_data/ from ../shared/data/pypi-minilm (see sample_data/README.md).

Run from the project root: python3 sample_data/make_sample.py
Needs numpy. Deterministic: takes the first rows of files that are already shuffled.
"""
import numpy as np

SRC = "../shared/data/pypi-minilm/pypi-minilm"
OUT = "sample_data/pypi-minilm-sample"
N_BASE, N_QUERY, K = 4000, 200, 100


def read_fvecs(path):
    a = np.fromfile(path, np.int32)
    return a.reshape(-1, a[0] + 1)[:, 1:].view(np.float32)


def write_vecs(path, rows, dtype):
    n, d = rows.shape
    out = np.empty((n, d + 1), np.int32)
    out[:, 0] = d
    out[:, 1:] = rows.astype(dtype).view(np.int32)
    out.tofile(path)


def head_lines(path, n):
    with open(path, encoding="utf-8") as f:
        return [next(f) for _ in range(n)]


base = read_fvecs(SRC + ".base.fvecs")[:N_BASE]
query = read_fvecs(SRC + ".query.fvecs")[:N_QUERY]
write_vecs(OUT + ".base.fvecs", base, np.float32)
write_vecs(OUT + ".query.fvecs", query, np.float32)
with open(OUT + ".base.txt", "w", encoding="utf-8") as f:
    f.writelines(head_lines(SRC + ".base.txt", N_BASE))
with open(OUT + ".query.txt", "w", encoding="utf-8") as f:
    f.writelines(head_lines(SRC + ".query.txt", N_QUERY))

# Exact ground truth by cosine, in float64, ties broken by lower id: an
# oracle computed independently of annscope, which the tests compare against.
b = base.astype(np.float64)
q = query.astype(np.float64)
b /= np.linalg.norm(b, axis=1, keepdims=True)
q /= np.linalg.norm(q, axis=1, keepdims=True)
dist = 1.0 - q @ b.T
ids = np.lexsort((np.broadcast_to(np.arange(N_BASE), dist.shape), dist), axis=1)[:, :K]
write_vecs(OUT + ".groundtruth.ivecs", ids.astype(np.int32), np.int32)
print("wrote", OUT, "base", base.shape, "queries", query.shape, "gt", ids.shape)
