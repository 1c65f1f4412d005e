// Writes a random MLP, every layer CSR, for the frugal-bench command-line tests and the
// instruction-count sweep (bench/count-instructions.sh):
//   bench_write_mlp OUTPUT.frugal SPARSITY [SIZES [SEED]]
// SPARSITY is the fraction of zero weights, in [0, 1]. SIZES lists the layer widths, such
// as 784-64-64-10 (default 784-300-100-10), and SEED defaults to 1.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "random_model.h"

namespace {

constexpr char kUsage[] = "usage: bench_write_mlp OUTPUT.frugal SPARSITY [SIZES [SEED]]\n";

// Parses "784-64-64-10": at least two sizes, each in [1, 2^32 - 1].
bool ParseSizes(const std::string& text, std::vector<std::uint32_t>* sizes) {
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t dash = text.find('-', start);
    const std::string part = text.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(part.c_str(), &end, 10);
    if (part.empty() || part.front() == '+' || *end != '\0' || errno != 0 || value == 0 ||
        value > std::numeric_limits<std::uint32_t>::max()) {
      return false;
    }
    sizes->push_back(static_cast<std::uint32_t>(value));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return sizes->size() >= 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  char* end = nullptr;
  const double sparsity = std::strtod(argv[2], &end);
  if (*argv[2] == '\0' || *end != '\0' || !(sparsity >= 0.0 && sparsity <= 1.0)) {
    std::fprintf(stderr, "bench_write_mlp: SPARSITY \"%s\" is not a number in [0, 1]\n", argv[2]);
    return 1;
  }
  std::vector<std::uint32_t> sizes{784, 300, 100, 10};
  if (argc >= 4) {
    sizes.clear();
    if (!ParseSizes(argv[3], &sizes)) {
      std::fprintf(stderr, "bench_write_mlp: SIZES \"%s\" is not two or more positive integers joined by '-'\n",
                   argv[3]);
      return 1;
    }
  }
  std::uint32_t seed = 1;
  if (argc == 5) {
    errno = 0;
    const unsigned long long value = std::strtoull(argv[4], &end, 10);
    if (*argv[4] == '\0' || *argv[4] == '-' || *end != '\0' || errno != 0 ||
        value > std::numeric_limits<std::uint32_t>::max()) {
      std::fprintf(stderr, "bench_write_mlp: SEED \"%s\" is not an integer in [0, 4294967295]\n", argv[4]);
      return 1;
    }
    seed = static_cast<std::uint32_t>(value);
  }

  const std::vector<std::uint8_t> bytes = frugal::bench::BuildRandomMlp(sizes, sparsity, true, seed);
  std::ofstream file(argv[1], std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) {
    std::fprintf(stderr, "bench_write_mlp: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
