/* C-language callers of frugal/c_api.h; compiled as C11 so that the header is checked as
 * a C header and every call crosses a real C/C++ boundary. */
#include "c_api_calls.h"

#include <math.h>
#include <string.h>

int c_load_file(const char* path, frugal_status* status) {
  frugal_model* model = (frugal_model*)1; /* must be overwritten on every path */
  const frugal_status_code code = frugal_model_load_file(path, &model, status);
  int consistent = code == status->code;
  if (code == FRUGAL_OK) {
    consistent = consistent && model != NULL && frugal_model_input_size(model) > 0 &&
                 frugal_model_output_size(model) > 0 && status->message[0] == '\0';
  } else {
    consistent = consistent && model == NULL && status->message[0] != '\0';
  }
  frugal_model_free(model == (frugal_model*)1 ? NULL : model);
  return consistent;
}

int c_load_buffer(const void* data, size_t size, frugal_status* status) {
  frugal_model* model = (frugal_model*)1;
  const frugal_status_code code = frugal_model_load_buffer(data, size, &model, status);
  int consistent = code == status->code;
  if (code == FRUGAL_OK) {
    consistent = consistent && model != NULL && status->message[0] == '\0';
  } else {
    consistent = consistent && model == NULL && status->message[0] != '\0';
  }
  frugal_model_free(model == (frugal_model*)1 ? NULL : model);
  return consistent;
}

frugal_status_code c_run_file(const char* path, const float* in, size_t n_in, float* out, size_t n_out,
                              frugal_status* status) {
  frugal_model* model = NULL;
  frugal_interpreter* interpreter = NULL;
  frugal_status_code code = frugal_model_load_file(path, &model, status);
  if (code != FRUGAL_OK) return code;
  code = frugal_interpreter_create(model, &interpreter, status);
  if (code == FRUGAL_OK) {
    code = frugal_interpreter_invoke(interpreter, in, n_in, out, n_out);
    status->code = code;
    strncpy(status->message, frugal_interpreter_last_error(interpreter), FRUGAL_STATUS_MESSAGE_SIZE - 1);
    status->message[FRUGAL_STATUS_MESSAGE_SIZE - 1] = '\0';
  }
  frugal_interpreter_free(interpreter);
  frugal_model_free(model);
  return code;
}

int c_check_arguments(const char* path) {
  frugal_status status;
  frugal_model* model = NULL;
  frugal_interpreter* interpreter = NULL;
  float in[64] = {0};
  float out[64] = {0};
  int failed = 0;

  if (frugal_model_load_file(NULL, &model, &status) != FRUGAL_INVALID_ARGUMENT || model != NULL) return 1;
  if (frugal_model_load_file(path, NULL, NULL) != FRUGAL_INVALID_ARGUMENT) return 2;
  if (frugal_model_load_buffer(NULL, 16, &model, &status) != FRUGAL_INVALID_ARGUMENT) return 3;
  if (frugal_interpreter_create(NULL, &interpreter, &status) != FRUGAL_INVALID_ARGUMENT) return 4;
  if (frugal_interpreter_invoke(NULL, in, 1, out, 1) != FRUGAL_INVALID_ARGUMENT) return 5;
  if (frugal_model_input_size(NULL) != 0 || frugal_model_output_size(NULL) != 0) return 6;
  if (strcmp(frugal_interpreter_last_error(NULL), "") != 0) return 7;
  frugal_model_free(NULL);
  frugal_interpreter_free(NULL);

  /* A NULL status is allowed everywhere. */
  if (frugal_model_load_file(path, &model, NULL) != FRUGAL_OK) return 8;
  if (frugal_interpreter_create(model, &interpreter, NULL) != FRUGAL_OK) return 9;
  {
    const size_t n_in = frugal_model_input_size(model);
    const size_t n_out = frugal_model_output_size(model);
    if (n_in > 63 || n_out > 63) {
      failed = 10;
    } else if (frugal_interpreter_invoke(interpreter, in, n_in + 1, out, n_out) != FRUGAL_INVALID_ARGUMENT ||
               strstr(frugal_interpreter_last_error(interpreter), "n_in = ") == NULL) {
      failed = 11;
    } else if (frugal_interpreter_invoke(interpreter, in, n_in, out, n_out - 1) != FRUGAL_INVALID_ARGUMENT) {
      failed = 12;
    } else if (frugal_interpreter_invoke(interpreter, NULL, n_in, out, n_out) != FRUGAL_INVALID_ARGUMENT ||
               strstr(frugal_interpreter_last_error(interpreter), "in is NULL") == NULL) {
      failed = 13;
    } else if (frugal_interpreter_invoke(interpreter, in, n_in, out, n_out) != FRUGAL_OK ||
               strcmp(frugal_interpreter_last_error(interpreter), "") != 0) {
      failed = 14; /* a success clears the previous error */
    } else if (strcmp(frugal_status_code_name(FRUGAL_INVALID_MODEL), "FRUGAL_INVALID_MODEL") != 0) {
      failed = 15;
    }
  }
  frugal_interpreter_free(interpreter);
  frugal_model_free(model);
  return failed;
}

int c_check_batch(const char* path) {
  enum { kBatch = 3, kMaxSize = 16 };
  frugal_model* model = NULL;
  frugal_interpreter* single = NULL;
  frugal_interpreter* batched = NULL;
  frugal_interpreter_options options;
  float in[kBatch * kMaxSize];
  float out[kBatch * kMaxSize];
  float expected[kMaxSize];
  size_t n_in;
  size_t n_out;
  size_t i;
  int failed = 0;

  if (frugal_model_load_file(path, &model, NULL) != FRUGAL_OK) return 1;
  n_in = frugal_model_input_size(model);
  n_out = frugal_model_output_size(model);
  if (n_in > kMaxSize || n_out > kMaxSize) {
    frugal_model_free(model);
    return 2;
  }
  for (i = 0; i < kBatch * n_in; ++i) in[i] = (float)((i * 7) % 11) / 10.0f - 0.5f;

  options.max_batch = 0;
  options.threads = 1;
  if (frugal_interpreter_create_with_options(model, &options, &batched, NULL) != FRUGAL_INVALID_ARGUMENT ||
      batched != NULL) {
    frugal_model_free(model);
    return 3;
  }
  options.max_batch = 4;
  options.threads = 2;
  if (frugal_interpreter_create_with_options(model, &options, &batched, NULL) != FRUGAL_OK) {
    frugal_model_free(model);
    return 4;
  }
  if (frugal_interpreter_create_with_options(model, NULL, &single, NULL) != FRUGAL_OK) {
    failed = 5;
  } else if (frugal_interpreter_invoke_batch(batched, in, kBatch * n_in, kBatch, out, kBatch * n_out) != FRUGAL_OK) {
    failed = 6;
  } else if (frugal_interpreter_invoke_batch(batched, in, 5 * n_in, 5, out, 5 * n_out) != FRUGAL_INVALID_ARGUMENT ||
             strstr(frugal_interpreter_last_error(batched), "max_batch = 4") == NULL) {
    failed = 7;
  } else if (frugal_interpreter_invoke_batch(batched, in, kBatch * n_in, kBatch, out, n_out) !=
             FRUGAL_INVALID_ARGUMENT) {
    failed = 8;
  } else if (frugal_interpreter_invoke_batch(batched, NULL, kBatch * n_in, kBatch, out, kBatch * n_out) !=
             FRUGAL_INVALID_ARGUMENT) {
    failed = 9;
  } else if (frugal_interpreter_invoke_batch(single, in, 2 * n_in, 2, out, 2 * n_out) != FRUGAL_INVALID_ARGUMENT) {
    failed = 10; /* NULL options mean max_batch = 1 */
  } else {
    size_t b;
    for (b = 0; b < kBatch && failed == 0; ++b) {
      if (frugal_interpreter_invoke(single, in + b * n_in, n_in, expected, n_out) != FRUGAL_OK) {
        failed = 11;
        break;
      }
      for (i = 0; i < n_out; ++i) {
        const float scale = fabsf(expected[i]) > 1.0f ? fabsf(expected[i]) : 1.0f;
        if (fabsf(out[b * n_out + i] - expected[i]) > 1e-5f * scale) failed = 12;
      }
    }
  }
  frugal_interpreter_free(single);
  frugal_interpreter_free(batched);
  frugal_model_free(model);
  return failed;
}
