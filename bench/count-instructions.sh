#!/usr/bin/env bash
# Counts the aarch64 instructions that one inference executes, for frugal and its dense
# baselines, under qemu-user's execution trace in single-step mode: each executed
# instruction is one "Trace" line. frugal-count runs the same setup for 0 and for K
# inferences, so (count(K) - count(0)) / K is the count of one inference. Wall-clock time
# under qemu does not predict time on a board, but instruction counts compare the work.
#
#   bench/count-instructions.sh [options] MODEL.frugal   count one model, print a table
#   bench/count-instructions.sh [options] --sweep        random MLPs over sparsity
#   bench/count-instructions.sh [options] --self-check   check the counting itself
#
# Needs g++-aarch64-linux-gnu and qemu-user-static (scripts/install-deps.sh --cross).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build-count-aarch64"
inferences=20
images=""
baseline_model=""
distinct_inputs=16
methods="auto,as-stored,dense,eigen"
sizes="784-64-64-10"
sparsities="0,35,50,70,80,90,95,98"
seed=42  # the seed of frugal_models_benchmark's random models
mode=""
model=""
sysroot=/usr/aarch64-linux-gnu

usage() {
  cat <<USAGE
Usage: bench/count-instructions.sh [options] (MODEL.frugal | --sweep | --self-check)

Prints Markdown tables of aarch64 instructions per inference on stdout, progress on stderr.

Modes:
  MODEL.frugal        Count each of --methods on MODEL, and the ratio of auto (frugal's
                      default) to the faster dense baseline (dense or eigen).
  --sweep             Count random --sizes MLPs, every layer stored as CSR, at each of
                      --sparsities, with random dense inputs.
  --self-check        Check the premise: a known loop counts exactly, and frugal-count's
                      counts are repeatable and linear in the number of inferences.

Options:
  --build-dir DIR     aarch64 build with frugal-count (and bench_write_mlp for --sweep);
                      configured there with toolchains/aarch64-linux-gnu.cmake when it has
                      no CMakeCache.txt, then brought up to date. Default: build-count-aarch64.
  --inferences K      Inferences of the counted run, K >= 1; the other run has 0. Default: 20.
  --images FILE       Inputs from an IDX image file (scaled by the model's input_scale);
                      without it, random dense inputs. MODEL mode only.
  --baseline-model FILE
                      Run the dense and eigen methods on FILE instead of MODEL, for
                      example the same checkpoint converted with
                      --no-eliminate-dead-units, so that the dense baselines run the
                      trained layer sizes rather than the ones left after frugal-convert
                      removed dead units. MODEL mode only.
  --distinct-inputs M Inputs frugal-count prepares and cycles through. Default: 16.
  --methods LIST      Comma-separated frugal-count methods for MODEL mode.
                      Default: auto,as-stored,dense,eigen.
  --sizes SIZES       Layer sizes of the --sweep models. Default: 784-64-64-10.
  --sparsities LIST   Comma-separated percentages of zero weights for --sweep.
                      Default: 0,35,50,70,80,90,95,98.
  --seed N            Seed of the --sweep models. Default: 42.
  -h, --help          Print this help and exit.
USAGE
}

fail() {
  echo "count-instructions.sh: $*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --build-dir | --inferences | --images | --baseline-model | --distinct-inputs | --methods | --sizes | --sparsities | --seed)
      (($# >= 2)) || fail "$1 needs a value; see --help" ;;&
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --inferences) inferences=$2; shift 2 ;;
    --images) images=$(realpath -m "$2"); shift 2 ;;
    --baseline-model) baseline_model=$(realpath -m "$2"); shift 2 ;;
    --distinct-inputs) distinct_inputs=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --sparsities) sparsities=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --sweep | --self-check)
      [[ -z "$mode" ]] || fail "give one of MODEL.frugal, --sweep and --self-check; see --help"
      mode=${1#--}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) fail "unknown option $1; see --help" ;;
    *)
      [[ -z "$mode" ]] || fail "give one of MODEL.frugal, --sweep and --self-check; see --help"
      mode=model; model=$(realpath -m "$1"); shift ;;
  esac
done
[[ -n "$mode" ]] || fail "missing MODEL.frugal, --sweep or --self-check; see --help"
[[ "$inferences" =~ ^[1-9][0-9]{0,5}$ ]] || fail "--inferences: \"$inferences\" is not an integer in [1, 999999]"
[[ "$sparsities" =~ ^[0-9]+(\.[0-9]+)?(,[0-9]+(\.[0-9]+)?)*$ ]] ||
  fail "--sparsities: \"$sparsities\" is not a comma-separated list of percentages"
[[ "$mode" != model || -f "$model" ]] || fail "$model: file not found"
[[ -z "$images" || -f "$images" ]] || fail "$images: file not found"
[[ -z "$images" || "$mode" == model ]] || fail "--images applies to MODEL mode only"
[[ -z "$baseline_model" || -f "$baseline_model" ]] || fail "$baseline_model: file not found"
[[ -z "$baseline_model" || "$mode" == model ]] || fail "--baseline-model applies to MODEL mode only"

# qemu 8.1 renamed -singlestep to -one-insn-per-tb; use whichever this qemu has.
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64) ||
  fail "qemu-aarch64-static not found; run scripts/install-deps.sh --cross"
qemu_help=$("$qemu" -h)
if grep -q -- '^-one-insn-per-tb' <<<"$qemu_help"; then
  step_flag=-one-insn-per-tb
elif grep -q -- '^-singlestep' <<<"$qemu_help"; then
  step_flag=-singlestep
else
  fail "$qemu has neither -one-insn-per-tb nor -singlestep"
fi
qemu_version=$("$qemu" --version | head -n1)

# Configure when needed and always bring the targets up to date, so that a stale binary
# is never counted.
targets=(frugal-count)
[[ "$mode" != model ]] && targets+=(bench_write_mlp)
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  echo "count-instructions.sh: configuring an aarch64 build in $build_dir" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/aarch64-linux-gnu.cmake" \
    -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$build_dir" --target "${targets[@]}" -j2 >&2
count_tool="$build_dir/bin/frugal-count"
grep -q 'Machine: *AArch64' <<<"$(aarch64-linux-gnu-readelf -h "$count_tool")" ||
  fail "$count_tool is not an aarch64 executable; give --build-dir an aarch64 cross build"
# The last line of frugal-count's help states whether the build has the eigen method.
has_eigen=false
help=$(QEMU_LD_PREFIX=$sysroot "$qemu" "$count_tool" --help)
grep -q '^This build has the eigen method' <<<"$help" && has_eigen=true
# A toolchain file sets the compiler without caching it, so read CMake's compiler record.
compiler=$(sed -n 's/^set(CMAKE_CXX_COMPILER "\(.*\)")$/\1/p' "$build_dir"/CMakeFiles/*/CMakeCXXCompiler.cmake | head -n1)
build_type=$(grep -m1 '^CMAKE_BUILD_TYPE:' "$build_dir/CMakeCache.txt" | cut -d= -f2-)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# count_trace PROGRAM ARGS...: runs PROGRAM under qemu with the single-step trace piped
# into grep, never to disk, and prints the number of executed instructions. The guest's
# stderr goes to $work/stderr.
count_trace() {
  local lines
  if ! lines=$(QEMU_LD_PREFIX=$sysroot "$qemu" "$step_flag" -d exec,nochain -D /dev/stdout "$@" \
                 2>"$work/stderr" | grep -c '^Trace '); then
    cat "$work/stderr" >&2
    fail "counting failed: $*"
  fi
  echo "$lines"
}

# count_runs N ARGS...: the instruction count of frugal-count ARGS --inferences N, with N
# zero-padded to the width of $inferences so that every run's command line has the same
# length (the loader's and libc's start-up work grows with it).
count_runs() {
  local n=$1
  shift
  local padded
  printf -v padded '%0*d' "${#inferences}" "$n"
  count_trace "$count_tool" "$@" --distinct-inputs "$distinct_inputs" --inferences "$padded"
}

# per_inference ARGS...: sets $per (instructions per inference, one decimal) and
# $kernels (what frugal-count reported it runs).
per_inference() {
  local zero k
  zero=$(count_runs 0 "$@")
  k=$(count_runs "$inferences" "$@")
  kernels=$(sed -n 's/^frugal-count: [^ ]* kernels: //p' "$work/stderr")
  per=$(awk -v a="$zero" -v b="$k" -v n="$inferences" 'BEGIN { printf "%.1f", (b - a) / n }')
}

describe_setup() {
  cat <<SETUP
- qemu: $qemu_version, \`$step_flag -d exec,nochain\`; one trace line per executed instruction.
- Compiler: $("$compiler" --version | head -n1), CMake build type $build_type
  (\`$(grep -m1 '^CMAKE_CXX_FLAGS_RELEASE:' "$build_dir/CMakeCache.txt" | cut -d= -f2-)\`), default aarch64 flags
  (ARMv8-A, NEON).
- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo " with local changes"), $(date -u +%Y-%m-%d).
SETUP
  if [[ "$mode" != self-check ]]; then
    echo "- Per inference: (count with $inferences inferences - count with 0) / $inferences;" \
      "$distinct_inputs distinct inputs cycled."
  fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
smaller() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }

self_check() {
  echo "count-instructions.sh: counting a loop of known length" >&2
  local n expected counted
  echo "| check | expected | counted |"
  echo "| --- | ---: | ---: |"
  for n in 1000 2000; do
    aarch64-linux-gnu-gcc -nostdlib -static -DITERATIONS=$n "$root/bench/count_check_loop.S" -o "$work/loop$n"
    expected=$((2 * n + 4))
    counted=$(count_trace "$work/loop$n")
    echo "| loop of $n iterations (2n + 4 instructions) | $expected | $counted |"
    ((counted == expected)) || fail "the loop of $n iterations counted $counted instructions, not $expected"
  done

  echo "count-instructions.sh: checking repeatability and linearity on a random model" >&2
  QEMU_LD_PREFIX=$sysroot "$qemu" "$build_dir/bin/bench_write_mlp" "$work/check.frugal" 0.9 "$sizes" "$seed"
  local method c0 c0_again c1 c2 c3 d1 d2 d3
  for method in dense auto; do
    # Single-digit N, so that all five command lines have the same length.
    c0=$(count_trace "$count_tool" "$work/check.frugal" --method "$method" --inferences 0)
    c0_again=$(count_trace "$count_tool" "$work/check.frugal" --method "$method" --inferences 0)
    c1=$(count_trace "$count_tool" "$work/check.frugal" --method "$method" --inferences 1)
    c2=$(count_trace "$count_tool" "$work/check.frugal" --method "$method" --inferences 2)
    c3=$(count_trace "$count_tool" "$work/check.frugal" --method "$method" --inferences 3)
    d1=$((c1 - c0)); d2=$((c2 - c1)); d3=$((c3 - c2))
    echo "| $method, N = 0 twice | equal | $c0, $c0_again |"
    echo "| $method, inference 1, 2, 3 (count(N) - count(N - 1)) | equal within 0.1% | $d1, $d2, $d3 |"
    ((c0 == c0_again)) || fail "$method: two runs with N = 0 counted $c0 and $c0_again instructions"
    awk -v a="$d1" -v b="$d2" -v c="$d3" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c;
        n = a; if (b < n) n = b; if (c < n) n = c; exit !(n > 0 && (m - n) <= 0.001 * m) }' ||
      fail "$method: per-inference counts $d1, $d2, $d3 are not equal within 0.1%"
  done
}

count_model() {
  local method per kernels file
  declare -A counts
  echo "Inputs: ${images:-random, dense}."
  echo
  echo "| method | model | kernels | instructions per inference |"
  echo "| --- | --- | --- | ---: |"

  local input_args=()
  [[ -n "$images" ]] && input_args=(--images "$images")
  IFS=, read -r -a method_list <<<"$methods"
  for method in "${method_list[@]}"; do
    if [[ "$method" == eigen && "$has_eigen" == false ]]; then
      echo "count-instructions.sh: warning: $count_tool has no Eigen baseline; skipping eigen" >&2
      continue
    fi
    echo "count-instructions.sh: counting $method" >&2
    file=$model
    [[ -n "$baseline_model" && ( "$method" == dense || "$method" == eigen ) ]] && file=$baseline_model
    per_inference "$file" --method "$method" "${input_args[@]}"
    counts[$method]=$per
    echo "| $method | $(basename "$file") | $kernels | $per |"
  done
  echo

  if [[ -n "${counts[auto]:-}" && -n "${counts[dense]:-}" ]]; then
    local fastest=${counts[dense]} name=dense
    if [[ -n "${counts[eigen]:-}" ]]; then
      fastest=$(smaller "${counts[dense]}" "${counts[eigen]}")
      [[ "$fastest" == "${counts[dense]}" ]] || name=eigen
    fi
    echo "auto / faster dense baseline ($name): $(ratio "${counts[auto]}" "$fastest")"
    echo
  fi
  describe_setup
}

sweep() {
  local percent fraction per kernels auto csr dense eigen fastest
  echo "Random $sizes MLPs, every layer stored as CSR (bench_write_mlp, seed $seed), random dense inputs."
  echo "Instructions per inference:"
  echo
  echo "| zeros (%) | auto kernels | auto | as stored (CSR) | frugal dense | Eigen dense | auto / faster dense | CSR / faster dense |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  IFS=, read -r -a percent_list <<<"$sparsities"
  for percent in "${percent_list[@]}"; do
    fraction=$(awk -v p="$percent" 'BEGIN { printf "%.4f", p / 100 }')
    QEMU_LD_PREFIX=$sysroot "$qemu" "$build_dir/bin/bench_write_mlp" "$work/mlp.frugal" "$fraction" "$sizes" "$seed"
    echo "count-instructions.sh: counting $percent% zeros" >&2
    per_inference "$work/mlp.frugal" --method as-stored; csr=$per
    per_inference "$work/mlp.frugal" --method dense; dense=$per
    eigen="–"
    if [[ "$has_eigen" == true ]]; then
      per_inference "$work/mlp.frugal" --method eigen; eigen=$per
    fi
    per_inference "$work/mlp.frugal" --method auto; auto=$per
    kernels=$(sed -e 's/f32_gemv_[0-9a-z_]*/dense/g; s/f32_csrmv_[0-9a-z_]*/CSR/g; s/,/, /g' <<<"$kernels")
    fastest=$dense
    [[ "$eigen" == "–" ]] || fastest=$(smaller "$dense" "$eigen")
    echo "| $percent | $kernels | $auto | $csr | $dense | $eigen | $(ratio "$auto" "$fastest") | $(ratio "$csr" "$fastest") |"
  done
  echo
  describe_setup
}

case "$mode" in
  self-check) self_check; echo; describe_setup ;;
  model) count_model ;;
  sweep) sweep ;;
esac
