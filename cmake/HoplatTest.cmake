# hoplat_add_test(NAME target SOURCES file... [LIBS library...] [TIMEOUT seconds]
#                 [CTEST_NAME name])
#
# A GoogleTest executable of ours: our warnings, includes from the top of the
# tree, GoogleTest's main and gMock. By default every test case becomes a
# ctest test named Suite.Case (gtest_discover_tests), each with TIMEOUT
# seconds (default 300). With CTEST_NAME, the whole binary is one ctest test
# of that name instead (a test that needs ctest properties of its own); a
# GTEST_SKIP() in it shows as skipped.
function(hoplat_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TIMEOUT;CTEST_NAME" "SOURCES;LIBS")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_NAME OR NOT arg_SOURCES)
    message(FATAL_ERROR "hoplat_add_test(NAME target SOURCES file... [LIBS ...] [TIMEOUT s] "
                        "[CTEST_NAME name]): got ${ARGV}")
  endif()
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  add_executable(${arg_NAME} ${arg_SOURCES})
  target_include_directories(${arg_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${arg_NAME} PRIVATE hoplat_warnings ${arg_LIBS}
    GTest::gtest_main GTest::gmock)
  if(arg_CTEST_NAME)
    add_test(NAME ${arg_CTEST_NAME} COMMAND ${arg_NAME})
    set_tests_properties(${arg_CTEST_NAME} PROPERTIES TIMEOUT ${arg_TIMEOUT}
      SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  else()
    gtest_discover_tests(${arg_NAME} DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT ${arg_TIMEOUT})
  endif()
endfunction()
