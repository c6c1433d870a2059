#!/usr/bin/env bash
# The app's projection with many points, under Xvfb (the software
# renderer): UI-thread work per frame (ANNSCOPE_LOG_TIMING=1) while panning
# and hovering with xdotool. Needs xvfb and xdotool.
#
#   python3 benches/make_million.py --out /tmp/million
#   bash benches/large_view.sh /tmp/million.fvecs /tmp/million.txt
#
# Prints the app's timing lines from the pan (one per 2 s: mean and max of
# the last 240 frames' UI-thread work).
set -euo pipefail
base=$1; labels=${2:-}
bin=${ANNSCOPE:-target/release/annscope}
queries=${QUERIES:-../shared/data/pypi-minilm/pypi-minilm.query.fvecs}
log=$(mktemp); home=$(mktemp -d)
Xvfb :77 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
sleep 1
args=(gui --base "$base" --queries "$queries" --metric cosine --view projection)
[ -n "$labels" ] && args+=(--labels "$labels")
DISPLAY=:77 HOME=$home ANNSCOPE_LOG_TIMING=1 "$bin" "${args[@]}" 2>"$log" & app=$!
for _ in $(seq 600); do
  grep -q "projection of .* ready" "$log" && break
  sleep 1
done
grep "data ready\|projection of" "$log"
sleep 6   # the first picture painted
export DISPLAY=:77
echo "--- idle"; sleep 4.5; grep "UI frame" "$log" | tail -1
start=$(wc -l <"$log")
# Pan: drag back and forth across the canvas for ~20 s, then hover.
xdotool mousemove 700 450 mousedown 1
for round in $(seq 10); do
  for x in $(seq 700 8 900); do xdotool mousemove "$x" $((450 + (x - 700) / 4)); sleep 0.01; done
  for x in $(seq 900 -8 700); do xdotool mousemove "$x" $((450 + (x - 700) / 4)); sleep 0.01; done
done
xdotool mouseup 1
echo "--- panning"; tail -n +"$start" "$log" | grep "UI frame"
start=$(wc -l <"$log")
for round in $(seq 4); do
  for x in $(seq 500 6 1000); do xdotool mousemove "$x" 500; sleep 0.01; done
done
echo "--- hovering"; tail -n +"$start" "$log" | grep "UI frame"
