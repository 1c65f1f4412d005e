// Writes a random MNIST-shaped MLP for the frugal-bench command-line tests:
// bench_write_mlp OUTPUT.frugal SPARSITY (a fraction of zero weights in [0, 1]).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "random_model.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_write_mlp OUTPUT.frugal SPARSITY\n");
    return 1;
  }
  const double sparsity = std::strtod(argv[2], nullptr);
  const std::vector<std::uint8_t> bytes = frugal::bench::BuildRandomMlp({784, 300, 100, 10}, sparsity, true, 1);
  std::ofstream file(argv[1], std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) {
    std::fprintf(stderr, "bench_write_mlp: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
