#!/usr/bin/env bash
# Runs frugal_models_benchmark (random MLPs over sparsity, every method side by side),
# keeps its JSON, draws latency and speed-up plots with gnuplot and writes
# docs/benchmarks.md. Needs jq and gnuplot (Debian: jq, gnuplot-nox).
#
#   scripts/bench-sweep.sh [--build-dir DIR] [--min-time SECONDS] [--repetitions N]
#
# Uses DIR/bin/frugal_models_benchmark when it exists, else configures and builds it there.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build-bench"
min_time=0.05
repetitions=5

usage() {
  cat <<USAGE
Usage: scripts/bench-sweep.sh [options]
  --build-dir DIR       Build folder with (or for) frugal_models_benchmark. Default: build-bench.
  --min-time SECONDS    Google Benchmark's --benchmark_min_time per repetition. Default: 0.05.
  --repetitions N       Repetitions per benchmark; the median is plotted. Default: 5.
Writes docs/benchmarks.md, docs/data/models_benchmark.json and docs/img/*.png.
USAGE
}

while (($#)); do
  case "$1" in
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-sweep.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done
for tool in jq gnuplot cmake; do
  command -v "$tool" >/dev/null || { echo "bench-sweep.sh: $tool not found; run scripts/install-deps.sh" >&2; exit 1; }
done

benchmark="$build_dir/bin/frugal_models_benchmark"
if [[ ! -x "$benchmark" ]]; then
  echo "bench-sweep.sh: building frugal_models_benchmark in $build_dir" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFRUGAL_BUILD_TRAINER=OFF \
    -DFRUGAL_BUILD_CONVERTER=OFF -DFRUGAL_BUILD_BENCHMARKS=ON >&2
  cmake --build "$build_dir" --target frugal_models_benchmark -j2 >&2
fi

docs="$root/docs"
mkdir -p "$docs/data" "$docs/img"
json="$docs/data/models_benchmark.json"
command=(frugal_models_benchmark --benchmark_min_time="$min_time" --benchmark_repetitions="$repetitions"
         --benchmark_report_aggregates_only=true --benchmark_format=json)
echo "bench-sweep.sh: running ${command[*]} (a few minutes)" >&2
"$benchmark" "${command[@]:1}" >"$json"

methods=(stored frugal_dense eigen_dense eigen_sparse xnnpack_dense)
mlps=(784-64-64-10 784-300-100-10)
batches=(1 8)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One TSV per MLP and batch: sparsity %, density, then the median CPU time (us per batch)
# of each method in the order of `methods`, NaN where a method was not built.
for mlp in "${mlps[@]}"; do
  for batch in "${batches[@]}"; do
    jq -r --arg mlp "$mlp" --arg batch "$batch" --argjson methods "$(printf '%s\n' "${methods[@]}" | jq -R . | jq -s .)" '
      [.benchmarks[] | select(.aggregate_name == "median")
        | (.run_name | split("/") | map(split(":") | {(.[0]): .[1]}) | add)
          + {time: .cpu_time, density: .density}]
      | map(select(.mlp == $mlp and .batch == $batch))
      | group_by(.sparsity | tonumber)[]
      | . as $rows
      | [($rows[0].sparsity), ($rows[0].density)]
        + [$methods[] as $m | ($rows | map(select(.method == $m))[0].time // "NaN")]
      | @tsv' "$json" >"$work/$mlp-b$batch.tsv"
  done
done

# Latency (log scale) and speed-up of the stored model over each dense method, with the
# 1/density ideal, for batch 1 and batch 8 side by side.
for mlp in "${mlps[@]}"; do
  gnuplot <<GNUPLOT
set terminal pngcairo size 1400,560 font "DejaVu Sans,12"
set output "$docs/img/latency-$mlp.png"
set multiplot layout 1,2 title "MLP $mlp: median latency per batch (CPU time), lower is better"
set datafile separator "\t"
set datafile missing "NaN"
set logscale y
set grid
set key top right
set xlabel "weights that are zero (%)"
set ylabel "time per batch (µs)"
do for [b in "1 8"] {
  set title sprintf("batch %s", b)
  file = sprintf("$work/$mlp-b%s.tsv", b)
  plot file using 1:3 with linespoints lw 2 title "stored (CSR, frugal)", \
       file using 1:4 with linespoints lw 2 title "frugal dense", \
       file using 1:5 with linespoints lw 2 title "Eigen dense", \
       file using 1:6 with linespoints lw 2 title "Eigen sparse", \
       file using 1:7 with linespoints lw 2 title "XNNPACK dense"
}
unset multiplot

set output "$docs/img/speedup-$mlp.png"
set multiplot layout 1,2 title "MLP $mlp: speed-up of the sparse methods, higher is better"
set ylabel "speed-up (dense time / sparse time)"
do for [b in "1 8"] {
  set title sprintf("batch %s", b)
  file = sprintf("$work/$mlp-b%s.tsv", b)
  plot file using 1:(1/\$2) with lines dt 2 lw 2 lc rgb "gray40" title "ideal: 1 / density", \
       file using 1:(\$4/\$3) with linespoints lw 2 title "stored over frugal dense", \
       file using 1:(\$5/\$3) with linespoints lw 2 title "stored over Eigen dense", \
       file using 1:(\$7/\$3) with linespoints lw 2 title "stored over XNNPACK dense", \
       file using 1:(\$5/\$6) with linespoints lw 2 title "Eigen sparse over Eigen dense"
}
unset multiplot
GNUPLOT
done

# The machine and toolchain, for the page.
cpu=$(grep -m1 -E '^(model name|Hardware)' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cores=$(nproc)
compiler=$(grep -m1 '^CMAKE_CXX_COMPILER:' "$build_dir/CMakeCache.txt" | cut -d= -f2-)
compiler_version=$("${compiler:-c++}" --version | head -n1)
flags=$(grep -m1 '^CMAKE_BUILD_TYPE:' "$build_dir/CMakeCache.txt" | cut -d= -f2-)
load=$(cut -d' ' -f1-3 /proc/loadavg)
library_build=$(jq -r '.context.library_build_type' "$json")
date=$(date -u +%Y-%m-%d)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

table() {  # table MLP BATCH: a Markdown table of one TSV
  local mlp=$1 batch=$2
  echo "| zeros (%) | stored | frugal dense | Eigen dense | Eigen sparse | XNNPACK dense | stored vs frugal dense | stored vs XNNPACK |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '
    function us(v) { return v == "NaN" ? "–" : sprintf("%.1f", v) }
    function ratio(a, b) { return (a == "NaN" || b == "NaN") ? "–" : sprintf("%.2fx", a / b) }
    { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, us($3), us($4), us($5), us($6), us($7),
             ratio($4, $3), ratio($7, $3) }' "$work/$mlp-b$batch.tsv"
}

{
  cat <<HEADER
# Benchmarks

Latency of random multilayer perceptrons as frugal stores them (every layer CSR, run by
frugal's sparse kernels) against the same weights run dense by frugal, by Eigen and by
XNNPACK, and against Eigen's own sparse matrix, over the fraction of zero weights. The
benchmark is \`bench/models_benchmark.cc\`; this page, its data and its plots are written by
\`scripts/bench-sweep.sh\`.

## How it was measured

- Machine: $cpu, $cores logical CPUs; load average at the end of the run: $load.
- Compiler: $compiler_version, CMake build type $flags; Google Benchmark library: $library_build.
- Commit: $commit, $date.
- Command: \`scripts/bench-sweep.sh --min-time $min_time --repetitions $repetitions\`, which runs
  \`${command[*]}\`.
- Models: 784-64-64-10 and 784-300-100-10, weights uniform in [-1, 1), each zero with the
  given probability; ReLU on hidden layers. Every method runs the same weights in one process.
- Times are the median over $repetitions repetitions of the benchmark thread's CPU time per
  batch, in microseconds. CPU time is plotted because the machine was shared with other
  builds; wall times are in \`docs/data/models_benchmark.json\` (\`real_time\`).
- Batch 8: Eigen and XNNPACK run one batch-8 product, and the frugal runtime one
  \`Interpreter::InvokeBatch\` of 8 samples.
- XNNPACK and Eigen run on one thread; XNNPACK is Debian's libxnnpack 0.0~git20220216.

NOTE: these are one run on a shared, virtualized machine; compare the ratios within a row
rather than absolute times, and rerun the script on the target board before drawing
conclusions for it.

## Measuring your own model

\`frugal-bench\` times a converted model the same way, side by side with its dense
baselines, and is built for the board by the cross builds (without the Eigen and XNNPACK
baselines there):

\`\`\`
frugal-bench model.frugal --images t10k-images-idx3-ubyte --runs 2000 --format json
\`\`\`

It reports load time, first and warm-up runs, min, median, mean, p90, p99, max and standard
deviation per method, the ratio of each method's median to the stored model's, memory, a
per-layer profile with the kernel each layer ran, and warnings when the CPU governor is not
\`performance\` or a Raspberry Pi reports throttling. \`frugal-bench --help\` lists every option.

HEADER
  for mlp in "${mlps[@]}"; do
    echo "## MLP $mlp"
    echo
    echo "![Latency of MLP $mlp](img/latency-$mlp.png)"
    echo
    echo "![Speed-up of MLP $mlp](img/speedup-$mlp.png)"
    echo
    for batch in "${batches[@]}"; do
      echo "Batch $batch, median µs per batch (ratios: the dense method's time / the stored model's time):"
      echo
      table "$mlp" "$batch"
      echo
    done
  done
} >"$docs/benchmarks.md.new"
# Sections measured by other commands start at "## Never slower than dense" and are kept.
kept=""
if [[ -f "$docs/benchmarks.md" ]]; then
  kept=$(sed -n '/^## Never slower than dense/,$p' "$docs/benchmarks.md")
fi
if [[ -n "$kept" ]]; then
  printf '\n%s\n' "$kept" >>"$docs/benchmarks.md.new"
fi
mv "$docs/benchmarks.md.new" "$docs/benchmarks.md"
echo "bench-sweep.sh: wrote $docs/benchmarks.md and the plots in $docs/img" >&2
