// Loads a .frugal model through the installed runtime and prints its first prediction,
// proving that headers, library and package configuration work together.
#include <cstdio>
#include <memory>
#include <vector>

#include <frugal/runtime.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MODEL.frugal\n");
    return 2;
  }
  std::unique_ptr<frugal::Model> model;
  frugal::Status status = frugal::Model::FromFile(argv[1], &model);
  if (!status.ok()) {
    std::fprintf(stderr, "consumer: %s\n", status.message().c_str());
    return 1;
  }
  frugal::Interpreter interpreter(*model);
  std::vector<float> input(model->input_size(), 0.5f);
  std::span<const float> output;
  status = interpreter.Invoke(input, &output);
  if (!status.ok()) {
    std::fprintf(stderr, "consumer: %s\n", status.message().c_str());
    return 1;
  }
  std::printf("layers %zu, outputs %zu, class %zu\n", model->layer_count(), output.size(),
              frugal::ArgMax(output));
  return 0;
}
