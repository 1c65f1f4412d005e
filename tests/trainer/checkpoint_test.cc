// Tests of .npz checkpoints: the layout frugal-convert expects, an exact round trip, and
// the errors for archives that cannot be a model.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "frugal/npz.h"
#include "frugal/trainer/checkpoint.h"
#include "frugal/trainer/data.h"
#include "test_paths.h"

using frugal::trainer::Mlp;

namespace {

Mlp SmallModel() {
  frugal::trainer::Rng rng(5);
  const std::vector<std::size_t> hidden{4};
  Mlp model = frugal::trainer::CreateMlp(6, hidden, 3, 1.0 / 255.0, rng);
  model.layers[0].bias(1) = 0.25f;
  model.layers[1].bias(2) = -1.5f;
  model.layers[0].kernel(2, 3) = 0.0f;
  return model;
}

std::string ScratchPath(const std::string& name) {
  return (frugal::testing::ScratchDir() / name).string();
}

}  // namespace

TEST_CASE("checkpoint: layout of the archive") {
  const Mlp model = SmallModel();
  const std::string path = ScratchPath("layout.npz");
  frugal::trainer::SaveCheckpoint(path, model, "unit test");

  const frugal::npz::Archive archive = frugal::npz::Read(path);
  const frugal::npz::Array* kernel = archive.FindArray("dense_1/kernel");
  REQUIRE(kernel != nullptr);
  CHECK(kernel->shape == std::vector<std::size_t>{6, 4});
  // C order of [inputs, units]: element (r, c) is at r * 4 + c.
  for (int r = 0; r < 6; ++r) {
    for (int c = 0; c < 4; ++c) CHECK(kernel->data[r * 4 + c] == model.layers[0].kernel(r, c));
  }
  const frugal::npz::Array* bias = archive.FindArray("dense_2/bias");
  REQUIRE(bias != nullptr);
  CHECK(bias->shape == std::vector<std::size_t>{3});
  CHECK(bias->data[2] == -1.5f);

  const frugal::npz::RawMember* member = archive.FindRaw("architecture.json");
  REQUIRE(member != nullptr);
  const nlohmann::json record = nlohmann::json::parse(member->bytes);
  CHECK(record["format"] == "frugal-checkpoint");
  CHECK(record["version"] == 1);
  CHECK(record["input_size"] == 6);
  CHECK(record["input_scale"].get<double>() == 1.0 / 255.0);
  CHECK(record["class_count"] == 3);
  REQUIRE(record["layers"].size() == 2);
  CHECK(record["layers"][0]["name"] == "dense_1");
  CHECK(record["layers"][0]["units"] == 4);
  CHECK(record["layers"][0]["activation"] == "relu");
  CHECK(record["layers"][1]["name"] == "dense_2");
  CHECK(record["layers"][1]["activation"] == "none");
  CHECK(record["producer"].get<std::string>().starts_with("frugal-train "));
  CHECK(record["description"] == "unit test");
}

TEST_CASE("checkpoint: round trip keeps every bit") {
  const Mlp model = SmallModel();
  const std::string path = ScratchPath("round-trip.npz");
  frugal::trainer::SaveCheckpoint(path, model, "");
  const Mlp loaded = frugal::trainer::LoadCheckpoint(path);

  CHECK(loaded.input_scale == model.input_scale);
  REQUIRE(loaded.layers.size() == model.layers.size());
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const auto& expected = model.layers[i];
    const auto& actual = loaded.layers[i];
    CHECK(actual.name == expected.name);
    CHECK(actual.activation == expected.activation);
    REQUIRE(actual.kernel.rows() == expected.kernel.rows());
    REQUIRE(actual.kernel.cols() == expected.kernel.cols());
    CHECK(std::memcmp(actual.kernel.data(), expected.kernel.data(), sizeof(float) * expected.kernel.size()) == 0);
    REQUIRE(actual.bias.size() == expected.bias.size());
    CHECK(std::memcmp(actual.bias.data(), expected.bias.data(), sizeof(float) * expected.bias.size()) == 0);
  }

  // The loaded model computes the same logits.
  const std::vector<std::uint8_t> pixels{0, 10, 20, 255, 128, 7, 1, 2, 3, 4, 5, 6};
  const Eigen::MatrixXf before = frugal::trainer::LogitsForImages(model, pixels.data(), 2);
  const Eigen::MatrixXf after = frugal::trainer::LogitsForImages(loaded, pixels.data(), 2);
  CHECK(before == after);
}

TEST_CASE("checkpoint: rejected archives") {
  const Mlp model = SmallModel();
  const std::string good_path = ScratchPath("good.npz");
  frugal::trainer::SaveCheckpoint(good_path, model, "");
  const frugal::npz::Archive good = frugal::npz::Read(good_path);

  SUBCASE("missing file") {
    const std::string path = ScratchPath("does-not-exist.npz");
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path), doctest::Contains(path.c_str()),
                         frugal::trainer::TrainerError);
  }
  SUBCASE("NaN weight") {
    frugal::npz::Archive archive = good;
    for (auto& array : archive.arrays) {
      if (array.name == "dense_2/kernel") array.data[5] = std::numeric_limits<float>::quiet_NaN();
    }
    const std::string path = ScratchPath("nan.npz");
    frugal::npz::Write(path, archive);
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path),
                         doctest::Contains("dense_2/kernel: element 5 = nan is not finite"),
                         frugal::trainer::TrainerError);
  }
  SUBCASE("shape mismatch") {
    frugal::npz::Archive archive = good;
    for (auto& array : archive.arrays) {
      if (array.name == "dense_1/kernel") array.shape = {4, 6};
    }
    const std::string path = ScratchPath("shape.npz");
    frugal::npz::Write(path, archive);
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path),
                         doctest::Contains("dense_1/kernel: shape [4, 6] does not match the expected [6, 4]"),
                         frugal::trainer::TrainerError);
  }
  SUBCASE("missing array") {
    frugal::npz::Archive archive = good;
    std::erase_if(archive.arrays, [](const auto& array) { return array.name == "dense_2/bias"; });
    const std::string path = ScratchPath("missing-array.npz");
    frugal::npz::Write(path, archive);
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path), doctest::Contains("array dense_2/bias is missing"),
                         frugal::trainer::TrainerError);
  }
  SUBCASE("bad architecture record") {
    frugal::npz::Archive archive = good;
    nlohmann::json record = nlohmann::json::parse(archive.raw_members[0].bytes);
    record["layers"][0]["activation"] = "tanh";
    archive.raw_members[0].bytes = record.dump();
    const std::string path = ScratchPath("tanh.npz");
    frugal::npz::Write(path, archive);
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path),
                         doctest::Contains("layers[0] (dense_1): \"activation\" = \"tanh\""),
                         frugal::trainer::TrainerError);

    record["layers"][0]["activation"] = "relu";
    record["version"] = "1";
    archive.raw_members[0].bytes = record.dump();
    frugal::npz::Write(path, archive);
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path),
                         doctest::Contains("\"version\" = \"1\" is not supported"),
                         frugal::trainer::TrainerError);

    archive.raw_members[0].bytes = "{not json";
    frugal::npz::Write(path, archive);
    CHECK_THROWS_WITH_AS(frugal::trainer::LoadCheckpoint(path),
                         doctest::Contains("architecture.json is not valid JSON"),
                         frugal::trainer::TrainerError);
  }
}

TEST_CASE("checkpoint: training state round trip") {
  frugal::trainer::TrainState state;
  state.model = SmallModel();
  state.epochs_done = 7;
  state.rng_state = {1, 2, 0xffffffffffffffffULL, 4};
  state.optimizer_name = "proximal-adam";
  state.optimizer_slots = {"m", "v"};
  state.optimizer_state.resize(4);
  for (std::size_t v = 0; v < 3; ++v) {  // variable 3 (dense_2/bias) was never stepped
    const std::size_t size = v % 2 == 0 ? static_cast<std::size_t>(state.model.layers[v / 2].kernel.size())
                                        : static_cast<std::size_t>(state.model.layers[v / 2].bias.size());
    state.optimizer_state[v].steps = 100 + v;
    for (std::size_t k = 0; k < 2; ++k) {
      std::vector<float>& slot = state.optimizer_state[v].slots.emplace_back(size);
      for (std::size_t i = 0; i < size; ++i) slot[i] = static_cast<float>(i) * 0.5f + static_cast<float>(k);
    }
  }
  state.mask.resize(4);
  for (std::size_t v = 0; v < 4; ++v) {
    state.mask[v].assign(state.optimizer_state[v].slots.empty() ? 3 : state.optimizer_state[v].slots[0].size(), 1.0f);
    state.mask[v][0] = 0.0f;
  }
  const std::string path = ScratchPath("state.npz");
  frugal::trainer::SaveTrainState(path, state, "unit test");

  // Kernel-shaped slots are stored in C order like the kernel: element (r, c) of
  // dense_1/kernel (6 x 4, column-major in memory) is memory index c * 6 + r.
  const frugal::npz::Archive archive = frugal::npz::Read(path);
  const frugal::npz::Array* m = archive.FindArray("optimizer/dense_1/kernel/m");
  REQUIRE(m != nullptr);
  CHECK(m->shape == std::vector<std::size_t>{6, 4});
  CHECK(m->data[1 * 4 + 2] == static_cast<float>(2 * 6 + 1) * 0.5f);
  CHECK(archive.FindArray("optimizer/dense_2/bias/m") == nullptr);
  CHECK(archive.FindArray("optimizer/mask/dense_2/bias") != nullptr);

  const frugal::trainer::TrainState loaded = frugal::trainer::LoadTrainState(path);
  CHECK(loaded.epochs_done == 7);
  CHECK(loaded.rng_state == state.rng_state);
  CHECK(loaded.optimizer_name == "proximal-adam");
  CHECK(loaded.optimizer_slots == state.optimizer_slots);
  REQUIRE(loaded.optimizer_state.size() == 4);
  for (std::size_t v = 0; v < 4; ++v) {
    INFO("variable " << v);
    CHECK(loaded.optimizer_state[v].steps == state.optimizer_state[v].steps);
    CHECK(loaded.optimizer_state[v].slots == state.optimizer_state[v].slots);
  }
  CHECK(loaded.mask == state.mask);
}

TEST_CASE("checkpoint: resuming needs the training record") {
  const std::string path = ScratchPath("model_only.npz");
  frugal::trainer::SaveCheckpoint(path, SmallModel(), "unit test");
  CHECK_THROWS_WITH_AS(frugal::trainer::LoadTrainState(path),
                       doctest::Contains("member optimizer/training.json is missing"),
                       frugal::trainer::TrainerError);
}
