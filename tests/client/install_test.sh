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
