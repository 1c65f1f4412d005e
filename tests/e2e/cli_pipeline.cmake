# Runs the four tools the way the README does, on real MNIST: train one epoch, convert,
# measure accuracy on the 10,000 test images, and time a few inferences.
#   cmake -DBIN=<build>/bin -DMNIST=<folder> -DSCRATCH=<folder> -P cli_pipeline.cmake

file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}")

function(run_tool)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${status}): ${command}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
  endif()
  set(tool_output "${out}" PARENT_SCOPE)
endfunction()

run_tool("${BIN}/frugal-train" --preset demo --epochs 1 --data-dir "${MNIST}"
  --output "${SCRATCH}/model.npz")
string(REGEX MATCH "\"epochAfter\": *1[,}]" epoch_line "${tool_output}")
if(NOT epoch_line)
  message(FATAL_ERROR "frugal-train printed no measure_test line for epoch 1:\n${tool_output}")
endif()

# Without elimination, and CSR forced: "auto" stores CSR only up to density 0.15, which one
# epoch does not reach, and this step checks that the CSR files run end to end.
run_tool("${BIN}/frugal-convert" "${SCRATCH}/model.npz" -o "${SCRATCH}/model.frugal" --no-eliminate-dead-units
  --encoding csr)
if(NOT tool_output MATCHES "csr")
  message(FATAL_ERROR "frugal-convert --encoding csr wrote no CSR layer:\n${tool_output}")
endif()

run_tool("${BIN}/frugal-run" "${SCRATCH}/model.frugal"
  --images "${MNIST}/t10k-images-idx3-ubyte" --labels "${MNIST}/t10k-labels-idx1-ubyte")
string(REGEX MATCH "accuracy: ([0-9]+)/10000" accuracy "${tool_output}")
if(NOT accuracy)
  message(FATAL_ERROR "frugal-run printed no accuracy line:\n${tool_output}")
endif()
# One epoch of the demo recipe reaches about 94%.
if(CMAKE_MATCH_1 LESS 9000)
  message(FATAL_ERROR "accuracy ${CMAKE_MATCH_1}/10000 is below 9000 after one epoch")
endif()
message(STATUS "frugal-run: ${accuracy}")

# The logits of every test image, the reference that cross builds compare with.
run_tool("${BIN}/frugal-run" "${SCRATCH}/model.frugal" --show 10000
  --images "${MNIST}/t10k-images-idx3-ubyte" --labels "${MNIST}/t10k-labels-idx1-ubyte")
file(WRITE "${SCRATCH}/reference.txt" "${tool_output}")

run_tool("${BIN}/frugal-bench" "${SCRATCH}/model.frugal" --warmup 10 --runs 100
  --images "${MNIST}/t10k-images-idx3-ubyte")
if(NOT tool_output MATCHES "speedup")
  message(FATAL_ERROR "frugal-bench printed no speedup:\n${tool_output}")
endif()
