#!/usr/bin/env python3
"""The memory ladder, in one run: annscope's HNSW walking f16 copies (the
default), 8-bit, 4-bit, RaBitQ, product (pq:96, pq:48, and opq:96, opq:48
after a learnt rotation) and binary codes with
its f32 vectors on disk, beside FAISS's IndexHNSWSQ (8 and 4 bits),
IndexHNSWPQ, IndexBinaryHNSW (re-ranked in NumPy) and IndexIVFPQ with exact
re-ranking (IndexRefineFlat), on the same files, one search thread each.

Usage (from the project root, after `cargo build --release`):
    pip install numpy faiss-cpu
    python3 benches/memory_ladder.py [--data ../shared/data/pypi-minilm/pypi-minilm] [--runs 3]
        [--rungs pq:96,opq:96] [--sections rungs,faiss,cold,cache]

--rungs picks annscope's quantizers (the default HNSW is always measured, as
the target's reference); --sections picks what runs (all by default).

Prints markdown tables:
  1. per rung: resident bytes per vector, recall@10 at ef 64 without re-scoring
     and with it at oversample 1, 2, 4, 10, QPS at recall 0.95 (the fastest
     measured point, any ef and oversample, whose recall reaches 0.95), build
     time;
  2. the target check (vectors on disk, oversample 2, against the default HNSW);
  3. one cold-page-cache run (the vector file dropped before each run);
  4. Weaviate's vector cache at 10%, 50% and 100% of the collection, warm and cold.
annscope's QPS are the fastest of --runs runs, one query at a time (its CLI's
`bench`); FAISS searches the whole query set in one call on one OpenMP
thread (no Python per query), the fastest of --runs. FAISS's resident bytes
are its serialised index's size (codes, ids, graph; IndexRefineFlat's f32
copy included).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import BIN, read_fvecs, read_ivecs, recall_at_k  # noqa: E402

K = 10
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256]
OVERSAMPLES = [1, 2, 4, 10]
TABLE_EF = 64
RUNGS = ["sq8", "sq4", "rabitq:1", "rabitq:4", "rabitq:8", "pq:96", "opq:96", "pq:48", "opq:48", "bq"]


def annscope(data, extra, runs, cache):
    args = [BIN, "bench", "--base", data + ".base.fvecs", "--queries", data + ".query.fvecs",
            "--groundtruth", data + ".groundtruth.ivecs", "--metric", "cosine", "--k", str(K),
            "--index", "hnsw", "--m", "16", "--ef-construction", "200", "--threads", "1",
            "--build-threads", "2", "--runs", str(runs), "--format", "json"] + extra
    out = subprocess.run(args, check=True, capture_output=True, text=True,
                         env={**os.environ, "ANNSCOPE_CACHE": cache}).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def faiss_sweep(index, xq, knob_name, knobs, set_knob, xb, gt, runs, refine=None):
    """[(knob, k_factor, recall, qps)] over knobs (and re-ranking factors)."""
    faiss.omp_set_num_threads(1)
    factors = OVERSAMPLES if refine is not None else [None]
    out = []
    for knob in knobs:
        set_knob(knob)
        for f in factors:
            target = index
            if f is not None:
                refine.k_factor = f
                target = refine
            best = float("inf")
            for _ in range(runs):
                t = time.perf_counter()
                _, ids = target.search(xq, K)
                best = min(best, time.perf_counter() - t)
            out.append((knob, f, recall_at_k(xb, xq, ids, gt, K), len(xq) / best))
    return out


def qps_at(points, target):
    """The highest QPS of any measured point whose recall reaches `target`
    (no interpolation; nan when none does)."""
    ok = [q for (r, q) in points if r >= target]
    return max(ok) if ok else float("nan")


def bytes_of(index):
    return len(faiss.serialize_index(index))


def bytes_of_binary(index):
    return len(faiss.serialize_index_binary(index))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/pypi-minilm/pypi-minilm")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rungs", default=",".join(RUNGS))
    ap.add_argument("--sections", default="rungs,faiss,cold,cache")
    a = ap.parse_args()
    sections = set(a.sections.split(","))
    xb = read_fvecs(a.data + ".base.fvecs")
    xq = read_fvecs(a.data + ".query.fvecs")
    gt = read_ivecs(a.data + ".groundtruth.ivecs")
    n, d = xb.shape
    xbn = xb / np.linalg.norm(xb, axis=1, keepdims=True)
    xqn = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    efs = ",".join(map(str, EFS))
    rows = []  # (name, bytes/vector, {os: recall at TABLE_EF}, no-rescore recall, qps@0.95, build_s)
    cache = tempfile.mkdtemp(prefix="annscope-ladder-")

    # annscope: the default, then each quantizer with the vectors on disk.
    runs = {}
    runs["annscope HNSW (default: f16 walk, vectors in RAM)"] = annscope(a.data, ["--ef", efs], a.runs, cache)
    for q in (a.rungs.split(",") if "rungs" in sections else []):
        runs[f"annscope HNSW {q}, vectors on disk"] = annscope(
            a.data, ["--ef", efs, "--quantizer", q, "--vectors", "disk",
                     "--oversample", ",".join(map(str, OVERSAMPLES)), "--rescore", "true,false"],
            a.runs, cache)
    qps095 = {}
    for name, pts in runs.items():
        at_ef = {p["params"].get("oversample"): p["recall"] for p in pts
                 if p["params"]["ef"] == TABLE_EF and p["params"].get("rescore", True)}
        raw = [p["recall"] for p in pts if p["params"]["ef"] == TABLE_EF and p["params"].get("rescore") is False]
        best = float("nan")
        for o in {p["params"].get("oversample") for p in pts}:
            curve = [(p["recall"], p["qps"]) for p in pts
                     if p["params"].get("oversample") == o and p["params"].get("rescore", True)]
            v = qps_at(curve, 0.95)
            if v == v and not best >= v:
                best = v
        qps095[name] = best
        rows.append((name, pts[0]["index_bytes"] / n, at_ef, raw[0] if raw else None, best, pts[0]["build_s"]))

    if "faiss" in sections:
        ivf_pq_only = faiss_rungs(xb, xq, xbn, xqn, gt, a.runs, rows, qps095)

    print(f"\n{n} x {d}, cosine, k {K}, one search thread; recall columns at ef {TABLE_EF}.\n")
    print("| index | resident B/vector | recall, no re-score | re-scored os 1 | os 2 | os 4 | os 10 | QPS at 0.95 | build s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    fmt = lambda v: "-" if v is None or v != v else f"{v:.3f}"  # noqa: E731
    for name, bpv, at_ef, raw, q95, build in rows:
        cells = [fmt(at_ef.get(o, at_ef.get(float(o)))) for o in OVERSAMPLES]
        q = "never" if q95 != q95 else f"{q95:,.0f}"
        print(f"| {name} | {bpv:,.0f} | {fmt(raw)} | " + " | ".join(cells) + f" | {q} | {build:.1f} |")
    if "faiss" in sections:
        print(f"\n(IndexIVFPQ alone holds {ivf_pq_only:,.0f} B/vector; the refine step's f32 copy is the rest.)")

    default = qps095["annscope HNSW (default: f16 walk, vectors in RAM)"]
    print("\nTarget: vectors on disk, oversample 2, recall >= 0.95 at QPS >= the default's, index_bytes <= 40 MB")
    for name, pts in runs.items():
        if "disk" not in name:
            continue
        os2 = [(p["recall"], p["qps"]) for p in pts if p["params"].get("oversample") == 2 and p["params"].get("rescore")]
        q = qps_at(os2, 0.95)
        mb = pts[0]["index_bytes"] / 1e6
        ok = q == q and q >= default and mb <= 40
        print(f"  {name}: QPS at 0.95 {q:,.0f} vs default {default:,.0f}; index_bytes {mb:.1f} MB: {'met' if ok else 'not met'}")

    if "cold" in sections or "cache" in sections:
        cold_and_cache(a, n, runs, cache, sections)


def faiss_rungs(xb, xq, xbn, xqn, gt, runs_n, rows, qps095):
    """FAISS's rungs appended to rows; returns IndexIVFPQ's own bytes/vector."""
    n, d = xb.shape
    # FAISS: HNSW over 8- and 4-bit scalar codes (its search re-scores nothing).
    faiss.omp_set_num_threads(2)
    for qt, label in [(faiss.ScalarQuantizer.QT_8bit, "8-bit"), (faiss.ScalarQuantizer.QT_4bit, "4-bit")]:
        idx = faiss.IndexHNSWSQ(d, qt, 16, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = 200
        t = time.perf_counter()
        idx.train(xbn)
        idx.add(xbn)
        build = time.perf_counter() - t
        pts = faiss_sweep(idx, xqn, "efSearch", EFS, lambda e: setattr(idx.hnsw, "efSearch", e), xb, gt, runs_n)
        faiss.omp_set_num_threads(2)
        r64 = [r for (e, _, r, _) in pts if e == TABLE_EF][0]
        name = f"FAISS IndexHNSWSQ {label} (M 16, efC 200)"
        qps095[name] = qps_at([(r, q) for (_, _, r, q) in pts], 0.95)
        rows.append((name, bytes_of(idx) / n, {}, r64, qps095[name], build))

    # FAISS: HNSW over product codes (48 x 8 bits; its search re-scores nothing).
    faiss.omp_set_num_threads(2)
    # L2 on unit vectors ranks as cosine does (IndexHNSWPQ's inner-product
    # mode gave recall 0.26 on the sample).
    idx = faiss.IndexHNSWPQ(d, 48, 16, 8, faiss.METRIC_L2)
    idx.hnsw.efConstruction = 200
    t = time.perf_counter()
    idx.train(xbn)
    idx.add(xbn)
    build = time.perf_counter() - t
    pts = faiss_sweep(idx, xqn, "efSearch", EFS, lambda e: setattr(idx.hnsw, "efSearch", e), xb, gt, runs_n)
    r64 = [r for (e, _, r, _) in pts if e == TABLE_EF][0]
    name = "FAISS IndexHNSWPQ 48x8 (M 16, efC 200)"
    qps095[name] = qps_at([(r, q) for (_, _, r, q) in pts], 0.95)
    rows.append((name, bytes_of(idx) / n, {}, r64, qps095[name], build))

    # FAISS: HNSW over binary codes (signs after centring, as annscope's bq),
    # its candidates re-ranked exactly in NumPy (k_factor = oversample).
    faiss.omp_set_num_threads(2)
    mean = xbn.mean(axis=0)
    pack = lambda x: np.packbits((x - mean) > 0, axis=1, bitorder="little")  # noqa: E731
    bidx = faiss.IndexBinaryHNSW(d, 16)
    bidx.hnsw.efConstruction = 200
    t = time.perf_counter()
    bidx.add(pack(xbn))
    build = time.perf_counter() - t
    qbits = pack(xqn)
    faiss.omp_set_num_threads(1)
    bpts = []
    for ef in EFS:
        bidx.hnsw.efSearch = ef
        for f in OVERSAMPLES:
            best, ids = float("inf"), None
            for _ in range(runs_n):
                t0 = time.perf_counter()
                _, cand = bidx.search(qbits, K * f)
                scores = np.einsum("qd,qkd->qk", xqn, xbn[np.maximum(cand, 0)])
                order = np.argsort(-scores, axis=1)[:, :K]
                found = np.take_along_axis(cand, order, axis=1)
                best = min(best, time.perf_counter() - t0)
                ids = found
            bpts.append((ef, f, recall_at_k(xb, xq, ids, gt, K), len(xq) / best))
        if ef == TABLE_EF:
            _, cand = bidx.search(qbits, K)
            raw_bq = recall_at_k(xb, xq, cand, gt, K)
    name = "FAISS IndexBinaryHNSW (centred signs) + NumPy re-rank"
    qps095[name] = qps_at([(r, q) for (_, _, r, q) in bpts], 0.95)
    rows.append((name, bytes_of_binary(bidx) / n, {f: r for (e, f, r, _) in bpts if e == TABLE_EF},
                 raw_bq, qps095[name], build))

    # FAISS: IVFPQ (1024 lists, 48 × 8-bit codes), re-ranked on f32 copies.
    quant = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFPQ(quant, d, 1024, 48, 8, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    ivf.train(xbn)
    ivf.add(xbn)
    refine = faiss.IndexRefineFlat(ivf, faiss.swig_ptr(xbn))
    build = time.perf_counter() - t
    probes = [4, 8, 16, 32, 64, 128]
    pts = faiss_sweep(ivf, xqn, "nprobe", probes, lambda p: setattr(ivf, "nprobe", p), xb, gt, runs_n, refine)
    faiss.omp_set_num_threads(1)
    ivf.nprobe = 32
    _, ids = ivf.search(xqn, K)
    raw32 = recall_at_k(xb, xq, ids, gt, K)
    best = float("nan")
    for f in OVERSAMPLES:
        v = qps_at([(r, q) for (_, kf, r, q) in pts if kf == f], 0.95)
        if v == v and not best >= v:
            best = v
    name = "FAISS IndexIVFPQ 48x8 + IndexRefineFlat (nprobe 32 in the recall columns)"
    qps095[name] = best
    rows.append((name, (bytes_of(ivf) + xbn.nbytes) / n,
                 {f: r for (p, f, r, _) in pts if p == 32}, raw32, best, build))
    return bytes_of(ivf) / n


def cold_and_cache(a, n, runs, cache, sections):
    """A cold-page-cache run and Weaviate's vector cache, both on sq4."""
    if "annscope HNSW sq4, vectors on disk" not in runs:
        warm = annscope(a.data, ["--ef", ",".join(map(str, EFS)), "--quantizer", "sq4", "--vectors", "disk",
                                 "--oversample", "2"], a.runs, cache)
    else:
        warm = runs["annscope HNSW sq4, vectors on disk"]
    # Cold page cache: sq4 on disk, oversample 2, the ef that reached 0.95 warm.
    warm = [p for p in warm
            if p["params"].get("oversample") == 2 and p["params"].get("rescore") and p["recall"] >= 0.95]
    if warm:
        w = min(warm, key=lambda p: p["params"]["ef"])
        ef = w["params"]["ef"]
    if warm and "cold" in sections:
        cold = annscope(a.data, ["--ef", str(ef), "--quantizer", "sq4", "--vectors", "disk",
                                 "--oversample", "2", "--cold"], a.runs, cache)[0]
        print(f"\nCold page cache (sq4, disk, oversample 2, ef {ef}; the vector file's pages dropped before each run):")
        print("| | recall | QPS | p50 us | p99 us | re-scored/query | major faults/query | KB read/query |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, p in [("warm", w), ("cold", cold)]:
            print(f"| {label} | {p['recall']:.4f} | {p['qps']:,.0f} | {p['p50_us']:.0f} | {p['p99_us']:.0f} | "
                  f"{p.get('rescored', 0):.1f} | {p.get('major_faults_per_query', 0):.1f} | "
                  f"{p.get('read_bytes_per_query', 0) / 1e3:.1f} |")

    if warm and "cache" in sections:
        # Weaviate's vector cache in front of the file: 10%, 50%, 100% of
        # the collection, warm and cold (cold: file pages and cache dropped
        # before each run).
        print(f"\nVector cache (sq4, disk, oversample 2, ef {ef}; hits/misses/drop-alls over the kept run):")
        print("| cache | page cache | build s | QPS | p99 us | hits | misses | drop-alls | KB read/query |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for share in [0, 0.1, 0.5, 1.0]:
            cap = int(n * share)
            for cold_flag in [[], ["--cold"]]:
                cache_flag = ["--vector-cache", str(cap)] if cap else []
                p = annscope(a.data, ["--ef", str(ef), "--quantizer", "sq4", "--vectors", "disk",
                                      "--oversample", "2"] + cache_flag + cold_flag,
                             a.runs, cache)[0]
                label = f"{cap:,} ({share:.0%})" if cap else "none"
                print(f"| {label} | {'cold' if cold_flag else 'warm'} | {p['build_s']:.1f} | "
                      f"{p['qps']:,.0f} | {p['p99_us']:.0f} | {p.get('vector_cache_hits', 0):,} | "
                      f"{p.get('vector_cache_misses', 0):,} | {p.get('vector_cache_drops', 0):,} | "
                      f"{p.get('read_bytes_per_query', 0) / 1e3:.1f} |")


if __name__ == "__main__":
    main()
