#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, with AddressSanitizer and UBSan) and runs each
# one, one process at a time: first on its regression inputs (fuzz/regressions/TARGET),
# which must all pass, then fuzzing from the committed seeds for a fixed time.
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [--target NAME] [--make-seeds]
#
#   --seconds N    fuzzing time per target, in seconds (default 60)
#   --runs N       stop a target after N executions instead (libFuzzer -runs)
#   --target NAME  only this target: model_fuzzer, npz_fuzzer, checkpoint_fuzzer, idx_fuzzer
#   --make-seeds   rewrite fuzz/corpus/ with fuzz_make_seeds and exit
#
# New inputs that reach more code go to <build>/work-corpus/TARGET, not to the repository;
# a crash, leak or timeout is written to <build>/artifacts/ and fails the script.
# Environment: FRUGAL_FUZZ_DIR (default <repo>/build-fuzz), FRUGAL_JOBS (default 2).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${FRUGAL_FUZZ_DIR:-$repo/build-fuzz}
jobs=${FRUGAL_JOBS:-2}
seconds=60
runs=""
targets="model_fuzzer npz_fuzzer checkpoint_fuzzer idx_fuzzer"
make_seeds=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --target) targets=${2:?--target needs a name}; shift 2 ;;
    --make-seeds) make_seeds=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: --seconds '$seconds' is not a whole number >= 1" >&2
  exit 2
fi

echo "fuzz.sh: building the fuzz targets in $build" >&2
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFRUGAL_BUILD_FUZZERS=ON \
  -DFRUGAL_BUILD_TESTS=OFF -DFRUGAL_BUILD_TRAINER=OFF -DFRUGAL_BUILD_BENCHMARKS=OFF -DFRUGAL_BUILD_TOOLS=OFF >/dev/null
if [[ $make_seeds -eq 1 ]]; then
  cmake --build "$build" --parallel "$jobs" --target fuzz_make_seeds
  rm -rf "$repo/fuzz/corpus"
  "$build/bin/fuzz_make_seeds" "$repo/fuzz/corpus"
  # .npz files written by NumPy, including deflated members, from the reader's tests.
  cp "$repo"/tests/common/data/{savez_compressed,float16,big_endian,fortran}.npz "$repo/fuzz/corpus/npz_fuzzer/"
  echo "fuzz.sh: wrote $repo/fuzz/corpus" >&2
  exit 0
fi
# shellcheck disable=SC2086
cmake --build "$build" --parallel "$jobs" --target $targets

mkdir -p "$build/artifacts"
for target in $targets; do
  regressions="$repo/fuzz/regressions/$target"
  if [[ -d "$regressions" ]] && compgen -G "$regressions/*" >/dev/null; then
    echo "fuzz.sh: $target: regression inputs" >&2
    "$build/bin/$target" -runs=1 "$regressions"/* 2>"$build/artifacts/$target-regressions.log" || {
      cat "$build/artifacts/$target-regressions.log" >&2
      echo "fuzz.sh: $target fails on a regression input" >&2
      exit 1
    }
  fi
  mkdir -p "$build/work-corpus/$target"
  limit=(-max_total_time="$seconds")
  [[ -n "$runs" ]] && limit=(-runs="$runs")
  echo "fuzz.sh: $target: fuzzing (${limit[*]})" >&2
  "$build/bin/$target" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$target-" "$build/work-corpus/$target" "$repo/fuzz/corpus/$target" \
    2>"$build/artifacts/$target.log" || {
    tail -n 60 "$build/artifacts/$target.log" >&2
    echo "fuzz.sh: $target found a problem; the input is in $build/artifacts/" >&2
    exit 1
  }
  grep -E 'stat::number_of_executed_units' "$build/artifacts/$target.log" | sed "s/^/fuzz.sh: $target: /" >&2
done
echo "fuzz.sh: no crash, leak or timeout" >&2
