#!/usr/bin/env bash
# Installs what is missing, builds frugal and runs the whole test suite through CTest.
# The native suite includes the end-to-end tests on real MNIST. Sanitizer builds
# (ASan+UBSan, TSan) and a short fuzzing run follow. Then the runtime suite of each board
# target runs under qemu-user, where the MNIST predictions must match the native build's.
#
# Environment: FRUGAL_BUILD_DIR (native build folder, default <repo>/build; cross builds
# go to <folder>-aarch64 and so on), FRUGAL_DATA_DIR (MNIST folder, default
# <repo>/data/mnist), FRUGAL_JOBS (parallel jobs, default: number of cores),
# FRUGAL_CROSS_TARGETS (default "aarch64 armv7 armv6"; empty for the native suite only).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${FRUGAL_BUILD_DIR:-$repo/build}
jobs=${FRUGAL_JOBS:-$(nproc)}
targets=${FRUGAL_CROSS_TARGETS-aarch64 armv7 armv6}

declare -A toolchains=(
  [aarch64]=aarch64-linux-gnu.cmake
  [armv7]=armv7-linux-gnueabihf.cmake
  [armv6]=armv6-linux-gnueabi.cmake
)

if [[ -n "$targets" ]]; then
  "$repo/scripts/install-deps.sh" --cross
else
  "$repo/scripts/install-deps.sh"
fi
mnist=$("$repo/scripts/fetch-mnist.sh")

echo "test.sh: native build and tests in $build" >&2
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFRUGAL_MNIST_DIR="$mnist" >/dev/null
cmake --build "$build" --parallel "$jobs"
ctest --test-dir "$build" --output-on-failure --parallel "$jobs"

# Hostile input: ASan+UBSan and TSan test runs, then 15 s of fuzzing per target.
echo "test.sh: sanitizer builds and a short fuzzing run" >&2
FRUGAL_ASAN_DIR="$build-asan" FRUGAL_TSAN_DIR="$build-tsan" FRUGAL_JOBS="$jobs" "$repo/scripts/sanitize.sh"
FRUGAL_FUZZ_DIR="$build-fuzz" FRUGAL_JOBS="$jobs" "$repo/scripts/fuzz.sh" --seconds 15

# The native end-to-end test leaves a model and its logits on every test image.
reference="$build/tests/e2e/cli_pipeline"
for target in $targets; do
  toolchain=${toolchains[$target]:-}
  if [[ -z "$toolchain" ]]; then
    echo "test.sh: unknown target '$target' in FRUGAL_CROSS_TARGETS (known: ${!toolchains[*]})" >&2
    exit 2
  fi
  echo "test.sh: $target build and tests under qemu in $build-$target" >&2
  cmake -S "$repo" -B "$build-$target" -DCMAKE_TOOLCHAIN_FILE="$repo/toolchains/$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DFRUGAL_MNIST_DIR="$mnist" -DFRUGAL_REFERENCE_DIR="$reference" >/dev/null
  cmake --build "$build-$target" --parallel "$jobs"
  ctest --test-dir "$build-$target" --output-on-failure --parallel "$jobs"
  if [[ "$target" != armv6 ]]; then
    (cd "$build-$target" && cpack -G DEB >/dev/null)
    package=$(ls "$build-$target"/frugal-runtime_*.deb)
    # The listing is read whole first: grep -q would stop early and, under pipefail,
    # turn dpkg-deb's broken pipe into a failure.
    contents=$(dpkg-deb --contents "$package")
    grep -q 'usr/lib/cmake/frugal/frugalConfig.cmake' <<<"$contents" || {
      echo "test.sh: $package has no CMake package configuration" >&2
      exit 1
    }
    echo "test.sh: packaged $package" >&2
  fi
done
