#!/usr/bin/env bash
# The tuner's pick against the exhaustive grid's best, timed alternately.
#
#   bash benches/tune_vs_grid.sh PICK_M PICK_EFC PICK_EF GRID_M GRID_EFC GRID_EF [rounds]
#
# Builds both HNSW indexes once (`annscope build`, 2 threads, default
# storage; with IX_DIR=DIR they are kept there as mMeE.idx and reused), then
# measures them in turn, A B A B … (`annscope bench --index-file`, one
# thread, all 1,000 queries, the median of 3 runs each), `rounds` times
# (default 7), and prints each side's QPS per round, the medians and their
# ratio. Same files, same process conditions, interleaved: a busy moment
# hits both sides alike.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data/pypi-minilm/pypi-minilm}
A=${ANNSCOPE:-./target/release/annscope}
[ $# -ge 6 ] || { sed -n 2,11p "$0"; exit 2; }
rounds=${7:-7}
work=$(mktemp -d /tmp/annscope-tvg.XXXXXX)
trap 'rm -rf "$work"' EXIT
ix=${IX_DIR:-$work}
files=(--base "$D.base.fvecs" --queries "$D.query.fvecs" --groundtruth "$D.groundtruth.ivecs" --metric cosine)
build() {
  [ -s "$3" ] || "$A" build --base "$D.base.fvecs" --metric cosine --m "$1" --ef-construction "$2" --build-threads 2 --out "$3" >/dev/null 2>&1
}
build "$1" "$2" "$ix/m$1e$2.idx"
build "$4" "$5" "$ix/m$4e$5.idx"
qps() { "$A" bench "${files[@]}" --index-file "$1" --ef "$2" --threads 1 --runs 3 --format json 2>/dev/null |
  python3 -c 'import json,sys; p=json.loads(sys.stdin.readline()); print("%.0f %.4f" % (p["qps_median"], p["recall"]))'; }
pick=() grid=()
for i in $(seq "$rounds"); do
  a=$(qps "$ix/m$1e$2.idx" "$3"); b=$(qps "$ix/m$4e$5.idx" "$6")
  echo "round $i: pick M=$1 efC=$2 ef=$3: $a   grid M=$4 efC=$5 ef=$6: $b"
  pick+=("${a%% *}") grid+=("${b%% *}")
done
python3 - "${pick[*]}" "${grid[*]}" <<'EOF'
import statistics, sys
p = [float(x) for x in sys.argv[1].split()]
g = [float(x) for x in sys.argv[2].split()]
mp, mg = statistics.median(p), statistics.median(g)
print(f"median QPS: pick {mp:.0f}, grid best {mg:.0f}; pick / grid = {mp / mg:.3f}")
print(f"per round: {' '.join(f'{a / b:.3f}' for a, b in zip(p, g))}")
EOF
