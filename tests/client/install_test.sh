#!/bin/sh
# Installs the client component into a temporary prefix, then configures,
# builds and runs docs/examples/signup-check against it.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --component client --prefix "$work/prefix" >/dev/null
cmake -S "$source/docs/examples/signup-check" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$work/build" -j2 >/dev/null
"$work/build/signup_check"
"$work/build/signup_check_shared"
test -f "$work/prefix/lib/pkgconfig/cairn-client.pc"
