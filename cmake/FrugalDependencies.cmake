# Finds frugal's dependencies from Debian 12's packages.
#
# FlatBuffers is used header-only (reading, verifying and building buffers), so only its
# headers and the host's flatc are needed. Both are looked up outside any cross sysroot:
# the headers are architecture-independent and flatc runs on the build machine.

find_program(FRUGAL_FLATC flatc NO_CMAKE_FIND_ROOT_PATH REQUIRED)
find_path(FRUGAL_FLATBUFFERS_INCLUDE_DIR flatbuffers/flatbuffers.h
  PATHS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
add_library(frugal_flatbuffers_headers INTERFACE)
target_include_directories(frugal_flatbuffers_headers SYSTEM INTERFACE
  $<BUILD_INTERFACE:${FRUGAL_FLATBUFFERS_INCLUDE_DIR}>)

set(FRUGAL_HAVE_ZLIB OFF)
if(FRUGAL_WITH_ZLIB)
  find_package(ZLIB)
  if(ZLIB_FOUND)
    set(FRUGAL_HAVE_ZLIB ON)
  else()
    message(STATUS "frugal: zlib not found; gzip IDX and deflated .npz input are disabled")
  endif()
endif()

if(FRUGAL_BUILD_TRAINER)
  find_package(Eigen3 3.3 REQUIRED NO_MODULE)
endif()
if(FRUGAL_BUILD_TRAINER OR FRUGAL_BUILD_CONVERTER)
  find_package(nlohmann_json 3 REQUIRED)
endif()
if(FRUGAL_BUILD_TESTS)
  # doctest is header-only; a cross build takes the host's header, since a cross
  # sysroot has no package config for it.
  find_package(doctest QUIET)
  if(NOT doctest_FOUND)
    find_path(FRUGAL_DOCTEST_INCLUDE_DIR doctest/doctest.h
      PATHS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
    add_library(doctest::doctest INTERFACE IMPORTED)
    target_include_directories(doctest::doctest SYSTEM INTERFACE "${FRUGAL_DOCTEST_INCLUDE_DIR}")
  endif()
endif()
if(FRUGAL_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
  find_package(Eigen3 3.3 REQUIRED NO_MODULE)
endif()
