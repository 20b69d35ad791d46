# hoplat_add_test(NAME target SOURCES file... [LIBS library...] [TIMEOUT seconds]
#                 [CTEST_NAME name])
#
# A GoogleTest executable of ours: our warnings, includes from the top of the
# tree, our main (tests/test_main.cc) and gMock. By default every test case
# becomes a ctest test named Suite.Case (gtest_discover_tests), each with
# TIMEOUT seconds (default 300). With CTEST_NAME, the whole binary is one
# ctest test of that name instead (a test that needs ctest properties of its
# own). A run whose every test called GTEST_SKIP() exits 77 and shows as
# skipped; nothing in the output does (a failed SetUpTestSuite prints
# "SKIPPED" for its tests, and is a failure).
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
  target_sources(${arg_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/test_main.cc)
  target_link_libraries(${arg_NAME} PRIVATE hoplat_warnings ${arg_LIBS}
    GTest::gtest GTest::gmock)
  if(arg_CTEST_NAME)
    add_test(NAME ${arg_CTEST_NAME} COMMAND ${arg_NAME})
    set_tests_properties(${arg_CTEST_NAME} PROPERTIES TIMEOUT ${arg_TIMEOUT}
      SKIP_RETURN_CODE 77)
  else()
    # gtest_discover_tests sets SKIP_REGULAR_EXPRESSION itself; ours, after
    # it, is a text no test prints.
    gtest_discover_tests(${arg_NAME} DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT ${arg_TIMEOUT}
      SKIP_RETURN_CODE 77 SKIP_REGULAR_EXPRESSION "hoplat: no output ever says this")
  endif()
endfunction()
