# Warnings and sanitizers shared by every weft target.
add_library(weft_compile_options INTERFACE)
add_library(weft::compile_options ALIAS weft_compile_options)
target_compile_options(weft_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)

if(WEFT_SANITIZE)
  string(REPLACE ";" "," _weft_sanitizers "${WEFT_SANITIZE}")
  add_compile_options(-fsanitize=${_weft_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_weft_sanitizers})
endif()

# weft_target(NAME) applies the shared options to a target of ours.
function(weft_target name)
  target_link_libraries(${name} PRIVATE weft::compile_options)
endfunction()
