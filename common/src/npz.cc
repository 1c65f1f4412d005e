// Reads and writes NumPy .npz archives: a ZIP parser and writer (stored and deflated
// members, no ZIP64) and a .npy parser for float16/32/64 arrays.
//
// Sources: PKWARE's ZIP specification (APPNOTE.TXT) for the records, Python 3.11's
// zipfile.py and NumPy 1.24's numpy/lib/format.py and npyio.py for what numpy.savez writes.
// Every offset and size read from the file is checked against the bytes present before use.
#include "frugal/npz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frugal/atomic_file.h"

#if defined(FRUGAL_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace frugal::npz {
namespace {

// ZIP record signatures and the sizes of the records' fixed parts, in bytes.
constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirectorySignature = 0x06054b50;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr std::size_t kLocalHeaderBytes = 30;
constexpr std::size_t kCentralHeaderBytes = 46;
constexpr std::size_t kEndOfCentralDirectoryBytes = 22;
constexpr std::size_t kZip64LocatorBytes = 20;
constexpr std::size_t kMaxCommentBytes = 0xffff;

constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kFlagEncrypted = 1u << 0;
constexpr std::uint16_t kFlagStrongEncryption = 1u << 6;
constexpr std::uint16_t kFlagUtf8Name = 1u << 11;

// A deflate match copies at most 258 bytes and costs at least 2 bits, so deflated data
// expands at most 1032-fold. A member that claims more is corrupt and is rejected before
// its output is allocated.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// .npy format (numpy/lib/format.py): magic, version, header length, then a Python dict
// literal. NumPy pads the header so that the data starts at a multiple of 64 bytes.
constexpr std::string_view kNpyMagic = "\x93NUMPY";
constexpr std::size_t kNpyAlignment = 64;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw NpzError(path + ": " + what);
}

[[noreturn]] void FailMember(const std::string& path, const std::string& member,
                             const std::string& what) {
  throw NpzError(path + ": member " + member + ": " + what);
}

std::string Hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

std::uint16_t Load16(const std::uint8_t* bytes) {
  return static_cast<std::uint16_t>(bytes[0] | (bytes[1] << 8));
}

std::uint32_t Load32(const std::uint8_t* bytes) {
  return std::uint32_t{bytes[0]} | (std::uint32_t{bytes[1]} << 8) |
         (std::uint32_t{bytes[2]} << 16) | (std::uint32_t{bytes[3]} << 24);
}

void Store16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>(value >> 8));
}

void Store32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

// ---------------------------------------------------------------------------------------
// CRC-32 (the ZIP and gzip polynomial 0xEDB88320, reflected).

#if defined(FRUGAL_HAVE_ZLIB)
std::uint32_t Crc32(const std::uint8_t* data, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib's length argument is a uInt, so feed large buffers in pieces.
  while (size > 0) {
    const uInt piece = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    crc = crc32(crc, data, piece);
    data += piece;
    size -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}
#else
constexpr std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = MakeCrcTable();

std::uint32_t Crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < size; ++i) c = kCrcTable[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}
#endif

std::uint32_t Crc32(std::string_view bytes) {
  return Crc32(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

// ---------------------------------------------------------------------------------------
// Reading the file and the ZIP structure.

std::vector<std::uint8_t> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    Fail(path, std::string("cannot open: ") + std::strerror(error));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    Fail(path, "is not a regular file");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int error = got < 0 ? errno : 0;
      ::close(fd);
      Fail(path, "read failed after " + std::to_string(done) + " of " +
                     std::to_string(bytes.size()) + " bytes" +
                     (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
    }
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  return bytes;
}

// One member as listed in the central directory, with its data located and bounds-checked.
struct Entry {
  std::string name;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t data_offset = 0;
};

struct EndOfCentralDirectory {
  std::uint64_t offset = 0;  // of the record itself
  std::uint64_t entry_count = 0;
  std::uint64_t directory_offset = 0;
  std::uint64_t directory_size = 0;
};

EndOfCentralDirectory FindEndOfCentralDirectory(const std::vector<std::uint8_t>& file,
                                                const std::string& path) {
  const std::size_t size = file.size();
  if (size < kEndOfCentralDirectoryBytes) {
    Fail(path, "file is " + std::to_string(size) + " bytes, shorter than the " +
                   std::to_string(kEndOfCentralDirectoryBytes) +
                   "-byte end of central directory record; not a ZIP archive");
  }

  // The record sits at the end, followed only by its comment (at most 65535 bytes), so
  // search backwards for a signature whose comment length reaches exactly to the end.
  const std::size_t last = size - kEndOfCentralDirectoryBytes;
  const std::size_t first = last > kMaxCommentBytes ? last - kMaxCommentBytes : 0;
  for (std::size_t pos = last + 1; pos-- > first;) {
    const std::uint8_t* record = file.data() + pos;
    if (Load32(record) != kEndOfCentralDirectorySignature) continue;
    if (pos + kEndOfCentralDirectoryBytes + Load16(record + 20) != size) continue;

    const std::uint16_t disk = Load16(record + 4);
    const std::uint16_t directory_disk = Load16(record + 6);
    const std::uint16_t entries_on_disk = Load16(record + 8);
    const std::uint16_t entries = Load16(record + 10);
    const std::uint32_t directory_size = Load32(record + 12);
    const std::uint32_t directory_offset = Load32(record + 16);

    const bool has_zip64_locator = pos >= kZip64LocatorBytes &&
                                   Load32(file.data() + pos - kZip64LocatorBytes) == kZip64LocatorSignature;
    if (has_zip64_locator || entries == 0xffff || directory_size == 0xffffffffu ||
        directory_offset == 0xffffffffu) {
      Fail(path, "is a ZIP64 archive, which is not supported (rewrite it without ZIP64)");
    }
    if (disk != 0 || directory_disk != 0 || entries_on_disk != entries) {
      Fail(path, "is a multi-disk (spanned) ZIP archive, which is not supported");
    }
    if (std::uint64_t{directory_offset} + directory_size > pos) {
      Fail(path, "central directory [" + std::to_string(directory_offset) + ", " +
                     std::to_string(std::uint64_t{directory_offset} + directory_size) +
                     ") extends past its end record at offset " + std::to_string(pos) +
                     "; the archive is truncated or corrupt");
    }
    return {pos, entries, directory_offset, directory_size};
  }
  Fail(path, "no end of central directory record found; not a ZIP archive, or truncated");
}

std::vector<Entry> ReadCentralDirectory(const std::vector<std::uint8_t>& file,
                                        const std::string& path) {
  const EndOfCentralDirectory end = FindEndOfCentralDirectory(file, path);
  const std::uint64_t directory_end = end.directory_offset + end.directory_size;

  std::vector<Entry> entries;
  std::uint64_t pos = end.directory_offset;
  for (std::uint64_t i = 0; i < end.entry_count; ++i) {
    const std::string where = "central directory entry " + std::to_string(i);
    if (pos + kCentralHeaderBytes > directory_end) {
      Fail(path, where + " at offset " + std::to_string(pos) +
                     " runs past the end of the central directory (offset " +
                     std::to_string(directory_end) + ")");
    }
    const std::uint8_t* header = file.data() + pos;
    if (Load32(header) != kCentralHeaderSignature) {
      Fail(path, where + " at offset " + std::to_string(pos) + ": signature " +
                     Hex32(Load32(header)) + " is not " + Hex32(kCentralHeaderSignature));
    }
    const std::uint16_t flags = Load16(header + 8);
    const std::uint16_t method = Load16(header + 10);
    const std::uint32_t crc = Load32(header + 16);
    const std::uint32_t compressed_size = Load32(header + 20);
    const std::uint32_t uncompressed_size = Load32(header + 24);
    const std::uint16_t name_length = Load16(header + 28);
    const std::uint16_t extra_length = Load16(header + 30);
    const std::uint16_t comment_length = Load16(header + 32);
    const std::uint32_t local_offset = Load32(header + 42);

    const std::uint64_t next = pos + kCentralHeaderBytes + name_length + extra_length + comment_length;
    if (next > directory_end) {
      Fail(path, where + ": name, extra field and comment (" +
                     std::to_string(name_length + extra_length + comment_length) +
                     " bytes) run past the end of the central directory");
    }
    Entry entry;
    entry.name.assign(reinterpret_cast<const char*>(header + kCentralHeaderBytes), name_length);
    entry.method = method;
    entry.crc = crc;
    entry.compressed_size = compressed_size;
    entry.uncompressed_size = uncompressed_size;

    if ((flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
      FailMember(path, entry.name, "is encrypted, which is not supported");
    }
    if (method != kMethodStored && method != kMethodDeflate) {
      FailMember(path, entry.name, "compression method " + std::to_string(method) +
                                       " is not supported (only 0 = stored and 8 = deflate)");
    }
    if (compressed_size == 0xffffffffu || uncompressed_size == 0xffffffffu ||
        local_offset == 0xffffffffu) {
      FailMember(path, entry.name, "uses ZIP64 sizes or offsets, which are not supported");
    }

    // The local header repeats the name and may carry a different extra field. numpy.savez
    // opens members with force_zip64=True, which puts a ZIP64 extra field and 0xffffffff
    // sizes there, so the local header is used only to find the data. Sizes, CRC and
    // method come from the central directory.
    if (std::uint64_t{local_offset} + kLocalHeaderBytes > end.directory_offset) {
      FailMember(path, entry.name, "local header offset " + std::to_string(local_offset) +
                                       " is out of range [0, " +
                                       std::to_string(end.directory_offset) + ")");
    }
    const std::uint8_t* local = file.data() + local_offset;
    if (Load32(local) != kLocalHeaderSignature) {
      FailMember(path, entry.name, "local header signature " + Hex32(Load32(local)) + " is not " +
                                       Hex32(kLocalHeaderSignature));
    }
    const std::uint16_t local_name_length = Load16(local + 26);
    const std::uint16_t local_extra_length = Load16(local + 28);
    entry.data_offset = std::uint64_t{local_offset} + kLocalHeaderBytes + local_name_length + local_extra_length;
    if (entry.data_offset + entry.compressed_size > end.directory_offset) {
      FailMember(path, entry.name, "data [" + std::to_string(entry.data_offset) + ", " +
                                       std::to_string(entry.data_offset + entry.compressed_size) +
                                       ") extends past the start of the central directory (offset " +
                                       std::to_string(end.directory_offset) +
                                       "); the archive is truncated or corrupt");
    }
    const std::string_view local_name(reinterpret_cast<const char*>(local + kLocalHeaderBytes),
                                      local_name_length);
    if (local_name != entry.name) {
      FailMember(path, entry.name, "local header names it '" + std::string(local_name) +
                                       "'; the archive is corrupt");
    }
    entries.push_back(std::move(entry));
    pos = next;
  }
  return entries;
}

std::string Inflate(const std::uint8_t* data, const Entry& entry, const std::string& path) {
#if defined(FRUGAL_HAVE_ZLIB)
  if (entry.uncompressed_size > entry.compressed_size * kMaxDeflateRatio + 1024) {
    FailMember(path, entry.name, "uncompressed size " + std::to_string(entry.uncompressed_size) +
                                     " is impossible for " + std::to_string(entry.compressed_size) +
                                     " deflated bytes; the archive is corrupt");
  }
  // One spare output byte detects a stream that inflates to more than the declared size.
  std::string out(static_cast<std::size_t>(entry.uncompressed_size) + 1, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    FailMember(path, entry.name, "zlib inflateInit2 failed");
  }
  stream.next_in = const_cast<Bytef*>(data);
  stream.avail_in = static_cast<uInt>(entry.compressed_size);
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = inflate(&stream, Z_FINISH);
  const std::uint64_t produced = stream.total_out;
  const std::string zlib_message = stream.msg != nullptr ? stream.msg : "";
  inflateEnd(&stream);

  if (result == Z_STREAM_END && produced == entry.uncompressed_size) {
    out.resize(static_cast<std::size_t>(produced));
    return out;
  }
  if (produced > entry.uncompressed_size || (result == Z_BUF_ERROR && stream.avail_out == 0)) {
    FailMember(path, entry.name, "inflates to more than its declared size of " +
                                     std::to_string(entry.uncompressed_size) + " bytes");
  }
  if (result == Z_STREAM_END) {
    FailMember(path, entry.name, "inflates to " + std::to_string(produced) +
                                     " bytes, but its declared size is " +
                                     std::to_string(entry.uncompressed_size));
  }
  FailMember(path, entry.name, "deflate data is invalid or truncated after " +
                                   std::to_string(produced) + " output bytes" +
                                   (zlib_message.empty() ? "" : " (zlib: " + zlib_message + ")"));
#else
  (void)data;
  FailMember(path, entry.name,
             "is deflated, but this build has no zlib; rewrite the archive with numpy.savez "
             "(not savez_compressed) or rebuild with FRUGAL_WITH_ZLIB=ON");
#endif
}

std::string ExtractMember(const std::vector<std::uint8_t>& file, const Entry& entry,
                          const std::string& path) {
  const std::uint8_t* data = file.data() + entry.data_offset;
  std::string bytes;
  if (entry.method == kMethodStored) {
    if (entry.compressed_size != entry.uncompressed_size) {
      FailMember(path, entry.name, "is stored, but its compressed size " +
                                       std::to_string(entry.compressed_size) +
                                       " differs from its uncompressed size " +
                                       std::to_string(entry.uncompressed_size));
    }
    bytes.assign(reinterpret_cast<const char*>(data), static_cast<std::size_t>(entry.compressed_size));
  } else {
    bytes = Inflate(data, entry, path);
  }
  const std::uint32_t crc = Crc32(bytes);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // Fuzz builds accept any CRC, so that mutated members reach the .npy parser.
  if (false) {
#else
  if (crc != entry.crc) {
#endif
    FailMember(path, entry.name, "CRC-32 " + Hex32(crc) + " does not match " + Hex32(entry.crc) +
                                     " recorded in the central directory; the archive is corrupt");
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------
// The .npy header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

struct PyValue {
  enum class Kind { kString, kBool, kInteger, kNone, kTuple, kList };
  Kind kind = Kind::kNone;
  std::string text;  // kString: the string; otherwise the literal as written
  bool boolean = false;
  std::uint64_t integer = 0;
  std::vector<PyValue> items;  // kTuple, kList
};

// Parses the subset of Python literal syntax that NumPy writes in .npy headers, and
// throws NpzError naming the member on anything else.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path, const std::string& member)
      : text_(text), path_(path), member_(member) {}

  std::vector<std::pair<std::string, PyValue>> ParseDict() {
    std::vector<std::pair<std::string, PyValue>> entries;
    Expect('{');
    while (true) {
      SkipSpace();
      if (Peek() == '}') break;
      PyValue key = ParseValue();
      if (key.kind != PyValue::Kind::kString) Error("dict key is not a string");
      Expect(':');
      entries.emplace_back(key.text, ParseValue());
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() != '}') Error("expected ',' or '}'");
    }
    ++pos_;
    SkipSpace();
    if (pos_ != text_.size()) Error("unexpected text after the dict");
    return entries;
  }

 private:
  [[noreturn]] void Error(const std::string& what) {
    FailMember(path_, member_, ".npy header is invalid: " + what + " at offset " +
                                   std::to_string(pos_) + " in \"" + std::string(text_) + "\"");
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void Expect(char c) {
    SkipSpace();
    if (Peek() != c) Error(std::string("expected '") + c + "'");
    ++pos_;
  }

  PyValue ParseValue() {
    SkipSpace();
    const char c = Peek();
    if (c == '\'' || c == '"') return ParseString();
    if (c == '(' || c == '[') return ParseSequence();
    if (c >= '0' && c <= '9') return ParseInteger();
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return ParseName();
    Error("unexpected character");
  }

  PyValue ParseString() {
    const char quote = text_[pos_++];
    PyValue value;
    value.kind = PyValue::Kind::kString;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') Error("escape sequences are not supported");
      value.text.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) Error("unterminated string");
    ++pos_;
    return value;
  }

  PyValue ParseSequence() {
    const char open = text_[pos_++];
    const char close = open == '(' ? ')' : ']';
    PyValue value;
    value.kind = open == '(' ? PyValue::Kind::kTuple : PyValue::Kind::kList;
    while (true) {
      SkipSpace();
      if (Peek() == close) break;
      value.items.push_back(ParseValue());
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() != close) Error(std::string("expected ',' or '") + close + "'");
    }
    ++pos_;
    return value;
  }

  PyValue ParseInteger() {
    PyValue value;
    value.kind = PyValue::Kind::kInteger;
    const std::size_t start = pos_;
    while (Peek() >= '0' && Peek() <= '9') {
      const std::uint64_t digit = static_cast<std::uint64_t>(Peek() - '0');
      if (value.integer > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        Error("integer is too large");
      }
      value.integer = value.integer * 10 + digit;
      ++pos_;
    }
    if (Peek() == 'L') ++pos_;  // Python 2 long suffix, written by old NumPy versions
    value.text = std::string(text_.substr(start, pos_ - start));
    return value;
  }

  PyValue ParseName() {
    const std::size_t start = pos_;
    while ((Peek() >= 'A' && Peek() <= 'Z') || (Peek() >= 'a' && Peek() <= 'z')) ++pos_;
    PyValue value;
    value.text = std::string(text_.substr(start, pos_ - start));
    if (value.text == "True" || value.text == "False") {
      value.kind = PyValue::Kind::kBool;
      value.boolean = value.text == "True";
    } else if (value.text == "None") {
      value.kind = PyValue::Kind::kNone;
    } else {
      pos_ = start;
      Error("unknown name '" + value.text + "'");
    }
    return value;
  }

  std::string_view text_;
  const std::string& path_;
  const std::string& member_;
  std::size_t pos_ = 0;
};

std::string DescribeValue(const PyValue& value) {
  switch (value.kind) {
    case PyValue::Kind::kString:
      return "'" + value.text + "'";
    case PyValue::Kind::kTuple:
    case PyValue::Kind::kList:
      return "a structured dtype";
    default:
      return value.text;
  }
}

// ---------------------------------------------------------------------------------------
// .npy element decoding.

enum class ElementType { kFloat16, kFloat32, kFloat64 };

struct Dtype {
  ElementType type;
  bool big_endian;
  std::size_t size;
};

bool ParseDtype(const std::string& descr, Dtype* dtype) {
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '>') || descr[1] != 'f') return false;
  const bool big_endian = descr[0] == '>';
  switch (descr[2]) {
    case '2':
      *dtype = {ElementType::kFloat16, big_endian, 2};
      return true;
    case '4':
      *dtype = {ElementType::kFloat32, big_endian, 4};
      return true;
    case '8':
      *dtype = {ElementType::kFloat64, big_endian, 8};
      return true;
    default:
      return false;
  }
}

// IEEE 754 binary16 to binary32; exact for every input, including subnormals, infinities
// and NaN payloads.
float HalfToFloat(std::uint16_t half) {
  const std::uint32_t sign = std::uint32_t{half & 0x8000u} << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13));
}

std::uint64_t LoadUnsigned(const std::uint8_t* bytes, std::size_t size, bool big_endian) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t byte = big_endian ? i : size - 1 - i;
    value = (value << 8) | bytes[byte];
  }
  return value;
}

float DecodeElement(const std::uint8_t* bytes, const Dtype& dtype) {
  const std::uint64_t bits = LoadUnsigned(bytes, dtype.size, dtype.big_endian);
  switch (dtype.type) {
    case ElementType::kFloat16:
      return HalfToFloat(static_cast<std::uint16_t>(bits));
    case ElementType::kFloat32:
      return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    case ElementType::kFloat64:
      // Values outside float's range become +-inf; consumers that need finite values
      // (the converter) check for that.
      return static_cast<float>(std::bit_cast<double>(bits));
  }
  return 0.0f;
}

// Multiplies with overflow detection; returns false on overflow.
bool CheckedMultiply(std::uint64_t a, std::uint64_t b, std::uint64_t* product) {
  return !__builtin_mul_overflow(a, b, product);
}

std::string FormatShape(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

Array ParseNpy(const std::string& bytes, const std::string& path, const std::string& member) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (bytes.size() < kNpyMagic.size() + 2 || std::string_view(bytes).substr(0, kNpyMagic.size()) != kNpyMagic) {
    FailMember(path, member, "does not start with the .npy magic \"\\x93NUMPY\"");
  }
  const unsigned major = data[6];
  const unsigned minor = data[7];
  std::size_t length_bytes = 0;
  if (major == 1 && minor == 0) {
    length_bytes = 2;
  } else if ((major == 2 || major == 3) && minor == 0) {
    length_bytes = 4;
  } else {
    FailMember(path, member, ".npy version " + std::to_string(major) + "." + std::to_string(minor) +
                                 " is not supported (1.0, 2.0 or 3.0)");
  }
  const std::size_t header_start = 8 + length_bytes;
  if (bytes.size() < header_start) {
    FailMember(path, member, "is " + std::to_string(bytes.size()) +
                                 " bytes, too short for a .npy header length field");
  }
  const std::uint64_t header_length = length_bytes == 2 ? Load16(data + 8) : Load32(data + 8);
  if (header_start + header_length > bytes.size()) {
    FailMember(path, member, ".npy header length " + std::to_string(header_length) +
                                 " runs past the end of the member (" + std::to_string(bytes.size()) +
                                 " bytes)");
  }
  const std::string_view header_text(bytes.data() + header_start, static_cast<std::size_t>(header_length));

  HeaderParser parser(header_text, path, member);
  const auto entries = parser.ParseDict();
  const PyValue* descr = nullptr;
  const PyValue* fortran_order = nullptr;
  const PyValue* shape_value = nullptr;
  for (const auto& [key, value] : entries) {
    if (key == "descr") {
      descr = &value;
    } else if (key == "fortran_order") {
      fortran_order = &value;
    } else if (key == "shape") {
      shape_value = &value;
    } else {
      FailMember(path, member, ".npy header has unexpected key '" + key +
                                   "' (expected descr, fortran_order and shape)");
    }
  }
  if (descr == nullptr || fortran_order == nullptr || shape_value == nullptr) {
    FailMember(path, member, ".npy header lacks " +
                                 std::string(descr == nullptr           ? "'descr'"
                                             : fortran_order == nullptr ? "'fortran_order'"
                                                                        : "'shape'"));
  }

  Dtype dtype{};
  if (descr->kind != PyValue::Kind::kString || !ParseDtype(descr->text, &dtype)) {
    FailMember(path, member, "dtype " + DescribeValue(*descr) +
                                 " is not supported (<f2, >f2, <f4, >f4, <f8 or >f8)");
  }
  if (fortran_order->kind != PyValue::Kind::kBool) {
    FailMember(path, member, "fortran_order " + DescribeValue(*fortran_order) + " is not True or False");
  }
  if (shape_value->kind != PyValue::Kind::kTuple) {
    FailMember(path, member, "shape " + DescribeValue(*shape_value) + " is not a tuple");
  }

  Array array;
  array.name = member.substr(0, member.size() - 4);  // without ".npy"
  std::uint64_t count = 1;
  for (const PyValue& dimension : shape_value->items) {
    if (dimension.kind != PyValue::Kind::kInteger) {
      FailMember(path, member, "shape entry " + DescribeValue(dimension) + " is not a non-negative integer");
    }
    if (dimension.integer > std::numeric_limits<std::size_t>::max()) {
      FailMember(path, member, "shape entry " + dimension.text + " is out of range [0, " +
                                   std::to_string(std::numeric_limits<std::size_t>::max()) + "]");
    }
    array.shape.push_back(static_cast<std::size_t>(dimension.integer));
    if (!CheckedMultiply(count, dimension.integer, &count)) {
      FailMember(path, member, "shape " + FormatShape(array.shape) + "... has more than 2^64 elements");
    }
  }
  std::uint64_t needed = 0;
  if (!CheckedMultiply(count, dtype.size, &needed)) {
    FailMember(path, member, "shape " + FormatShape(array.shape) + " needs more than 2^64 bytes");
  }
  const std::uint64_t present = bytes.size() - header_start - header_length;
  if (present != needed) {
    FailMember(path, member, "holds " + std::to_string(present) + " data bytes, but shape " +
                                 FormatShape(array.shape) + " of " + descr->text + " needs " +
                                 std::to_string(needed));
  }

  // Fortran order stores the first index fastest. Walk the C-order indices and compute
  // each element's Fortran offset from column-major strides.
  const std::uint8_t* elements = data + header_start + header_length;
  array.data.resize(static_cast<std::size_t>(count));
  if (!fortran_order->boolean || array.shape.size() < 2) {
    for (std::size_t i = 0; i < array.data.size(); ++i) {
      array.data[i] = DecodeElement(elements + i * dtype.size, dtype);
    }
    return array;
  }
  const std::size_t rank = array.shape.size();
  std::vector<std::size_t> fortran_strides(rank, 1);
  for (std::size_t d = 1; d < rank; ++d) fortran_strides[d] = fortran_strides[d - 1] * array.shape[d - 1];
  std::vector<std::size_t> index(rank, 0);
  for (std::size_t i = 0; i < array.data.size(); ++i) {
    std::size_t offset = 0;
    for (std::size_t d = 0; d < rank; ++d) offset += index[d] * fortran_strides[d];
    array.data[i] = DecodeElement(elements + offset * dtype.size, dtype);
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < array.shape[d]) break;
      index[d] = 0;
    }
  }
  return array;
}

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---------------------------------------------------------------------------------------
// Writing.

std::string BuildNpy(const Array& array, const std::string& path) {
  std::uint64_t count = 1;
  for (const std::size_t dimension : array.shape) {
    if (!CheckedMultiply(count, dimension, &count)) {
      Fail(path, "array " + array.name + ": shape " + FormatShape(array.shape) + " overflows");
    }
  }
  if (count != array.data.size()) {
    Fail(path, "array " + array.name + ": shape " + FormatShape(array.shape) + " has " +
                   std::to_string(count) + " elements, but the data holds " +
                   std::to_string(array.data.size()));
  }

  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + FormatShape(array.shape) + ", }";
  // Pad with spaces and end with a newline so that magic (6) + version (2) + length (2)
  // + header is a multiple of 64, as NumPy does.
  const std::size_t prefix = kNpyMagic.size() + 2 + 2;
  const std::size_t unpadded = prefix + header.size() + 1;
  const std::size_t padded = (unpadded + kNpyAlignment - 1) / kNpyAlignment * kNpyAlignment;
  header.append(padded - unpadded, ' ');
  header.push_back('\n');
  if (header.size() > 0xffff) {
    Fail(path, "array " + array.name + ": .npy header of " + std::to_string(header.size()) +
                   " bytes does not fit version 1.0 (at most 65535)");
  }

  std::string npy;
  npy.reserve(padded + array.data.size() * 4);
  npy.append(kNpyMagic);
  npy.push_back('\x01');
  npy.push_back('\x00');
  Store16(npy, static_cast<std::uint16_t>(header.size()));
  npy += header;
  for (const float value : array.data) Store32(npy, std::bit_cast<std::uint32_t>(value));
  return npy;
}

// DOS date for 1980-01-01 00:00, the earliest ZIP timestamp. A fixed time makes the
// output reproducible: the same arrays always give the same bytes.
constexpr std::uint16_t kDosTime = 0;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;
constexpr std::uint16_t kVersionNeeded = 20;  // 2.0: the baseline every unzip reads
constexpr std::uint16_t kVersionMadeBy = (3 << 8) | 20;  // host 3 = Unix, so attributes apply
constexpr std::uint32_t kUnixRegularFileMode = 0100644;

class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path) : path_(path) {}

  void Add(const std::string& name, const std::string& bytes) {
    if (name.empty() || name.size() > 0xffff) {
      Fail(path_, "member name of " + std::to_string(name.size()) + " bytes is out of range [1, 65535]");
    }
    if (!names_.insert(name).second) Fail(path_, "member " + name + " is added twice");
    const std::uint64_t offset = archive_.size();
    if (bytes.size() >= 0xffffffffu || offset + kLocalHeaderBytes + name.size() + bytes.size() >= 0xffffffffu) {
      Fail(path_, "member " + name + ": the archive would exceed 4 GiB, which needs ZIP64 (not supported)");
    }
    const std::uint32_t crc = Crc32(bytes);
    const auto size = static_cast<std::uint32_t>(bytes.size());
    const std::uint16_t flags = HasNonAscii(name) ? kFlagUtf8Name : 0;

    Store32(archive_, kLocalHeaderSignature);
    Store16(archive_, kVersionNeeded);
    Store16(archive_, flags);
    Store16(archive_, kMethodStored);
    Store16(archive_, kDosTime);
    Store16(archive_, kDosDate);
    Store32(archive_, crc);
    Store32(archive_, size);  // compressed
    Store32(archive_, size);  // uncompressed
    Store16(archive_, static_cast<std::uint16_t>(name.size()));
    Store16(archive_, 0);  // extra field length
    archive_ += name;
    archive_ += bytes;

    Store32(directory_, kCentralHeaderSignature);
    Store16(directory_, kVersionMadeBy);
    Store16(directory_, kVersionNeeded);
    Store16(directory_, flags);
    Store16(directory_, kMethodStored);
    Store16(directory_, kDosTime);
    Store16(directory_, kDosDate);
    Store32(directory_, crc);
    Store32(directory_, size);
    Store32(directory_, size);
    Store16(directory_, static_cast<std::uint16_t>(name.size()));
    Store16(directory_, 0);  // extra field length
    Store16(directory_, 0);  // comment length
    Store16(directory_, 0);  // disk number start
    Store16(directory_, 0);  // internal attributes
    Store32(directory_, kUnixRegularFileMode << 16);
    Store32(directory_, static_cast<std::uint32_t>(offset));
    directory_ += name;
    ++entry_count_;
  }

  std::string Finish() {
    if (entry_count_ >= 0xffff) {
      Fail(path_, std::to_string(entry_count_) + " members need ZIP64 (at most 65534 are supported)");
    }
    const std::uint64_t directory_offset = archive_.size();
    if (directory_offset + directory_.size() >= 0xffffffffu) {
      Fail(path_, "the archive would exceed 4 GiB, which needs ZIP64 (not supported)");
    }
    std::string out = std::move(archive_);
    out += directory_;
    Store32(out, kEndOfCentralDirectorySignature);
    Store16(out, 0);  // this disk
    Store16(out, 0);  // disk with the central directory
    Store16(out, static_cast<std::uint16_t>(entry_count_));
    Store16(out, static_cast<std::uint16_t>(entry_count_));
    Store32(out, static_cast<std::uint32_t>(directory_.size()));
    Store32(out, static_cast<std::uint32_t>(directory_offset));
    Store16(out, 0);  // comment length
    return out;
  }

 private:
  static bool HasNonAscii(const std::string& text) {
    for (const char c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) return true;
    }
    return false;
  }

  const std::string& path_;
  std::string archive_;    // local headers and data
  std::string directory_;  // central directory entries
  std::set<std::string> names_;
  std::size_t entry_count_ = 0;
};

}  // namespace

const Array* Archive::FindArray(const std::string& name) const {
  for (const Array& array : arrays) {
    if (array.name == name) return &array;
  }
  return nullptr;
}

const RawMember* Archive::FindRaw(const std::string& name) const {
  for (const RawMember& member : raw_members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

Archive Read(const std::string& path) { return Parse(ReadWholeFile(path), path); }

Archive Parse(const std::vector<std::uint8_t>& file, const std::string& path) {
  const std::vector<Entry> entries = ReadCentralDirectory(file, path);

  Archive archive;
  std::set<std::string> seen;
  for (const Entry& entry : entries) {
    if (!seen.insert(entry.name).second) {
      FailMember(path, entry.name, "appears twice in the archive");
    }
    if (EndsWith(entry.name, "/") && entry.uncompressed_size == 0) continue;  // a folder entry
    std::string bytes = ExtractMember(file, entry, path);
    if (EndsWith(entry.name, ".npy")) {
      archive.arrays.push_back(ParseNpy(bytes, path, entry.name));
    } else {
      archive.raw_members.push_back({entry.name, std::move(bytes)});
    }
  }
  return archive;
}

void Write(const std::string& path, const Archive& archive) {
  ZipWriter zip(path);
  for (const Array& array : archive.arrays) zip.Add(array.name + ".npy", BuildNpy(array, path));
  for (const RawMember& member : archive.raw_members) {
    if (EndsWith(member.name, ".npy")) {
      Fail(path, "raw member " + member.name + " ends in .npy and would be read back as an array");
    }
    zip.Add(member.name, member.bytes);
  }
  const std::string bytes = zip.Finish();
  try {
    WriteFileAtomically(path, bytes);
  } catch (const std::runtime_error& error) {
    throw NpzError(error.what());
  }
}

}  // namespace frugal::npz
