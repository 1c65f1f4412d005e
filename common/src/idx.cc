// Reads IDX files (the MNIST distribution format), plain or gzip-compressed, and checks
// the magic number, every dimension and the exact length before returning any data.
#include "frugal/idx.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#if defined(FRUGAL_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace frugal::idx {
namespace {

// IDX magic numbers are big-endian: two zero bytes, a type code (0x08 = unsigned byte)
// and the number of dimensions.
constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::size_t kMagicBytes = 4;
constexpr std::size_t kDimensionBytes = 4;

// Expected magic number and dimension names of one kind of IDX file, for checks and messages.
struct Layout {
  std::uint32_t magic;
  const char* magic_meaning;
  std::vector<const char*> dimension_names;
};

const Layout kImagesLayout{kImagesMagic, "unsigned byte, 3 dimensions",
                           {"image count", "rows", "columns"}};
const Layout kLabelsLayout{kLabelsMagic, "unsigned byte, 1 dimension", {"label count"}};

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw IdxError(source + ": " + what);
}

std::string Hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

std::uint32_t ReadBigEndian32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

bool IsGzip(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Header of an IDX buffer after the magic number and dimensions were checked.
struct Header {
  std::vector<std::size_t> dimensions;
  std::size_t header_bytes = 0;
  std::size_t total_bytes = 0;  // header plus one byte per element
};

// Checks the magic number and dimensions at the start of `bytes` (which may be only a
// prefix of the data) and computes the total length they declare. `length_noun` names
// what is measured in messages ("file", "decompressed data").
Header ParseHeader(const std::uint8_t* bytes, std::size_t size, const Layout& layout,
                   const std::string& source, const char* length_noun) {
  const std::size_t rank = layout.dimension_names.size();
  Header header;
  header.header_bytes = kMagicBytes + rank * kDimensionBytes;
  if (size < kMagicBytes) {
    Fail(source, std::string(length_noun) + " is " + std::to_string(size) +
                     " bytes, shorter than the 4-byte magic number");
  }

  const std::uint32_t magic = ReadBigEndian32(bytes);
  if (magic != layout.magic) {
    std::string message = "magic number " + Hex32(magic) + " is not " + Hex32(layout.magic) +
                          " (" + layout.magic_meaning + ")";
    if (magic == kImagesMagic) message += "; this looks like an image file";
    if (magic == kLabelsMagic) message += "; this looks like a label file";
    Fail(source, message);
  }

  if (size < header.header_bytes) {
    Fail(source, std::string(length_noun) + " is " + std::to_string(size) +
                     " bytes, shorter than the " + std::to_string(header.header_bytes) +
                     "-byte header");
  }

  std::size_t elements = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::uint32_t value = ReadBigEndian32(bytes + kMagicBytes + d * kDimensionBytes);
    const std::string field =
        "dimension " + std::to_string(d) + " (" + layout.dimension_names[d] + ")";
    if (value == 0) Fail(source, field + " is 0; it must be at least 1");
    // size_t is 32 bits on some boards, so a product of 32-bit dimensions can overflow.
    if (value > std::numeric_limits<std::size_t>::max() / elements) {
      Fail(source, field + " = " + std::to_string(value) +
                       " makes the element count overflow size_t");
    }
    elements *= value;
    header.dimensions.push_back(value);
  }
  if (elements > std::numeric_limits<std::size_t>::max() - header.header_bytes) {
    Fail(source, "element count " + std::to_string(elements) + " overflows size_t");
  }
  header.total_bytes = header.header_bytes + elements;
  return header;
}

std::string DescribeExpectedLength(const Header& header) {
  std::string text = std::to_string(header.total_bytes) + " (" +
                     std::to_string(header.header_bytes) + "-byte header + ";
  for (std::size_t d = 0; d < header.dimensions.size(); ++d) {
    if (d > 0) text += " x ";
    text += std::to_string(header.dimensions[d]);
  }
  return text + " bytes)";
}

// Parses a whole IDX buffer: header checks, then the exact length.
Header ParseChecked(const std::vector<std::uint8_t>& bytes, const Layout& layout,
                    const std::string& source, const char* length_noun) {
  Header header = ParseHeader(bytes.data(), bytes.size(), layout, source, length_noun);
  if (bytes.size() != header.total_bytes) {
    const char* problem = bytes.size() < header.total_bytes ? "truncated" : "too long";
    Fail(source, std::string(length_noun) + " is " + problem + ": " +
                     std::to_string(bytes.size()) + " bytes, expected " +
                     DescribeExpectedLength(header));
  }
  return header;
}

std::vector<std::uint8_t> ReadWholeFile(const std::string& path) {
  struct Closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  errno = 0;
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) Fail(path, std::string("failed to open: ") + std::strerror(errno));

  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(chunk, 1, sizeof chunk, file.get());
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (got < sizeof chunk) break;
  }
  if (std::ferror(file.get())) Fail(path, std::string("failed to read: ") + std::strerror(errno));
  return bytes;
}

#if defined(FRUGAL_HAVE_ZLIB)
// Inflates a gzip file (one or more concatenated members, as RFC 1952 allows). The output
// may not grow past the length its IDX header declares, so a small corrupt or hostile
// file cannot make us allocate gigabytes before the length check.
std::vector<std::uint8_t> Gunzip(const std::vector<std::uint8_t>& compressed, const Layout& layout,
                                 const std::string& source) {
  z_stream stream{};
  // 16 + MAX_WBITS selects the gzip wrapper (zlib.h, inflateInit2).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) Fail(source, "zlib inflateInit2 failed");
  struct End {
    z_stream* stream;
    ~End() { inflateEnd(stream); }
  } end{&stream};

  std::vector<std::uint8_t> output;
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  const std::size_t header_bytes = kMagicBytes + layout.dimension_names.size() * kDimensionBytes;
  std::uint8_t chunk[1 << 16];
  std::size_t consumed = 0;
  for (;;) {
    const std::size_t remaining = compressed.size() - consumed;
    stream.next_in = const_cast<Bytef*>(compressed.data() + consumed);
    stream.avail_in = static_cast<uInt>(std::min<std::size_t>(remaining, std::size_t{1} << 30));
    const uInt offered = stream.avail_in;
    stream.next_out = chunk;
    stream.avail_out = sizeof chunk;
    const int status = inflate(&stream, Z_NO_FLUSH);
    consumed += offered - stream.avail_in;
    const std::size_t produced = sizeof chunk - stream.avail_out;
    output.insert(output.end(), chunk, chunk + produced);

    if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
      Fail(source, "gzip data is corrupt near compressed byte " + std::to_string(consumed) +
                       ": " + (stream.msg ? stream.msg : "zlib error " + std::to_string(status)));
    }
    if (limit == std::numeric_limits<std::size_t>::max() && output.size() >= header_bytes) {
      limit = ParseHeader(output.data(), output.size(), layout, source, "decompressed data")
                  .total_bytes;
    }
    if (output.size() > limit) {
      Fail(source, "decompressed data is too long: more than the " + std::to_string(limit) +
                       " bytes its header declares");
    }
    if (status == Z_STREAM_END) {
      // Another gzip member may follow (RFC 1952 allows several). Other trailing bytes
      // fail the next member's header check above.
      if (consumed == compressed.size()) return output;
      inflateReset(&stream);
      continue;
    }
    // zlib made no progress: with all input consumed the stream was cut short.
    if (produced == 0 && offered == stream.avail_in) {
      if (consumed == compressed.size()) break;
      Fail(source, "gzip data cannot be decompressed near compressed byte " +
                       std::to_string(consumed));
    }
  }
  Fail(source, "gzip data is truncated: the stream ends after " +
                   std::to_string(compressed.size()) + " compressed bytes without its trailer");
}
#endif

// Reads `path`, decompressing it if it starts with the gzip magic bytes, and returns the
// raw IDX bytes and the noun to use for their length in messages.
std::vector<std::uint8_t> LoadIdxBytes(const std::string& path, const Layout& layout,
                                       const char** length_noun) {
  std::vector<std::uint8_t> bytes = ReadWholeFile(path);
  *length_noun = "file";
  if (!IsGzip(bytes)) return bytes;
#if defined(FRUGAL_HAVE_ZLIB)
  *length_noun = "decompressed data";
  return Gunzip(bytes, layout, path);
#else
  (void)layout;
  Fail(path, "file is gzip-compressed, but this build has no zlib (FRUGAL_WITH_ZLIB); "
             "decompress it with gunzip first");
#endif
}

Images ToImages(std::vector<std::uint8_t>&& bytes, const Header& header) {
  Images images;
  images.count = header.dimensions[0];
  images.rows = header.dimensions[1];
  images.cols = header.dimensions[2];
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header.header_bytes));
  images.pixels = std::move(bytes);
  return images;
}

std::vector<std::uint8_t> ToLabels(std::vector<std::uint8_t>&& bytes, const Header& header) {
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header.header_bytes));
  return std::move(bytes);
}

}  // namespace

Images ReadImages(const std::string& path) {
  const char* length_noun = nullptr;
  std::vector<std::uint8_t> bytes = LoadIdxBytes(path, kImagesLayout, &length_noun);
  const Header header = ParseChecked(bytes, kImagesLayout, path, length_noun);
  return ToImages(std::move(bytes), header);
}

std::vector<std::uint8_t> ReadLabels(const std::string& path) {
  const char* length_noun = nullptr;
  std::vector<std::uint8_t> bytes = LoadIdxBytes(path, kLabelsLayout, &length_noun);
  const Header header = ParseChecked(bytes, kLabelsLayout, path, length_noun);
  return ToLabels(std::move(bytes), header);
}

Images ParseImages(const std::vector<std::uint8_t>& bytes, const std::string& source_name) {
  const Header header = ParseChecked(bytes, kImagesLayout, source_name, "data");
  return ToImages(std::vector<std::uint8_t>(bytes), header);
}

std::vector<std::uint8_t> ParseLabels(const std::vector<std::uint8_t>& bytes,
                                      const std::string& source_name) {
  const Header header = ParseChecked(bytes, kLabelsLayout, source_name, "data");
  return ToLabels(std::vector<std::uint8_t>(bytes), header);
}

bool GzipSupported() {
#if defined(FRUGAL_HAVE_ZLIB)
  return true;
#else
  return false;
#endif
}

}  // namespace frugal::idx
