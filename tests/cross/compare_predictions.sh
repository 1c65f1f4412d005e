#!/bin/sh
# Runs a frugal-run command (possibly under qemu) and compares its output with a
# reference output made on another target: every predicted class must be equal, and
# every logit within TOLERANCE times the largest reference logit of the same image.
# Usage: compare_predictions.sh REFERENCE TOLERANCE COMMAND...
set -eu
reference=$1
tolerance=$2
shift 2

actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
"$@" >"$actual"

awk -v tolerance="$tolerance" -v reference="$reference" '
  function abs(x) { return x < 0 ? -x : x }
  # Lines look like: image 12: predicted 7, label 7, logits -2.5 1.0 ...
  FNR == NR {
    if ($1 == "image") { ref_line[$2] = $0 }
    else if ($1 == "accuracy:") { ref_accuracy = $0 }
    next
  }
  $1 == "image" {
    images++
    if (!($2 in ref_line)) { printf "image %s is not in the reference\n", $2; failures++; next }
    split(ref_line[$2], ref, " ")
    if ($4 != ref[4]) {
      printf "image %s: predicted %s, reference predicted %s\n", $2, $4, ref[4]; failures++
    }
    scale = 0
    for (i = 9; i <= length(ref); i++) if (abs(ref[i]) > scale) scale = abs(ref[i])
    for (i = 9; i <= NF; i++) {
      diff = abs($i - ref[i])
      if (diff > max_relative * scale) max_relative = diff / scale
      if (diff > tolerance * scale && reported++ < 10) {
        printf "image %s: logit %d is %s, reference %s (largest logit %s)\n", $2, i - 9, $i, ref[i], scale
      }
      if (diff > tolerance * scale) failures++
    }
    next
  }
  $1 == "accuracy:" { accuracy = $0 }
  END {
    if (images == 0) { print "no image lines in the output"; exit 1 }
    if (accuracy != ref_accuracy) { printf "%s, reference %s\n", accuracy, ref_accuracy; failures++ }
    printf "%d images compared with %s; largest logit difference %.3g of the largest logit\n", images, reference, max_relative
    exit failures > 0
  }
' "$reference" "$actual"
