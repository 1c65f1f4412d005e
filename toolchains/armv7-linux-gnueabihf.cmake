# Cross build for 32-bit ARMv7 with NEON and hard-float (32-bit Raspberry Pi OS on a
# Pi 2/3/4) with Debian's g++-arm-linux-gnueabihf. Tests run under qemu-arm.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")

set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu-user takes its options from the environment here, so that the emulator
# command has no dash arguments that a wrapping `cmake -P` script would take as its own.
find_program(FRUGAL_QEMU_ARM NAMES qemu-arm-static qemu-arm)
if(FRUGAL_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR "env;QEMU_LD_PREFIX=/usr/arm-linux-gnueabihf;${FRUGAL_QEMU_ARM}")
endif()

set(FRUGAL_RUNTIME_ONLY ON CACHE BOOL "Cross builds contain the runtime and its tools only")
