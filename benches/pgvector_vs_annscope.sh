#!/usr/bin/env bash
# pgvector (a real PostgreSQL) beside annscope's HNSW and flat scan, on the
# same files in one run: the README's "pgvector" table.
#
#   benches/pgvector_vs_annscope.sh [DATA_PREFIX] [OUT_DIR]
#
# DATA_PREFIX defaults to ../shared/data/pypi-minilm/pypi-minilm (.base.fvecs,
# .query.fvecs, .groundtruth.ivecs). Uses ANNSCOPE_PG_URL when set, otherwise
# starts a throwaway server (tests/pg/server.sh) and stops it at the end.
# Run nothing else meanwhile: latency is what one client sees.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/pypi-minilm/pypi-minilm}
out=${2:-$(mktemp -d /tmp/annscope-pgbench.XXXXXX)}
mkdir -p "$out"
cargo build --release --quiet
a=./target/release/annscope
files=(--base "$data.base.fvecs" --queries "$data.query.fvecs" --groundtruth "$data.groundtruth.ivecs" --metric cosine)
efs=10,20,40,80,120,200,400

if [ -z "${ANNSCOPE_PG_URL:-}" ]; then
    bash tests/pg/server.sh install >/dev/null
    pg_dir="$out/server"
    trap 'bash tests/pg/server.sh stop "$pg_dir"' EXIT
    ANNSCOPE_PG_URL=$(bash tests/pg/server.sh start "$pg_dir")
    export ANNSCOPE_PG_URL
fi

echo "pgvector HNSW (load with COPY, two builds, ef_search sweep)" >&2
$a bench --engine pgvector "${files[@]}" --m 16 --ef-construction 64,200 --ef $efs >"$out/pg_hnsw.jsonl" 2>"$out/pg_hnsw.err"
echo "annscope HNSW, same m/ef_construction" >&2
$a bench --index hnsw "${files[@]}" --m 16 --ef-construction 64,200 --ef $efs >"$out/as_hnsw.jsonl" 2>"$out/as_hnsw.err"
echo "annscope flat" >&2
$a bench --index flat "${files[@]}" >"$out/as_flat.jsonl" 2>"$out/as_flat.err"
echo "pgvector IVFFlat" >&2
$a bench --engine pgvector --engine-index ivfflat --lists 100,316 --probes 1,2,4,8,16,32,64 "${files[@]}" >"$out/pg_ivf.jsonl" 2>"$out/pg_ivf.err"
echo "row-by-row INSERT, once" >&2
$a bench --engine pgvector --engine-index ivfflat --lists 100 --probes 1 --load-method insert "${files[@]}" >/dev/null 2>"$out/pg_insert.err"

grep -h "loaded" "$out"/pg_hnsw.err "$out"/pg_insert.err
python3 - "$out" <<'EOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
def load(name):
    return [json.loads(l) for l in open(out / name)]
rows = {}
for name in ["pg_hnsw.jsonl", "as_hnsw.jsonl", "pg_ivf.jsonl", "as_flat.jsonl"]:
    for p in load(name):
        pr = p["params"]
        build = {"pgvector-hnsw": f"pgvector HNSW m={pr.get('m')} efC={pr.get('ef_construction')}",
                 "hnsw": f"annscope HNSW m={pr.get('m')} efC={pr.get('ef_construction')}",
                 "pgvector-ivfflat": f"pgvector IVFFlat lists={pr.get('lists')}",
                 "flat": "annscope flat"}[p["index"]]
        knob = pr.get("ef_search", pr.get("ef", pr.get("probes", "exact")))
        rows.setdefault(build, []).append((knob, p))
print("| build | build s | index MB | ef/probes for recall 0.90 / 0.95 / 0.99 | p50 µs there | QPS at 0.95 |")
print("| --- | --- | --- | --- | --- | --- |")
for build, pts in rows.items():
    def first(target):
        for knob, p in pts:
            if p["recall"] >= target:
                return knob, p
        return None, None
    hits = [first(t) for t in (0.90, 0.95, 0.99)]
    knobs = " / ".join("—" if k is None else str(k) for k, _ in hits)
    lat = " / ".join("—" if p is None else f"{p['p50_us']:.0f}" for _, p in hits)
    q95 = hits[1][1]
    p0 = pts[0][1]
    qps = "—" if q95 is None else format(q95["qps"], ",.0f")
    print(f"| {build} | {p0['build_s']:.1f} | {p0['index_bytes']/1e6:.0f} | {knobs} | {lat} | {qps} |")
EOF
echo "results in $out" >&2
