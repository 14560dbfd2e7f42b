# Extracts a fenced block of a Markdown page: the first ``` block after the
# line "<!-- MARK -->". Used to build and check the examples of the docs
# (docs/api.md) exactly as they are printed.
#   cmake -DIN=page.md -DMARK=name -DOUT=file -P doc_block.cmake
# or include() it and call sr_doc_block(<var> <page> <mark>).
function(sr_doc_block var page mark)
  file(READ "${page}" text)
  string(FIND "${text}" "<!-- ${mark} -->\n" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${page}: no line '<!-- ${mark} -->'")
  endif()
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "```" at)
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "\n" at)            # the end of the opening fence line
  math(EXPR at "${at} + 1")
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "\n```" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "${page}: the block after '<!-- ${mark} -->' is not closed")
  endif()
  math(EXPR end "${end} + 1")               # keep the block's last newline
  string(SUBSTRING "${text}" 0 ${end} block)
  set(${var} "${block}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE AND DEFINED OUT)
  sr_doc_block(block "${IN}" "${MARK}")
  file(WRITE "${OUT}.tmp" "${block}")
  # rewrite only on change, so the example is not rebuilt for nothing
  file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUT}.tmp")
endif()
