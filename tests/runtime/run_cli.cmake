# Runs a command-line tool and checks its exit status and output, for CTest.
#   cmake -DEXPECT=success|failure [-DSTDOUT_REGEX=...] [-DSTDERR_REGEX=...]
#         [-DONE_LINE_STDERR=ON] -P run_cli.cmake -- TOOL ARGS...
# CTest's own PASS_REGULAR_EXPRESSION ignores the exit status, so both are checked here.

include("${CMAKE_CURRENT_LIST_DIR}/../support/command_after_dashes.cmake")

execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "exit status: ${status}\n--- stdout ---\n${out}--- stderr ---\n${err}")

if(EXPECT STREQUAL "success" AND NOT status EQUAL 0)
  message(FATAL_ERROR "expected exit status 0, got ${status}")
endif()
if(EXPECT STREQUAL "failure" AND (status EQUAL 0 OR NOT status MATCHES "^[0-9]+$"))
  message(FATAL_ERROR "expected a non-zero exit status without a crash, got ${status}")
endif()
if(DEFINED STDOUT_REGEX AND NOT out MATCHES "${STDOUT_REGEX}")
  message(FATAL_ERROR "stdout does not match ${STDOUT_REGEX}")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "stderr does not match ${STDERR_REGEX}")
endif()
if(ONE_LINE_STDERR AND NOT err MATCHES "^[^\n]+\n$")
  message(FATAL_ERROR "expected exactly one line on stderr")
endif()
