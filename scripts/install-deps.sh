#!/usr/bin/env bash
# Installs the Debian 12 packages frugal builds and tests with, skipping those already
# present, so a second run costs a few dpkg queries. Needs root (or sudo).
set -euo pipefail

packages=(
  cmake make g++ pkg-config ca-certificates
  libeigen3-dev libflatbuffers-dev flatbuffers-compiler
  doctest-dev libbenchmark-dev zlib1g-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev libhdf5-dev
  npm jq gnuplot-nox libxnnpack-dev libpthreadpool-dev
)
# Extra groups, added by flags: cross compilers and qemu for the board builds.
for arg in "$@"; do
  case "$arg" in
    --cross) packages+=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-arm-linux-gnueabi qemu-user-static) ;;
    *) echo "install-deps.sh: unknown option '$arg' (known: --cross)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# The npm package is only needed when no npm is on the PATH (the Node.js from another
# source also works).
if command -v npm >/dev/null 2>&1; then
  remaining=()
  for package in "${missing[@]}"; do [[ "$package" == npm ]] || remaining+=("$package"); done
  missing=("${remaining[@]+"${remaining[@]}"}")
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
