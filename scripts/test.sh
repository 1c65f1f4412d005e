#!/usr/bin/env bash
# Installs what is missing, builds frugal in Release, and runs the whole test suite
# through CTest, including the end-to-end tests on real MNIST.
#
# Environment: FRUGAL_BUILD_DIR (default <repo>/build), FRUGAL_DATA_DIR (MNIST folder,
# default <repo>/data/mnist), FRUGAL_JOBS (parallel jobs, default: number of cores).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${FRUGAL_BUILD_DIR:-$repo/build}
jobs=${FRUGAL_JOBS:-$(nproc)}

"$repo/scripts/install-deps.sh"
mnist=$("$repo/scripts/fetch-mnist.sh")

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFRUGAL_MNIST_DIR="$mnist" >/dev/null
cmake --build "$build" --parallel "$jobs"
ctest --test-dir "$build" --output-on-failure --parallel "$jobs"
