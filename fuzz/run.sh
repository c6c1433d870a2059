#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 15), starting from the
# committed seed corpus, with libFuzzer through cargo-fuzz on nightly.
#   bash fuzz/run.sh [SECONDS] [TARGET ...]
# New inputs go to $FUZZ_WORK (default: a temporary folder), not into the
# repository; a crash stops the run with a non-zero exit and leaves its
# input in fuzz/artifacts/TARGET/ (copy it to fuzz/regressions/TARGET/ once
# fixed: the stable tests replay that folder).
# FUZZ_PROFILE=dev builds the targets unoptimised (still with AddressSanitizer
# and debug assertions): measured here, the build took 284 s instead of 631 s
# for -O, for fewer executions per second (index: 1,148/s, hdf5: 108/s):
# what CI's 15-second smoke run uses. The default, release (-O), is for
# long runs.
# Exit 3 when nightly or cargo-fuzz cannot be had (the caller decides).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(vecs npy text hdf5 index cache)
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain here" >&2
  exit 3
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz >/dev/null 2>&1 || { echo "fuzz: cargo-fuzz could not be installed" >&2; exit 3; }
fi
work=${FUZZ_WORK:-$(mktemp -d)}
case ${FUZZ_PROFILE:-release} in
  release) build_flags=(-O --debug-assertions) ;;
  dev) build_flags=(--dev) ;;
  *) echo "fuzz: FUZZ_PROFILE is release or dev, not ${FUZZ_PROFILE}" >&2; exit 2 ;;
esac
echo "fuzz: building the targets (${FUZZ_PROFILE:-release})"
cargo +nightly fuzz build "${build_flags[@]}"
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp -n fuzz/corpus/"$t"/* "$work/$t"/ 2>/dev/null || true
  echo "== fuzz $t for ${secs}s"
  # -malloc_limit_mb: an allocation sized by a lying header is a crash.
  cargo +nightly fuzz run "${build_flags[@]}" "$t" "$work/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)|ERROR|SUMMARY|==[0-9]+==|panicked|Done" || true
  # grep hides the exit status: a crash leaves an artifact.
  if compgen -G "fuzz/artifacts/$t/crash-*" >/dev/null || compgen -G "fuzz/artifacts/$t/oom-*" >/dev/null \
    || compgen -G "fuzz/artifacts/$t/leak-*" >/dev/null; then
    echo "fuzz: $t found a crash: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
