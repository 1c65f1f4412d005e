// Writers of small test models in each format frugal-convert reads: .npz through
// frugal::npz::Write, ONNX through the ONNX protobuf classes, Keras HDF5 through the
// HDF5 C library. Every writer takes the same MLP, so tests can compare the outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace frugal::testing {

// One fully connected layer in the .frugal orientation.
struct MlpLayer {
  std::string name;
  std::size_t inputs = 0;
  std::size_t outputs = 0;
  std::vector<float> weights;  // row-major [outputs, inputs] (PyTorch's Linear.weight)
  std::vector<float> bias;     // empty: the layer has no bias (use_bias=False / bias=False)
  bool relu = false;
};

// weights transposed to Keras's [inputs, outputs].
std::vector<float> KerasKernel(const MlpLayer& layer);

// A 5-4-3 MLP with distinct, non-symmetric weights, so that any transposed or swapped
// load changes the outputs.
std::vector<MlpLayer> AsymmetricMlp();

// frugal-train's checkpoint layout: <name>/kernel, <name>/bias and architecture.json.
void WriteFrugalNpz(const std::string& path, const std::vector<MlpLayer>& layers);
// A PyTorch state_dict saved with numpy.savez: <name>.weight [out, in], <name>.bias.
void WritePytorchNpz(const std::string& path, const std::vector<MlpLayer>& layers);

enum class OnnxStyle {
  kTorch,         // Gemm with transB = 1, the way torch.onnx.export writes nn.Linear
  kKeras,         // MatMul then Add, the way tf2onnx writes Dense, after a Flatten
  kGemmScaled,    // Gemm with transB = 0, alpha = 2 and beta = 0.5 (weights stored halved)
  kSparse,        // Gemm transB = 1 with weights as COO sparse initializers, unsorted
                  // and with one entry split in two duplicate indices
};
// Writes an ONNX model of `layers` in the given style.
void WriteOnnx(const std::string& path, const std::vector<MlpLayer>& layers, OnnxStyle style);

// A Keras whole-model file (model.save) with model_config, or a weights file
// (model.save_weights) without it.
void WriteKerasHdf5(const std::string& path, const std::vector<MlpLayer>& layers, bool whole_model);

}  // namespace frugal::testing
