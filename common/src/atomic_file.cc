// Atomic whole-file writes: a temporary file in the target's folder, fsync, then rename,
// so readers and crashes see either the old file or the complete new one.
#include "frugal/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace frugal {
namespace {

// Distinguishes temporary files of concurrent writes from one process; the pid
// distinguishes processes.
std::atomic<unsigned long> temp_counter{0};

// Message form: "writing out/model.frugal failed: cannot create out/.model.frugal.tmp.7.0:
// No such file or directory".
[[noreturn]] void Fail(const std::string& path, const std::string& step, int error) {
  throw std::runtime_error("writing " + path + " failed: " + step + ": " + std::strerror(error));
}

// Owns the temporary file until it is renamed: closes the descriptor and removes the
// file on every early exit.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  void set_fd(int fd) { fd_ = fd; }
  int ReleaseFd() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void MarkRenamed() { renamed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool renamed_ = false;
};

void WriteAll(int fd, std::string_view bytes, const std::string& path, const std::string& temp_path) {
  const char* next = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, next, left);
    if (written < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      Fail(path, "cannot write " + temp_path, error);
    }
    next += written;
    left -= static_cast<std::size_t>(written);
  }
}

// Makes the rename itself durable. Failure here is not reported: the new file is already
// complete and in place, and some file systems reject fsync on a directory.
void SyncFolder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::filesystem::path target(path);
  const std::string file_name = target.filename().string();
  if (file_name.empty()) {
    throw std::runtime_error("writing " + path + " failed: the path names a folder, not a file");
  }

  const std::filesystem::path folder = target.parent_path();
  const std::string temp_name = "." + file_name + ".tmp." + std::to_string(::getpid()) + "." +
                                std::to_string(temp_counter.fetch_add(1));
  TempFile temp((folder / temp_name).string());

  // O_EXCL: never reuse a file left by another writer. Mode 0666 is narrowed by the
  // umask, as for any newly created file.
  // NOTE: the permissions of an existing file at `path` are not carried over.
  const int fd = ::open(temp.path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int error = errno;
    // Nothing was created, so there is nothing to remove.
    temp.MarkRenamed();
    Fail(path, "cannot create " + temp.path(), error);
  }
  temp.set_fd(fd);

  WriteAll(temp.fd(), bytes, path, temp.path());
  if (::fsync(temp.fd()) != 0) {
    const int error = errno;
    Fail(path, "cannot fsync " + temp.path(), error);
  }
  if (::close(temp.ReleaseFd()) != 0) {
    const int error = errno;
    Fail(path, "cannot close " + temp.path(), error);
  }
  if (std::rename(temp.path().c_str(), path.c_str()) != 0) {
    const int error = errno;
    Fail(path, "cannot rename " + temp.path() + " over it", error);
  }
  temp.MarkRenamed();
  SyncFolder(folder);
}

}  // namespace frugal
