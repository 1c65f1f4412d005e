// Block soft-thresholding for the group lasso on units and inputs.
#include "frugal/trainer/group_lasso.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace frugal::trainer {

void ShrinkGroup(std::span<float> values, float rate, float strength) {
  double squares = 0.0;
  for (const float v : values) squares += static_cast<double>(v) * static_cast<double>(v);
  const double norm = std::sqrt(squares);
  const double threshold = static_cast<double>(rate) * static_cast<double>(strength);
  // The comparison comes first, so an all-zero group never divides by its norm of 0.
  if (norm <= threshold) {
    std::fill(values.begin(), values.end(), 0.0f);
    return;
  }
  const double factor = 1.0 - threshold / norm;
  for (float& v : values) v = static_cast<float>(static_cast<double>(v) * factor);
}

void ShrinkGroupScaled(std::span<float> values, std::span<const float> rates, float strength) {
  if (values.empty() || strength == 0.0f) return;
  if (std::all_of(rates.begin(), rates.end(), [&](float rate) { return rate == rates[0]; })) {
    ShrinkGroup(values, rates[0], strength);
    return;
  }

  // The group is 0 when the subgradient condition ||p / rates||_2 <= strength holds.
  const double lambda = strength;
  double scaled_squares = 0.0;
  double squares = 0.0;
  double c_min = INFINITY;
  double c_max = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double p = values[i];
    const double rate = rates[i];
    scaled_squares += (p / rate) * (p / rate);
    squares += p * p;
    c_min = std::min(c_min, rate * lambda);
    c_max = std::max(c_max, rate * lambda);
  }
  if (scaled_squares <= lambda * lambda) {
    std::fill(values.begin(), values.end(), 0.0f);
    return;
  }

  // Find s = ||w||_2 > 0 with h(s) = sum_i p_i^2 / (s + c_i)^2 = 1, where c_i = rate_i *
  // strength. h falls strictly from h(0) > 1, and comparing each c_i with c_min and c_max
  // brackets the root in [||p|| - c_max, ||p|| - c_min]. Newton's method runs on
  // 1 / sqrt(h(s)) - 1, because that is linear in s when all c_i are equal. A step that
  // leaves the bracket is replaced by bisection.
  const double norm = std::sqrt(squares);
  double low = std::max(0.0, norm - c_max);
  double high = std::max(low, norm - c_min);
  double s = low;
  for (int iteration = 0; iteration < 100; ++iteration) {
    double h = 0.0;
    double h_slope_term = 0.0;  // sum_i p_i^2 / (s + c_i)^3, so that h'(s) = -2 * this
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double p = values[i];
      const double inverse = 1.0 / (s + static_cast<double>(rates[i]) * lambda);
      h += p * p * inverse * inverse;
      h_slope_term += p * p * inverse * inverse * inverse;
    }
    if (h > 1.0) {
      low = s;
    } else {
      high = s;
    }
    const double g = 1.0 / std::sqrt(h) - 1.0;
    const double g_slope = h_slope_term / (h * std::sqrt(h));
    double next = s - g / g_slope;
    if (!(next > low && next < high)) next = 0.5 * (low + high);
    const bool converged = std::fabs(next - s) <= 1e-12 * next;
    s = next;
    if (converged || high - low <= 1e-12 * high) break;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double c = static_cast<double>(rates[i]) * lambda;
    values[i] = static_cast<float>(static_cast<double>(values[i]) * s / (s + c));
  }
}

void ShrinkKernelGroups(Eigen::MatrixXf& kernel, std::span<const float> rates, float input_strength,
                        float unit_strength) {
  const std::size_t rows = static_cast<std::size_t>(kernel.rows());
  const std::size_t cols = static_cast<std::size_t>(kernel.cols());
  if (input_strength > 0.0f) {
    // A row is strided in the column-major kernel, so it is copied out and back.
    const float strength = input_strength * std::sqrt(static_cast<float>(cols));
    std::vector<float> row(cols);
    std::vector<float> row_rates(cols);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) {
        row[c] = kernel.data()[c * rows + r];
        row_rates[c] = rates[c * rows + r];
      }
      ShrinkGroupScaled(row, row_rates, strength);
      for (std::size_t c = 0; c < cols; ++c) kernel.data()[c * rows + r] = row[c];
    }
  }
  if (unit_strength > 0.0f) {
    const float strength = unit_strength * std::sqrt(static_cast<float>(rows));
    for (std::size_t c = 0; c < cols; ++c) {
      ShrinkGroupScaled(std::span(kernel.data() + c * rows, rows), rates.subspan(c * rows, rows), strength);
    }
  }
}

}  // namespace frugal::trainer
