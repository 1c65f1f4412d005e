# Included from the top-level CMakeLists.txt before any target exists, so that every
# library the fuzzers link (runtime, common, converter) carries libFuzzer's coverage
# instrumentation and the address and undefined-behaviour sanitizers.
#
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION is the usual libFuzzer convention: it lets
# the .npz reader skip its CRC-32 check, so that mutated members reach the .npy parser.
# A build with this option is for fuzzing only.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "FRUGAL_BUILD_FUZZERS needs clang (libFuzzer); configure with -DCMAKE_CXX_COMPILER=clang++")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
add_link_options(-fsanitize=address,undefined)
