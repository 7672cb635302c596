# Included by the top-level CMakeLists.txt when CAIRN_FUZZ=ON, before any
# library is defined: everything built in this configuration carries ASan,
# UBSan and libFuzzer's coverage instrumentation; only the harness
# executables (fuzz/CMakeLists.txt) link libFuzzer's main.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR
    "CAIRN_FUZZ=ON needs clang (libFuzzer ships with clang, not GCC). "
    "Configure a separate build directory with "
    "-DCMAKE_CXX_COMPILER=clang++-14 -DCAIRN_FUZZ=ON "
    "(Debian packages clang-14 libfuzzer-14-dev, see install-deps.sh).")
endif()
add_compile_options(
  -fsanitize=address,undefined,fuzzer-no-link
  -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer
  -fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/ubsan_ignorelist.txt
  # File and line in sanitizer reports, at a fraction of full -g's cost.
  -gline-tables-only)
add_link_options(-fsanitize=address,undefined)
