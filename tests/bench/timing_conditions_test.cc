// Parsers of the governor, throttling, temperature and cpuinfo files, on sample text,
// and the warnings built from them.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "timing_conditions.h"

namespace frugal::bench {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("ParseGovernor trims the line") {
  CHECK(ParseGovernor("performance\n") == "performance");
  CHECK(ParseGovernor("  ondemand \n") == "ondemand");
  CHECK(ParseGovernor("\n").empty());
}

TEST_CASE("ParseThrottled formats") {
  CHECK(ParseThrottled("throttled=0x0\n") == 0u);
  CHECK(ParseThrottled("throttled=0x50005\n") == 0x50005u);
  CHECK(ParseThrottled("50005\n") == 0x50005u);   // the sysfs file: hexadecimal, no prefix
  CHECK(ParseThrottled("0x80000") == 0x80000u);
  CHECK_FALSE(ParseThrottled("").has_value());
  CHECK_FALSE(ParseThrottled("throttled=").has_value());
  CHECK_FALSE(ParseThrottled("error=2 error_msg=\"Command not registered\"").has_value());
}

TEST_CASE("DescribeThrottled bits") {
  // 0x50005: under-voltage now (bit 0), throttled now (bit 2), and the same two since
  // boot (bits 16 and 18).
  const std::vector<std::string> conditions = DescribeThrottled(0x50005);
  REQUIRE(conditions.size() == 4);
  CHECK(conditions[0] == "under-voltage now");
  CHECK(conditions[1] == "throttled now");
  CHECK(conditions[2] == "under-voltage since boot");
  CHECK(conditions[3] == "throttled since boot");
  CHECK(DescribeThrottled(0).empty());
}

TEST_CASE("ParseThermalCelsius millidegrees") {
  CHECK(ParseThermalCelsius("48312\n") == doctest::Approx(48.312));
  CHECK(ParseThermalCelsius("-5000") == doctest::Approx(-5.0));
  CHECK_FALSE(ParseThermalCelsius("hot").has_value());
  CHECK_FALSE(ParseThermalCelsius("").has_value());
}

TEST_CASE("ParseCpuModel keys") {
  CHECK(ParseCpuModel("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7\n") ==
        "Intel(R) Core(TM) i7");
  // Raspberry Pi OS 32-bit: no "model name" with a value, a "Hardware" line instead.
  CHECK(ParseCpuModel("processor\t: 0\nmodel name\t:\nHardware\t: BCM2835\nRevision\t: a02082\n") == "BCM2835");
  CHECK(ParseCpuModel("processor\t: 0\n").empty());
}

TEST_CASE("TimingWarnings none for a quiet machine") {
  TimingConditions conditions;
  conditions.governors = {"performance", "performance"};
  conditions.throttled = 0;
  conditions.soc_celsius = 45.0;
  CHECK(TimingWarnings(conditions).empty());
}

TEST_CASE("TimingWarnings governor") {
  TimingConditions conditions;
  conditions.governors = {"performance", "ondemand", "ondemand", "powersave"};
  const std::vector<std::string> warnings = TimingWarnings(conditions);
  REQUIRE(warnings.size() == 1);
  CHECK(Contains(warnings[0], "governor is ondemand, powersave, not performance"));

  conditions.governors.clear();
  const std::vector<std::string> unknown = TimingWarnings(conditions);
  REQUIRE(unknown.size() == 1);
  CHECK(Contains(unknown[0], "governor unknown"));
}

TEST_CASE("TimingWarnings throttling and heat") {
  TimingConditions conditions;
  conditions.governors = {"performance"};
  conditions.throttled = 0x50005;
  conditions.soc_celsius = 82.5;
  const std::vector<std::string> warnings = TimingWarnings(conditions);
  REQUIRE(warnings.size() == 2);
  CHECK(Contains(warnings[0], "get_throttled = 0x50005"));
  CHECK(Contains(warnings[0], "under-voltage now"));
  CHECK(Contains(warnings[1], "82.5"));
}

}  // namespace
}  // namespace frugal::bench
