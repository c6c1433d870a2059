#!/usr/bin/env bash
# Qdrant (its engine in-process: qdrant-edge) and pgvector (a real
# PostgreSQL) beside annscope's HNSW, same files, same m/ef_construction,
# in one run: the README's "Three engines" table.
#
#   benches/engines_vs_annscope.sh [DATA_PREFIX] [OUT_DIR]
#
# DATA_PREFIX defaults to ../shared/data/pypi-minilm/pypi-minilm (.base.fvecs,
# .query.fvecs, .groundtruth.ivecs). Uses ANNSCOPE_PG_URL when set, otherwise
# starts a throwaway server (tests/pg/server.sh) and stops it at the end;
# SKIP_PG=1 leaves pgvector out. Builds annscope with --features qdrant.
# Run nothing else meanwhile: latency is what one client sees.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/pypi-minilm/pypi-minilm}
out=${2:-$(mktemp -d /tmp/annscope-engines.XXXXXX)}
mkdir -p "$out"
cargo build --release --quiet --features qdrant
a=./target/release/annscope
files=(--base "$data.base.fvecs" --queries "$data.query.fvecs" --groundtruth "$data.groundtruth.ivecs" --metric cosine)
efs=10,20,40,80,120,200,400
# Each point: the fastest of three runs (the machine is noisy).
runs=${RUNS:-3}
efcs=${EFCS:-100,200}

echo "Qdrant HNSW: none, scalar, binary; oversampling 1, 2, 4 with rescore" >&2
$a bench --engine qdrant-edge "${files[@]}" --m 16 --ef-construction "$efcs" \
    --quantization none,scalar,binary --oversample 1,2,4 --ef $efs --runs "$runs" \
    >"$out/qdrant.jsonl" 2>"$out/qdrant.err"
echo "annscope HNSW, same m/ef_construction" >&2
$a bench --index hnsw "${files[@]}" --m 16 --ef-construction "$efcs" --ef $efs --runs "$runs" \
    >"$out/annscope.jsonl" 2>"$out/annscope.err"
if [ -z "${SKIP_PG:-}" ]; then
    if [ -z "${ANNSCOPE_PG_URL:-}" ]; then
        bash tests/pg/server.sh install >/dev/null
        pg_dir="$out/server"
        trap 'bash tests/pg/server.sh stop "$pg_dir"' EXIT
        ANNSCOPE_PG_URL=$(bash tests/pg/server.sh start "$pg_dir")
        export ANNSCOPE_PG_URL
    fi
    echo "pgvector HNSW, same m/ef_construction" >&2
    $a bench --engine pgvector "${files[@]}" --m 16 --ef-construction "$efcs" --ef $efs --runs "$runs" \
        >"$out/pgvector.jsonl" 2>"$out/pgvector.err"
fi

python3 - "$out" <<'EOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
rows = {}
for name in ["annscope.jsonl", "pgvector.jsonl", "qdrant.jsonl"]:
    path = out / name
    if not path.exists():
        continue
    for line in open(path):
        if not line.startswith("{"):
            continue
        p = json.loads(line)
        pr = p["params"]
        if p["index"] == "hnsw":
            build = f"annscope HNSW m={pr['m']} efC={pr['ef_construction']}"
            knob = pr["ef"]
        elif p["index"] == "pgvector-hnsw":
            build = f"pgvector HNSW m={pr['m']} efC={pr['ef_construction']}"
            knob = pr["ef_search"]
        else:
            q = pr["quantization"]
            build = f"Qdrant HNSW m={pr['m']} efC={pr['ef_construct']} {q}"
            if q != "none":
                build += f" os={pr['oversampling']:g}"
            knob = pr["hnsw_ef"]
        rows.setdefault(build, []).append((knob, p))
print("| build | build s | bytes | ef for recall 0.90 / 0.95 / 0.99 | p50 µs there | QPS at 0.95 | recall at ef 400 |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for build, pts in rows.items():
    def first(target):
        for knob, p in pts:
            if p["recall"] >= target:
                return knob, p
        return None, None
    hits = [first(t) for t in (0.90, 0.95, 0.99)]
    knobs = " / ".join("—" if k is None else str(k) for k, _ in hits)
    lat = " / ".join("—" if p is None else f"{p['p50_us']:,.0f}" for _, p in hits)
    q95 = hits[1][1]
    qps = "—" if q95 is None else format(q95["qps"], ",.0f")
    p0 = pts[0][1]
    top = pts[-1][1]["recall"]
    print(f"| {build} | {p0['build_s']:.1f} | {p0['index_bytes']/1e6:.0f} MB | {knobs} | {lat} | {qps} | {top:.3f} |")
EOF
grep -h "indexed by optimize" "$out/qdrant.err" >&2 || true
echo "results in $out" >&2
