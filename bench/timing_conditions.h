// Checks of the conditions under which latency measurements are not comparable: a CPU
// frequency governor other than "performance", firmware-reported throttling on a
// Raspberry Pi, and a hot SoC. The parsers take file contents so tests can feed them text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::bench {

// Above this SoC temperature the Raspberry Pi firmware starts to lower the clock
// (its soft limit is 80 °C by default on the Pi 3B+ and later).
constexpr double kHotSocCelsius = 80.0;

// The governor named in one scaling_governor file, without surrounding white space; an
// empty string if the contents are blank.
std::string ParseGovernor(std::string_view contents);

// The bit mask of `vcgencmd get_throttled` ("throttled=0x50005") or of the firmware's
// sysfs file get_throttled (hexadecimal, with or without "0x"); nullopt if unreadable.
std::optional<std::uint32_t> ParseThrottled(std::string_view contents);

// The temperature in °C from a thermal_zone*/temp file, which contains millidegrees Celsius;
// nullopt if the contents are not an integer.
std::optional<double> ParseThermalCelsius(std::string_view contents);

// The conditions named by the set bits of a get_throttled mask, for example
// "under-voltage now" or "throttled since boot"; bits that are not documented are ignored.
std::vector<std::string> DescribeThrottled(std::uint32_t mask);

struct TimingConditions {
  // Distinct governors of all CPUs in CPU order, or empty when cpufreq is not exposed.
  std::vector<std::string> governors;
  std::optional<std::uint32_t> throttled;  // get_throttled mask, when the firmware reports it
  std::optional<double> soc_celsius;       // thermal_zone0, when present
};

// One line per condition that makes timing untrustworthy, empty when none is found. An
// unknown governor is reported too, because the clock may then change during a run.
std::vector<std::string> TimingWarnings(const TimingConditions& conditions);

// The CPU model named in /proc/cpuinfo: the "model name" line (x86, most ARM kernels) or,
// failing that, "Hardware" or "Processor"; empty when none is present.
std::string ParseCpuModel(std::string_view cpuinfo);

// One line describing this machine for reports: the board model from the device tree
// when there is one (Raspberry Pi), the CPU model and the number of logical CPUs.
std::string DescribeMachine();

// Reads the conditions of this machine from /sys (and `vcgencmd get_throttled` when the
// sysfs file is absent but the command exists). Missing files leave fields empty.
TimingConditions ReadTimingConditions();

}  // namespace frugal::bench
