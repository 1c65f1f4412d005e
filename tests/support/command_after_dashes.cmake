# Sets `command` to the arguments after "--" on the command line of a `cmake -P` script,
# and stops with an error naming the script when there are none.

set(command "")
set(collect OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(collect)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(collect ON)
  endif()
endforeach()
if(NOT command)
  get_filename_component(script "${CMAKE_SCRIPT_MODE_FILE}" NAME)
  message(FATAL_ERROR "${script}: no command after --")
endif()
