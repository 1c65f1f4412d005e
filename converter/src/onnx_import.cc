// Reads an ONNX model (onnx::ModelProto) whose graph is a chain of fully connected
// layers: Gemm, or MatMul followed by Add, each optionally followed by Relu, with
// Identity anywhere and Flatten or Reshape of the graph input. Weights come from dense
// or sparse (COO) initializers. Any other node is rejected by name and op type.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "frugal/converter/import.h"

namespace frugal::converter {
namespace {

using internal::ShapeText;

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw ConvertError(source + ": " + what);
}

struct Tensor {
  std::vector<std::size_t> shape;
  std::vector<float> data;  // row-major
};

std::string NodeText(const onnx::NodeProto& node) {
  return "node " + (node.name().empty() ? std::string("(unnamed)") : node.name()) + " (" + node.op_type() + ")";
}

float HalfToFloat(std::uint16_t half) {
  const std::uint32_t sign = (half >> 15) & 1u;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}

// Converts a dense TensorProto to float32. FLOAT, DOUBLE and FLOAT16 are accepted, from
// raw_data (little-endian) or the typed fields.
Tensor ReadTensor(const onnx::TensorProto& proto, const std::string& source) {
  const std::string& name = proto.name();
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    Fail(source, "initializer " + name + " keeps its data in an external file; save the model with "
                                         "save_as_external_data=False");
  }
  Tensor tensor;
  std::size_t count = 1;
  for (const std::int64_t dim : proto.dims()) {
    if (dim < 0) Fail(source, "initializer " + name + " has a negative dimension " + std::to_string(dim));
    tensor.shape.push_back(static_cast<std::size_t>(dim));
    count *= static_cast<std::size_t>(dim);
  }
  const std::string& raw = proto.raw_data();
  const int type = proto.data_type();
  std::size_t element_bytes = 0;
  std::size_t typed_count = 0;
  switch (type) {
    case onnx::TensorProto::FLOAT: element_bytes = 4; typed_count = static_cast<std::size_t>(proto.float_data_size()); break;
    case onnx::TensorProto::DOUBLE: element_bytes = 8; typed_count = static_cast<std::size_t>(proto.double_data_size()); break;
    case onnx::TensorProto::FLOAT16: element_bytes = 2; typed_count = static_cast<std::size_t>(proto.int32_data_size()); break;
    default:
      Fail(source, "initializer " + name + " has data_type " + std::to_string(type) + " (" +
                       onnx::TensorProto_DataType_Name(type) + "); only FLOAT, DOUBLE and FLOAT16 are supported");
  }
  const bool from_raw = proto.has_raw_data();
  const std::size_t stored = from_raw ? raw.size() / element_bytes : typed_count;
  if ((from_raw && raw.size() % element_bytes != 0) || stored != count) {
    Fail(source, "initializer " + name + ": shape " + ShapeText(tensor.shape) + " has " + std::to_string(count) +
                     " elements, but the tensor stores " + std::to_string(stored) +
                     (from_raw ? " (raw_data is " + std::to_string(raw.size()) + " bytes)" : std::string()));
  }
  tensor.data.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    // ONNX raw_data is little-endian, like every CPU frugal builds for.
    if (type == onnx::TensorProto::FLOAT) {
      float value;
      if (from_raw) std::memcpy(&value, raw.data() + 4 * i, 4); else value = proto.float_data(static_cast<int>(i));
      tensor.data[i] = value;
    } else if (type == onnx::TensorProto::DOUBLE) {
      double value;
      if (from_raw) std::memcpy(&value, raw.data() + 8 * i, 8); else value = proto.double_data(static_cast<int>(i));
      tensor.data[i] = static_cast<float>(value);
    } else {
      std::uint16_t half;
      if (from_raw) {
        std::memcpy(&half, raw.data() + 2 * i, 2);
      } else {
        half = static_cast<std::uint16_t>(proto.int32_data(static_cast<int>(i)));
      }
      tensor.data[i] = HalfToFloat(half);
    }
  }
  return tensor;
}

// Reads the INT64 indices of a sparse initializer.
std::vector<std::int64_t> ReadIndices(const onnx::TensorProto& proto, const std::string& tensor,
                                      const std::string& source) {
  if (proto.data_type() != onnx::TensorProto::INT64) {
    Fail(source, "sparse initializer " + tensor + ": indices have data_type " + std::to_string(proto.data_type()) +
                     " (" + onnx::TensorProto_DataType_Name(proto.data_type()) + "), expected INT64");
  }
  std::vector<std::int64_t> indices;
  if (proto.has_raw_data()) {
    indices.resize(proto.raw_data().size() / 8);
    std::memcpy(indices.data(), proto.raw_data().data(), indices.size() * 8);
  } else {
    indices.assign(proto.int64_data().begin(), proto.int64_data().end());
  }
  return indices;
}

// Expands a COO sparse initializer to a dense tensor. Duplicate indices are summed, with
// a warning; the order of the entries does not matter.
Tensor ReadSparse(const onnx::SparseTensorProto& proto, const std::string& source, std::vector<std::string>* warnings) {
  const std::string& name = proto.values().name();
  Tensor values = ReadTensor(proto.values(), source);
  const std::size_t nnz = values.data.size();
  Tensor tensor;
  std::size_t count = 1;
  for (const std::int64_t dim : proto.dims()) {
    if (dim < 0) Fail(source, "sparse initializer " + name + " has a negative dimension " + std::to_string(dim));
    tensor.shape.push_back(static_cast<std::size_t>(dim));
    count *= static_cast<std::size_t>(dim);
  }
  const std::vector<std::int64_t> indices = ReadIndices(proto.indices(), name, source);
  const std::size_t rank = tensor.shape.size();
  const bool linear = proto.indices().dims_size() == 1;
  if (indices.size() != (linear ? nnz : nnz * rank)) {
    Fail(source, "sparse initializer " + name + ": " + std::to_string(indices.size()) + " indices for " +
                     std::to_string(nnz) + " values of a rank-" + std::to_string(rank) +
                     " tensor; expected [NNZ] or [NNZ, rank] indices");
  }
  tensor.data.assign(count, 0.0f);
  std::vector<bool> seen(count, false);
  std::size_t duplicates = 0;
  for (std::size_t k = 0; k < nnz; ++k) {
    std::int64_t offset = 0;
    if (linear) {
      offset = indices[k];
    } else {
      for (std::size_t d = 0; d < rank; ++d) {
        const std::int64_t index = indices[k * rank + d];
        if (index < 0 || static_cast<std::uint64_t>(index) >= tensor.shape[d]) {
          Fail(source, "sparse initializer " + name + ": entry " + std::to_string(k) + " has index " +
                           std::to_string(index) + " in dimension " + std::to_string(d) + ", out of range [0, " +
                           std::to_string(tensor.shape[d]) + ")");
        }
        offset = offset * static_cast<std::int64_t>(tensor.shape[d]) + index;
      }
    }
    if (offset < 0 || static_cast<std::uint64_t>(offset) >= count) {
      Fail(source, "sparse initializer " + name + ": entry " + std::to_string(k) + " has linear index " +
                       std::to_string(offset) + ", out of range [0, " + std::to_string(count) + ")");
    }
    const auto at = static_cast<std::size_t>(offset);
    if (seen[at]) ++duplicates;
    seen[at] = true;
    tensor.data[at] += values.data[k];
  }
  if (duplicates > 0) {
    warnings->push_back(source + ": sparse initializer " + name + " lists " + std::to_string(duplicates) +
                        " indices more than once; their values were summed");
  }
  return tensor;
}

// The layer's name: the weight's name without a ".weight" (PyTorch) or "/kernel"
// (Keras) suffix, so that a model exported to ONNX keeps the names it had.
std::string LayerName(const std::string& weight_name) {
  for (const std::string suffix : {".weight", "/kernel"}) {
    if (weight_name.size() > suffix.size() &&
        weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return weight_name.substr(0, weight_name.size() - suffix.size());
    }
  }
  return weight_name;
}

// Walks the node chain from the graph input to the graph output.
class GraphReader {
 public:
  GraphReader(const onnx::GraphProto& graph, const std::string& source) : graph_(graph), source_(source) {
    for (const onnx::TensorProto& tensor : graph.initializer()) initializers_[tensor.name()] = &tensor;
    for (const onnx::SparseTensorProto& tensor : graph.sparse_initializer()) {
      sparse_initializers_[tensor.values().name()] = &tensor;
    }
  }

  Checkpoint Read() {
    FindInput();
    for (const onnx::NodeProto& node : graph_.node()) ReadNode(node);
    FinishLayer();
    if (graph_.output_size() != 1) {
      Fail(source_, "the graph has " + std::to_string(graph_.output_size()) + " outputs, expected 1");
    }
    if (graph_.output(0).name() != current_) {
      Fail(source_, "the graph output " + graph_.output(0).name() + " is not the end of the layer chain (" +
                        current_ + ")");
    }
    model_.warnings.insert(model_.warnings.end(), warnings_.begin(), warnings_.end());
    CheckInputShape();
    return std::move(model_);
  }

 private:
  bool IsInitializer(const std::string& name) const {
    return initializers_.count(name) != 0 || sparse_initializers_.count(name) != 0;
  }

  void FindInput() {
    for (const onnx::ValueInfoProto& input : graph_.input()) {
      if (IsInitializer(input.name())) continue;  // older exporters list initializers as inputs
      if (!current_.empty()) {
        Fail(source_, "the graph has more than one data input (" + current_ + ", " + input.name() + "), expected 1");
      }
      current_ = input.name();
      input_info_ = &input;
    }
    if (current_.empty()) Fail(source_, "the graph has no data input");
    graph_input_ = current_;
  }

  // A constant input of `node`: an initializer, dense or sparse.
  Tensor Constant(const onnx::NodeProto& node, int index, const char* role) {
    if (index >= node.input_size() || node.input(index).empty()) {
      Fail(source_, NodeText(node) + ": input " + std::to_string(index) + " (" + role + ") is missing");
    }
    const std::string& name = node.input(index);
    if (const auto it = initializers_.find(name); it != initializers_.end()) return ReadTensor(*it->second, source_);
    if (const auto it = sparse_initializers_.find(name); it != sparse_initializers_.end()) {
      return ReadSparse(*it->second, source_, &warnings_);
    }
    Fail(source_, NodeText(node) + ": " + role + " " + name +
                      " is not an initializer; only weights stored in the model are supported");
  }

  void RequireDataInput(const onnx::NodeProto& node, int index) {
    if (index >= node.input_size() || node.input(index) != current_) {
      Fail(source_, NodeText(node) + " reads " + (index < node.input_size() ? node.input(index) : "nothing") +
                        ", but the layer chain is at " + current_ + "; only a single chain of layers is supported");
    }
  }

  void Advance(const onnx::NodeProto& node) {
    if (node.output_size() != 1) {
      Fail(source_, NodeText(node) + " has " + std::to_string(node.output_size()) + " outputs, expected 1");
    }
    current_ = node.output(0);
  }

  static const onnx::AttributeProto* Attribute(const onnx::NodeProto& node, const std::string& name) {
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.name() == name) return &attribute;
    }
    return nullptr;
  }
  static std::int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
    const onnx::AttributeProto* attribute = Attribute(node, name);
    return attribute == nullptr ? fallback : attribute->i();
  }
  static float FloatAttribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
    const onnx::AttributeProto* attribute = Attribute(node, name);
    return attribute == nullptr ? fallback : attribute->f();
  }

  void ReadNode(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      Fail(source_, NodeText(node) + " is in domain " + node.domain() + "; only standard ONNX operators are supported");
    }
    if (op == "Identity") {
      RequireDataInput(node, 0);
      Advance(node);
    } else if (op == "Flatten" || op == "Reshape") {
      // Flattening an image to a vector keeps the row-major order of its values, so
      // it is a no-op for a batch-1 runtime; after a layer it would be meaningless.
      if (current_ != graph_input_ || !model_.layers.empty() || pending_) {
        Fail(source_, NodeText(node) + " is only supported on the graph input, before the first layer");
      }
      if (op == "Flatten" && IntAttribute(node, "axis", 1) != 1) {
        Fail(source_, NodeText(node) + ": axis = " + std::to_string(IntAttribute(node, "axis", 1)) +
                          " is not supported, expected 1 (keep the batch dimension)");
      }
      RequireDataInput(node, 0);
      Advance(node);
      graph_input_ = current_;
    } else if (op == "Gemm") {
      ReadGemm(node);
    } else if (op == "MatMul") {
      ReadMatMul(node);
    } else if (op == "Add") {
      ReadAdd(node);
    } else if (op == "Relu") {
      RequireDataInput(node, 0);
      if (!pending_) Fail(source_, NodeText(node) + " does not follow a Gemm, MatMul or Add");
      if (pending_->activation == Activation::kRelu) Fail(source_, NodeText(node) + " follows another Relu");
      pending_->activation = Activation::kRelu;
      Advance(node);
    } else {
      Fail(source_, NodeText(node) + " is not supported; frugal-convert reads Gemm, MatMul, Add, Relu, Identity, "
                                     "and Flatten or Reshape of the input");
    }
  }

  // Starts a layer with `weights` in ONNX [inputs, outputs] or, when `transposed`,
  // [outputs, inputs] orientation, both row-major.
  void StartLayer(const onnx::NodeProto& node, const std::string& weight_name, Tensor weights, bool transposed,
                  float alpha) {
    FinishLayer();
    if (weights.shape.size() != 2) {
      Fail(source_, NodeText(node) + ": weight " + weight_name + " has shape " + ShapeText(weights.shape) +
                        ", expected 2-D");
    }
    internal::CheckFinite(weights.data, weights.shape, weight_name, source_);
    Layer layer;
    layer.name = LayerName(weight_name);
    layer.input_size = static_cast<std::uint32_t>(transposed ? weights.shape[1] : weights.shape[0]);
    layer.output_size = static_cast<std::uint32_t>(transposed ? weights.shape[0] : weights.shape[1]);
    if (!model_.layers.empty() && layer.input_size != model_.layers.back().output_size) {
      Fail(source_, NodeText(node) + ": weight " + weight_name + " has shape " + ShapeText(weights.shape) +
                        (transposed ? " (transB = 1, [outputs, inputs])" : " ([inputs, outputs])") + " and reads " +
                        std::to_string(layer.input_size) + " inputs, but the layer before has " +
                        std::to_string(model_.layers.back().output_size) + " outputs");
    }
    layer.weights = transposed ? std::move(weights.data)
                               : internal::Transpose(weights.data, weights.shape[0], weights.shape[1]);
    if (alpha != 1.0f) {
      for (float& weight : layer.weights) weight *= alpha;
    }
    layer.bias.assign(layer.output_size, 0.0f);
    pending_ = std::move(layer);
    bias_set_ = false;
  }

  // Sets the pending layer's bias from a [outputs], [1, outputs] or one-element tensor.
  void SetBias(const onnx::NodeProto& node, const std::string& bias_name, const Tensor& bias, float beta) {
    internal::CheckFinite(bias.data, bias.shape, bias_name, source_);
    const std::uint32_t outputs = pending_->output_size;
    const bool per_output = bias.data.size() == outputs &&
                            (bias.shape == std::vector<std::size_t>{outputs} ||
                             bias.shape == std::vector<std::size_t>{1, outputs});
    const bool broadcast = bias.data.size() == 1;
    if (!per_output && !broadcast) {
      Fail(source_, NodeText(node) + ": bias " + bias_name + " has shape " + ShapeText(bias.shape) + ", expected [" +
                        std::to_string(outputs) + "], [1, " + std::to_string(outputs) + "] or a single value");
    }
    for (std::uint32_t j = 0; j < outputs; ++j) pending_->bias[j] = beta * bias.data[per_output ? j : 0];
    bias_set_ = true;
  }

  void ReadGemm(const onnx::NodeProto& node) {
    RequireDataInput(node, 0);
    if (IntAttribute(node, "transA", 0) != 0 && current_ != graph_input_) {
      // On the graph input, transA only means that the batch is the last dimension.
      Fail(source_, NodeText(node) + ": transA = 1 is only supported on the graph input");
    }
    const bool trans_b = IntAttribute(node, "transB", 0) != 0;
    StartLayer(node, node.input(1), Constant(node, 1, "weight B"), trans_b, FloatAttribute(node, "alpha", 1.0f));
    if (node.input_size() > 2 && !node.input(2).empty()) {
      SetBias(node, node.input(2), Constant(node, 2, "bias C"), FloatAttribute(node, "beta", 1.0f));
    }
    Advance(node);
  }

  void ReadMatMul(const onnx::NodeProto& node) {
    RequireDataInput(node, 0);
    if (node.input_size() != 2) Fail(source_, NodeText(node) + " has " + std::to_string(node.input_size()) + " inputs, expected 2");
    StartLayer(node, node.input(1), Constant(node, 1, "weight"), /*transposed=*/false, 1.0f);
    Advance(node);
  }

  void ReadAdd(const onnx::NodeProto& node) {
    if (node.input_size() != 2) Fail(source_, NodeText(node) + " has " + std::to_string(node.input_size()) + " inputs, expected 2");
    const int data = node.input(0) == current_ ? 0 : 1;
    RequireDataInput(node, data);
    if (!pending_ || bias_set_ || pending_->activation != Activation::kNone) {
      Fail(source_, NodeText(node) + " must directly follow a MatMul (or a Gemm without bias C)");
    }
    SetBias(node, node.input(1 - data), Constant(node, 1 - data, "bias"), 1.0f);
    Advance(node);
  }

  void FinishLayer() {
    if (!pending_) return;
    model_.layers.push_back(std::move(*pending_));
    pending_.reset();
  }

  // Compares the graph input's static shape, when it has one, with the first layer.
  void CheckInputShape() const {
    if (input_info_ == nullptr || !input_info_->type().has_tensor_type()) return;
    const auto& shape = input_info_->type().tensor_type().shape();
    if (shape.dim_size() < 2) return;
    std::uint64_t features = 1;
    for (int d = 1; d < shape.dim_size(); ++d) {
      if (!shape.dim(d).has_dim_value()) return;  // symbolic: nothing to compare
      features *= static_cast<std::uint64_t>(shape.dim(d).dim_value());
    }
    const std::uint32_t expected = model_.layers.front().input_size;
    if (features != expected && !(shape.dim_size() == 2 && shape.dim(0).has_dim_value() &&
                                  static_cast<std::uint64_t>(shape.dim(0).dim_value()) == expected)) {
      Fail(source_, "graph input " + input_info_->name() + " has " + std::to_string(features) +
                        " features per example, but the first layer reads " + std::to_string(expected));
    }
  }

  const onnx::GraphProto& graph_;
  const std::string& source_;
  std::map<std::string, const onnx::TensorProto*> initializers_;
  std::map<std::string, const onnx::SparseTensorProto*> sparse_initializers_;
  const onnx::ValueInfoProto* input_info_ = nullptr;
  std::string current_;      // the tensor the chain has reached
  std::string graph_input_;  // the data input, after any Flatten or Reshape
  std::optional<Layer> pending_;
  bool bias_set_ = false;
  Checkpoint model_;
  std::vector<std::string> warnings_;
};

}  // namespace

Checkpoint ParseOnnx(const std::string& bytes, const std::string& source, const ImportOptions& options) {
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes)) {
    Fail(source, "is not a valid ONNX model: the protobuf ModelProto does not parse (" + std::to_string(bytes.size()) +
                     " bytes)");
  }
  if (!proto.has_graph()) Fail(source, "the ONNX model has no graph");
  Checkpoint model = GraphReader(proto.graph(), source).Read();
  model.producer = proto.producer_name().empty() ? "ONNX" : proto.producer_name() + " " + proto.producer_version();
  model.description = proto.doc_string();
  return internal::FinishImport(std::move(model), /*activations_known=*/true, options, source);
}

}  // namespace frugal::converter
