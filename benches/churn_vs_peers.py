"""Runs one churn runbook through hnswlib (mark_deleted; and with
replace_deleted) and FAISS IVF-Flat (remove_ids), on the same base, queries,
row order and exact ground truth annscope used, and prints one JSON line per
(peer, knob) in the shape of `annscope churn`'s summary.

First let annscope run the runbook with --results-dir DIR (it writes
order.ivecs and truth-<step>.ivecs there), then:

  python3 benches/churn_vs_peers.py --base B.fvecs --queries Q.fvecs \
      --runbook RB.yaml --results-dir DIR --ef 16,32,64,128 --m 16 --ef-construction 200

Recall is ann-benchmarks' rule (a returned tag counts when its distance is
within the k-th true distance + 1e-3), cosine over unit vectors; QPS is one
query at a time on one thread, as annscope's churn measures by default.
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np
import yaml

from bench_common import read_fvecs, read_ivecs


def load_runbook(path, key):
    with open(path) as f:
        doc = yaml.safe_load(f)
    if key is None:
        if len(doc) != 1:
            raise SystemExit(f"{path}: several datasets, give --runbook-key")
        key = next(iter(doc))
    body = doc[key]
    steps = sorted((k, v) for k, v in body.items() if isinstance(k, int))
    return body["max_pts"], steps


def score(xb, xq, live_row, found, truth, k):
    """Mean recall over queries; `live_row` maps a tag to the base row it holds."""
    recalls = []
    for i in range(len(xq)):
        t = truth[i][truth[i] >= 0]
        if len(t) == 0:
            continue
        kk = min(k, len(t))
        true_d = 1.0 - xb[[live_row[x] for x in t[:kk]]] @ xq[i]
        thr = true_d.max() + 1e-3
        seen, hits = set(), 0
        for tag in found[i][:kk]:
            tag = int(tag)
            if tag < 0 or tag in seen or tag not in live_row:
                continue
            seen.add(tag)
            if 1.0 - xb[live_row[tag]] @ xq[i] <= thr:
                hits += 1
        recalls.append(hits / kk)
    return float(np.mean(recalls)) if recalls else None


class Hnswlib:
    def __init__(self, dim, cap, m, efc, replace):
        import hnswlib

        self.name = "hnswlib" + (" (replace_deleted)" if replace else " (mark_deleted)")
        self.replace = replace
        self.ix = hnswlib.Index(space="ip", dim=dim)
        self.ix.init_index(max_elements=cap, M=m, ef_construction=efc, random_seed=42,
                           allow_replace_deleted=replace)
        self.cap = cap
        self.reusable = 0  # deleted slots replace_deleted may fill

    def insert(self, tags, vecs):
        fresh = len(tags) - (min(self.reusable, len(tags)) if self.replace else 0)
        if self.ix.get_current_count() + fresh > self.cap:
            self.cap = max(self.ix.get_current_count() + fresh, int(self.cap * 1.5))
            self.ix.resize_index(self.cap)
        self.ix.add_items(vecs, tags, replace_deleted=self.replace)
        self.reusable -= len(tags) - fresh

    def delete(self, tags):
        for t in tags:
            self.ix.mark_deleted(int(t))
        self.reusable += len(tags)

    def replace_rows(self, tags, vecs):
        self.ix.add_items(vecs, tags)  # an existing label is updated in place

    def search(self, q, k, knob):
        self.ix.set_ef(knob)
        ids, _ = self.ix.knn_query(q.reshape(1, -1), k=k, num_threads=1)
        return ids[0]

    def nbytes(self):
        with tempfile.NamedTemporaryFile() as f:
            self.ix.save_index(f.name)
            return os.path.getsize(f.name)


class FaissIvf:
    def __init__(self, dim, nlist):
        import faiss

        faiss.omp_set_num_threads(1)
        self.faiss = faiss
        self.name = f"faiss IVF{nlist},Flat (remove_ids)"
        self.quant = faiss.IndexFlatIP(dim)
        self.ix = faiss.IndexIVFFlat(self.quant, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        self.nlist = nlist

    def insert(self, tags, vecs):
        if not self.ix.is_trained:
            self.faiss.omp_set_num_threads(os.cpu_count())
            self.ix.train(vecs)  # trained on the first insert step, as annscope's codes
            self.faiss.omp_set_num_threads(1)
        self.ix.add_with_ids(vecs, tags.astype(np.int64))

    def delete(self, tags):
        self.ix.remove_ids(np.asarray(tags, dtype=np.int64))

    def replace_rows(self, tags, vecs):
        self.delete(tags)
        self.ix.add_with_ids(vecs, tags.astype(np.int64))

    def search(self, q, k, knob):
        self.ix.nprobe = knob
        _, ids = self.ix.search(q.reshape(1, -1), k)
        return ids[0]

    def nbytes(self):
        return len(self.faiss.serialize_index(self.ix))


def run(peer, knobs, xb, xq, order, steps, truth, k):
    live_row = {}
    recalls = {kn: [] for kn in knobs}
    qps = {kn: [] for kn in knobs}
    start = time.perf_counter()
    for key, s in steps:
        op = s["operation"]
        if op == "insert":
            tags = order[s["start"]:s["end"]]
            peer.insert(tags, xb[tags])
            live_row.update((int(t), int(t)) for t in tags)
        elif op == "delete":
            tags = order[s["start"]:s["end"]]
            peer.delete(tags)
            for t in tags:
                live_row.pop(int(t), None)
        elif op == "replace":
            tags = order[s["tags_start"]:s["tags_end"]]
            rows = order[s["ids_start"]:s["ids_end"]]
            peer.replace_rows(tags, xb[rows])
            live_row.update((int(t), int(r)) for t, r in zip(tags, rows))
        elif op == "search" and key in truth:  # (no truth file: nothing live)
            for kn in knobs:
                t0 = time.perf_counter()
                found = [peer.search(q, k, kn) for q in xq]
                wall = time.perf_counter() - t0
                r = score(xb, xq, live_row, found, truth[key], k)
                if r is not None:
                    recalls[kn].append(r)
                    qps[kn].append(len(xq) / wall)
    seconds = time.perf_counter() - start
    nbytes = peer.nbytes()
    for kn in knobs:
        r = recalls[kn]
        print(json.dumps({"peer": peer.name, "knob": kn,
                          "average_recall": float(np.mean(r)) if r else None,
                          "min_recall": min(r) if r else None,
                          "average_qps": float(np.mean(qps[kn])) if qps[kn] else None,
                          "searches": len(r), "final_index_bytes": nbytes,
                          "seconds": seconds}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--runbook", required=True)
    ap.add_argument("--runbook-key")
    ap.add_argument("--results-dir", required=True, help="annscope churn's --results-dir")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="16,32,64,128")
    ap.add_argument("--nlist", type=int, default=0, help="IVF lists (default: sqrt of max_pts)")
    ap.add_argument("--nprobe", default="4,8,16,32")
    ap.add_argument("--peers", default="hnswlib,hnswlib-replace,faiss-ivf")
    a = ap.parse_args()
    xb = read_fvecs(a.base)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq = read_fvecs(a.queries)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)
    order = read_ivecs(os.path.join(a.results_dir, "order.ivecs"))[0].astype(np.int64)
    max_pts, steps = load_runbook(a.runbook, a.runbook_key)
    truth = {key: read_ivecs(os.path.join(a.results_dir, f"truth-{key}.ivecs"))
             for key, s in steps if s["operation"] == "search"
             and os.path.exists(os.path.join(a.results_dir, f"truth-{key}.ivecs"))}
    efs = [int(x) for x in a.ef.split(",")]
    for name in a.peers.split(","):
        if name == "hnswlib":
            run(Hnswlib(xb.shape[1], max_pts, a.m, a.ef_construction, False), efs, xb, xq, order, steps, truth, a.k)
        elif name == "hnswlib-replace":
            run(Hnswlib(xb.shape[1], max_pts, a.m, a.ef_construction, True), efs, xb, xq, order, steps, truth, a.k)
        elif name == "faiss-ivf":
            nlist = a.nlist or int(np.sqrt(max_pts))
            run(FaissIvf(xb.shape[1], nlist), [int(x) for x in a.nprobe.split(",")], xb, xq, order, steps, truth, a.k)
        else:
            raise SystemExit(f"unknown peer {name}")


if __name__ == "__main__":
    main()
