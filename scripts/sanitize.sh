#!/usr/bin/env bash
# Builds the runtime, common, converter and frugal-run with AddressSanitizer and
# UndefinedBehaviorSanitizer (the flags of the native-sanitize preset) and runs their
# test suites, then builds the concurrent-inference test (interpreters on several threads,
# and InvokeBatch's worker threads) with ThreadSanitizer and runs it.
# The trainer, the benchmarks and the MNIST end-to-end tests are left out to keep CI short.
#
# Environment: FRUGAL_ASAN_DIR (default <repo>/build-robust-asan), FRUGAL_TSAN_DIR
# (default <repo>/build-robust-tsan), FRUGAL_JOBS (parallel jobs, default 2).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
asan=${FRUGAL_ASAN_DIR:-$repo/build-robust-asan}
tsan=${FRUGAL_TSAN_DIR:-$repo/build-robust-tsan}
jobs=${FRUGAL_JOBS:-2}

# Any report fails the run: -fno-sanitize-recover turns UBSan findings into errors.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

echo "sanitize.sh: AddressSanitizer + UndefinedBehaviorSanitizer build in $asan" >&2
cmake -S "$repo" -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DFRUGAL_BUILD_TRAINER=OFF -DFRUGAL_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$asan" --parallel "$jobs" --target \
  runtime_test runtime_write_fixtures common_idx_test common_npz_test converter_test \
  robustness_test robustness_write_cli_fixtures frugal-run frugal-convert frugal-bench
ctest --test-dir "$asan" --output-on-failure --parallel "$jobs" \
  -R '^(runtime_|frugal_run_|common_|converter_test|robustness_)' -E 'robustness_concurrency_test'

echo "sanitize.sh: ThreadSanitizer build in $tsan" >&2
cmake -S "$repo" -B "$tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DFRUGAL_BUILD_TRAINER=OFF -DFRUGAL_BUILD_CONVERTER=OFF -DFRUGAL_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$tsan" --parallel "$jobs" --target robustness_concurrency_test
ctest --test-dir "$tsan" --output-on-failure -R '^robustness_concurrency_test$'
echo "sanitize.sh: no sanitizer reports" >&2
