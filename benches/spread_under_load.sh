#!/usr/bin/env bash
# Does the reported spread cover the scatter? One bench point repeated 10
# times while another process spins on a core.
#
#   bash benches/spread_under_load.sh [repeats] [runs]
#
# Builds HNSW M 16 efC 200 on pypi-minilm once, starts `yes > /dev/null`
# (one core busy), then runs `annscope bench --index-file … --ef 48 --runs
# RUNS` REPEATS times (default 10 × 5) and prints each line's median QPS,
# its 90% interval and other_cpu_cores, then how many of the repeats'
# medians each interval covers.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data/pypi-minilm/pypi-minilm}
A=${ANNSCOPE:-./target/release/annscope}
repeats=${1:-10} runs=${2:-5}
work=$(mktemp -d /tmp/annscope-sul.XXXXXX)
trap 'kill $spinner 2>/dev/null || true; rm -rf "$work"' EXIT
"$A" build --base "$D.base.fvecs" --metric cosine --m 16 --ef-construction 200 --out "$work/m16.idx" >/dev/null 2>&1
yes > /dev/null & spinner=$!
for i in $(seq "$repeats"); do
  "$A" bench --base "$D.base.fvecs" --queries "$D.query.fvecs" --groundtruth "$D.groundtruth.ivecs" \
    --metric cosine --index-file "$work/m16.idx" --ef 48 --runs "$runs" --format json 2>/dev/null
done > "$work/lines.jsonl"
python3 - "$work/lines.jsonl" <<'PY'
import json, sys
pts = [json.loads(l) for l in open(sys.argv[1])]
meds = [p["qps_median"] for p in pts]
for p in pts:
    lo, hi = p["qps_spread"]
    cover = sum(lo <= m <= hi for m in meds)
    print(f"median {p['qps_median']:7.0f}  interval [{lo:7.0f}, {hi:7.0f}]  fastest {p['qps']:7.0f}  "
          f"others {p['other_cpu_cores']:.2f} cores  covers {cover}/{len(meds)} medians")
spread = (max(meds) - min(meds)) / (sum(meds) / len(meds))
print(f"medians range over {spread:.1%} of their mean; each interval covers on average "
      f"{sum(sum(p['qps_spread'][0] <= m <= p['qps_spread'][1] for m in meds) for p in pts) / len(pts):.1f} of {len(meds)}")
PY
