#!/usr/bin/env bash
# Does painting slow a build? The app under Xvfb builds an HNSW (default
# settings) with the Projection tab open, then with the Charts tab open,
# alternating, ROUNDS times each; prints each build's seconds as the app
# logs them (ANNSCOPE_LOG_TIMING=1) and the medians.
#
#   bash benches/build_with_view.sh ../shared/data/pypi-minilm/pypi-minilm.base.fvecs
set -euo pipefail
base=$1
rounds=${ROUNDS:-3}
bin=${ANNSCOPE:-target/release/annscope}
queries=${QUERIES:-../shared/data/pypi-minilm/pypi-minilm.query.fvecs}
Xvfb :78 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1
one() {
  local view=$1 log home
  log=$(mktemp); home=$(mktemp -d)
  DISPLAY=:78 HOME=$home ANNSCOPE_LOG_TIMING=1 "$bin" gui --base "$base" --queries "$queries" \
    --metric cosine --view "$view" --build 2>"$log" & local app=$!
  for _ in $(seq 900); do grep -q "annscope: built" "$log" && break; sleep 1; done
  kill $app; wait $app 2>/dev/null || true
  grep -o "built .* in [0-9.]* s" "$log" | head -1 | awk '{print $(NF-1)}'
  rm -rf "$home" "$log"
}
open=(); closed=()
for r in $(seq "$rounds"); do
  o=$(one projection); c=$(one charts)
  echo "round $r: projection open $o s, charts $c s"
  open+=("$o"); closed+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(median "${open[@]}"); mc=$(median "${closed[@]}")
echo "median: projection open $mo s, charts $mc s, ratio $(awk -v a="$mo" -v b="$mc" 'BEGIN{printf "%.3f", a/b}')"
