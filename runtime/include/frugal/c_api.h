/* C interface to frugal's inference runtime, for C programs and other languages' foreign
 * function interfaces. Every function returns a status code; none of them throws, aborts
 * or lets a C++ exception escape (an out-of-memory condition is FRUGAL_OUT_OF_MEMORY).
 *
 * Errors: the load and create functions, which have no handle to report on yet, fill a
 * caller-owned frugal_status (pass NULL to ignore the message). frugal_interpreter_invoke
 * and frugal_interpreter_invoke_batch store their message in the interpreter, where
 * frugal_interpreter_last_error returns it.
 *
 * Threads: a loaded model is immutable and may be shared by interpreters on several
 * threads; one interpreter is for one thread at a time. */
#ifndef FRUGAL_C_API_H_
#define FRUGAL_C_API_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum frugal_status_code {
  FRUGAL_OK = 0,
  FRUGAL_INVALID_ARGUMENT = 1, /* a null pointer, or an input or output of the wrong length */
  FRUGAL_NOT_FOUND = 2,        /* the model file does not exist */
  FRUGAL_IO_ERROR = 3,         /* the file exists but could not be read (or is a directory) */
  FRUGAL_INVALID_MODEL = 4,    /* the bytes are not a valid .frugal model */
  FRUGAL_UNSUPPORTED = 5,      /* a valid model this runtime cannot run, such as a newer format */
  FRUGAL_OUT_OF_MEMORY = 6,
  FRUGAL_INTERNAL_ERROR = 7    /* an unexpected C++ exception; please report it */
} frugal_status_code;

/* Message buffer size, terminating zero included. Longer messages are cut at 511 bytes. */
#define FRUGAL_STATUS_MESSAGE_SIZE 512

typedef struct frugal_status {
  frugal_status_code code;
  /* Empty for FRUGAL_OK; otherwise one line naming the file or buffer, the layer, the
   * field and the value, the same text as the C++ frugal::Status::message(). */
  char message[FRUGAL_STATUS_MESSAGE_SIZE];
} frugal_status;

typedef struct frugal_model frugal_model;
typedef struct frugal_interpreter frugal_interpreter;

/* Reads and verifies a .frugal file. On success *model owns a new model; on failure
 * *model is set to NULL. */
frugal_status_code frugal_model_load_file(const char* path, frugal_model** model, frugal_status* status);

/* Verifies a .frugal model in caller-owned memory without copying it: the buffer must be
 * aligned to 4 bytes and stay valid and unchanged until frugal_model_free. Messages name
 * the buffer "<buffer>". */
frugal_status_code frugal_model_load_buffer(const void* data, size_t size, frugal_model** model,
                                            frugal_status* status);

/* Frees a model. NULL is allowed. Free every interpreter of the model first. */
void frugal_model_free(frugal_model* model);

/* Number of floats the model reads and writes per inference; 0 for a NULL model. */
size_t frugal_model_input_size(const frugal_model* model);
size_t frugal_model_output_size(const frugal_model* model);

/* Creates an interpreter for `model` and allocates all its buffers, so that invoking it
 * allocates nothing. The model must outlive the interpreter. */
frugal_status_code frugal_interpreter_create(const frugal_model* model, frugal_interpreter** interpreter,
                                             frugal_status* status);

/* Options of frugal_interpreter_create_with_options. */
typedef struct frugal_interpreter_options {
  /* The largest batch frugal_interpreter_invoke_batch accepts, in [1, 65536]. */
  size_t max_batch;
  /* Threads that run frugal_interpreter_invoke_batch, the calling thread included, in
   * [1, 256]. Batches are split in runs of 16 samples, so at most ceil(max_batch / 16)
   * threads are started, when the interpreter is created. */
  size_t threads;
} frugal_interpreter_options;

/* Like frugal_interpreter_create, and plans for batches of up to options->max_batch
 * samples on options->threads threads. NULL options means max_batch = 1 and threads = 1.
 * Values out of range are FRUGAL_INVALID_ARGUMENT. */
frugal_status_code frugal_interpreter_create_with_options(const frugal_model* model,
                                                          const frugal_interpreter_options* options,
                                                          frugal_interpreter** interpreter, frugal_status* status);

/* Frees an interpreter. NULL is allowed. */
void frugal_interpreter_free(frugal_interpreter* interpreter);

/* Runs one inference: reads n_in floats from `in`, which must equal the model's input
 * size, and writes the model's output_size floats to `out`, whose length n_out must equal
 * it. On failure `out` is unchanged and frugal_interpreter_last_error returns the reason. */
frugal_status_code frugal_interpreter_invoke(frugal_interpreter* interpreter, const float* in, size_t n_in,
                                             float* out, size_t n_out);

/* Runs `batch` inferences, 1 <= batch <= the interpreter's max_batch: reads batch x input
 * size floats from `in`, sample after sample, and writes batch x output size floats to
 * `out` in the same order. n_in and n_out must equal those products. Allocates nothing.
 * On failure `out` is unchanged and frugal_interpreter_last_error returns the reason. */
frugal_status_code frugal_interpreter_invoke_batch(frugal_interpreter* interpreter, const float* in, size_t n_in,
                                                   size_t batch, float* out, size_t n_out);

/* The message of the interpreter's last failed invoke, or "" after a successful one.
 * Valid until the next call on the same interpreter; "" for a NULL interpreter. */
const char* frugal_interpreter_last_error(const frugal_interpreter* interpreter);

/* A constant name for a code, such as "FRUGAL_INVALID_MODEL". */
const char* frugal_status_code_name(frugal_status_code code);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FRUGAL_C_API_H_ */
