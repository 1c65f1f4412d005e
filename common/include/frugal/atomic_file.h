// Writes a whole file so that readers see either the old contents or the new ones.
#pragma once

#include <string>
#include <string_view>

namespace frugal {

// Writes `bytes` to a temporary file next to `path`, flushes it to disk (fsync), and
// renames it over `path`. On any failure it removes the temporary file, leaves `path`
// untouched and throws std::runtime_error naming the path and the system error.
void WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace frugal
