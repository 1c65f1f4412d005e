// Model loading: reads a file or adopts a caller's buffer, then hands the bytes to
// VerifyModel. Also the Model accessors and ArgMax.
#include <cassert>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "frugal/runtime.h"
#include "src/model_view.h"

namespace frugal {

namespace {

// Weights are read in place as floats and uint32s; the verifier checks alignment relative
// to the buffer start, so the start itself has to be aligned as well.
constexpr std::size_t kBufferAlignment = alignof(float);

Status ReadWholeFile(const std::string& path, std::size_t max_bytes, std::vector<std::uint8_t>* bytes) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return Status(StatusCode::kNotFound, path + ": file not found");
  }
  if (error) return Status(StatusCode::kIoError, path + ": cannot read the file status: " + error.message());
  if (std::filesystem::is_directory(status)) {
    return Status(StatusCode::kIoError, path + ": is a directory, expected a .frugal file");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return Status(StatusCode::kIoError, path + ": cannot read the file size: " + error.message());
  if (size > max_bytes) {
    return Status(StatusCode::kInvalidModel, path + ": file is " + std::to_string(size) +
                                                 " bytes, over the limit max_file_bytes = " + std::to_string(max_bytes));
  }

  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Status(StatusCode::kIoError, path + ": cannot open the file for reading");
  bytes->resize(static_cast<std::size_t>(size));
  const std::size_t read = bytes->empty() ? 0 : std::fread(bytes->data(), 1, bytes->size(), file);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed || read != bytes->size()) {
    return Status(StatusCode::kIoError, path + ": read " + std::to_string(read) + " of " +
                                            std::to_string(bytes->size()) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

Status Model::FromFile(const std::string& path, std::unique_ptr<Model>* model, const LoadOptions& options) {
  if (model == nullptr) return Status(StatusCode::kInvalidArgument, path + ": the model output pointer is null");
  try {
    std::unique_ptr<Model> result(new Model());
    Impl& impl = *result->impl_;
    if (Status status = ReadWholeFile(path, options.max_file_bytes, &impl.owned_bytes); !status.ok()) return status;
    impl.file_bytes = impl.owned_bytes.size();
    impl.source_name = path;
    Status status = internal::VerifyModel(impl.owned_bytes.data(), impl.owned_bytes.size(), path, options, &impl.view);
    if (!status.ok()) return status;
    *model = std::move(result);
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kIoError, path + ": out of memory while loading the model");
  }
}

Status Model::FromBuffer(const void* data, std::size_t size, std::unique_ptr<Model>* model,
                         const LoadOptions& options, std::string_view name) {
  const std::string source(name);
  if (model == nullptr) return Status(StatusCode::kInvalidArgument, source + ": the model output pointer is null");
  if (data == nullptr && size != 0) return Status(StatusCode::kInvalidArgument, source + ": data is null");
  if (reinterpret_cast<std::uintptr_t>(data) % kBufferAlignment != 0) {
    return Status(StatusCode::kInvalidArgument,
                  source + ": buffer address is not " + std::to_string(kBufferAlignment) + "-byte aligned");
  }
  if (size > options.max_file_bytes) {
    return Status(StatusCode::kInvalidModel, source + ": buffer is " + std::to_string(size) +
                                                   " bytes, over the limit max_file_bytes = " +
                                                   std::to_string(options.max_file_bytes));
  }
  try {
    std::unique_ptr<Model> result(new Model());
    Impl& impl = *result->impl_;
    impl.file_bytes = size;
    impl.source_name = source;
    static const std::uint8_t kEmpty[1] = {0};
    const auto* bytes = data != nullptr ? static_cast<const std::uint8_t*>(data) : kEmpty;
    Status status = internal::VerifyModel(bytes, size, source, options, &impl.view);
    if (!status.ok()) return status;
    *model = std::move(result);
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kIoError, source + ": out of memory while loading the model");
  }
}

std::size_t Model::input_size() const { return impl_->view.input_size; }
std::span<const std::uint32_t> Model::input_indices() const {
  const internal::ModelView& view = impl_->view;
  if (view.input_indices == nullptr) return {};
  return {view.input_indices, view.layers.front().info.input_size};
}
std::size_t Model::output_size() const { return impl_->view.layers.back().info.output_size; }
std::size_t Model::layer_count() const { return impl_->view.layers.size(); }
const LayerInfo& Model::layer(std::size_t i) const {
  assert(i < impl_->view.layers.size());
  return impl_->view.layers[i].info;
}
float Model::input_scale() const { return impl_->view.input_scale; }
std::uint32_t Model::class_count() const { return impl_->view.class_count; }
const std::string& Model::producer() const { return impl_->view.producer; }
const std::string& Model::description() const { return impl_->view.description; }
const std::string& Model::source_name() const { return impl_->source_name; }
std::size_t Model::file_bytes() const { return impl_->file_bytes; }

std::size_t ArgMax(std::span<const float> values) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = i;
  }
  return best;
}

}  // namespace frugal
