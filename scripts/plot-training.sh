#!/usr/bin/env bash
# Plots a training curve from frugal-train's JSON lines: test error and the fraction of
# zero parameters per epoch, on two y axes. Reads the "measure_test" events
# ({"event": "measure_test", "epochAfter": E, "inacc_test": ..., "num_nonzero":
# {"total": {"num": N, "numNz": K}}}) and ignores every other line. Needs jq and gnuplot.
#
#   scripts/plot-training.sh FILE.jsonl OUT.png
set -euo pipefail

if [[ $# -eq 1 && ( $1 == -h || $1 == --help ) ]]; then
  echo "Usage: scripts/plot-training.sh FILE.jsonl OUT.png"
  echo "Draws test error (%) and zero parameters (%) per epoch from frugal-train's JSON lines."
  exit 0
fi
if [[ $# -ne 2 ]]; then
  echo "plot-training.sh: expected FILE.jsonl OUT.png, got $# arguments; see --help" >&2
  exit 2
fi
input=$1
output=$2
for tool in jq gnuplot; do
  command -v "$tool" >/dev/null || { echo "plot-training.sh: $tool not found; run scripts/install-deps.sh" >&2; exit 1; }
done
if [[ ! -r $input ]]; then
  echo "plot-training.sh: $input: file not found or not readable" >&2
  exit 1
fi

data=$(mktemp)
trap 'rm -f "$data"' EXIT
# Columns: epoch, test error %, zero parameters %.
if ! jq -r 'select(.event == "measure_test")
            | [.epochAfter, 100 * .inacc_test,
               100 * (1 - .num_nonzero.total.numNz / .num_nonzero.total.num)] | @tsv' "$input" >"$data" 2>/dev/null; then
  echo "plot-training.sh: $input: not JSON lines with measure_test events" >&2
  exit 1
fi
if [[ ! -s $data ]]; then
  echo "plot-training.sh: $input: no measure_test events" >&2
  exit 1
fi

gnuplot <<GNUPLOT
set terminal pngcairo size 1000,560 font "DejaVu Sans,12"
set output "$output"
set title "Training curve: $(basename "$input")"
set datafile separator "\t"
set grid
set key top right
set xlabel "epoch"
set ylabel "test error (%)"
set y2label "parameters that are exactly zero (%)"
set ytics nomirror
set y2tics
set y2range [0:100]
set logscale y
plot "$data" using 1:2 axes x1y1 with lines lw 2 title "test error (left axis, log scale)", \
     "$data" using 1:3 axes x1y2 with lines lw 2 title "zero parameters (right axis)"
GNUPLOT
echo "plot-training.sh: wrote $output ($(wc -l <"$data") epochs)" >&2
