// Fuzzes the IDX image and label parsers (plain and gzip) with the same bytes. Only
// IdxError may escape; anything else, or a sanitizer report, is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "frugal/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    const frugal::idx::Images images = frugal::idx::ParseImages(bytes, "fuzz.idx3");
    if (images.pixels.size() != images.count * images.rows * images.cols) std::abort();
  } catch (const frugal::idx::IdxError&) {
  }
  try {
    frugal::idx::ParseLabels(bytes, "fuzz.idx1");
  } catch (const frugal::idx::IdxError&) {
  }
  return 0;
}
