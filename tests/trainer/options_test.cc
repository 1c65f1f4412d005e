// Tests of frugal-train's command line: defaults, presets and their overrides, and the
// one-line errors for bad values.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/trainer/options.h"

using frugal::trainer::CommandLine;
using frugal::trainer::OptimizerKind;
using frugal::trainer::UsageError;

namespace {

CommandLine Parse(std::vector<std::string> args) { return frugal::trainer::ParseCommandLine(args); }

}  // namespace

TEST_CASE("options: defaults are the demo preset") {
  const CommandLine defaults = Parse({});
  const CommandLine demo = Parse({"--preset", "demo"});
  CHECK(defaults.config.hidden == std::vector<std::size_t>{64, 64});
  CHECK(defaults.config.batch_size == 64);
  CHECK(defaults.config.seed == 1);
  CHECK(defaults.config.class_count == 10);
  CHECK(defaults.config.input_scale == 1.0 / 255.0);
  CHECK(defaults.validation == 10000);
  CHECK(defaults.output == "model.npz");
  CHECK(defaults.config.optimizer.kind == OptimizerKind::kProximalAdagrad);
  CHECK(defaults.config.optimizer.learning_rate == demo.config.optimizer.learning_rate);
  CHECK(defaults.config.optimizer.l1 == demo.config.optimizer.l1);
  CHECK(defaults.config.optimizer.l1 > 0.0f);
  CHECK(defaults.config.epochs == demo.config.epochs);
  CHECK_FALSE(defaults.help);
}

TEST_CASE("options: values in both spellings") {
  const CommandLine line = Parse({"--hidden", "32,16,8", "--epochs=3", "--batch-size", "128",
                                  "--seed", "18446744073709551615", "--learning-rate", "1e-2",
                                  "--l1", "0", "--l2=0.5", "--initial-accumulator", "0.2",
                                  "--raw-pixels", "--validation", "0", "--output", "out.npz",
                                  "--data-dir", "/data", "--classes", "12"});
  CHECK(line.config.hidden == std::vector<std::size_t>{32, 16, 8});
  CHECK(line.config.epochs == 3);
  CHECK(line.config.batch_size == 128);
  CHECK(line.config.seed == 18446744073709551615ULL);
  CHECK(line.config.optimizer.learning_rate == 1e-2f);
  CHECK(line.config.optimizer.l1 == 0.0f);
  CHECK(line.config.optimizer.l2 == 0.5f);
  CHECK(line.config.optimizer.initial_accumulator == 0.2f);
  CHECK(line.config.input_scale == 1.0);
  CHECK(line.validation == 0);
  CHECK(line.output == "out.npz");
  CHECK(line.data_dir == "/data");
  CHECK(line.config.class_count == 12);
  CHECK(Parse({"--hidden", "none"}).config.hidden.empty());
  CHECK(Parse({"--help"}).help);
  CHECK(Parse({"-h"}).help);
}

TEST_CASE("options: presets and overrides") {
  const CommandLine penalty = Parse({"--preset", "tf-l1-penalty"});
  CHECK(penalty.config.optimizer.kind == OptimizerKind::kSgd);
  CHECK(penalty.config.optimizer.learning_rate == 1e-3f);
  CHECK(penalty.config.l1_penalty == 1e-4f);
  CHECK(penalty.config.optimizer.l1 == 0.0f);
  CHECK(penalty.config.input_scale == 1.0);
  CHECK(penalty.config.batch_size == 64);
  CHECK(penalty.config.epochs == 200);

  const CommandLine proximal = Parse({"--preset", "tf-proximal-adagrad"});
  CHECK(proximal.config.optimizer.kind == OptimizerKind::kProximalAdagrad);
  CHECK(proximal.config.optimizer.learning_rate == 1e-3f);
  CHECK(proximal.config.optimizer.initial_accumulator == 1e-6f);
  CHECK(proximal.config.optimizer.l1 == 1e-3f);
  CHECK(proximal.config.optimizer.l2 == 0.0f);
  CHECK(proximal.config.l1_penalty == 0.0f);
  CHECK(proximal.config.input_scale == 1.0);
  CHECK(proximal.config.epochs == 200);

  // Later options override the preset; earlier ones are overridden by it.
  const CommandLine after = Parse({"--preset", "tf-proximal-adagrad", "--epochs", "3"});
  CHECK(after.config.epochs == 3);
  const CommandLine before = Parse({"--epochs", "3", "--preset", "tf-proximal-adagrad"});
  CHECK(before.config.epochs == 200);

  // Switching the default optimizer to sgd drops the default l1 instead of failing.
  const CommandLine sgd = Parse({"--optimizer", "sgd"});
  CHECK(sgd.config.optimizer.kind == OptimizerKind::kSgd);
  CHECK(sgd.config.optimizer.l1 == 0.0f);
}

TEST_CASE("options: per-layer strengths") {
  const CommandLine line = Parse({"--optimizer", "proximal-adam", "--l1", "2e-5,dense_1=1e-4,dense_2=5e-5",
                                  "--l1=dense_1/bias=0", "--l2", "dense_3=1e-3", "--l1", "dense_2=6e-5"});
  const frugal::trainer::OptimizerConfig& optimizer = line.config.optimizer;
  CHECK(optimizer.kind == OptimizerKind::kProximalAdam);
  CHECK(optimizer.l1 == 2e-5f);
  CHECK(optimizer.l2 == 0.0f);
  // A later entry for dense_2 replaces the earlier one instead of adding a second.
  REQUIRE(optimizer.l1_overrides.size() == 3);
  CHECK(optimizer.l1_overrides[0].name == "dense_1");
  CHECK(optimizer.l1_overrides[0].value == 1e-4f);
  CHECK(optimizer.l1_overrides[1].name == "dense_1/bias");
  CHECK(optimizer.l1_overrides[1].value == 0.0f);
  CHECK(optimizer.l1_overrides[2].name == "dense_2");
  CHECK(optimizer.l1_overrides[2].value == 6e-5f);
  REQUIRE(optimizer.l2_overrides.size() == 1);
  CHECK(optimizer.l2_overrides[0].name == "dense_3");

  using frugal::trainer::ResolveRegularization;
  CHECK(ResolveRegularization(optimizer, "dense_1", "dense_1/kernel").l1 == 1e-4f);
  CHECK(ResolveRegularization(optimizer, "dense_1", "dense_1/bias").l1 == 0.0f);
  CHECK(ResolveRegularization(optimizer, "dense_2", "dense_2/bias").l1 == 6e-5f);
  CHECK(ResolveRegularization(optimizer, "dense_3", "dense_3/kernel").l1 == 2e-5f);
  CHECK(ResolveRegularization(optimizer, "dense_3", "dense_3/kernel").l2 == 1e-3f);
  CHECK(ResolveRegularization(optimizer, "dense_1", "dense_1/kernel").l2 == 0.0f);

  // A preset starts the strengths over.
  CHECK(Parse({"--l1", "dense_1=1e-4", "--preset", "demo"}).config.optimizer.l1_overrides.empty());
}

TEST_CASE("options: group lasso strengths") {
  const CommandLine line = Parse({"--group-l1-units", "1e-4,dense_2=3e-4", "--group-l1-inputs=2e-3",
                                  "--group-l1-units", "dense_1=0"});
  CHECK(line.config.group_l1_units == 1e-4f);
  REQUIRE(line.config.group_l1_units_overrides.size() == 2);
  CHECK(line.config.group_l1_units_overrides[0].name == "dense_2");
  CHECK(line.config.group_l1_units_overrides[0].value == 3e-4f);
  CHECK(line.config.group_l1_units_overrides[1].name == "dense_1");
  CHECK(line.config.group_l1_units_overrides[1].value == 0.0f);
  CHECK(line.config.group_l1_inputs == 2e-3f);

  // A preset starts the group strengths over, as it does the L1 strengths.
  const CommandLine reset = Parse({"--group-l1-units", "1e-4", "--group-l1-inputs", "1e-3", "--preset", "demo"});
  CHECK(reset.config.group_l1_units == 0.0f);
  CHECK(reset.config.group_l1_units_overrides.empty());
  CHECK(reset.config.group_l1_inputs == 0.0f);
}

TEST_CASE("options: schedule and checkpoints") {
  const CommandLine line = Parse({"--l1-warmup-epochs", "4", "--retrain-epochs", "6",
                                  "--retrain-learning-rate", "1e-4", "--resume", "run.npz",
                                  "--checkpoint-every", "5", "--beta1", "0.8", "--beta2", "0.99",
                                  "--epsilon", "1e-7"});
  CHECK(line.config.l1_warmup_epochs == 4);
  CHECK(line.config.retrain_epochs == 6);
  CHECK(line.config.retrain_learning_rate == 1e-4f);
  CHECK(line.resume == "run.npz");
  CHECK(line.checkpoint_every == 5);
  CHECK(line.config.optimizer.beta1 == 0.8f);
  CHECK(line.config.optimizer.beta2 == 0.99f);
  CHECK(line.config.optimizer.epsilon == 1e-7f);

  CHECK(Parse({}).config.threads == 1);
  CHECK(Parse({"--threads", "2"}).config.threads == 2);

  const CommandLine ftrl = Parse({"--optimizer", "ftrl", "--ftrl-beta", "0.5", "--l1", "1e-3"});
  CHECK(ftrl.config.optimizer.kind == OptimizerKind::kFtrl);
  CHECK(ftrl.config.optimizer.ftrl_beta == 0.5f);
  CHECK(ftrl.config.optimizer.l1 == 1e-3f);

  const CommandLine reset = Parse({"--retrain-epochs", "6", "--preset", "tf-proximal-adagrad"});
  CHECK(reset.config.retrain_epochs == 0);
}

TEST_CASE("options: learning-rate schedule and target mode") {
  using frugal::trainer::LearningRateSchedule;
  const CommandLine defaults = Parse({});
  CHECK(defaults.config.lr_schedule == LearningRateSchedule::kConstant);
  CHECK(defaults.config.target_sparsity == 0.0);

  const CommandLine line = Parse({"--lr-schedule", "cosine", "--lr-floor", "0.05",
                                  "--target-sparsity", "0.9", "--target-l1-growth", "1.5"});
  CHECK(line.config.lr_schedule == LearningRateSchedule::kCosine);
  CHECK(line.config.lr_floor == 0.05f);
  // The fraction keeps double precision, so 0.9 means the double nearest 0.9.
  CHECK(line.config.target_sparsity == 0.9);
  CHECK(line.config.target_l1_growth == 1.5);
  CHECK(Parse({"--lr-schedule", "cosine", "--lr-schedule", "constant"}).config.lr_schedule ==
        LearningRateSchedule::kConstant);

  const CommandLine reset = Parse({"--lr-schedule", "cosine", "--target-sparsity", "0.9", "--preset", "demo"});
  CHECK(reset.config.lr_schedule == LearningRateSchedule::kConstant);
  CHECK(reset.config.target_sparsity == 0.0);
}

TEST_CASE("options: sparse preset") {
  const CommandLine line = Parse({"--preset", "sparse"});
  const frugal::trainer::OptimizerConfig& optimizer = line.config.optimizer;
  CHECK(optimizer.kind == OptimizerKind::kProximalAdam);
  CHECK(optimizer.l1 == 0.0f);
  using frugal::trainer::ResolveRegularization;
  const float first = ResolveRegularization(optimizer, "dense_1", "dense_1/kernel").l1;
  const float second = ResolveRegularization(optimizer, "dense_2", "dense_2/kernel").l1;
  CHECK(first > second);
  CHECK(second > 0.0f);
  for (const char* layer : {"dense_1", "dense_2", "dense_3"}) {
    INFO(layer);
    CHECK(ResolveRegularization(optimizer, layer, std::string(layer) + "/bias").l1 == 0.0f);
  }
  CHECK(line.config.l1_warmup_epochs > 0);
  CHECK(line.config.retrain_epochs > 0);
  CHECK(line.config.input_scale == 1.0 / 255.0);
}

TEST_CASE("options: sparse-90 preset is its recorded command") {
  // The preset must stay equal to the command that its recorded runs used.
  const CommandLine preset = Parse({"--preset", "sparse-90"});
  const CommandLine command = Parse(
      {"--preset", "sparse", "--l1", "dense_1/kernel=1e-3,dense_2/kernel=2e-4,dense_3/kernel=5e-5",
       "--epochs", "30", "--retrain-epochs", "20", "--retrain-learning-rate", "1e-3",
       "--lr-schedule", "cosine", "--target-sparsity", "0.9", "--target-l1-growth", "1"});
  const frugal::trainer::TrainConfig& expected = command.config;
  const frugal::trainer::TrainConfig& actual = preset.config;
  CHECK(actual.optimizer.kind == OptimizerKind::kProximalAdam);
  CHECK(actual.optimizer.learning_rate == expected.optimizer.learning_rate);
  CHECK(actual.optimizer.l1 == expected.optimizer.l1);
  using frugal::trainer::ResolveRegularization;
  for (const char* layer : {"dense_1", "dense_2", "dense_3"}) {
    for (const char* variable : {"/kernel", "/bias"}) {
      const std::string name = std::string(layer) + variable;
      INFO(name);
      CHECK(ResolveRegularization(actual.optimizer, layer, name).l1 ==
            ResolveRegularization(expected.optimizer, layer, name).l1);
    }
  }
  CHECK(actual.l1_warmup_epochs == expected.l1_warmup_epochs);
  CHECK(actual.epochs == expected.epochs);
  CHECK(actual.retrain_epochs == expected.retrain_epochs);
  CHECK(actual.retrain_learning_rate == expected.retrain_learning_rate);
  CHECK(actual.lr_schedule == frugal::trainer::LearningRateSchedule::kCosine);
  CHECK(actual.lr_floor == expected.lr_floor);
  CHECK(actual.target_sparsity == 0.9);
  CHECK(actual.target_l1_growth == 1.0);
  CHECK(actual.batch_size == 64);
  CHECK(actual.input_scale == 1.0 / 255.0);

  // The sparse preset after it starts over without the schedule and the target.
  const CommandLine reset = Parse({"--preset", "sparse-90", "--preset", "sparse"});
  CHECK(reset.config.lr_schedule == frugal::trainer::LearningRateSchedule::kConstant);
  CHECK(reset.config.target_sparsity == 0.0);
}

TEST_CASE("options: sparse-300-100 preset is its recorded command") {
  const CommandLine preset = Parse({"--preset", "sparse-300-100"});
  const CommandLine command = Parse(
      {"--preset", "sparse-90", "--hidden", "300,100", "--l1",
       "dense_1/kernel=1e-4,dense_2/kernel=2.5e-5,dense_3/kernel=5e-6", "--target-sparsity", "0.961",
       "--retrain-epochs", "10", "--retrain-learning-rate", "1e-4"});
  const frugal::trainer::TrainConfig& expected = command.config;
  const frugal::trainer::TrainConfig& actual = preset.config;
  CHECK(actual.hidden == std::vector<std::size_t>{300, 100});
  CHECK(actual.optimizer.kind == OptimizerKind::kProximalAdam);
  CHECK(actual.optimizer.learning_rate == expected.optimizer.learning_rate);
  using frugal::trainer::ResolveRegularization;
  for (const char* layer : {"dense_1", "dense_2", "dense_3"}) {
    for (const char* variable : {"/kernel", "/bias"}) {
      const std::string name = std::string(layer) + variable;
      INFO(name);
      CHECK(ResolveRegularization(actual.optimizer, layer, name).l1 ==
            ResolveRegularization(expected.optimizer, layer, name).l1);
    }
  }
  CHECK(actual.l1_warmup_epochs == 5);
  CHECK(actual.epochs == 30);
  CHECK(actual.retrain_epochs == 10);
  CHECK(actual.retrain_learning_rate == expected.retrain_learning_rate);
  CHECK(actual.lr_schedule == frugal::trainer::LearningRateSchedule::kCosine);
  CHECK(actual.target_sparsity == 0.961);
  CHECK(actual.target_l1_growth == 1.0);

  // Another preset after it returns to 784-64-64-10; --hidden after a preset still wins.
  CHECK(Parse({"--preset", "sparse-300-100", "--preset", "sparse"}).config.hidden ==
        std::vector<std::size_t>{64, 64});
  CHECK(Parse({"--preset", "sparse-300-100", "--hidden", "32"}).config.hidden == std::vector<std::size_t>{32});
}

TEST_CASE("options: one-line errors") {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"--learning-rate", "-0.1"}, "invalid value for --learning-rate: \"-0.1\" must be greater than 0"},
      {{"--learning-rate", "0"}, "invalid value for --learning-rate: \"0\" must be greater than 0"},
      {{"--learning-rate", "fast"}, "invalid value for --learning-rate: \"fast\" is not a number"},
      {{"--learning-rate", "nan"}, "\"nan\" is not a finite float32 number"},
      {{"--l1", "1e-3x"}, "invalid value for --l1: \"1e-3x\" is not a number"},
      {{"--l1", "-1"}, "invalid value for --l1: \"-1\" must be 0 or greater"},
      {{"--batch-size", "0"}, "invalid value for --batch-size: \"0\" is out of range [1, 1048576]"},
      {{"--batch-size", "-5"}, "invalid value for --batch-size: \"-5\" is not a non-negative integer"},
      {{"--epochs", "2.5"}, "invalid value for --epochs: \"2.5\" is not a non-negative integer"},
      {{"--hidden", "64,,64"}, "invalid value for --hidden: \"\" is not a non-negative integer"},
      {{"--hidden", "64,0"}, "invalid value for --hidden: \"0\" is out of range"},
      {{"--optimizer", "adam"}, "invalid value for --optimizer: \"adam\" is not one of: sgd, proximal-sgd, proximal-adagrad, proximal-adam, ftrl"},
      {{"--threads", "0"}, "invalid value for --threads: \"0\" is out of range [1, 256]"},
      {{"--ftrl-beta", "0"}, "invalid value for --ftrl-beta: \"0\" must be greater than 0"},
      {{"--preset", "fast"}, "invalid value for --preset: \"fast\""},
      {{"--frobnicate"}, "unknown option \"--frobnicate\""},
      {{"data.idx"}, "unknown option \"data.idx\""},
      {{"--epochs"}, "option --epochs requires a value"},
      {{"--raw-pixels=1"}, "option --raw-pixels takes no value"},
      {{"--optimizer", "sgd", "--l1", "1e-4"}, "--l1 and --l2 apply only to the proximal optimizers"},
      {{"--optimizer", "sgd", "--l2", "dense_1=1e-4"}, "--l1 and --l2 apply only to the proximal optimizers"},
      {{"--l1", "=1e-4"}, "invalid value for --l1: \"=1e-4\" has no layer name before '='"},
      {{"--l1", "dense_1=-1"}, "invalid value for --l1: \"-1\" must be 0 or greater"},
      {{"--l1", "dense_1=x"}, "invalid value for --l1: \"x\" is not a number"},
      {{"--l1", ""}, "invalid value for --l1: \"\" is empty"},
      {{"--epsilon", "0"}, "invalid value for --epsilon: \"0\" must be greater than 0"},
      {{"--retrain-learning-rate", "0"}, "invalid value for --retrain-learning-rate: \"0\" must be greater than 0"},
      {{"--retrain-epochs", "x"}, "invalid value for --retrain-epochs: \"x\" is not a non-negative integer"},
      {{"--resume", ""}, "invalid value for --resume: \"\" is empty"},
      {{"--group-l1-units", "dense_1=-1"}, "invalid value for --group-l1-units: \"-1\" must be 0 or greater"},
      {{"--group-l1-inputs", "x"}, "invalid value for --group-l1-inputs: \"x\" is not a number"},
      {{"--group-l1-inputs", "dense_1=1"}, "invalid value for --group-l1-inputs: \"dense_1=1\" is not a number"},
      {{"--lr-schedule", "step"}, "invalid value for --lr-schedule: \"step\" is not one of: constant, cosine"},
      {{"--lr-floor", "1"}, "invalid value for --lr-floor: \"1\" is out of range [0, 1)"},
      {{"--lr-floor", "-0.1"}, "invalid value for --lr-floor: \"-0.1\" must be 0 or greater"},
      {{"--target-sparsity", "1"}, "invalid value for --target-sparsity: \"1\" is out of range (0, 1)"},
      {{"--target-sparsity", "0"}, "invalid value for --target-sparsity: \"0\" must be greater than 0"},
      {{"--target-l1-growth", "0.5"}, "invalid value for --target-l1-growth: \"0.5\" must be 1 or greater"},
  };
  for (const Case& test : cases) {
    INFO(test.args[0]);
    CHECK_THROWS_WITH_AS(Parse(test.args), doctest::Contains(test.message), UsageError);
  }
}

TEST_CASE("options: help names every option") {
  const std::string help = frugal::trainer::HelpText();
  for (const char* option :
       {"--data-dir", "--train-images", "--train-labels", "--test-images", "--test-labels",
        "--validation", "--raw-pixels", "--hidden", "--classes", "--seed", "--epochs",
        "--batch-size", "--optimizer", "--learning-rate", "--l1 ", "--l2", "--initial-accumulator",
        "--l1-penalty", "--preset demo", "--preset tf-l1-penalty", "--preset tf-proximal-adagrad",
        "--preset sparse", "--preset sparse-90", "--preset sparse-300-100", "--output", "--help", "--beta1", "--beta2", "--epsilon", "--l1-warmup-epochs",
        "--retrain-epochs", "--retrain-learning-rate", "--checkpoint-every", "--resume",
        "--group-l1-units", "--group-l1-inputs", "--ftrl-beta", "ftrl", "--threads",
        "--lr-schedule", "--lr-floor", "--target-sparsity", "--target-l1-growth",
        "proximal-sgd", "proximal-adam"}) {
    INFO(option);
    CHECK(help.find(option) != std::string::npos);
  }
}
