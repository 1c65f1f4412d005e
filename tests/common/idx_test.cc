// Tests of the IDX reader: well-formed plain and gzip files, and every rejected shape of
// bad input with the text of its error message.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/idx.h"
#include "test_paths.h"

#if defined(FRUGAL_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace {

using Bytes = std::vector<std::uint8_t>;

void AppendBigEndian32(Bytes& bytes, std::uint32_t value) {
  bytes.push_back(static_cast<std::uint8_t>(value >> 24));
  bytes.push_back(static_cast<std::uint8_t>(value >> 16));
  bytes.push_back(static_cast<std::uint8_t>(value >> 8));
  bytes.push_back(static_cast<std::uint8_t>(value));
}

// An image file of `count` images of rows x cols pixels. Pixel k of the file is k mod 251.
Bytes MakeImages(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  Bytes bytes;
  AppendBigEndian32(bytes, 0x00000803);
  AppendBigEndian32(bytes, count);
  AppendBigEndian32(bytes, rows);
  AppendBigEndian32(bytes, cols);
  const std::size_t pixels = std::size_t{count} * rows * cols;
  for (std::size_t k = 0; k < pixels; ++k) bytes.push_back(static_cast<std::uint8_t>(k % 251));
  return bytes;
}

Bytes MakeLabels(const Bytes& labels) {
  Bytes bytes;
  AppendBigEndian32(bytes, 0x00000801);
  AppendBigEndian32(bytes, static_cast<std::uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

std::string WriteScratch(const std::string& name, const Bytes& bytes) {
  const std::filesystem::path path = frugal::testing::ScratchDir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
  return path.string();
}

// Runs `read` and returns the IdxError message, or "" if nothing was thrown.
template <typename Function>
std::string ErrorOf(Function read) {
  try {
    read();
  } catch (const frugal::idx::IdxError& error) {
    return error.what();
  }
  return "";
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

#if defined(FRUGAL_HAVE_ZLIB)
// Compresses `bytes` as one gzip member (windowBits 16 + 15 selects the gzip wrapper).
Bytes Gzip(const Bytes& bytes) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) ==
          Z_OK);
  Bytes out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32);
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}
#endif

}  // namespace

TEST_CASE("idx: plain image file") {
  const Bytes file = MakeImages(3, 4, 5);
  const std::string path = WriteScratch("plain-images-idx3-ubyte", file);
  const frugal::idx::Images images = frugal::idx::ReadImages(path);
  CHECK(images.count == 3);
  CHECK(images.rows == 4);
  CHECK(images.cols == 5);
  CHECK(images.pixels_per_image() == 20);
  REQUIRE(images.pixels.size() == 60);
  CHECK(images.pixels == Bytes(file.begin() + 16, file.end()));
  // Pixel (r=1, c=2) of image 2 is file pixel (2 * 4 + 1) * 5 + 2 = 47.
  CHECK(images.image(2)[1 * 5 + 2] == 47);
}

TEST_CASE("idx: plain label file") {
  const std::string path = WriteScratch("plain-labels-idx1-ubyte", MakeLabels({7, 0, 9, 3}));
  CHECK(frugal::idx::ReadLabels(path) == Bytes{7, 0, 9, 3});
}

TEST_CASE("idx: parse from memory") {
  const Bytes file = MakeImages(2, 1, 3);
  const frugal::idx::Images images = frugal::idx::ParseImages(file, "in-memory");
  CHECK(images.count == 2);
  CHECK(images.pixels == Bytes{0, 1, 2, 3, 4, 5});
  CHECK(frugal::idx::ParseLabels(MakeLabels({1, 2}), "in-memory") == Bytes{1, 2});

  const std::string message =
      ErrorOf([&] { frugal::idx::ParseLabels(MakeLabels({1}), "labels-buffer"); });
  CHECK(message.empty());
  const std::string bad = ErrorOf([&] { frugal::idx::ParseImages(MakeLabels({1}), "labels-buffer"); });
  CHECK(Contains(bad, "labels-buffer: "));
  CHECK(Contains(bad, "magic number 0x00000801"));
}

TEST_CASE("idx: missing file") {
  const std::string path = (frugal::testing::ScratchDir() / "no-such-file-idx3-ubyte").string();
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(path); });
  CHECK(Contains(message, path));
  CHECK(Contains(message, "No such file or directory"));
}

TEST_CASE("idx: bad magic number") {
  const std::string labels_path = WriteScratch("swapped-labels-idx1-ubyte", MakeLabels({1, 2, 3}));
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(labels_path); });
  CHECK(Contains(message, labels_path + ": "));
  CHECK(Contains(message, "magic number 0x00000801 is not 0x00000803"));
  CHECK(Contains(message, "label file"));

  Bytes not_idx = MakeImages(1, 2, 2);
  not_idx[2] = 0x0d;  // float32 type code, which the reader does not accept
  const std::string float_path = WriteScratch("float-images-idx3-ubyte", not_idx);
  const std::string float_message = ErrorOf([&] { frugal::idx::ReadImages(float_path); });
  CHECK(Contains(float_message, "magic number 0x00000d03"));

  const std::string images_path = WriteScratch("swapped-images-idx3-ubyte", MakeImages(1, 2, 2));
  const std::string label_message = ErrorOf([&] { frugal::idx::ReadLabels(images_path); });
  CHECK(Contains(label_message, "magic number 0x00000803 is not 0x00000801"));
}

TEST_CASE("idx: truncated file") {
  Bytes file = MakeImages(3, 4, 5);  // 16 + 60 = 76 bytes
  file.pop_back();
  const std::string path = WriteScratch("truncated-idx3-ubyte", file);
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(path); });
  CHECK(Contains(message, path + ": "));
  CHECK(Contains(message, "file is truncated: 75 bytes, expected 76"));
  CHECK(Contains(message, "3 x 4 x 5"));

  const std::string label_path = WriteScratch("truncated-idx1-ubyte", Bytes{0, 0, 8, 1, 0, 0, 0, 5, 1, 2});
  const std::string label_message = ErrorOf([&] { frugal::idx::ReadLabels(label_path); });
  CHECK(Contains(label_message, "file is truncated: 10 bytes, expected 13"));
}

TEST_CASE("idx: truncated header") {
  const std::string short_path = WriteScratch("short-idx3-ubyte", Bytes{0, 0, 8, 3, 0, 0, 0, 1});
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(short_path); });
  CHECK(Contains(message, "file is 8 bytes, shorter than the 16-byte header"));

  const std::string empty_path = WriteScratch("empty-idx3-ubyte", Bytes{});
  const std::string empty_message = ErrorOf([&] { frugal::idx::ReadImages(empty_path); });
  CHECK(Contains(empty_message, empty_path + ": file is 0 bytes"));
}

TEST_CASE("idx: over-long file") {
  Bytes file = MakeLabels({1, 2, 3});
  file.push_back(4);
  const std::string path = WriteScratch("overlong-idx1-ubyte", file);
  const std::string message = ErrorOf([&] { frugal::idx::ReadLabels(path); });
  CHECK(Contains(message, path + ": "));
  CHECK(Contains(message, "file is too long: 12 bytes, expected 11"));
}

TEST_CASE("idx: zero dimension") {
  const std::string path = WriteScratch("zero-rows-idx3-ubyte", MakeImages(2, 0, 5));
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(path); });
  CHECK(Contains(message, path + ": "));
  CHECK(Contains(message, "dimension 1 (rows) is 0"));

  const std::string labels_path = WriteScratch("zero-labels-idx1-ubyte", MakeLabels({}));
  const std::string label_message = ErrorOf([&] { frugal::idx::ReadLabels(labels_path); });
  CHECK(Contains(label_message, "dimension 0 (label count) is 0"));
}

TEST_CASE("idx: dimension product overflow") {
  Bytes file;
  AppendBigEndian32(file, 0x00000803);
  AppendBigEndian32(file, 0xffffffffu);
  AppendBigEndian32(file, 0xffffffffu);
  AppendBigEndian32(file, 0xffffffffu);
  const std::string path = WriteScratch("huge-idx3-ubyte", file);
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(path); });
  CHECK(Contains(message, path + ": "));
  CHECK(Contains(message, "overflow"));
}

#if defined(FRUGAL_HAVE_ZLIB)
TEST_CASE("idx: gzip files") {
  CHECK(frugal::idx::GzipSupported());
  const Bytes file = MakeImages(6, 7, 8);
  const std::string path = WriteScratch("gzip-images-idx3-ubyte.gz", Gzip(file));
  const frugal::idx::Images images = frugal::idx::ReadImages(path);
  CHECK(images.count == 6);
  CHECK(images.rows == 7);
  CHECK(images.cols == 8);
  CHECK(images.pixels == Bytes(file.begin() + 16, file.end()));

  const std::string labels_path = WriteScratch("gzip-labels-idx1-ubyte.gz", Gzip(MakeLabels({4, 5, 6})));
  CHECK(frugal::idx::ReadLabels(labels_path) == Bytes{4, 5, 6});
}

TEST_CASE("idx: gzip with several members") {
  // `gzip -c a b > ab.gz` writes two members, which the reader concatenates.
  const Bytes file = MakeImages(2, 3, 3);
  Bytes compressed = Gzip(Bytes(file.begin(), file.begin() + 20));
  const Bytes second = Gzip(Bytes(file.begin() + 20, file.end()));
  compressed.insert(compressed.end(), second.begin(), second.end());
  const std::string path = WriteScratch("two-members-idx3-ubyte.gz", compressed);
  CHECK(frugal::idx::ReadImages(path).pixels == Bytes(file.begin() + 16, file.end()));
}

TEST_CASE("idx: gzip errors") {
  const Bytes file = MakeImages(2, 3, 3);

  Bytes longer = file;
  longer.push_back(0);
  const std::string long_path = WriteScratch("long-idx3-ubyte.gz", Gzip(longer));
  const std::string long_message = ErrorOf([&] { frugal::idx::ReadImages(long_path); });
  CHECK(Contains(long_message, long_path + ": "));
  CHECK(Contains(long_message, "decompressed data is too long"));
  CHECK(Contains(long_message, "34 bytes"));

  const Bytes shorter(file.begin(), file.end() - 1);
  const std::string short_path = WriteScratch("short-idx3-ubyte.gz", Gzip(shorter));
  const std::string short_message = ErrorOf([&] { frugal::idx::ReadImages(short_path); });
  CHECK(Contains(short_message, "decompressed data is truncated: 33 bytes, expected 34"));

  Bytes cut = Gzip(file);
  cut.resize(cut.size() - 6);
  const std::string cut_path = WriteScratch("cut-idx3-ubyte.gz", cut);
  const std::string cut_message = ErrorOf([&] { frugal::idx::ReadImages(cut_path); });
  CHECK(Contains(cut_message, cut_path + ": "));
  CHECK(Contains(cut_message, "gzip data is truncated"));

  Bytes corrupt = Gzip(file);
  corrupt[corrupt.size() - 3] ^= 0xff;  // inside the ISIZE trailer field
  const std::string corrupt_path = WriteScratch("corrupt-idx3-ubyte.gz", corrupt);
  const std::string corrupt_message = ErrorOf([&] { frugal::idx::ReadImages(corrupt_path); });
  CHECK(Contains(corrupt_message, "gzip data is corrupt"));

  const std::string labels_path = WriteScratch("gzip-as-images-idx1-ubyte.gz", Gzip(MakeLabels({1})));
  const std::string magic_message = ErrorOf([&] { frugal::idx::ReadImages(labels_path); });
  CHECK(Contains(magic_message, "magic number 0x00000801"));
}
#else
TEST_CASE("idx: gzip rejected without zlib") {
  CHECK_FALSE(frugal::idx::GzipSupported());
  const std::string path = WriteScratch("nozlib-idx3-ubyte.gz", Bytes{0x1f, 0x8b, 8, 0, 0, 0});
  const std::string message = ErrorOf([&] { frugal::idx::ReadImages(path); });
  CHECK(Contains(message, path + ": "));
  CHECK(Contains(message, "no zlib"));
}
#endif
