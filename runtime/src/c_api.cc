// The C interface in frugal/c_api.h: opaque handles around Model and Interpreter, and a
// catch-all at every entry point, so that no C++ exception crosses into C.
#include "frugal/c_api.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>

#include "frugal/runtime.h"

struct frugal_model {
  std::unique_ptr<frugal::Model> model;
};

struct frugal_interpreter {
  const frugal::Model* model = nullptr;
  std::unique_ptr<frugal::Interpreter> interpreter;
  // Written with snprintf, so reporting an invoke error allocates nothing.
  char last_error[FRUGAL_STATUS_MESSAGE_SIZE] = "";
};

namespace {

frugal_status_code ToCode(frugal::StatusCode code) {
  switch (code) {
    case frugal::StatusCode::kOk: return FRUGAL_OK;
    case frugal::StatusCode::kInvalidArgument: return FRUGAL_INVALID_ARGUMENT;
    case frugal::StatusCode::kNotFound: return FRUGAL_NOT_FOUND;
    case frugal::StatusCode::kIoError: return FRUGAL_IO_ERROR;
    case frugal::StatusCode::kInvalidModel: return FRUGAL_INVALID_MODEL;
    case frugal::StatusCode::kUnsupported: return FRUGAL_UNSUPPORTED;
    case frugal::StatusCode::kOutOfMemory: return FRUGAL_OUT_OF_MEMORY;
  }
  return FRUGAL_INTERNAL_ERROR;
}

// Fills *status (when not null) and returns the code, so callers can `return Report(...)`.
frugal_status_code Report(frugal_status* status, frugal_status_code code, const char* message) {
  if (status != nullptr) {
    status->code = code;
    std::snprintf(status->message, sizeof(status->message), "%s", message);
  }
  return code;
}

frugal_status_code Report(frugal_status* status, const frugal::Status& result) {
  return Report(status, ToCode(result.code()), result.message().c_str());
}

// Runs `body` and maps any exception that escapes it to a code and message.
template <typename Body>
frugal_status_code Guard(frugal_status* status, const char* function, Body body) {
  char message[160];
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::snprintf(message, sizeof(message), "%s: out of memory", function);
    return Report(status, FRUGAL_OUT_OF_MEMORY, message);
  } catch (const std::exception& error) {
    std::snprintf(message, sizeof(message), "%s: unexpected exception: %s", function, error.what());
    return Report(status, FRUGAL_INTERNAL_ERROR, message);
  } catch (...) {
    std::snprintf(message, sizeof(message), "%s: unexpected exception of unknown type", function);
    return Report(status, FRUGAL_INTERNAL_ERROR, message);
  }
}

frugal_status_code Adopt(std::unique_ptr<frugal::Model> loaded, frugal_model** model, frugal_status* status) {
  *model = new frugal_model{std::move(loaded)};
  return Report(status, FRUGAL_OK, "");
}

}  // namespace

extern "C" {

frugal_status_code frugal_model_load_file(const char* path, frugal_model** model, frugal_status* status) {
  if (model == nullptr) return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_model_load_file: model is NULL");
  *model = nullptr;
  if (path == nullptr) return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_model_load_file: path is NULL");
  return Guard(status, "frugal_model_load_file", [&] {
    std::unique_ptr<frugal::Model> loaded;
    const frugal::Status result = frugal::Model::FromFile(path, &loaded);
    if (!result.ok()) return Report(status, result);
    return Adopt(std::move(loaded), model, status);
  });
}

frugal_status_code frugal_model_load_buffer(const void* data, size_t size, frugal_model** model,
                                            frugal_status* status) {
  if (model == nullptr) return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_model_load_buffer: model is NULL");
  *model = nullptr;
  return Guard(status, "frugal_model_load_buffer", [&] {
    std::unique_ptr<frugal::Model> loaded;
    const frugal::Status result = frugal::Model::FromBuffer(data, size, &loaded);
    if (!result.ok()) return Report(status, result);
    return Adopt(std::move(loaded), model, status);
  });
}

void frugal_model_free(frugal_model* model) { delete model; }

size_t frugal_model_input_size(const frugal_model* model) {
  return model != nullptr ? model->model->input_size() : 0;
}

size_t frugal_model_output_size(const frugal_model* model) {
  return model != nullptr ? model->model->output_size() : 0;
}

frugal_status_code frugal_interpreter_create(const frugal_model* model, frugal_interpreter** interpreter,
                                             frugal_status* status) {
  if (interpreter == nullptr) {
    return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_interpreter_create: interpreter is NULL");
  }
  *interpreter = nullptr;
  if (model == nullptr) return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_interpreter_create: model is NULL");
  return Guard(status, "frugal_interpreter_create", [&] {
    auto created = std::make_unique<frugal_interpreter>();
    created->model = model->model.get();
    created->interpreter = std::make_unique<frugal::Interpreter>(*model->model);
    *interpreter = created.release();
    return Report(status, FRUGAL_OK, "");
  });
}

frugal_status_code frugal_interpreter_create_with_options(const frugal_model* model,
                                                          const frugal_interpreter_options* options,
                                                          frugal_interpreter** interpreter, frugal_status* status) {
  if (interpreter == nullptr) {
    return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_interpreter_create_with_options: interpreter is NULL");
  }
  *interpreter = nullptr;
  if (model == nullptr) {
    return Report(status, FRUGAL_INVALID_ARGUMENT, "frugal_interpreter_create_with_options: model is NULL");
  }
  return Guard(status, "frugal_interpreter_create_with_options", [&] {
    frugal::InterpreterOptions cpp_options;
    if (options != nullptr) {
      cpp_options.max_batch = options->max_batch;
      cpp_options.threads = options->threads;
    }
    auto created = std::make_unique<frugal_interpreter>();
    created->model = model->model.get();
    const frugal::Status result = frugal::Interpreter::Create(*model->model, cpp_options, &created->interpreter);
    if (!result.ok()) return Report(status, result);
    *interpreter = created.release();
    return Report(status, FRUGAL_OK, "");
  });
}

void frugal_interpreter_free(frugal_interpreter* interpreter) { delete interpreter; }

frugal_status_code frugal_interpreter_invoke_batch(frugal_interpreter* interpreter, const float* in, size_t n_in,
                                                   size_t batch, float* out, size_t n_out) {
  if (interpreter == nullptr) return FRUGAL_INVALID_ARGUMENT;
  char* error = interpreter->last_error;
  if (in == nullptr || out == nullptr) {
    std::snprintf(error, FRUGAL_STATUS_MESSAGE_SIZE, "frugal_interpreter_invoke_batch: %s is NULL",
                  in == nullptr ? "in" : "out");
    return FRUGAL_INVALID_ARGUMENT;
  }
  // InvokeBatch checks batch, n_in and n_out and names the expected sizes.
  frugal_status status{};
  const frugal_status_code code = Guard(&status, "frugal_interpreter_invoke_batch", [&] {
    const frugal::Status result =
        interpreter->interpreter->InvokeBatch(std::span<const float>(in, n_in), batch, std::span<float>(out, n_out));
    if (!result.ok()) return Report(&status, result);
    return FRUGAL_OK;
  });
  std::snprintf(error, FRUGAL_STATUS_MESSAGE_SIZE, "%s", code == FRUGAL_OK ? "" : status.message);
  return code;
}

frugal_status_code frugal_interpreter_invoke(frugal_interpreter* interpreter, const float* in, size_t n_in,
                                             float* out, size_t n_out) {
  if (interpreter == nullptr) return FRUGAL_INVALID_ARGUMENT;
  char* error = interpreter->last_error;
  const std::size_t inputs = interpreter->model->input_size();
  const std::size_t outputs = interpreter->model->output_size();
  if (in == nullptr || out == nullptr) {
    std::snprintf(error, FRUGAL_STATUS_MESSAGE_SIZE, "frugal_interpreter_invoke: %s is NULL",
                  in == nullptr ? "in" : "out");
    return FRUGAL_INVALID_ARGUMENT;
  }
  if (n_in != inputs || n_out != outputs) {
    std::snprintf(error, FRUGAL_STATUS_MESSAGE_SIZE,
                  "frugal_interpreter_invoke: n_in = %zu and n_out = %zu, expected the model's input size %zu "
                  "and output size %zu",
                  n_in, n_out, inputs, outputs);
    return FRUGAL_INVALID_ARGUMENT;
  }
  // Invoke allocates nothing and the kernels do not throw, but the guard keeps that a
  // property of the C++ code rather than a promise this boundary depends on.
  frugal_status status{};
  const frugal_status_code code = Guard(&status, "frugal_interpreter_invoke", [&] {
    std::copy(in, in + n_in, interpreter->interpreter->input().begin());
    const frugal::Status result = interpreter->interpreter->Invoke();
    if (!result.ok()) return Report(&status, result);
    const std::span<const float> output = interpreter->interpreter->output();
    std::copy(output.begin(), output.end(), out);
    return FRUGAL_OK;
  });
  std::snprintf(error, FRUGAL_STATUS_MESSAGE_SIZE, "%s", code == FRUGAL_OK ? "" : status.message);
  return code;
}

const char* frugal_interpreter_last_error(const frugal_interpreter* interpreter) {
  return interpreter != nullptr ? interpreter->last_error : "";
}

const char* frugal_status_code_name(frugal_status_code code) {
  switch (code) {
    case FRUGAL_OK: return "FRUGAL_OK";
    case FRUGAL_INVALID_ARGUMENT: return "FRUGAL_INVALID_ARGUMENT";
    case FRUGAL_NOT_FOUND: return "FRUGAL_NOT_FOUND";
    case FRUGAL_IO_ERROR: return "FRUGAL_IO_ERROR";
    case FRUGAL_INVALID_MODEL: return "FRUGAL_INVALID_MODEL";
    case FRUGAL_UNSUPPORTED: return "FRUGAL_UNSUPPORTED";
    case FRUGAL_OUT_OF_MEMORY: return "FRUGAL_OUT_OF_MEMORY";
    case FRUGAL_INTERNAL_ERROR: return "FRUGAL_INTERNAL_ERROR";
  }
  return "FRUGAL_UNKNOWN_STATUS_CODE";
}

}  // extern "C"
