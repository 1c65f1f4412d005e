# Installs the runtime library, its public header, the package configuration for
# find_package(frugal) and the board tools, and sets up CPack to build a .deb.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(frugal_runtime PROPERTIES EXPORT_NAME runtime)
install(TARGETS frugal_runtime EXPORT frugalTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES "${PROJECT_SOURCE_DIR}/runtime/include/frugal/runtime.h"
  "${PROJECT_SOURCE_DIR}/runtime/include/frugal/c_api.h"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/frugal)
foreach(tool frugal-run frugal-bench frugal-convert frugal-train)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

set(FRUGAL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/frugal)
install(EXPORT frugalTargets NAMESPACE frugal:: DESTINATION ${FRUGAL_CMAKE_DIR})
configure_package_config_file(cmake/frugalConfig.cmake.in
  "${PROJECT_BINARY_DIR}/frugalConfig.cmake" INSTALL_DESTINATION ${FRUGAL_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/frugalConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/frugalConfig.cmake" "${PROJECT_BINARY_DIR}/frugalConfigVersion.cmake"
  DESTINATION ${FRUGAL_CMAKE_DIR})

# Debian architecture names for the targets frugal is built for.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(FRUGAL_DEB_ARCH arm64)
elseif(CMAKE_SYSTEM_PROCESSOR STREQUAL "armv7")
  set(FRUGAL_DEB_ARCH armhf)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^armv6")
  set(FRUGAL_DEB_ARCH armel)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64)$")
  set(FRUGAL_DEB_ARCH amd64)
else()
  set(FRUGAL_DEB_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME frugal-runtime)
set(CPACK_PACKAGE_VENDOR frugal)
set(FRUGAL_PACKAGE_CONTACT "frugal developers" CACHE STRING "Maintainer field of the .deb package")
set(CPACK_PACKAGE_CONTACT "${FRUGAL_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Sparse neural network inference runtime, frugal-run and frugal-bench")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${FRUGAL_DEB_ARCH})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
if(NOT FRUGAL_STATIC)
  # Dynamically linked tools need the C++ runtime of the board's distribution.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libstdc++6, libc6")
endif()
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
