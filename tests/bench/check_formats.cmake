# Runs frugal-bench with --format text, json and csv on the same model and checks that the
# three outputs carry the same facts: model size and weight counts, the methods and their
# run counts, the per-layer profile, a CSV header, outputs that agree across methods and,
# when EXPECT_KERNEL is set, that every layer of the stored model ran a kernel whose name
# contains it.
#   cmake [-DEXPECT_KERNEL=csrmv] -P check_formats.cmake -- TOOL MODEL ARGS...
# Timings differ from run to run, so only facts that do not depend on time are compared.

include("${CMAKE_CURRENT_LIST_DIR}/../support/command_after_dashes.cmake")

set(runs 30)
foreach(format text json csv)
  execute_process(COMMAND ${command} --runs ${runs} --warmup 2 --profile --format ${format}
    RESULT_VARIABLE status OUTPUT_VARIABLE out_${format} ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "--format ${format}: exit status ${status}\n${err}")
  endif()
endforeach()
message(STATUS "--- text ---\n${out_text}--- json ---\n${out_json}--- csv ---\n${out_csv}")

# Model facts: the text's first two lines against the JSON fields.
string(JSON file_bytes GET "${out_json}" file_bytes)
string(JSON weights GET "${out_json}" weights)
string(JSON nonzeros GET "${out_json}" nonzeros)
string(JSON stored_values GET "${out_json}" stored_values)
if(NOT out_text MATCHES "\\(${file_bytes} bytes, ")
  message(FATAL_ERROR "text does not show file_bytes = ${file_bytes}")
endif()
if(NOT out_text MATCHES "weights: ${weights}, stored values: ${stored_values}, non-zeros: ${nonzeros} ")
  message(FATAL_ERROR "text does not show weights ${weights}, stored values ${stored_values}, non-zeros ${nonzeros}")
endif()
string(JSON interpreter_bytes GET "${out_json}" memory interpreter_buffer_bytes)
if(NOT out_text MATCHES "interpreter buffers ${interpreter_bytes} bytes")
  message(FATAL_ERROR "text does not show interpreter buffers ${interpreter_bytes} bytes")
endif()

# Methods: the same names in the same order in all three, each with exactly `runs` runs
# (runs are timed in rounds of 10, so 30 is reached exactly) and outputs that agree.
string(REPLACE "\n" ";" csv_lines "${out_csv}")
list(FILTER csv_lines EXCLUDE REGEX "^$")
list(GET csv_lines 0 header)
if(NOT header STREQUAL "method,batch,threads,runs,first_us,warmup_mean_us,min_us,median_us,mean_us,p90_us,p99_us,max_us,stddev_us,stored_speedup,max_abs_difference,buffer_bytes")
  message(FATAL_ERROR "unexpected CSV header: ${header}")
endif()
string(JSON method_count LENGTH "${out_json}" methods)
list(LENGTH csv_lines csv_count)
math(EXPR csv_rows "${csv_count} - 1")
if(NOT csv_rows EQUAL method_count)
  message(FATAL_ERROR "CSV has ${csv_rows} rows, JSON has ${method_count} methods")
endif()
math(EXPR last_method "${method_count} - 1")
foreach(i RANGE ${last_method})
  string(JSON name GET "${out_json}" methods ${i} method)
  string(JSON method_runs GET "${out_json}" methods ${i} runs)
  string(JSON difference GET "${out_json}" methods ${i} max_abs_difference)
  if(i EQUAL 0 AND NOT name STREQUAL "stored")
    message(FATAL_ERROR "the first method is ${name}, expected stored")
  endif()
  if(NOT method_runs EQUAL runs)
    message(FATAL_ERROR "${name}: ${method_runs} runs in JSON, expected ${runs}")
  endif()
  if(NOT out_text MATCHES "\n${name} +[0-9.]+ +[0-9.]+ +${runs} ")
    message(FATAL_ERROR "text has no row for ${name} with ${runs} runs")
  endif()
  math(EXPR row "${i} + 1")
  list(GET csv_lines ${row} csv_row)
  if(NOT csv_row MATCHES "^${name},[0-9]+,[0-9]+,${runs},")
    message(FATAL_ERROR "CSV row ${row} is not ${name} with ${runs} runs: ${csv_row}")
  endif()
  # Differences come from float rounding only; string(JSON) returns the number's text.
  if(NOT difference MATCHES "^(0|0\\.000[0-9]*|[0-9.]+e-0*([4-9]|[1-9][0-9]))$")
    message(FATAL_ERROR "${name}: max_abs_difference ${difference} from the stored model is not below 1e-3")
  endif()
endforeach()

# Profile: one row per layer with the same shape and kernel in text and JSON.
string(JSON layer_count GET "${out_json}" layers)
string(JSON profile_count LENGTH "${out_json}" profile)
if(NOT profile_count EQUAL layer_count)
  message(FATAL_ERROR "JSON profile has ${profile_count} rows for ${layer_count} layers")
endif()
math(EXPR last_layer "${layer_count} - 1")
foreach(i RANGE ${last_layer})
  string(JSON kernel GET "${out_json}" profile ${i} kernel)
  string(JSON rows GET "${out_json}" profile ${i} rows)
  string(JSON cols GET "${out_json}" profile ${i} cols)
  string(JSON layer_nonzeros GET "${out_json}" profile ${i} nonzeros)
  if(NOT out_text MATCHES "\n${i} +[^ ]+ +${kernel} +${rows} +${cols} +${layer_nonzeros} ")
    message(FATAL_ERROR "text has no profile row ${i}: ${kernel} ${rows} x ${cols}, ${layer_nonzeros} non-zeros")
  endif()
  if(DEFINED EXPECT_KERNEL AND NOT kernel MATCHES "${EXPECT_KERNEL}")
    message(FATAL_ERROR "layer ${i} ran ${kernel}, expected a kernel matching ${EXPECT_KERNEL}")
  endif()
endforeach()
