// Fuzzes checkpoint validation (converter::ParseCheckpoint) and, for each checkpoint it
// accepts, the conversion itself. The input is text rather than .npz bytes, so that
// mutations reach the JSON record and the shape checks instead of the ZIP layer (which
// npz_fuzzer covers):
//
//   line 1       the architecture.json member, verbatim
//   each other   NAME [DIM...] [: VALUE...]   one float32 array; the values repeat to
//                fill the shape (strtof syntax, so "nan" and "inf" work), default 0.25
//
// Only ConvertError may escape. A ConvertError that reports an internal error means the
// converter built a file the runtime rejects, which is a bug, so it aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "frugal/converter/converter.h"
#include "frugal/npz.h"

namespace {

// Keeps each execution fast; the reader's own size checks are npz_fuzzer's concern.
constexpr std::size_t kMaxElements = std::size_t{1} << 16;

// Fills *array from one line, or returns false to skip the input.
bool ParseArrayLine(const std::string& line, frugal::npz::Array* array) {
  std::istringstream tokens(line);
  if (!(tokens >> array->name)) return false;
  std::size_t elements = 1;
  std::string token;
  std::vector<float> values;
  bool in_values = false;
  while (tokens >> token) {
    if (token == ":") {
      in_values = true;
    } else if (in_values) {
      values.push_back(std::strtof(token.c_str(), nullptr));
    } else {
      const unsigned long dimension = std::strtoul(token.c_str(), nullptr, 10);
      if (dimension > kMaxElements) return false;
      elements *= dimension;
      if (elements > kMaxElements) return false;
      array->shape.push_back(dimension);
    }
  }
  if (values.empty()) values.push_back(0.25f);
  array->data.resize(elements);
  for (std::size_t i = 0; i < elements; ++i) array->data[i] = values[i % values.size()];
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream text(std::string(reinterpret_cast<const char*>(data), size));
  frugal::npz::Archive archive;
  std::string line;
  if (std::getline(text, line)) archive.raw_members.push_back({"architecture.json", line});
  while (std::getline(text, line)) {
    frugal::npz::Array array;
    if (!ParseArrayLine(line, &array)) return 0;
    archive.arrays.push_back(std::move(array));
  }

  frugal::converter::Checkpoint checkpoint;
  try {
    checkpoint = frugal::converter::ParseCheckpoint(archive, "fuzz.npz");
  } catch (const frugal::converter::ConvertError&) {
    return 0;
  }
  for (auto policy : {frugal::converter::EncodingPolicy::kAuto, frugal::converter::EncodingPolicy::kCsr}) {
    frugal::converter::ConvertOptions options;
    options.encoding = policy;
    try {
      frugal::converter::Convert(checkpoint, options, "fuzz.frugal");
    } catch (const frugal::converter::ConvertError& error) {
      if (std::string(error.what()).find("internal error") != std::string::npos) std::abort();
    }
  }
  return 0;
}
