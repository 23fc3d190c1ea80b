# Run by tf_add_cases after a build: writes `EXE --list` to OUT (only when it changed).
execute_process(COMMAND ${EXE} --list OUTPUT_VARIABLE cases RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list failed (${rc})")
endif()
file(CONFIGURE OUTPUT ${OUT} CONTENT "${cases}" @ONLY)
