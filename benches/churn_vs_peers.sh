#!/usr/bin/env bash
# The churn table in README: one generated runbook (clustered inserts of the
# whole base, delete bursts) run by annscope's kinds and policies, then by
# hnswlib and FAISS on the same runbook and ground truth.
#   bash benches/churn_vs_peers.sh [BASE.fvecs QUERIES.fvecs [OUT_DIR]]
# Nothing else should run meanwhile: QPS is single-thread.
set -euo pipefail
cd "$(dirname "$0")/.."
D=../shared/data/pypi-minilm
BASE=${1:-$D/pypi-minilm.base.fvecs}
QUERIES=${2:-$D/pypi-minilm.query.fvecs}
OUT=${3:-/tmp/annscope-churn}
BIN=./target/release/annscope
mkdir -p "$OUT"
[ -x "$BIN" ] || cargo build --release --no-default-features
common=(--base "$BASE" --queries "$QUERIES" --metric cosine --k 10)
"$BIN" churn --base "$BASE" --metric cosine --generate clustered-deletes --print-runbook >"$OUT/runbook.yaml"
rb=(--runbook "$OUT/runbook.yaml")
f32=(--build-precision f32 --search-precision f32 --quantizer none)
efs=(--ef 16,32,64,128)
run() { # name, then churn's flags
  local name=$1; shift
  echo "== $name" >&2
  "$BIN" churn "${common[@]}" "${rb[@]}" "$@" >"$OUT/$name.jsonl" 2>"$OUT/$name.err"
}
run hnsw-f32-none --index hnsw "${f32[@]}" "${efs[@]}" --maintenance none --results-dir "$OUT/answers" --compare-fresh
run hnsw-f32-cleanup --index hnsw "${f32[@]}" "${efs[@]}" --maintenance cleanup --cleanup-interval 5000ops --compare-fresh
run hnsw-f32-rebuild --index hnsw "${f32[@]}" "${efs[@]}" --maintenance rebuild-at:0.2
run hnsw-f32-async --index hnsw "${f32[@]}" "${efs[@]}" --maintenance none --async-indexing
run hnsw-default-cleanup --index hnsw "${efs[@]}" --maintenance cleanup --compare-fresh
run hfresh --index hfresh --search-probe 8,16,32,64 --compare-fresh
echo "== peers" >&2
(cd benches && python3 churn_vs_peers.py --base "../$BASE" --queries "../$QUERIES" \
  --runbook "$OUT/runbook.yaml" --results-dir "$OUT/answers" --ef 16,32,64,128 \
  --m 16 --ef-construction 200) >"$OUT/peers.jsonl"
echo "results in $OUT" >&2
