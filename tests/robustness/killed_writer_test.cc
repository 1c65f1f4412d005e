// Kills writers with SIGKILL at random moments and checks that no work is lost. The
// target file must always be either the complete previous version or the complete new
// one. The only leftovers may be hidden temporary files (".NAME.tmp.PID.N"), which no
// reader opens by the target's name. SIGKILL cannot be caught, so those temporary files stay
// behind; docs/robustness.md says how to clean them up.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "frugal/atomic_file.h"
#include "frugal/npz.h"
#include "test_paths.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

constexpr int kKills = 6;

std::string ReadAll(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// `size` bytes that differ between versions, so a mix of two versions is detected.
std::string Version(std::size_t size, char tag) {
  std::string bytes(size, tag);
  for (std::size_t i = 0; i < size; i += 4096) bytes[i] = static_cast<char>(i / 4096 % 251);
  return bytes;
}

// Runs `child` in a forked process and SIGKILLs it after `delay` (or lets it finish when
// the delay outlasts it). Returns the child's pid.
template <typename Child>
pid_t RunAndKill(std::chrono::microseconds delay, Child child) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// Every file in `folder` other than `name` must be a temporary file of `name`.
void CheckOnlyTemporaryLeftovers(const fs::path& folder, const std::string& name) {
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string file = entry.path().filename().string();
    if (file == name || entry.is_directory()) continue;
    CHECK_MESSAGE(file.rfind("." + name + ".tmp.", 0) == 0, "unexpected file left behind: " << file);
  }
}

std::chrono::microseconds TimeOneRun(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

TEST_CASE("killed atomic writer leaves old or new file") {
  const fs::path folder = testing::ScratchDir() / "killed_writer";
  fs::remove_all(folder);
  fs::create_directories(folder);
  const fs::path target = folder / "model.frugal";

  // One uninterrupted write of the same size sets the range of kill times. Delays run up
  // to twice its duration, so that some writers finish and some do not.
  const std::string next_base = Version(32 << 20, 'b');
  const std::chrono::microseconds full = TimeOneRun([&] { WriteFileAtomically(target.string(), next_base); });
  std::string current = next_base;

  std::mt19937 rng(20240601);
  int interrupted = 0;
  for (int k = 0; k < kKills; ++k) {
    std::string next = next_base;
    next[next.size() / 2] = static_cast<char>('0' + k);  // each round's new version is distinct
    std::uniform_int_distribution<long> delay(0, std::max<long>(1, 2 * full.count()));
    RunAndKill(std::chrono::microseconds(delay(rng)), [&] { WriteFileAtomically(target.string(), next); });

    const std::string seen = ReadAll(target);
    const bool is_old = seen == current;
    const bool is_new = seen == next;
    CHECK_MESSAGE((is_old || is_new), "round " << k << ": " << seen.size() << " bytes, neither version");
    CheckOnlyTemporaryLeftovers(folder, "model.frugal");
    if (is_new) current = next;
    interrupted += is_old ? 1 : 0;
  }
  MESSAGE(interrupted << " of " << kKills << " writers were killed before their rename");
}

#ifdef FRUGAL_CONVERT_PATH
TEST_CASE("killed frugal-convert leaves old or new model") {
  const fs::path folder = testing::ScratchDir() / "killed_convert";
  fs::remove_all(folder);
  fs::create_directories(folder);
  fs::create_directories(folder / "input");
  const fs::path checkpoint = folder / "input" / "big.npz";
  const fs::path target = folder / "model.frugal";

  // 784 -> 2000 -> 10 with every weight non-zero: about 6.4 MB of weights.
  npz::Archive archive;
  const std::size_t inputs = 784;
  const std::size_t hidden = 2000;
  archive.arrays.push_back({"dense_1/kernel", {inputs, hidden}, std::vector<float>(inputs * hidden, 0.5f)});
  archive.arrays.push_back({"dense_1/bias", {hidden}, std::vector<float>(hidden, 0.0f)});
  archive.arrays.push_back({"dense_2/kernel", {hidden, 10}, std::vector<float>(hidden * 10, -0.25f)});
  archive.arrays.push_back({"dense_2/bias", {10}, std::vector<float>(10, 0.0f)});
  archive.raw_members.push_back(
      {"architecture.json",
       R"({"format":"frugal-checkpoint","version":1,"input_size":784,"input_scale":1,"class_count":10,)"
       R"("layers":[{"name":"dense_1","units":2000,"activation":"relu"},)"
       R"({"name":"dense_2","units":10,"activation":"none"}]})"});
  npz::Write(checkpoint.string(), archive);

  const std::string command = std::string(FRUGAL_CONVERT_PATH) + " " + checkpoint.string() + " -o " +
                              target.string() + " >/dev/null 2>&1";
  const std::chrono::microseconds full = TimeOneRun([&] { REQUIRE(std::system(command.c_str()) == 0); });
  std::string current = ReadAll(target);
  REQUIRE(current.size() > 6000000);

  std::mt19937 rng(7);
  std::uniform_int_distribution<long> delay(0, full.count());
  for (int k = 0; k < kKills; ++k) {
    // The same checkpoint converts to the same bytes, so this checks for a complete file,
    // not for which run wrote it. Each round first replaces the target with a marker.
    const std::string marker = "marker " + std::to_string(k);
    WriteFileAtomically(target.string(), marker);
    RunAndKill(std::chrono::microseconds(delay(rng)), [&] {
      ::execl(FRUGAL_CONVERT_PATH, FRUGAL_CONVERT_PATH, checkpoint.c_str(), "-o", target.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    });
    const std::string seen = ReadAll(target);
    CHECK_MESSAGE((seen == marker || seen == current), "round " << k << ": " << seen.size() << " bytes");
    CheckOnlyTemporaryLeftovers(folder, "model.frugal");
  }
}
#endif

}  // namespace
}  // namespace frugal
