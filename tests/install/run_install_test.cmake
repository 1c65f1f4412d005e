# Installs the current build into a scratch prefix, builds the consumer project against
# it with find_package(frugal), and runs the consumer on a model file.
#   cmake -DBUILD_DIR=... -DSCRATCH=... -DCONSUMER_DIR=... -DMODEL=...
#         [-DTOOLCHAIN_FILE=...] [-DEMULATOR=...] -P run_install_test.cmake

file(REMOVE_RECURSE "${SCRATCH}")
set(prefix "${SCRATCH}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${status}): ${command}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")
set(configure "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${SCRATCH}/consumer"
  "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release)
if(TOOLCHAIN_FILE)
  # A cross toolchain confines package searches to its sysroot, so the package folder
  # is named directly, as a user who installs outside the sysroot would.
  list(APPEND configure "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE}" "-Dfrugal_DIR=${prefix}/lib/cmake/frugal")
endif()
run(${configure})
run("${CMAKE_COMMAND}" --build "${SCRATCH}/consumer")
run(${EMULATOR} "${SCRATCH}/consumer/consumer" "${MODEL}")
if(NOT run_output MATCHES "^layers 2, outputs 3, class [0-2]\n$")
  message(FATAL_ERROR "unexpected consumer output: ${run_output}")
endif()
message(STATUS "consumer output: ${run_output}")
