// Reads the CPU frequency governor, Raspberry Pi throttling and the SoC temperature.
#include "timing_conditions.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <thread>

namespace frugal::bench {
namespace {

std::string_view Trim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::optional<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::optional<std::string> RunVcgencmd() {
  for (const char* path : {"/usr/bin/vcgencmd", "/opt/vc/bin/vcgencmd"}) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) continue;
    const std::string command = std::string(path) + " get_throttled 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return std::nullopt;
    std::string output;
    char buffer[128];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
    if (pclose(pipe) != 0) return std::nullopt;
    return output;
  }
  return std::nullopt;
}

}  // namespace

std::string ParseGovernor(std::string_view contents) { return std::string(Trim(contents)); }

std::optional<std::uint32_t> ParseThrottled(std::string_view contents) {
  std::string_view text = Trim(contents);
  if (text.starts_with("throttled=")) text.remove_prefix(10);
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  std::uint32_t mask = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), mask, 16);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return mask;
}

std::optional<double> ParseThermalCelsius(std::string_view contents) {
  const std::string_view text = Trim(contents);
  long millidegrees = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), millidegrees);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return static_cast<double>(millidegrees) / 1000.0;
}

std::vector<std::string> DescribeThrottled(std::uint32_t mask) {
  // Bit meanings from the Raspberry Pi documentation of `vcgencmd get_throttled`.
  static const std::map<unsigned, const char*> kBits = {
      {0, "under-voltage now"},          {1, "ARM frequency capped now"},
      {2, "throttled now"},              {3, "soft temperature limit active now"},
      {16, "under-voltage since boot"},  {17, "ARM frequency capped since boot"},
      {18, "throttled since boot"},      {19, "soft temperature limit reached since boot"},
  };
  std::vector<std::string> conditions;
  for (const auto& [bit, text] : kBits) {
    if ((mask >> bit) & 1u) conditions.emplace_back(text);
  }
  return conditions;
}

std::vector<std::string> TimingWarnings(const TimingConditions& conditions) {
  std::vector<std::string> warnings;
  if (conditions.governors.empty()) {
    warnings.emplace_back("CPU frequency governor unknown (no cpufreq in /sys); the clock may change during timing");
  } else {
    std::string others;
    std::vector<std::string> seen;
    for (const std::string& governor : conditions.governors) {
      if (governor == "performance" || std::find(seen.begin(), seen.end(), governor) != seen.end()) continue;
      seen.push_back(governor);
      if (!others.empty()) others += ", ";
      others += governor.empty() ? "<blank>" : governor;
    }
    if (!others.empty()) {
      warnings.push_back("CPU frequency governor is " + others +
                         ", not performance; timings vary with the clock (set it to performance to compare runs)");
    }
  }
  if (conditions.throttled.has_value() && *conditions.throttled != 0) {
    std::string text;
    for (const std::string& condition : DescribeThrottled(*conditions.throttled)) {
      text += text.empty() ? condition : ", " + condition;
    }
    char mask[16];
    std::snprintf(mask, sizeof(mask), "0x%x", static_cast<unsigned>(*conditions.throttled));
    warnings.push_back(std::string("firmware reports throttling (get_throttled = ") + mask + ")" +
                       (text.empty() ? "" : ": " + text));
  }
  if (conditions.soc_celsius.has_value() && *conditions.soc_celsius > kHotSocCelsius) {
    char text[96];
    std::snprintf(text, sizeof(text), "SoC temperature %.1f °C is above %.0f °C; the clock may be lowered",
                  *conditions.soc_celsius, kHotSocCelsius);
    warnings.emplace_back(text);
  }
  return warnings;
}

std::string ParseCpuModel(std::string_view cpuinfo) {
  for (std::string_view key : {"model name", "Hardware", "Processor"}) {
    std::size_t start = 0;
    while (start < cpuinfo.size()) {
      std::size_t end = cpuinfo.find('\n', start);
      if (end == std::string_view::npos) end = cpuinfo.size();
      const std::string_view line = cpuinfo.substr(start, end - start);
      start = end + 1;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || Trim(line.substr(0, colon)) != key) continue;
      const std::string_view value = Trim(line.substr(colon + 1));
      if (!value.empty()) return std::string(value);
    }
  }
  return {};
}

std::string DescribeMachine() {
  std::string description;
  if (std::optional<std::string> board = ReadSmallFile("/proc/device-tree/model")) {
    // The device tree string ends with a NUL byte.
    description = std::string(Trim(std::string_view(board->c_str())));
  }
  std::string cpu;
  if (std::optional<std::string> cpuinfo = ReadSmallFile("/proc/cpuinfo")) cpu = ParseCpuModel(*cpuinfo);
  if (cpu.empty()) cpu = "unknown CPU";
  description += description.empty() ? cpu : ", " + cpu;
  return description + ", " + std::to_string(std::thread::hardware_concurrency()) + " logical CPUs";
}

TimingConditions ReadTimingConditions() {
  namespace fs = std::filesystem;
  TimingConditions conditions;

  // cpu0, cpu1, ... in numeric order; other entries (cpufreq, cpuidle) are skipped.
  std::map<unsigned long, fs::path> cpus;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/sys/devices/system/cpu", error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || !name.starts_with("cpu")) continue;
    unsigned long index = 0;
    const auto [end, parse_error] = std::from_chars(name.data() + 3, name.data() + name.size(), index);
    if (parse_error != std::errc() || end != name.data() + name.size()) continue;
    cpus[index] = entry.path() / "cpufreq" / "scaling_governor";
  }
  for (const auto& [index, path] : cpus) {
    if (std::optional<std::string> contents = ReadSmallFile(path)) conditions.governors.push_back(ParseGovernor(*contents));
  }

  std::optional<std::string> throttled = ReadSmallFile("/sys/devices/platform/soc/soc:firmware/get_throttled");
  if (!throttled) throttled = RunVcgencmd();
  if (throttled) conditions.throttled = ParseThrottled(*throttled);

  if (std::optional<std::string> temp = ReadSmallFile("/sys/class/thermal/thermal_zone0/temp")) {
    conditions.soc_celsius = ParseThermalCelsius(*temp);
  }
  return conditions;
}

}  // namespace frugal::bench
