// Reader and writer for NumPy .npz archives (a ZIP of .npy files), the checkpoint format
// that frugal-train writes and frugal-convert reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace frugal::npz {

// Thrown for an archive or array that cannot be read or written. The message names the
// file, the member (array) and the offending value.
class NpzError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An array converted to float32 in C (row-major) order, whatever its stored dtype,
// byte order or memory order.
struct Array {
  std::string name;                // member name without the ".npy" suffix
  std::vector<std::size_t> shape;  // empty for a 0-d array
  std::vector<float> data;         // product of shape elements
};

// A member stored as raw bytes (for example "architecture.json").
struct RawMember {
  std::string name;
  std::string bytes;
};

struct Archive {
  std::vector<Array> arrays;
  std::vector<RawMember> raw_members;

  // Returns the array with this name, or nullptr.
  const Array* FindArray(const std::string& name) const;
  const RawMember* FindRaw(const std::string& name) const;
};

// Reads every member. Members ending in ".npy" become arrays (float16/32/64 of either
// byte order, C or Fortran order; other dtypes are rejected with the member name).
// Other members are returned as raw bytes. Stored members always work; deflated
// members need zlib in the build.
Archive Read(const std::string& path);

// Same as Read, on the bytes of an archive already in memory. `source_name` is used in
// error messages in place of a path.
Archive Parse(const std::vector<std::uint8_t>& bytes, const std::string& source_name);

// Writes the arrays (as little-endian float32 "<f4", C order) and raw members as stored,
// uncompressed ZIP entries, in the given order. The archive goes to a temporary file in
// the same folder, is flushed and renamed over `path`, so a failed or killed write leaves
// any previous file intact.
void Write(const std::string& path, const Archive& archive);

}  // namespace frugal::npz
