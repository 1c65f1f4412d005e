#!/bin/sh
# Reproduces the two TensorFlow 2.3.1 runs of docs/training.md with frugal-train: the
# Keras L1 penalty with SGD and proximal Adagrad, 200 epochs each, one after the other.
# Usage: scripts/reproduce-tf.sh [BUILD_DIR [DATA_DIR [OUT_DIR]]]
# Writes OUT_DIR/tf-l1-penalty.{jsonl,npz} and OUT_DIR/tf-proximal-adagrad.{jsonl,npz}
# and prints each run's final fraction of weights with |w| <= 1e-5.
set -eu

build=${1:-build}
data=${2:-data/mnist}
out=${3:-out}
train="$build/bin/frugal-train"
if [ ! -x "$train" ]; then
  echo "reproduce-tf.sh: $train not found; build the frugal-train target first" >&2
  exit 1
fi
mkdir -p "$out"

for preset in tf-l1-penalty tf-proximal-adagrad; do
  echo "reproduce-tf.sh: training --preset $preset (200 epochs)" >&2
  "$train" --preset "$preset" --data-dir "$data" --output "$out/$preset.npz" > "$out/$preset.jsonl"
  tail -n 1 "$out/$preset.jsonl" | python3 -c '
import json, sys
line = json.loads(sys.stdin.read())
total = line["num_nonzero"]["total"]
zeros = 1 - total["numNz"] / total["num"]
print(f"{sys.argv[1]}: epoch {line[\"epochAfter\"]}, test error {100 * line[\"inacc_test\"]:.2f}%, "
      f"{100 * zeros:.2f}% of {total[\"num\"]} weights with |w| <= 1e-5")
' "$preset"
done
