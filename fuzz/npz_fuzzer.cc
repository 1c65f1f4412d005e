// Fuzzes the .npz reader (ZIP directory, stored and deflated members, .npy headers and
// dtypes) through npz::Parse. Only NpzError may escape the reader; anything else, or a
// sanitizer report, is a bug. Fuzz builds skip the CRC-32 check (fuzz/instrument.cmake).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "frugal/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    const frugal::npz::Archive archive = frugal::npz::Parse(bytes, "fuzz.npz");
    for (const frugal::npz::Array& array : archive.arrays) {
      std::size_t count = 1;
      for (std::size_t dimension : array.shape) count *= dimension;
      if (count != array.data.size()) std::abort();  // The reader promises shape-sized data.
    }
  } catch (const frugal::npz::NpzError&) {
  }
  return 0;
}
