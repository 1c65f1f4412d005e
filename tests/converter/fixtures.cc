// Test model writers for .npz, ONNX and Keras HDF5; see fixtures.h.
#include "fixtures.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "frugal/npz.h"

#ifdef FRUGAL_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif
#ifdef FRUGAL_WITH_HDF5
#include <hdf5.h>
#endif

namespace frugal::testing {

std::vector<float> KerasKernel(const MlpLayer& layer) {
  std::vector<float> kernel(layer.weights.size());
  for (std::size_t out = 0; out < layer.outputs; ++out) {
    for (std::size_t in = 0; in < layer.inputs; ++in) kernel[in * layer.outputs + out] = layer.weights[out * layer.inputs + in];
  }
  return kernel;
}

std::vector<MlpLayer> AsymmetricMlp() {
  // Multiples of 1/8 and 1/16, so that halving and doubling them is exact.
  MlpLayer first{"dense_1", 5, 4, {}, {0.5f, -0.25f, 0.125f, 1.0f}, true};
  for (std::size_t i = 0; i < 20; ++i) {
    first.weights.push_back(static_cast<float>((static_cast<int>(i * 7 % 11) - 5)) / 8.0f + static_cast<float>(i) / 16.0f);
  }
  MlpLayer second{"dense_2", 4, 3, {}, {-0.75f, 0.0625f, 0.375f}, false};
  for (std::size_t i = 0; i < 12; ++i) {
    second.weights.push_back(static_cast<float>((static_cast<int>(i * 5 % 7) - 3)) / 4.0f - static_cast<float>(i) / 32.0f);
  }
  return {first, second};
}

void WriteFrugalNpz(const std::string& path, const std::vector<MlpLayer>& layers) {
  npz::Archive archive;
  nlohmann::json record = {{"format", "frugal-checkpoint"}, {"version", 1},      {"input_size", layers.front().inputs},
                           {"input_scale", 1.0},             {"class_count", 0}, {"layers", nlohmann::json::array()}};
  for (const MlpLayer& layer : layers) {
    archive.arrays.push_back({layer.name + "/kernel", {layer.inputs, layer.outputs}, KerasKernel(layer)});
    const std::vector<float> bias = layer.bias.empty() ? std::vector<float>(layer.outputs, 0.0f) : layer.bias;
    archive.arrays.push_back({layer.name + "/bias", {layer.outputs}, bias});
    record["layers"].push_back({{"name", layer.name}, {"units", layer.outputs}, {"activation", layer.relu ? "relu" : "none"}});
  }
  archive.raw_members.push_back({"architecture.json", record.dump()});
  npz::Write(path, archive);
}

void WritePytorchNpz(const std::string& path, const std::vector<MlpLayer>& layers) {
  npz::Archive archive;
  for (const MlpLayer& layer : layers) {
    archive.arrays.push_back({layer.name + ".weight", {layer.outputs, layer.inputs}, layer.weights});
    if (!layer.bias.empty()) archive.arrays.push_back({layer.name + ".bias", {layer.bias.size()}, layer.bias});
  }
  npz::Write(path, archive);
}

#ifdef FRUGAL_WITH_ONNX
namespace {

void FillTensor(onnx::TensorProto* tensor, const std::string& name, const std::vector<std::int64_t>& dims,
                const std::vector<float>& values) {
  tensor->set_name(name);
  tensor->set_data_type(onnx::TensorProto::FLOAT);
  for (const std::int64_t dim : dims) tensor->add_dims(dim);
  std::string raw(values.size() * sizeof(float), '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  tensor->set_raw_data(raw);
}

onnx::NodeProto* AddNode(onnx::GraphProto* graph, const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const std::string& input : inputs) node->add_input(input);
  node->add_output(output);
  return node;
}

void SetAttribute(onnx::NodeProto* node, const std::string& name, std::int64_t value) {
  onnx::AttributeProto* attribute = node->add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

void SetAttribute(onnx::NodeProto* node, const std::string& name, float value) {
  onnx::AttributeProto* attribute = node->add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::FLOAT);
  attribute->set_f(value);
}

void AddValueInfo(onnx::ValueInfoProto* info, const std::string& name, const std::vector<std::int64_t>& dims) {
  info->set_name(name);
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx::TensorProto::FLOAT);
  for (const std::int64_t dim : dims) tensor_type->mutable_shape()->add_dim()->set_dim_value(dim);
}

// Stores `layer.weights` ([out, in]) as a COO sparse initializer with 2-D indices,
// listed from the last entry to the first, and the first nonzero split into two halves
// at the same index.
void AddSparseWeights(onnx::GraphProto* graph, const std::string& name, const MlpLayer& layer) {
  std::vector<float> values;
  std::vector<std::int64_t> indices;
  bool split = false;
  for (std::size_t k = layer.weights.size(); k-- > 0;) {
    const float value = layer.weights[k];
    if (value == 0.0f) continue;
    const auto row = static_cast<std::int64_t>(k / layer.inputs);
    const auto col = static_cast<std::int64_t>(k % layer.inputs);
    if (!split) {
      split = true;
      values.push_back(value / 2.0f);
      indices.insert(indices.end(), {row, col});
      values.push_back(value / 2.0f);
    } else {
      values.push_back(value);
    }
    indices.insert(indices.end(), {row, col});
  }
  onnx::SparseTensorProto* sparse = graph->add_sparse_initializer();
  sparse->add_dims(static_cast<std::int64_t>(layer.outputs));
  sparse->add_dims(static_cast<std::int64_t>(layer.inputs));
  FillTensor(sparse->mutable_values(), name, {static_cast<std::int64_t>(values.size())}, values);
  onnx::TensorProto* index_tensor = sparse->mutable_indices();
  index_tensor->set_data_type(onnx::TensorProto::INT64);
  index_tensor->add_dims(static_cast<std::int64_t>(values.size()));
  index_tensor->add_dims(2);
  for (const std::int64_t index : indices) index_tensor->add_int64_data(index);
}

}  // namespace

void WriteOnnx(const std::string& path, const std::vector<MlpLayer>& layers, OnnxStyle style) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("frugal tests");
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("mlp");

  std::string current = "input";
  if (style == OnnxStyle::kKeras) {
    // An image-shaped input flattened first, as Keras models with a Flatten layer export.
    AddValueInfo(graph->add_input(), "input", {1, 1, static_cast<std::int64_t>(layers.front().inputs)});
    AddNode(graph, "Flatten", "flatten", {current}, "flat");
    current = "flat";
  } else {
    AddValueInfo(graph->add_input(), "input", {1, static_cast<std::int64_t>(layers.front().inputs)});
  }

  for (const MlpLayer& layer : layers) {
    const auto in = static_cast<std::int64_t>(layer.inputs);
    const auto out = static_cast<std::int64_t>(layer.outputs);
    const std::string linear = layer.name + "_linear";
    if (style == OnnxStyle::kKeras) {
      FillTensor(graph->add_initializer(), layer.name + "/kernel", {in, out}, KerasKernel(layer));
      AddNode(graph, "MatMul", layer.name + "/MatMul", {current, layer.name + "/kernel"}, linear + "_mm");
      if (!layer.bias.empty()) {
        FillTensor(graph->add_initializer(), layer.name + "/bias", {out}, layer.bias);
        // Bias first: Add is commutative, and exporters write either order.
        AddNode(graph, "Add", layer.name + "/BiasAdd", {layer.name + "/bias", linear + "_mm"}, linear);
      } else {
        AddNode(graph, "Identity", layer.name + "/Identity", {linear + "_mm"}, linear);
      }
    } else {
      std::vector<std::string> inputs = {current, layer.name + ".weight"};
      if (style == OnnxStyle::kSparse) {
        AddSparseWeights(graph, layer.name + ".weight", layer);
      } else if (style == OnnxStyle::kGemmScaled) {
        std::vector<float> halved = KerasKernel(layer);
        for (float& value : halved) value /= 2.0f;
        FillTensor(graph->add_initializer(), layer.name + ".weight", {in, out}, halved);
      } else {
        FillTensor(graph->add_initializer(), layer.name + ".weight", {out, in}, layer.weights);
      }
      if (!layer.bias.empty()) {
        std::vector<float> bias = layer.bias;
        if (style == OnnxStyle::kGemmScaled) {
          for (float& value : bias) value *= 2.0f;
        }
        FillTensor(graph->add_initializer(), layer.name + ".bias", {out}, bias);
        inputs.push_back(layer.name + ".bias");
      }
      onnx::NodeProto* gemm = AddNode(graph, "Gemm", "/" + layer.name + "/Gemm", inputs, linear);
      if (style == OnnxStyle::kGemmScaled) {
        SetAttribute(gemm, "alpha", 2.0f);
        SetAttribute(gemm, "beta", 0.5f);
        SetAttribute(gemm, "transB", std::int64_t{0});
      } else {
        SetAttribute(gemm, "transB", std::int64_t{1});
      }
    }
    current = linear;
    if (layer.relu) {
      AddNode(graph, "Relu", "/" + layer.name + "/Relu", {current}, layer.name + "_relu");
      current = layer.name + "_relu";
    }
  }
  AddNode(graph, "Identity", "output_identity", {current}, "logits");
  AddValueInfo(graph->add_output(), "logits", {1, static_cast<std::int64_t>(layers.back().outputs)});

  std::ofstream out(path, std::ios::binary);
  if (!model.SerializeToOstream(&out)) throw std::runtime_error(path + ": cannot write the ONNX model");
}
#endif

#ifdef FRUGAL_WITH_HDF5
namespace {

void Check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5 fixture: " + what + " failed");
}

// A 1-D attribute of fixed-length strings, the way h5py stores numpy bytes arrays.
void WriteStringArray(hid_t object, const char* name, const std::vector<std::string>& strings) {
  std::size_t width = 1;
  for (const std::string& text : strings) width = std::max(width, text.size());
  std::vector<char> bytes(width * strings.size(), '\0');
  for (std::size_t i = 0; i < strings.size(); ++i) std::memcpy(bytes.data() + i * width, strings[i].data(), strings[i].size());
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  const hsize_t dims[1] = {strings.size()};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t attribute = H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (!strings.empty()) Check(H5Awrite(attribute, type, bytes.data()), std::string("writing attribute ") + name);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
}

// A scalar variable-length string attribute, the way h5py stores a Python str.
void WriteString(hid_t object, const char* name, const std::string& text) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* pointer = text.c_str();
  Check(H5Awrite(attribute, type, &pointer), std::string("writing attribute ") + name);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
}

void WriteDataset(hid_t group, const std::string& name, const std::vector<hsize_t>& dims, const std::vector<float>& values) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t link_properties = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(link_properties, 1);
  const hid_t dataset = H5Dcreate2(group, name.c_str(), H5T_IEEE_F32LE, space, link_properties, H5P_DEFAULT, H5P_DEFAULT);
  Check(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "writing dataset " + name);
  H5Dclose(dataset);
  H5Pclose(link_properties);
  H5Sclose(space);
}

}  // namespace

void WriteKerasHdf5(const std::string& path, const std::vector<MlpLayer>& layers, bool whole_model) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) throw std::runtime_error(path + ": cannot create the HDF5 file");
  hid_t root = file;
  if (whole_model) {
    nlohmann::json config_layers = nlohmann::json::array();
    config_layers.push_back({{"class_name", "InputLayer"}, {"config", {{"name", "input_1"}}}});
    config_layers.push_back({{"class_name", "Flatten"}, {"config", {{"name", "flatten"}}}});
    for (const MlpLayer& layer : layers) {
      config_layers.push_back({{"class_name", "Dense"},
                               {"config",
                                {{"name", layer.name},
                                 {"units", layer.outputs},
                                 {"activation", layer.relu ? "relu" : "linear"},
                                 {"use_bias", !layer.bias.empty()}}}});
    }
    const nlohmann::json config = {{"class_name", "Sequential"}, {"config", {{"name", "mlp"}, {"layers", config_layers}}}};
    WriteString(file, "model_config", config.dump());
    WriteString(file, "keras_version", "2.11.0");
    root = H5Gcreate2(file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  }
  std::vector<std::string> names = {"flatten"};
  for (const MlpLayer& layer : layers) names.push_back(layer.name);
  WriteStringArray(root, "layer_names", names);

  const hid_t flatten = H5Gcreate2(root, "flatten", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  WriteStringArray(flatten, "weight_names", {});
  H5Gclose(flatten);
  for (const MlpLayer& layer : layers) {
    const hid_t group = H5Gcreate2(root, layer.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<std::string> weight_names = {layer.name + "/kernel:0"};
    WriteDataset(group, layer.name + "/kernel:0", {layer.inputs, layer.outputs}, KerasKernel(layer));
    if (!layer.bias.empty()) {
      weight_names.push_back(layer.name + "/bias:0");
      WriteDataset(group, layer.name + "/bias:0", {layer.outputs}, layer.bias);
    }
    WriteStringArray(group, "weight_names", weight_names);
    H5Gclose(group);
  }
  if (whole_model) H5Gclose(root);
  H5Fclose(file);
}
#endif

}  // namespace frugal::testing
