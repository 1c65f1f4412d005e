// Reader for IDX files, the format of the MNIST images and labels, plain or gzip-compressed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace frugal::idx {

// Thrown for any file that cannot be read as the requested IDX data. The message names
// the file, the field and the value, for example
// "t10k-images-idx3-ubyte: magic number 0x00000801 is not 0x00000803 (unsigned byte, 3 dimensions)".
class IdxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Images stored row-major, one byte per pixel: pixel (r, c) of image i is
// pixels[(i * rows + r) * cols + c].
struct Images {
  std::size_t count = 0;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint8_t> pixels;

  std::size_t pixels_per_image() const { return rows * cols; }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * rows * cols; }
};

// Reads an unsigned-byte IDX file with 3 dimensions (magic 0x00000803). A file that
// starts with the gzip magic bytes is decompressed first; without zlib in the build
// such a file is rejected with a message that says so.
Images ReadImages(const std::string& path);

// Reads an unsigned-byte IDX file with 1 dimension (magic 0x00000801).
std::vector<std::uint8_t> ReadLabels(const std::string& path);

// Same as ReadImages and ReadLabels, on bytes already in memory. `source_name` is used
// in error messages in place of a path.
Images ParseImages(const std::vector<std::uint8_t>& bytes, const std::string& source_name);
std::vector<std::uint8_t> ParseLabels(const std::vector<std::uint8_t>& bytes,
                                      const std::string& source_name);

// Whether this build can read gzip-compressed files.
bool GzipSupported();

}  // namespace frugal::idx
