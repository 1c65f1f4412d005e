// Group lasso on whole neurons: the proximal operator of lambda * ||w_g||_2 applied to a
// hidden unit's incoming weights (a kernel column) or an input's outgoing weights (a row
// of the first kernel), so that whole columns and rows become exactly 0.
#pragma once

#include <span>

#include <Eigen/Core>

namespace frugal::trainer {

// Block soft-thresholding of one group at one step size `rate`:
//   w <- w * max(0, 1 - rate * strength / ||w||_2).
// A group with ||w||_2 <= rate * strength, including an all-zero group, becomes exactly 0.
void ShrinkGroup(std::span<float> values, float rate, float strength);

// The same proximal step when every coordinate has its own step size, as in Adagrad and
// Adam: the minimiser of sum_i (w_i - p_i)^2 / (2 * rates[i]) + strength * ||w||_2, which
// is the proximal step in the metric that the optimizer's own step uses. The group is 0
// exactly when ||p / rates||_2 <= strength. Otherwise w_i = p_i * s / (s + rates[i] *
// strength), where s = ||w||_2 is the root of sum_i (p_i / (s + rates[i] * strength))^2 = 1,
// found by safeguarded Newton iteration in double. With equal rates this is ShrinkGroup,
// which it then calls. `rates` has one positive entry per value.
void ShrinkGroupScaled(std::span<float> values, std::span<const float> rates, float strength);

// Applies ShrinkGroupScaled to every row of `kernel` ([inputs x units]) with strength
// input_strength * sqrt(units), then to every column with unit_strength * sqrt(inputs).
// The square root of the group size (Yuan and Lin, 2006) puts a group strength on the
// scale of an L1 strength. A group of n weights of magnitude a then costs
// strength * n * a, as L1 at that strength would. `rates` is in the kernel's memory order. A strength of 0
// skips its groups. The two steps in turn are not the exact proximal step of the sum of
// the overlapping row and column penalties, only a close approximation of it.
void ShrinkKernelGroups(Eigen::MatrixXf& kernel, std::span<const float> rates, float input_strength,
                        float unit_strength);

}  // namespace frugal::trainer
