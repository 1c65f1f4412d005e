// Tests of the .npz reader and writer and of atomic file writes: round trips, archives
// written by NumPy (tests/common/data), and corrupt or unsupported input with the text of
// its error message.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/atomic_file.h"
#include "frugal/npz.h"
#include "test_paths.h"

namespace {

namespace fs = std::filesystem;
using frugal::npz::Archive;
using frugal::npz::Array;
using frugal::npz::NpzError;

fs::path Fixture(const char* name) { return fs::path(FRUGAL_NPZ_TEST_DATA_DIR) / name; }

// A fresh, empty folder for one test case.
fs::path CaseDir(const std::string& name) {
  const fs::path dir = frugal::testing::ScratchDir() / "npz" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

std::vector<std::string> FolderContents(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Runs `read` and returns the NpzError message, or "" when nothing was thrown. Any other
// exception escapes and fails the test.
template <typename Function>
doctest::String ErrorOf(Function read) {
  try {
    read();
  } catch (const NpzError& error) {
    return error.what();
  }
  return "";
}

std::uint32_t Load32(const std::string& bytes, std::size_t offset) {
  return std::uint32_t{static_cast<std::uint8_t>(bytes[offset])} |
         (std::uint32_t{static_cast<std::uint8_t>(bytes[offset + 1])} << 8) |
         (std::uint32_t{static_cast<std::uint8_t>(bytes[offset + 2])} << 16) |
         (std::uint32_t{static_cast<std::uint8_t>(bytes[offset + 3])} << 24);
}

void Store16(std::string& bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<char>(value & 0xff);
  bytes[offset + 1] = static_cast<char>(value >> 8);
}

void Store32(std::string& bytes, std::size_t offset, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// Offset of the first central directory entry, read from the end record (22 bytes at the
// end of an archive without a comment).
std::size_t CentralDirectoryOffset(const std::string& zip) { return Load32(zip, zip.size() - 22 + 16); }

const Array& RequireArray(const Archive& archive, const std::string& name) {
  const Array* array = archive.FindArray(name);
  REQUIRE_MESSAGE(array != nullptr, "array ", name, " is missing");
  return *array;
}

void CheckArray(const Archive& archive, const std::string& name, const std::vector<std::size_t>& shape,
                const std::vector<float>& values) {
  const Array& array = RequireArray(archive, name);
  CHECK_MESSAGE(array.shape == shape, "array ", name);
  REQUIRE_MESSAGE(array.data.size() == values.size(), "array ", name);
  for (std::size_t i = 0; i < values.size(); ++i) {
    CHECK_MESSAGE(array.data[i] == values[i], "array ", name, " element ", i);
  }
}

// Writes an archive whose only member, "m.npy", contains `npy` byte for byte. The writer
// rejects raw members ending in .npy, so the member is written as "m.npX" and renamed in
// both headers; the CRC covers only the data and stays valid.
fs::path ArchiveWithNpyMember(const fs::path& dir, const std::string& npy) {
  const fs::path path = dir / "member.npz";
  Archive archive;
  archive.raw_members.push_back({"m.npX", npy});
  frugal::npz::Write(path.string(), archive);
  std::string zip = ReadFile(path);
  for (std::size_t at = zip.find("m.npX"); at != std::string::npos; at = zip.find("m.npX", at)) {
    zip[at + 4] = 'y';
  }
  WriteFile(path, zip);
  return path;
}

// A version 1.0 .npy member with the given header dict and data bytes.
std::string MakeNpy(const std::string& dict, const std::string& data) {
  std::string npy = "\x93NUMPY";
  npy.push_back('\x01');
  npy.push_back('\x00');
  const std::string header = dict + "\n";
  npy.push_back(static_cast<char>(header.size() & 0xff));
  npy.push_back(static_cast<char>(header.size() >> 8));
  return npy + header + data;
}

Archive SampleArchive() {
  Archive archive;
  archive.arrays.push_back({"dense_1/kernel", {2, 3}, {1.0f, -2.0f, 0.0f, 3.5f, 1e-30f, -0.0f}});
  archive.arrays.push_back({"scalar", {}, {7.25f}});
  archive.arrays.push_back({"vector", {4}, {0.5f, 0.25f, -8.0f, 1e30f}});
  archive.arrays.push_back({"empty", {0, 5}, {}});
  archive.raw_members.push_back({"architecture.json", "{\"version\": 1}\n"});
  return archive;
}

}  // namespace

TEST_CASE("npz round trip keeps shapes and values") {
  const fs::path path = CaseDir("round_trip") / "model.npz";
  frugal::npz::Write(path.string(), SampleArchive());
  const Archive archive = frugal::npz::Read(path.string());

  REQUIRE(archive.arrays.size() == 4);
  CHECK(archive.arrays[0].name == "dense_1/kernel");
  CHECK(archive.arrays[1].name == "scalar");
  CHECK(archive.arrays[2].name == "vector");
  CHECK(archive.arrays[3].name == "empty");
  CheckArray(archive, "dense_1/kernel", {2, 3}, {1.0f, -2.0f, 0.0f, 3.5f, 1e-30f, -0.0f});
  CheckArray(archive, "scalar", {}, {7.25f});
  CheckArray(archive, "vector", {4}, {0.5f, 0.25f, -8.0f, 1e30f});
  CheckArray(archive, "empty", {0, 5}, {});
  CHECK(std::signbit(RequireArray(archive, "dense_1/kernel").data[5]));

  REQUIRE(archive.raw_members.size() == 1);
  const frugal::npz::RawMember* raw = archive.FindRaw("architecture.json");
  REQUIRE(raw != nullptr);
  CHECK(raw->bytes == "{\"version\": 1}\n");
  CHECK(archive.FindArray("architecture.json") == nullptr);
  CHECK(archive.FindRaw("scalar") == nullptr);
}

TEST_CASE("npz round trip keeps NaN") {
  const fs::path path = CaseDir("nan") / "nan.npz";
  Archive archive;
  archive.arrays.push_back({"weights", {2}, {std::numeric_limits<float>::quiet_NaN(), 1.0f}});
  frugal::npz::Write(path.string(), archive);
  const Archive read_archive = frugal::npz::Read(path.string());
  const Array& read = RequireArray(read_archive, "weights");
  REQUIRE(read.data.size() == 2);
  CHECK(std::isnan(read.data[0]));
  CHECK(read.data[1] == 1.0f);
}

TEST_CASE("npz writer is deterministic and aligns data to 64 bytes") {
  const fs::path dir = CaseDir("layout");
  frugal::npz::Write((dir / "a.npz").string(), SampleArchive());
  frugal::npz::Write((dir / "b.npz").string(), SampleArchive());
  const std::string zip = ReadFile(dir / "a.npz");
  CHECK(zip == ReadFile(dir / "b.npz"));

  // Walk the local headers: each .npy member's header length must put its data at a
  // multiple of 64 bytes from the start of the member, and the dtype must be "<f4".
  std::size_t offset = 0;
  int npy_members = 0;
  while (Load32(zip, offset) == 0x04034b50) {
    const std::size_t name_length = static_cast<std::uint8_t>(zip[offset + 26]) |
                                    (static_cast<std::uint8_t>(zip[offset + 27]) << 8);
    const std::size_t size = Load32(zip, offset + 18);
    const std::string name = zip.substr(offset + 30, name_length);
    const std::size_t data = offset + 30 + name_length;
    if (name.size() > 4 && name.substr(name.size() - 4) == ".npy") {
      const std::size_t header_length = static_cast<std::uint8_t>(zip[data + 8]) |
                                        (static_cast<std::uint8_t>(zip[data + 9]) << 8);
      CHECK_MESSAGE((10 + header_length) % 64 == 0, name, " header length ", header_length);
      CHECK_MESSAGE(zip.substr(data + 10, header_length).find("'descr': '<f4'") != std::string::npos, name);
      ++npy_members;
    }
    offset = data + size;
  }
  CHECK(npy_members == 4);
  CHECK(offset == CentralDirectoryOffset(zip));
}

TEST_CASE("npz writer rejects a shape that does not match the data") {
  const fs::path path = CaseDir("bad_shape") / "bad.npz";
  Archive archive;
  archive.arrays.push_back({"dense_1/bias", {3}, {1.0f, 2.0f}});
  const doctest::String error = ErrorOf([&] { frugal::npz::Write(path.string(), archive); });
  CHECK(error == doctest::Contains(path.string().c_str()));
  CHECK(error == doctest::Contains("array dense_1/bias: shape (3,) has 3 elements, but the data holds 2"));
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("npz writer rejects duplicate and .npy raw member names") {
  const fs::path dir = CaseDir("bad_names");
  Archive duplicate;
  duplicate.arrays.push_back({"a", {1}, {1.0f}});
  duplicate.arrays.push_back({"a", {1}, {2.0f}});
  CHECK(ErrorOf([&] { frugal::npz::Write((dir / "d.npz").string(), duplicate); }) ==
        doctest::Contains("member a.npy is added twice"));

  Archive raw_npy;
  raw_npy.raw_members.push_back({"x.npy", "bytes"});
  CHECK(ErrorOf([&] { frugal::npz::Write((dir / "r.npz").string(), raw_npy); }) ==
        doctest::Contains("raw member x.npy ends in .npy"));
  CHECK(FolderContents(dir).empty());
}

TEST_CASE("npz reads numpy.savez output") {
  const Archive archive = frugal::npz::Read(Fixture("savez.npz").string());
  CHECK(archive.arrays.size() == 4);
  CHECK(archive.raw_members.empty());
  CheckArray(archive, "grid", {2, 3}, {1, 2, 3, 4, 5, 6});
  CheckArray(archive, "scalar", {}, {7.5f});
  CheckArray(archive, "vector", {3}, {-1.0f, 0.5f, 3.0f});
  CheckArray(archive, "empty", {0, 3}, {});
}

#if defined(FRUGAL_HAVE_ZLIB)
TEST_CASE("npz reads numpy.savez_compressed output") {
  const Archive archive = frugal::npz::Read(Fixture("savez_compressed.npz").string());
  CheckArray(archive, "grid", {2, 3}, {1, 2, 3, 4, 5, 6});
  CheckArray(archive, "zeros", {1000}, std::vector<float>(1000, 0.0f));
}
#else
TEST_CASE("npz without zlib rejects deflated members clearly") {
  const std::string path = Fixture("savez_compressed.npz").string();
  CHECK(ErrorOf([&] { frugal::npz::Read(path); }) ==
        doctest::Contains((path + ": member grid.npy: is deflated, but this build has no zlib").c_str()));
}
#endif

TEST_CASE("npz reads big-endian float16, float32 and float64") {
  const Archive archive = frugal::npz::Read(Fixture("big_endian.npz").string());
  CheckArray(archive, "f4", {2, 3}, {1, 2, 3, 4, 5, 6});
  CheckArray(archive, "f8", {2}, {0.25f, -3.0f});
  CheckArray(archive, "f2", {2}, {1.5f, -2.0f});
}

TEST_CASE("npz converts float16 exactly") {
  // 65504 is the largest finite half, 2^-24 the smallest subnormal, 2^-14 the smallest normal.
  const Archive archive = frugal::npz::Read(Fixture("float16.npz").string());
  CheckArray(archive, "half", {6},
             {1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -14),
              std::numeric_limits<float>::infinity()});
}

TEST_CASE("npz converts float64 to the nearest float32") {
  const Archive archive = frugal::npz::Read(Fixture("float64.npz").string());
  // 1e300 is beyond float's range and becomes +inf; the converter rejects it later.
  CheckArray(archive, "double", {2, 2},
             {0.5f, -2.0f, static_cast<float>(1.0 / 3.0), std::numeric_limits<float>::infinity()});
}

TEST_CASE("npz transposes Fortran-order arrays to C order") {
  const Archive archive = frugal::npz::Read(Fixture("fortran.npz").string());
  CheckArray(archive, "grid", {2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<float> cube(24);
  for (std::size_t i = 0; i < cube.size(); ++i) cube[i] = static_cast<float>(i);
  CheckArray(archive, "cube", {2, 3, 4}, cube);
}

TEST_CASE("npz reads .npy versions 1.0, 2.0 and 3.0") {
  const Archive archive = frugal::npz::Read(Fixture("npy_versions.npz").string());
  CheckArray(archive, "v1", {2, 3}, {1, 2, 3, 4, 5, 6});
  CheckArray(archive, "v2", {2, 3}, {1, 2, 3, 4, 5, 6});
  CheckArray(archive, "v3", {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST_CASE("npz rejects an int32 array naming the member and dtype") {
  const std::string path = Fixture("int32.npz").string();
  const doctest::String error = ErrorOf([&] { frugal::npz::Read(path); });
  CHECK(error == doctest::Contains((path + ": member labels.npy: dtype '<i4' is not supported").c_str()));
}

TEST_CASE("npz rejects a missing file") {
  const std::string path = (CaseDir("missing") / "absent.npz").string();
  CHECK(ErrorOf([&] { frugal::npz::Read(path); }) ==
        doctest::Contains((path + ": cannot open: No such file or directory").c_str()));
}

TEST_CASE("npz rejects corrupt ZIP structures") {
  const fs::path dir = CaseDir("corrupt");
  const fs::path good = dir / "good.npz";
  frugal::npz::Write(good.string(), SampleArchive());
  const std::string zip = ReadFile(good);
  const std::size_t directory = CentralDirectoryOffset(zip);
  const fs::path bad = dir / "bad.npz";

  struct Case {
    const char* what;
    std::string bytes;
    const char* expected;
  };
  std::vector<Case> cases;

  std::string bytes = zip;
  bytes[0] = 'X';
  cases.push_back({"local header signature", bytes,
                   "member dense_1/kernel.npy: local header signature 0x04034b58 is not 0x04034b50"});

  bytes = zip;
  bytes[directory] = 'X';
  cases.push_back({"central header signature", bytes, "central directory entry 0 at offset"});

  cases.push_back({"truncated in half", zip.substr(0, zip.size() / 2), "no end of central directory record"});
  cases.push_back({"empty file", "", "file is 0 bytes"});

  // The first member's float data starts after the 30-byte local header, the 18-byte
  // name "dense_1/kernel.npy" and the 128-byte .npy header.
  bytes = zip;
  bytes[30 + 18 + 128] ^= 0x01;
  cases.push_back({"flipped data bit", bytes, "member dense_1/kernel.npy: CRC-32 0x"});

  bytes = zip;
  Store16(bytes, directory + 10, 12);  // method 12 = bzip2
  cases.push_back({"bzip2 method", bytes, "member dense_1/kernel.npy: compression method 12 is not supported"});

  bytes = zip;
  Store16(bytes, directory + 8, 1);  // general purpose flag bit 0 = encrypted
  cases.push_back({"encrypted", bytes, "member dense_1/kernel.npy: is encrypted"});

  bytes = zip;
  Store16(bytes, zip.size() - 22 + 10, 0xffff);  // total entries: ZIP64 marker
  cases.push_back({"ZIP64 entry count", bytes, "is a ZIP64 archive, which is not supported"});

  bytes = zip;
  Store32(bytes, directory + 42, 0x7fffffff);
  cases.push_back({"local offset out of range", bytes, "local header offset 2147483647 is out of range"});

  bytes = zip;
  Store32(bytes, directory + 20, 0x00ffffff);  // compressed size
  Store32(bytes, directory + 24, 0x00ffffff);  // uncompressed size
  cases.push_back({"size past the end", bytes, "extends past the start of the central directory"});

  bytes = zip;
  Store32(bytes, zip.size() - 22 + 12, 0x7fffffff);  // central directory size
  cases.push_back({"directory past the end", bytes, "central directory ["});

  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    WriteFile(bad, c.bytes);
    const doctest::String error = ErrorOf([&] { frugal::npz::Read(bad.string()); });
    CHECK(error == doctest::Contains(bad.string().c_str()));
    CHECK(error == doctest::Contains(c.expected));
  }
}

TEST_CASE("npz rejects every truncation without reading out of bounds") {
  const fs::path dir = CaseDir("truncations");
  const fs::path good = dir / "good.npz";
  frugal::npz::Write(good.string(), SampleArchive());
  const std::string zip = ReadFile(good);
  const fs::path bad = dir / "bad.npz";
  for (std::size_t length = 0; length < zip.size(); ++length) {
    CAPTURE(length);
    WriteFile(bad, zip.substr(0, length));
    CHECK(ErrorOf([&] { frugal::npz::Read(bad.string()); }) != "");
  }
}

TEST_CASE("npz survives every single-byte corruption") {
  // Some bytes (timestamps, attributes) may change without harm, so each corrupt archive
  // must either read or throw NpzError; a crash or another exception fails. Run under
  // AddressSanitizer to also catch reads out of bounds.
  const fs::path dir = CaseDir("flips");
  const fs::path good = dir / "good.npz";
  frugal::npz::Write(good.string(), SampleArchive());
  const std::string zip = ReadFile(good);
  const fs::path bad = dir / "bad.npz";
  int rejected = 0;
  for (std::size_t offset = 0; offset < zip.size(); ++offset) {
    CAPTURE(offset);
    std::string bytes = zip;
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0xa5);
    WriteFile(bad, bytes);
    if (ErrorOf([&] { frugal::npz::Read(bad.string()); }) != "") ++rejected;
  }
  // Every data byte is covered by a CRC, so most corruptions must be caught.
  CHECK(rejected > static_cast<int>(zip.size() / 2));
}

TEST_CASE("npz rejects corrupt deflate data") {
  const fs::path dir = CaseDir("deflate");
  std::string zip = ReadFile(Fixture("savez_compressed.npz"));
  // The first member "grid.npy" has a ZIP64 extra field of 20 bytes in its local header;
  // read the lengths instead of assuming them.
  const std::size_t name_length = static_cast<std::uint8_t>(zip[26]) | (static_cast<std::uint8_t>(zip[27]) << 8);
  const std::size_t extra_length = static_cast<std::uint8_t>(zip[28]) | (static_cast<std::uint8_t>(zip[29]) << 8);
  const std::size_t data = 30 + name_length + extra_length;
  for (std::size_t i = 0; i < 8; ++i) zip[data + i] = static_cast<char>(0xff);
  const fs::path bad = dir / "bad.npz";
  WriteFile(bad, zip);
  const doctest::String error = ErrorOf([&] { frugal::npz::Read(bad.string()); });
  CHECK(error == doctest::Contains((bad.string() + ": member grid.npy: ").c_str()));
}

TEST_CASE("npz rejects malformed .npy members") {
  const fs::path dir = CaseDir("npy");
  const std::string six_floats(24, '\0');

  struct Case {
    const char* what;
    std::string npy;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"missing data", MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(20, '\0')),
       "holds 20 data bytes, but shape (2, 3) of <f4 needs 24"},
      {"extra data", MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(28, '\0')),
       "holds 28 data bytes, but shape (2, 3) of <f4 needs 24"},
      {"overflowing shape",
       // Each dimension fits a 32-bit size_t; the product does not fit 64 bits.
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967295, 4294967295, 4294967295), }",
               six_floats),
       "has more than 2^64 elements"},
      {"structured dtype", MakeNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "abcd"),
       "dtype a structured dtype is not supported"},
      {"native byte order", MakeNpy("{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }", "abcd"),
       "dtype '=f4' is not supported"},
      {"missing shape", MakeNpy("{'descr': '<f4', 'fortran_order': False, }", six_floats),
       ".npy header lacks 'shape'"},
      {"extra key", MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1, }", "abcd"),
       "unexpected key 'x'"},
      {"syntax error", MakeNpy("{'descr': '<f4' 'fortran_order': False, 'shape': (), }", "abcd"),
       ".npy header is invalid: expected ',' or '}'"},
      {"negative dimension", MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "abcd"),
       ".npy header is invalid: unexpected character"},
      {"bad magic", "\x93NUMPX\x01\x00", "does not start with the .npy magic"},
      {"version 4.0", std::string("\x93NUMPY\x04\x00\x00\x00", 10), ".npy version 4.0 is not supported"},
      {"header past the end", std::string("\x93NUMPY\x01\x00\xff\x00{}", 12), "header length 255 runs past"},
  };
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    const fs::path path = ArchiveWithNpyMember(dir, c.npy);
    const doctest::String error = ErrorOf([&] { frugal::npz::Read(path.string()); });
    CHECK(error == doctest::Contains((path.string() + ": member m.npy: ").c_str()));
    CHECK(error == doctest::Contains(c.expected));
  }
}

TEST_CASE("npz member renaming helper produces a readable archive") {
  // Guards the helper used above: a valid member must read back, so the cases above fail
  // for the reason they name.
  const fs::path dir = CaseDir("helper");
  std::string data;
  for (const float value : {1.0f, 2.0f}) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, 4);
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  const fs::path path =
      ArchiveWithNpyMember(dir, MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data));
  CheckArray(frugal::npz::Read(path.string()), "m", {2}, {1.0f, 2.0f});
}

TEST_CASE("atomic write replaces the file and leaves no temporary file") {
  const fs::path dir = CaseDir("atomic_ok");
  const fs::path path = dir / "out.bin";
  frugal::WriteFileAtomically(path.string(), "old contents");
  frugal::WriteFileAtomically(path.string(), "new");
  CHECK(ReadFile(path) == "new");
  CHECK(FolderContents(dir) == std::vector<std::string>{"out.bin"});
}

TEST_CASE("atomic write into a missing folder fails naming the path") {
  const fs::path dir = CaseDir("atomic_missing");
  const fs::path path = dir / "no_such_folder" / "model.npz";
  const doctest::String error = ErrorOf([&] { frugal::npz::Write(path.string(), SampleArchive()); });
  CHECK(error == doctest::Contains(("writing " + path.string() + " failed: cannot create ").c_str()));
  CHECK(error == doctest::Contains("No such file or directory"));
  CHECK(FolderContents(dir).empty());
}

TEST_CASE("atomic write over a folder keeps the folder and removes the temporary file") {
  // rename() of a file over a non-empty folder fails even for root.
  const fs::path dir = CaseDir("atomic_folder");
  const fs::path target = dir / "model.npz";
  fs::create_directories(target);
  WriteFile(target / "keep", "kept");
  const doctest::String error = ErrorOf([&] { frugal::npz::Write(target.string(), SampleArchive()); });
  CHECK(error == doctest::Contains(("writing " + target.string() + " failed: cannot rename ").c_str()));
  CHECK(fs::is_directory(target));
  CHECK(ReadFile(target / "keep") == "kept");
  CHECK(FolderContents(dir) == std::vector<std::string>{"model.npz"});
}

TEST_CASE("atomic write that fails midway keeps the old file") {
  // RLIMIT_FSIZE makes write() fail with EFBIG once the file would pass the limit; it
  // applies to root too. SIGXFSZ is ignored so that the error is returned, not fatal.
  const fs::path dir = CaseDir("atomic_efbig");
  const fs::path path = dir / "model.npz";
  WriteFile(path, "previous checkpoint");

  Archive big;
  big.arrays.push_back({"weights", {100000}, std::vector<float>(100000, 1.0f)});

  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit limited = saved;
  limited.rlim_cur = 64 * 1024;
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  const doctest::String error = ErrorOf([&] { frugal::npz::Write(path.string(), big); });
  REQUIRE(setrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, previous_handler);

  CHECK(error == doctest::Contains(("writing " + path.string() + " failed: cannot write ").c_str()));
  CHECK(error == doctest::Contains("File too large"));
  CHECK(ReadFile(path) == "previous checkpoint");
  CHECK(FolderContents(dir) == std::vector<std::string>{"model.npz"});
}

TEST_CASE("npz write with invalid data keeps the old file") {
  const fs::path dir = CaseDir("invalid_keeps_old");
  const fs::path path = dir / "model.npz";
  frugal::npz::Write(path.string(), SampleArchive());
  const std::string before = ReadFile(path);
  Archive invalid;
  invalid.arrays.push_back({"w", {2, 2}, {1.0f}});
  CHECK(ErrorOf([&] { frugal::npz::Write(path.string(), invalid); }) != "");
  CHECK(ReadFile(path) == before);
  CHECK(FolderContents(dir) == std::vector<std::string>{"model.npz"});
}
