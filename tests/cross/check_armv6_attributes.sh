#!/bin/sh
# Fails unless every given ELF file is built for ARMv6 (Tag_CPU_arch: v6) and carries
# no NEON attribute (Tag_Advanced_SIMD_arch), so it cannot stop with an illegal
# instruction on a Pi Zero or Pi 1.
set -eu
status=0
for file in "$@"; do
  attributes=$(readelf -A "$file")
  if ! printf '%s\n' "$attributes" | grep -q 'Tag_CPU_arch: v6$'; then
    echo "$file: Tag_CPU_arch is not v6: $(printf '%s\n' "$attributes" | grep 'Tag_CPU_arch:' || echo missing)"
    status=1
  fi
  if printf '%s\n' "$attributes" | grep -q 'Tag_Advanced_SIMD_arch'; then
    echo "$file: has $(printf '%s\n' "$attributes" | grep 'Tag_Advanced_SIMD_arch')"
    status=1
  fi
  echo "$file: $(printf '%s\n' "$attributes" | grep -E 'Tag_CPU_arch:|Tag_FP_arch:' | tr -s ' \n' ' ')"
done
exit $status
