// Per-epoch evaluation and its JSON and text reports.
#include "frugal/trainer/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

#include <nlohmann/json.hpp>

namespace frugal::trainer {
namespace {

nlohmann::ordered_json CountJson(std::size_t num, std::size_t nonzero) {
  nlohmann::ordered_json count;
  count["num"] = num;
  count["numNz"] = nonzero;
  return count;
}

nlohmann::ordered_json RemovedJson(const RemovedCount& count) {
  nlohmann::ordered_json json;
  json["num"] = count.num;
  json["removed"] = count.removed;
  return json;
}

double ZeroFraction(std::size_t total, std::size_t nonzero) {
  if (total == 0) return 0.0;
  return static_cast<double>(total - nonzero) / static_cast<double>(total);
}

}  // namespace

LossAndError Evaluate(const Mlp& model, const DataView& data, std::size_t chunk_size) {
  LossAndError result;
  if (data.count == 0) return result;
  Eigen::MatrixXf inputs;
  Eigen::MatrixXf logits;
  double loss_sum = 0.0;
  std::size_t errors = 0;
  for (std::size_t first = 0; first < data.count; first += chunk_size) {
    const std::size_t count = std::min(chunk_size, data.count - first);
    GatherInputs(model, data.pixels, {}, first, count, inputs);
    Forward(model, inputs, logits);
    loss_sum += SumCrossEntropy(logits, std::span(data.labels + first, count), &errors);
  }
  result.cross_entropy = loss_sum / static_cast<double>(data.count);
  result.error_rate = static_cast<double>(errors) / static_cast<double>(data.count);
  return result;
}

std::vector<NonzeroCount> CountNonzero(const Mlp& model, float threshold) {
  std::vector<NonzeroCount> counts;
  const auto count = [&](const std::string& name, const float* values, Eigen::Index size) {
    NonzeroCount entry;
    entry.name = name;
    entry.num = static_cast<std::size_t>(size);
    for (Eigen::Index i = 0; i < size; ++i) entry.nonzero += std::fabs(values[i]) > threshold;
    counts.push_back(entry);
  };
  for (const DenseLayer& layer : model.layers) {
    count(layer.name + "/kernel", layer.kernel.data(), layer.kernel.size());
    count(layer.name + "/bias", layer.bias.data(), layer.bias.size());
  }
  return counts;
}

std::vector<RemovedCount> CountRemovedUnits(const Mlp& model) {
  std::vector<RemovedCount> counts;
  for (std::size_t i = 0; i + 1 < model.layers.size(); ++i) {
    const Eigen::MatrixXf& kernel = model.layers[i].kernel;
    RemovedCount entry;
    entry.name = model.layers[i].name;
    entry.num = static_cast<std::size_t>(kernel.cols());
    for (Eigen::Index c = 0; c < kernel.cols(); ++c) entry.removed += (kernel.col(c).array() == 0.0f).all();
    counts.push_back(entry);
  }
  return counts;
}

RemovedCount CountRemovedInputs(const Mlp& model) {
  RemovedCount entry;
  entry.name = "inputs";
  if (model.layers.empty()) return entry;
  const Eigen::MatrixXf& kernel = model.layers.front().kernel;
  entry.num = static_cast<std::size_t>(kernel.rows());
  for (Eigen::Index r = 0; r < kernel.rows(); ++r) entry.removed += (kernel.row(r).array() == 0.0f).all();
  return entry;
}

std::string MeasureTestJson(const EpochMetrics& metrics) {
  nlohmann::ordered_json line;
  line["event"] = "measure_test";
  line["epochAfter"] = metrics.epoch;
  line["ent_train"] = metrics.train.cross_entropy;
  line["inacc_train"] = metrics.train.error_rate;
  if (metrics.test) {
    line["ent_test"] = metrics.test->cross_entropy;
    line["inacc_test"] = metrics.test->error_rate;
  }
  if (metrics.validation) {
    line["ent_val"] = metrics.validation->cross_entropy;
    line["inacc_val"] = metrics.validation->error_rate;
  }
  nlohmann::ordered_json nonzero = nlohmann::ordered_json::object();
  std::size_t total = 0;
  std::size_t total_nonzero = 0;
  for (const NonzeroCount& count : metrics.nonzero) {
    nonzero[count.name] = CountJson(count.num, count.nonzero);
    total += count.num;
    total_nonzero += count.nonzero;
  }
  nonzero["total"] = CountJson(total, total_nonzero);
  line["num_nonzero"] = std::move(nonzero);
  nlohmann::ordered_json units = nlohmann::ordered_json::object();
  for (const RemovedCount& count : metrics.removed_units) units[count.name] = RemovedJson(count);
  line["removed_units"] = std::move(units);
  line["removed_inputs"] = RemovedJson(metrics.removed_inputs);
  line["seconds"] = metrics.train_seconds;
  if (metrics.target_sparsity) {
    line["target_sparsity"] = *metrics.target_sparsity;
    line["sparsity"] = ZeroFraction(total, total_nonzero);
    line["l1_scale"] = metrics.l1_scale;
    line["pruned"] = metrics.pruned;
  }
  // nlohmann::json writes the shortest decimal that reads back as the same double. It
  // writes NaN and infinity as null, but Train stops before reporting a non-finite loss.
  return line.dump();
}

std::string ProgressLine(const EpochMetrics& metrics) {
  std::size_t total = 0;
  std::size_t total_nonzero = 0;
  for (const NonzeroCount& count : metrics.nonzero) {
    total += count.num;
    total_nonzero += count.nonzero;
  }
  char text[512];
  int length = std::snprintf(text, sizeof text,
                             "epoch %zu: step loss %.4f, train loss %.4f error %.2f%%",
                             metrics.epoch, metrics.mean_batch_loss, metrics.train.cross_entropy,
                             100.0 * metrics.train.error_rate);
  const auto append = [&](const char* format, auto... values) {
    if (length >= 0 && static_cast<std::size_t>(length) < sizeof text) {
      length += std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), format,
                              values...);
    }
  };
  if (metrics.validation) {
    append(", val error %.2f%%", 100.0 * metrics.validation->error_rate);
  }
  if (metrics.test) append(", test error %.2f%%", 100.0 * metrics.test->error_rate);
  append(", non-zero %zu/%zu (%.1f%%)", total_nonzero, total,
         total == 0 ? 0.0 : 100.0 * static_cast<double>(total_nonzero) / static_cast<double>(total));
  for (std::size_t i = 0; i < metrics.removed_units.size(); ++i) {
    const RemovedCount& count = metrics.removed_units[i];
    append(i == 0 ? ", removed units %zu/%zu" : " + %zu/%zu", count.removed, count.num);
  }
  if (metrics.removed_inputs.num > 0) {
    append(", removed inputs %zu/%zu", metrics.removed_inputs.removed, metrics.removed_inputs.num);
  }
  append(", %.2f s train + %.2f s eval", metrics.train_seconds, metrics.evaluate_seconds);
  if (metrics.target_sparsity) {
    append("; target %.2f%% zeros, reached %.2f%%, L1 scale %.4g",
           100.0 * *metrics.target_sparsity, 100.0 * ZeroFraction(total, total_nonzero),
           metrics.l1_scale);
    if (metrics.pruned > 0) append(", pruned the %zu smallest weights", metrics.pruned);
  }
  return text;
}

}  // namespace frugal::trainer
