// Google Benchmark of one training epoch: 784-64-64-10 at batch 64 over 50,000 synthetic
// examples of MNIST's shape, through frugal::trainer::Train as frugal-train runs it.
//
// Benchmark names are train_epoch/<optimizer>/threads:<n>. The time is the epoch's
// training steps (the shuffle, batch conversion, backpropagation and optimizer steps)
// without the evaluation that Train runs after each epoch, and items_per_second is
// training examples per second.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

#include "frugal/trainer/data.h"
#include "frugal/trainer/metrics.h"
#include "frugal/trainer/optimizer.h"
#include "frugal/trainer/random.h"
#include "frugal/trainer/train.h"

namespace {

constexpr std::size_t kExamples = 50000;
constexpr std::size_t kPixels = 784;
constexpr std::size_t kClasses = 10;

// Seeded images with MNIST's mix of blank and lit pixels (about 80% are 0 in MNIST) and
// uniform labels. The content does not change the dense arithmetic of an epoch.
const frugal::trainer::Dataset& SyntheticMnist() {
  static const frugal::trainer::Dataset dataset = [] {
    frugal::trainer::Rng rng(1);
    frugal::trainer::Dataset data;
    data.count = kExamples;
    data.features = kPixels;
    data.pixels.resize(kExamples * kPixels);
    data.labels.resize(kExamples);
    for (std::size_t i = 0; i < kExamples; ++i) {
      data.labels[i] = static_cast<std::uint8_t>(rng.UniformBelow(kClasses));
      for (std::size_t p = 0; p < kPixels; ++p) {
        const bool lit = rng.UniformBelow(5) == 0;
        data.pixels[i * kPixels + p] = static_cast<std::uint8_t>(lit ? 1 + rng.UniformBelow(255) : 0);
      }
    }
    return data;
  }();
  return dataset;
}

void TrainEpoch(benchmark::State& state, frugal::trainer::OptimizerKind kind) {
  frugal::trainer::TrainData data;
  data.train = SyntheticMnist().All();

  frugal::trainer::TrainConfig config;
  config.hidden = {64, 64};
  config.class_count = kClasses;
  config.epochs = 1;
  config.batch_size = 64;
  config.seed = 1;
  config.threads = static_cast<std::size_t>(state.range(0));
  config.optimizer.kind = kind;
  // frugal-train's defaults (the demo preset) for the proximal optimizers; sgd takes no L1.
  config.optimizer.learning_rate = 0.05f;
  config.optimizer.l1 = kind == frugal::trainer::OptimizerKind::kSgd ? 0.0f : 5e-5f;
  config.optimizer.initial_accumulator = 1e-4f;
  if (config.threads > 1 && !frugal::trainer::ThreadsSupported()) {
    state.SkipWithError("this build has no OpenMP, so it trains on 1 thread only");
    return;
  }

  for (auto _ : state) {
    double seconds = 0.0;
    frugal::trainer::Train(config, data,
                           [&](const frugal::trainer::EpochMetrics& metrics) { seconds = metrics.train_seconds; });
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kExamples));
}

// Three epochs per benchmark: each takes about a second, and Train is deterministic, so
// the repeats only show the machine's noise.
BENCHMARK_CAPTURE(TrainEpoch, sgd, frugal::trainer::OptimizerKind::kSgd)
    ->Name("train_epoch/sgd")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(TrainEpoch, proximal_adagrad, frugal::trainer::OptimizerKind::kProximalAdagrad)
    ->Name("train_epoch/proximal-adagrad")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
