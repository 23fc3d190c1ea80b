# tf_add_cases(<target> PREFIX <p> LABELS <l>... [TIMEOUT <s>] [SLOW_TIMEOUT <s>]
#              [ARGS <arg>...] [ENVIRONMENT <VAR=value>...] [SKIP_RETURN_CODE <n>]
#              [FIXTURES <fixture>])
#
# Registers one ctest test <p><case> per case of a tests/support/check.h program: after each
# build the program's `--list` is written next to it, and ctest reads that list, so a case is
# named in its C table only. Each test runs `<target> <case> <ARGS...>`. Words after a case's
# name ({"name slow", fn} in its table) are extra labels; a "slow" case gets SLOW_TIMEOUT.
# FIXTURES: a ctest fixture every case requires (FIXTURES_REQUIRED; the pg tests' pg_cluster).
set(TF_LIST_CASES_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/list_cases.cmake)

function(tf_quote out)
  set(q "")
  foreach(a IN LISTS ARGN)
    string(APPEND q " [==[${a}]==]")
  endforeach()
  set(${out} "${q}" PARENT_SCOPE)
endfunction()

function(tf_add_cases target)
  cmake_parse_arguments(PARSE_ARGV 1 A "" "PREFIX;TIMEOUT;SLOW_TIMEOUT;SKIP_RETURN_CODE;FIXTURES"
                        "LABELS;ARGS;ENVIRONMENT")
  if(NOT A_LABELS)
    message(FATAL_ERROR "tf_add_cases(${target}): every test carries LABELS")
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 60)
  endif()
  if(NOT A_SLOW_TIMEOUT)
    set(A_SLOW_TIMEOUT ${A_TIMEOUT})
  endif()
  set(list_file ${CMAKE_CURRENT_BINARY_DIR}/${target}.cases)
  set(ctest_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_cases.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${target}> -DOUT=${list_file}
            -P ${TF_LIST_CASES_SCRIPT}
    VERBATIM)
  tf_quote(args ${A_ARGS})
  string(REPLACE ";" "\\;" env "${A_ENVIRONMENT}")
  set(props "TIMEOUT \${timeout} LABELS \"\${labels}\"")
  if(A_ENVIRONMENT)
    string(APPEND props " ENVIRONMENT [==[${env}]==]")
  endif()
  if(A_SKIP_RETURN_CODE)
    string(APPEND props " SKIP_RETURN_CODE ${A_SKIP_RETURN_CODE}")
  endif()
  if(A_FIXTURES)
    string(APPEND props " FIXTURES_REQUIRED ${A_FIXTURES}")
  endif()
  file(GENERATE OUTPUT ${ctest_file} CONTENT
"if(EXISTS [==[${list_file}]==])
  file(STRINGS [==[${list_file}]==] cases)
  foreach(line IN LISTS cases)
    string(REPLACE \" \" \";\" words \"\${line}\")
    list(POP_FRONT words case)
    set(labels [==[${A_LABELS}]==])
    list(APPEND labels \${words})
    set(timeout ${A_TIMEOUT})
    list(FIND words slow slow_at)
    if(NOT slow_at EQUAL -1)
      set(timeout ${A_SLOW_TIMEOUT})
    endif()
    add_test(${A_PREFIX}\${case} [==[$<TARGET_FILE:${target}>]==] \${case}${args})
    set_tests_properties(${A_PREFIX}\${case} PROPERTIES ${props})
  endforeach()
else()
  add_test(${A_PREFIX}NOT_BUILT ${target}_NOT_BUILT)
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${ctest_file})
endfunction()
