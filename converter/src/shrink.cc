// Shrinking before encoding: magnitude pruning to a target density, and removal of
// hidden units and inputs that cannot change the model's outputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "frugal/converter/converter.h"

namespace frugal::converter {
namespace {

float Activate(Activation activation, float value) {
  return activation == Activation::kRelu ? std::max(value, 0.0f) : value;
}

bool RowIsZero(const Layer& layer, std::uint32_t row) {
  const float* begin = layer.weights.data() + std::size_t{row} * layer.input_size;
  return std::all_of(begin, begin + layer.input_size, [](float w) { return w == 0.0f; });
}

bool ColumnIsZero(const Layer& layer, std::uint32_t column) {
  for (std::uint32_t r = 0; r < layer.output_size; ++r) {
    if (layer.weights[std::size_t{r} * layer.input_size + column] != 0.0f) return false;
  }
  return true;
}

// Keeps the rows of `layer` (outputs) where keep[r] is set.
void KeepRows(Layer& layer, const std::vector<bool>& keep) {
  std::vector<float> weights;
  std::vector<float> bias;
  for (std::uint32_t r = 0; r < layer.output_size; ++r) {
    if (!keep[r]) continue;
    const auto row = layer.weights.begin() + static_cast<std::ptrdiff_t>(std::size_t{r} * layer.input_size);
    weights.insert(weights.end(), row, row + layer.input_size);
    bias.push_back(layer.bias[r]);
  }
  layer.output_size = static_cast<std::uint32_t>(bias.size());
  layer.weights = std::move(weights);
  layer.bias = std::move(bias);
}

// Keeps the columns of `layer` (inputs) where keep[c] is set.
void KeepColumns(Layer& layer, const std::vector<bool>& keep) {
  const auto kept = static_cast<std::uint32_t>(std::count(keep.begin(), keep.end(), true));
  std::vector<float> weights;
  weights.reserve(std::size_t{kept} * layer.output_size);
  for (std::uint32_t r = 0; r < layer.output_size; ++r) {
    for (std::uint32_t c = 0; c < layer.input_size; ++c) {
      if (keep[c]) weights.push_back(layer.weights[std::size_t{r} * layer.input_size + c]);
    }
  }
  layer.input_size = kept;
  layer.weights = std::move(weights);
}

// Clears keep[] entries from the end until at least one is set, so that no layer or input
// vector becomes empty. Returns whether anything is removed.
bool KeepAtLeastOne(std::vector<bool>& keep) {
  if (std::none_of(keep.begin(), keep.end(), [](bool k) { return k; })) keep.back() = true;
  return std::find(keep.begin(), keep.end(), false) != keep.end();
}

// Removes the dead units of hidden layer `i` (feeding layer i + 1). Returns whether any
// unit was removed.
bool EliminateHiddenUnits(Checkpoint& model, std::size_t i) {
  Layer& layer = model.layers[i];
  Layer& next = model.layers[i + 1];
  std::vector<bool> keep(layer.output_size, true);
  std::vector<bool> constant(layer.output_size, false);
  for (std::uint32_t u = 0; u < layer.output_size; ++u) {
    if (ColumnIsZero(next, u)) {
      keep[u] = false;
    } else if (RowIsZero(layer, u)) {
      keep[u] = false;
      constant[u] = true;
    }
  }
  if (!KeepAtLeastOne(keep)) return false;

  // A unit with no incoming weights outputs activation(bias) for every input; the next
  // layer sees that constant through its column u. The sum is formed in double and
  // rounded once, so the folded bias is the correctly rounded value of the exact sum
  // of those terms.
  std::vector<double> folded(next.bias.begin(), next.bias.end());
  bool changed_bias = false;
  for (std::uint32_t u = 0; u < layer.output_size; ++u) {
    if (keep[u] || !constant[u]) continue;
    const float value = Activate(layer.activation, layer.bias[u]);
    if (value == 0.0f) continue;
    changed_bias = true;
    for (std::uint32_t j = 0; j < next.output_size; ++j) {
      folded[j] += double{next.weights[std::size_t{j} * next.input_size + u]} * double{value};
    }
  }
  if (changed_bias) {
    for (std::uint32_t j = 0; j < next.output_size; ++j) next.bias[j] = static_cast<float>(folded[j]);
  }
  KeepRows(layer, keep);
  KeepColumns(next, keep);
  return true;
}

// Removes the inputs that layer 0 never reads and records the rest in input_indices.
bool EliminateInputs(Checkpoint& model) {
  Layer& first = model.layers.front();
  std::vector<bool> keep(first.input_size, true);
  for (std::uint32_t c = 0; c < first.input_size; ++c) keep[c] = !ColumnIsZero(first, c);
  if (!KeepAtLeastOne(keep)) return false;

  std::vector<std::uint32_t> indices;
  for (std::uint32_t c = 0; c < first.input_size; ++c) {
    if (keep[c]) indices.push_back(model.input_indices[c]);
  }
  model.input_indices = std::move(indices);
  KeepColumns(first, keep);
  return true;
}

}  // namespace

void PruneToDensity(Layer& layer, double density) {
  const std::size_t count = layer.weights.size();
  const auto keep = static_cast<std::size_t>(std::llround(density * static_cast<double>(count)));
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Largest magnitude first; the stable sort keeps row-major order among equal magnitudes.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::fabs(layer.weights[a]) > std::fabs(layer.weights[b]);
  });
  for (std::size_t k = keep; k < count; ++k) layer.weights[order[k]] = 0.0f;
}

Checkpoint EliminateDeadUnits(const Checkpoint& checkpoint) {
  Checkpoint model = checkpoint;
  if (model.layers.empty()) return model;
  if (model.input_indices.empty()) {
    model.input_indices.resize(model.layers.front().input_size);
    std::iota(model.input_indices.begin(), model.input_indices.end(), std::uint32_t{0});
  }

  // Removing a unit can leave units of the layers before and after it dead, so passes
  // repeat until one changes nothing. Each pass that changes something removes at least
  // one unit or input, which bounds the number of passes.
  bool changed = true;
  while (changed) {
    changed = EliminateInputs(model);
    for (std::size_t i = 0; i + 1 < model.layers.size(); ++i) changed = EliminateHiddenUnits(model, i) || changed;
  }

  if (model.input_indices.size() == checkpoint.input_size) model.input_indices.clear();
  return model;
}

}  // namespace frugal::converter
