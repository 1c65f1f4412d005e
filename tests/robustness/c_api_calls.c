/* C-language callers of frugal/c_api.h; compiled as C11 so that the header is checked as
 * a C header and every call crosses a real C/C++ boundary. */
#include "c_api_calls.h"

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
