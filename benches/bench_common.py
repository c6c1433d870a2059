"""Shared helpers of the side-by-side benchmark scripts: vector files, recall
as ann-benchmarks computes it, and QPS interpolated at a recall target."""
import numpy as np

BIN = "./target/release/annscope"


def read_fvecs(path):
    a = np.fromfile(path, np.int32)
    return a.reshape(-1, a[0] + 1)[:, 1:].view(np.float32).copy()


def read_ivecs(path):
    a = np.fromfile(path, np.int32)
    return a.reshape(-1, a[0] + 1)[:, 1:]


def recall_at_k(xb, xq, found, gt, k):
    """ann-benchmarks: a returned id counts if its distance is within the k-th true one + 1e-3."""
    xbn = xb / np.linalg.norm(xb, axis=1, keepdims=True)
    xqn = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    hits = 0
    for i in range(len(xq)):
        true_d = 1.0 - xbn[gt[i, :k]] @ xqn[i]
        ids = found[i, :k]
        ids = ids[ids >= 0]
        got_d = 1.0 - xbn[ids] @ xqn[i]
        hits += int(np.sum(got_d <= true_d.max() + 1e-3))
    return hits / (len(xq) * k)


def qps_at(points, target):
    """QPS at `target` recall, linearly interpolated between the points around it."""
    pts = sorted(points)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1:
            return q0 + (q1 - q0) * (target - r0) / max(r1 - r0, 1e-12)
    return float("nan")
