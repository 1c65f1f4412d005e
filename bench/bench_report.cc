// Writes a frugal-bench report to stdout as text, JSON or CSV.
#include "bench_report.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

namespace frugal::bench {
namespace {

std::string JsonString(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

std::string JsonStrings(const std::vector<std::string>& values) {
  std::string json = "[";
  for (std::size_t i = 0; i < values.size(); ++i) json += (i > 0 ? ", " : "") + JsonString(values[i]);
  return json + "]";
}

double Density(std::uint64_t nonzeros, std::uint64_t weights) {
  return weights == 0 ? 0.0 : static_cast<double>(nonzeros) / static_cast<double>(weights);
}

long AddedKib(const Report& report) {
  if (report.rss_before_load_kib < 0 || report.rss_after_load_kib < 0) return -1;
  return report.rss_after_load_kib - report.rss_before_load_kib;
}

std::string KibText(long kib) { return kib < 0 ? "unknown" : std::to_string(kib) + " KiB"; }

void PrintMethodTable(const Report& report, std::uint64_t batch) {
  std::printf("%-14s %10s %10s %8s %10s %10s %10s %10s %10s %10s %10s %9s %10s\n", "method", "first_us",
              "warmup_us", "runs", "min_us", "median_us", "mean_us", "p90_us", "p99_us", "max_us", "stddev_us",
              "speedup", "max_diff");
  for (const MethodResult& m : report.methods) {
    const Summary& s = m.timed;
    std::printf("%-14s %10.3f %10.3f %8zu %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f %8.2fx %10.3g\n",
                m.name.c_str(), m.first_us, m.warmup_mean_us, s.count, s.min, s.median, s.mean, s.p90, s.p99, s.max,
                s.stddev, m.stored_speedup, m.max_abs_difference);
  }
  std::printf("speedup: a method's median / the stored model's median (above 1: the stored model is faster)\n");
  std::printf("inferences per second (batch / median):");
  for (const MethodResult& m : report.methods) {
    const double per_second = m.timed.median > 0.0 ? static_cast<double>(batch) * 1e6 / m.timed.median : 0.0;
    std::printf(" %s %.0f%s", m.name.c_str(), per_second, &m == &report.methods.back() ? "" : ",");
  }
  std::printf("\n");
  std::printf("max_diff: largest |output - stored output| on the first batch\n");
}

void PrintProfileTable(const Report& report) {
  std::printf("\nper-layer profile of the stored model (%zu runs of batch 1 per layer):\n", report.profile_runs);
  std::printf("%-5s %-16s %-24s %6s %6s %9s %8s %10s %6s\n", "layer", "name", "kernel", "rows", "cols", "nonzeros",
              "density", "median_us", "share");
  for (std::size_t i = 0; i < report.profile.size(); ++i) {
    const LayerProfile& layer = report.profile[i];
    const std::uint64_t weights = std::uint64_t{layer.rows} * layer.cols;
    std::printf("%-5zu %-16s %-24s %6u %6u %9llu %7.2f%% %10.3f %5.1f%%\n", i, layer.name.c_str(),
                layer.kernel.c_str(), layer.rows, layer.cols, static_cast<unsigned long long>(layer.nonzeros),
                100.0 * Density(layer.nonzeros, weights), layer.median_us, 100.0 * layer.share);
  }
}

}  // namespace

void PrintText(const Report& report, const Options& options) {
  std::printf("model: %s (%zu bytes, %zu layers, %zu inputs, %zu outputs)\n", report.model_path.c_str(),
              report.file_bytes, report.layer_count, report.input_size, report.output_size);
  std::printf("weights: %llu, stored values: %llu, non-zeros: %llu (density %.2f%%)\n",
              static_cast<unsigned long long>(report.weights), static_cast<unsigned long long>(report.stored_values),
              static_cast<unsigned long long>(report.nonzeros), 100.0 * Density(report.nonzeros, report.weights));
  std::printf("load and verify: %.3f ms\n", report.load_ms);
  std::printf("machine: %s\n", report.machine.c_str());
  std::printf("command: frugal-bench %s\n", options.command_line.c_str());
  std::printf("input: %s; batch %llu; threads %llu; %llu warm-up and at least %llu timed runs per method\n",
              report.input_description.c_str(), static_cast<unsigned long long>(options.batch),
              static_cast<unsigned long long>(options.threads), static_cast<unsigned long long>(options.warmup),
              static_cast<unsigned long long>(options.runs));
  std::printf("memory: RSS %s before load, %s after load and interpreter (model adds %s); model buffer %zu bytes, "
              "interpreter buffers %zu bytes; peak RSS %s\n",
              KibText(report.rss_before_load_kib).c_str(), KibText(report.rss_after_load_kib).c_str(),
              KibText(AddedKib(report)).c_str(), report.file_bytes, report.interpreter_bytes,
              KibText(report.peak_rss_kib).c_str());
  for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
  for (const std::string& warning : report.warnings) std::printf("warning: %s\n", warning.c_str());
  std::printf("\n");
  PrintMethodTable(report, options.batch);
  if (!report.profile.empty()) PrintProfileTable(report);
}

void PrintJson(const Report& report, const Options& options) {
  std::string json = "{";
  json += "\"model\": " + JsonString(report.model_path);
  json += ", \"file_bytes\": " + std::to_string(report.file_bytes);
  json += ", \"layers\": " + std::to_string(report.layer_count);
  json += ", \"input_size\": " + std::to_string(report.input_size);
  json += ", \"output_size\": " + std::to_string(report.output_size);
  json += ", \"weights\": " + std::to_string(report.weights);
  json += ", \"stored_values\": " + std::to_string(report.stored_values);
  json += ", \"nonzeros\": " + std::to_string(report.nonzeros);
  json += ", \"density\": " + JsonNumber(Density(report.nonzeros, report.weights));
  json += ", \"load_ms\": " + JsonNumber(report.load_ms);
  json += ", \"machine\": " + JsonString(report.machine);
  json += ", \"command\": " + JsonString("frugal-bench " + options.command_line);
  json += ", \"input\": " + JsonString(report.input_description);
  json += ", \"batch\": " + std::to_string(options.batch);
  json += ", \"threads\": " + std::to_string(options.threads);
  json += ", \"warmup\": " + std::to_string(options.warmup);
  json += ", \"min_runs\": " + std::to_string(options.runs);
  json += ", \"min_seconds\": " + JsonNumber(options.min_seconds);

  json += ", \"memory\": {\"rss_before_load_kib\": " + std::to_string(report.rss_before_load_kib);
  json += ", \"rss_after_load_kib\": " + std::to_string(report.rss_after_load_kib);
  json += ", \"model_added_kib\": " + std::to_string(AddedKib(report));
  json += ", \"peak_rss_kib\": " + std::to_string(report.peak_rss_kib);
  json += ", \"model_buffer_bytes\": " + std::to_string(report.file_bytes);
  json += ", \"interpreter_buffer_bytes\": " + std::to_string(report.interpreter_bytes) + "}";

  const TimingConditions& conditions = report.conditions;
  json += ", \"timing_conditions\": {\"governors\": " + JsonStrings(conditions.governors);
  json += ", \"throttled\": " + (conditions.throttled ? std::to_string(*conditions.throttled) : "null");
  json += ", \"soc_celsius\": " + (conditions.soc_celsius ? JsonNumber(*conditions.soc_celsius) : "null") + "}";
  json += ", \"warnings\": " + JsonStrings(report.warnings);
  json += ", \"notes\": " + JsonStrings(report.notes);

  json += ", \"methods\": [";
  for (std::size_t i = 0; i < report.methods.size(); ++i) {
    const MethodResult& m = report.methods[i];
    const Summary& s = m.timed;
    json += i > 0 ? ", " : "";
    json += "{\"method\": " + JsonString(m.name);
    json += ", \"first_us\": " + JsonNumber(m.first_us);
    json += ", \"warmup_mean_us\": " + JsonNumber(m.warmup_mean_us);
    json += ", \"runs\": " + std::to_string(s.count);
    json += ", \"min_us\": " + JsonNumber(s.min);
    json += ", \"median_us\": " + JsonNumber(s.median);
    json += ", \"mean_us\": " + JsonNumber(s.mean);
    json += ", \"p90_us\": " + JsonNumber(s.p90);
    json += ", \"p99_us\": " + JsonNumber(s.p99);
    json += ", \"max_us\": " + JsonNumber(s.max);
    json += ", \"stddev_us\": " + JsonNumber(s.stddev);
    json += ", \"stored_speedup\": " + JsonNumber(m.stored_speedup);
    json += ", \"max_abs_difference\": " + JsonNumber(m.max_abs_difference);
    json += ", \"buffer_bytes\": " + std::to_string(m.buffer_bytes);
    json += ", \"checksum\": " + JsonNumber(m.checksum) + "}";
  }
  json += "]";

  json += ", \"profile_runs\": " + std::to_string(report.profile_runs);
  json += ", \"profile\": [";
  for (std::size_t i = 0; i < report.profile.size(); ++i) {
    const LayerProfile& layer = report.profile[i];
    json += i > 0 ? ", " : "";
    json += "{\"layer\": " + JsonString(layer.name);
    json += ", \"kernel\": " + JsonString(layer.kernel);
    json += ", \"rows\": " + std::to_string(layer.rows);
    json += ", \"cols\": " + std::to_string(layer.cols);
    json += ", \"nonzeros\": " + std::to_string(layer.nonzeros);
    json += ", \"density\": " + JsonNumber(Density(layer.nonzeros, std::uint64_t{layer.rows} * layer.cols));
    json += ", \"median_us\": " + JsonNumber(layer.median_us);
    json += ", \"share\": " + JsonNumber(layer.share) + "}";
  }
  json += "]}\n";
  std::fputs(json.c_str(), stdout);
}

void PrintCsv(const Report& report, const Options& options) {
  std::printf("method,batch,threads,runs,first_us,warmup_mean_us,min_us,median_us,mean_us,p90_us,p99_us,max_us,"
              "stddev_us,stored_speedup,max_abs_difference,buffer_bytes\n");
  for (const MethodResult& m : report.methods) {
    const Summary& s = m.timed;
    std::printf("%s,%llu,%llu,%zu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.6g,%zu\n", m.name.c_str(),
                static_cast<unsigned long long>(options.batch), static_cast<unsigned long long>(options.threads),
                s.count, m.first_us, m.warmup_mean_us, s.min, s.median, s.mean, s.p90, s.p99, s.max, s.stddev,
                m.stored_speedup, m.max_abs_difference, m.buffer_bytes);
  }
}

}  // namespace frugal::bench
