#!/usr/bin/env bash
# Builds frugal and runs the main job end to end on real MNIST. It trains the reference
# 784-64-64-10 model sparse with ProximalAdagrad and converts it to a .frugal file. Then
# it runs the model on the 10,000 test images and compares its batch-1 latency with the
# same weights run dense. A short report comes last.
#
# Usage: scripts/demo.sh [--full] [--epochs N]
#   --full      the full-length experiment (frugal-train's demo preset, 200 epochs)
#   --epochs N  number of training epochs (default 5)
# Environment: FRUGAL_BUILD_DIR (default <repo>/build), FRUGAL_DATA_DIR (MNIST folder,
# default <repo>/data/mnist), FRUGAL_OUT_DIR (outputs, default <repo>/out),
# FRUGAL_JOBS (parallel build jobs, default: number of cores).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${FRUGAL_BUILD_DIR:-$repo/build}
out=${FRUGAL_OUT_DIR:-$repo/out}
jobs=${FRUGAL_JOBS:-$(nproc)}
epochs=5

while (($#)); do
  case "$1" in
    --full) epochs=200; shift ;;
    --epochs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "demo.sh: --epochs needs a positive whole number" >&2; exit 2; }
      epochs=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

"$repo/scripts/install-deps.sh"
mnist=$("$repo/scripts/fetch-mnist.sh")

echo "demo.sh: building in $build" >&2
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFRUGAL_MNIST_DIR="$mnist" >/dev/null
cmake --build "$build" --parallel "$jobs" --target frugal-train frugal-convert frugal-run frugal-bench >/dev/null

mkdir -p "$out"
bin=$build/bin
echo "demo.sh: training 784-64-64-10 with ProximalAdagrad for $epochs epochs" >&2
"$bin/frugal-train" --preset demo --epochs "$epochs" --data-dir "$mnist" \
  --output "$out/demo.npz" >"$out/demo-train.jsonl"

# The training images show the converter which inputs are often zero, so that it can
# store layers whose kernels skip zero inputs where that is faster.
echo "demo.sh: converting to $out/demo.frugal" >&2
"$bin/frugal-convert" "$out/demo.npz" -o "$out/demo.frugal" --calibration-images "$mnist/train-images-idx3-ubyte" |
  tee "$out/demo-convert.txt" >&2

echo "demo.sh: running on the 10,000 test images" >&2
"$bin/frugal-run" "$out/demo.frugal" --images "$mnist/t10k-images-idx3-ubyte" \
  --labels "$mnist/t10k-labels-idx1-ubyte" >"$out/demo-run.txt"

echo "demo.sh: timing batch-1 inference, sparse against dense" >&2
"$bin/frugal-bench" "$out/demo.frugal" --images "$mnist/t10k-images-idx3-ubyte" >"$out/demo-bench.txt"

echo
echo "frugal demo report (outputs in $out)"
jq -r 'select(.event == "measure_test") | .num_nonzero.total as $t
  | "trained (epoch \(.epochAfter)): \($t.num) parameters, \($t.numNz) with |w| > 1e-5 (\(100 - 100 * $t.numNz / $t.num | floor)% zero), test error \(10000 * .inacc_test | round / 100)%"' \
  "$out/demo-train.jsonl" | tail -n 1
grep -E '^(file|inputs):' "$out/demo-convert.txt" || true
cat "$out/demo-run.txt"
cat "$out/demo-bench.txt"
