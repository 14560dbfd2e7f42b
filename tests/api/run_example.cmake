# Runs a program built from a documentation page and compares what it prints
# with the page's expected output, byte for byte.
#   cmake -DEXE=program -DARGS="a;b" -DDOC=page.md -DMARK=name.out -P run_example.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/doc_block.cmake)
sr_doc_block(want "${DOC}" "${MARK}")
execute_process(COMMAND ${EXE} ${ARGS} OUTPUT_VARIABLE got ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}:\n${err}")
endif()
if(NOT got STREQUAL want)
  message(FATAL_ERROR "${EXE} does not print what ${DOC} shows after '<!-- ${MARK} -->'.\n"
                      "--- expected\n${want}--- got\n${got}---")
endif()
message(STATUS "ok: ${EXE} prints what ${DOC} shows")
