# Cross build for ARMv6 without NEON (Raspberry Pi Zero and Pi 1).
#
# Debian's armhf libraries are built for ARMv7, so a binary linked against them stops
# with an illegal instruction on an ARMv6 core even when frugal itself is compiled for
# ARMv6. This file therefore uses the armel (soft-float ABI) cross compiler with VFP
# instructions and links everything statically; the result runs under
# `qemu-arm -cpu arm1176` and on a Pi Zero whatever its OS.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv6)
set(CMAKE_C_COMPILER arm-linux-gnueabi-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabi-g++)
set(CMAKE_C_FLAGS_INIT "-march=armv6 -mfpu=vfp -mfloat-abi=softfp -marm")
set(CMAKE_CXX_FLAGS_INIT "-march=armv6 -mfpu=vfp -mfloat-abi=softfp -marm")
# Every executable built with this file is static, including projects that use an
# installed frugal through find_package.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu-user takes its options from the environment here, so that the emulator
# command has no dash arguments that a wrapping `cmake -P` script would take as its own.
find_program(FRUGAL_QEMU_ARM NAMES qemu-arm-static qemu-arm)
if(FRUGAL_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR "env;QEMU_CPU=arm1176;${FRUGAL_QEMU_ARM}")
endif()

set(FRUGAL_RUNTIME_ONLY ON CACHE BOOL "Cross builds contain the runtime and its tools only")
set(FRUGAL_STATIC ON CACHE BOOL "ARMv6 binaries are linked statically")
