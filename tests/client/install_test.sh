#!/bin/sh
# Installs the client component into a temporary prefix, then configures,
# builds and runs docs/examples/signup-check against it.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A sanitizer build's library needs the same instrumentation in whatever
# links it: the example gets the build's own compiler flags.
flags=$(sed -n 's/^CMAKE_CXX_FLAGS:STRING=//p' "$build/CMakeCache.txt")
cmake --install "$build" --component client --prefix "$work/prefix" >/dev/null
cmake -S "$source/docs/examples/signup-check" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j2 >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
"$work/build/signup_check"
"$work/build/signup_check_shared"
test -f "$work/prefix/lib/pkgconfig/cairn-client.pc"
# pkg-config finds the installed prefix from the .pc file's own location
# (it must not point at the configure-time prefix): a program compiles and
# links with nothing but `pkg-config --cflags --libs cairn-client`, and runs.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
pc_dir=$(dirname "$(find "$work/prefix" -name cairn-client.pc | head -n 1)")
test "$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=prefix cairn-client |
  xargs realpath)" = "$(realpath "$work/prefix")"
pc_flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs cairn-client)
pc_libdir=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=libdir cairn-client)
# shellcheck disable=SC2086 # the flags are words
"${cxx:-c++}" -std=c++20 $flags -DCONSUMER_SHARED_ONLY \
  "$source/docs/examples/signup-check/signup_check.cc" -o "$work/pc_check" \
  $pc_flags -Wl,-rpath,"$pc_libdir" >"$work/pc.log" 2>&1 ||
  { cat "$work/pc.log"; exit 1; }
"$work/pc_check"
