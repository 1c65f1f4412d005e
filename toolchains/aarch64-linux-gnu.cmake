# Cross build for 64-bit ARM boards (Raspberry Pi 3/4/5 with a 64-bit OS and most ARM
# boards) with Debian's g++-aarch64-linux-gnu. Tests run under qemu-aarch64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu-user takes its options from the environment here, so that the emulator
# command has no dash arguments that a wrapping `cmake -P` script would take as its own.
find_program(FRUGAL_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(FRUGAL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "env;QEMU_LD_PREFIX=/usr/aarch64-linux-gnu;${FRUGAL_QEMU_AARCH64}")
endif()

set(FRUGAL_RUNTIME_ONLY ON CACHE BOOL "Cross builds contain the runtime and its tools only")
