/* Helpers written in C (c_api_calls.c) so that the C API is compiled and called as C;
 * the doctest cases in c_api_test.cc and loader_paths_test.cc drive them. */
#ifndef FRUGAL_TESTS_ROBUSTNESS_C_API_CALLS_H_
#define FRUGAL_TESTS_ROBUSTNESS_C_API_CALLS_H_

#include <stddef.h>

#include "frugal/c_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads `path` through frugal_model_load_file and reports the result in *status; frees
 * the model. Returns 1 when *status is consistent (no model on failure, a model with
 * non-zero sizes on success), 0 otherwise. */
int c_load_file(const char* path, frugal_status* status);

/* The same through frugal_model_load_buffer. */
int c_load_buffer(const void* data, size_t size, frugal_status* status);

/* Loads `path`, creates an interpreter and runs one inference of n_in inputs into
 * n_out outputs. Returns the first failing code; *status contains its message. */
frugal_status_code c_run_file(const char* path, const float* in, size_t n_in, float* out, size_t n_out,
                              frugal_status* status);

/* Runs the argument checks of every function (NULL handles, NULL arrays, wrong lengths)
 * against the model at `path`. Returns 0 when all behave as documented, otherwise the
 * number (1-based) of the first check that failed. */
int c_check_arguments(const char* path);

/* Checks frugal_interpreter_create_with_options and frugal_interpreter_invoke_batch on
 * the model at `path` (at most 16 inputs and outputs): a batch of 3 against 3 single
 * invokes, then options and sizes out of range. Returns 0 when all behave as documented,
 * otherwise the number of the first check that failed. */
int c_check_batch(const char* path);

#ifdef __cplusplus
}
#endif

#endif /* FRUGAL_TESTS_ROBUSTNESS_C_API_CALLS_H_ */
