#!/bin/sh
# Installs the client component into a temporary prefix, then configures,
# builds and runs docs/examples/signup-check against it: with the static and
# shared libraries, and with the shared library alone while the static
# libraries' dependencies cannot be found; then the same with pkg-config.
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

# configure NAME ARGS...: configures the example into $work/NAME; on failure
# prints the log and fails.
configure() {
  name=$1
  shift
  cmake -S "$source/docs/examples/signup-check" -B "$work/$name" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" "$@" >"$work/$name.log" 2>&1 ||
    { cat "$work/$name.log"; echo "install_test: $name: configure failed"; exit 1; }
  cmake --build "$work/$name" -j2 >>"$work/$name.log" 2>&1 ||
    { cat "$work/$name.log"; echo "install_test: $name: build failed"; exit 1; }
}

# A Boost.System package that stops the configure if anything asks for it
# (the headers, which cairn/async_client.h needs, stay).
poison="$work/poison"
mkdir -p "$poison/modules" "$poison/boost_system"
printf 'message(FATAL_ERROR "install_test: Boost.System was looked for")\n' \
  >"$poison/boost_system/boost_system-config.cmake"
printf 'set(PACKAGE_VERSION_COMPATIBLE TRUE)\nset(PACKAGE_VERSION_EXACT TRUE)\n' \
  >"$poison/boost_system/boost_system-config-version.cmake"

# Both libraries, on a machine with every dependency. Not even the static
# libraries look for Boost.System: with Boost 1.74 it is header-only for
# them (the archives leave no Boost symbol undefined, and
# libboost_system.so defines nothing but a dummy function).
configure full -Dboost_system_DIR="$poison/boost_system"
"$work/full/signup_check"
"$work/full/signup_check_shared"
# The static consumer really is static: it does not load the shared library.
if readelf -d "$work/full/signup_check" | grep -q 'libcairn-client\.so'; then
  echo "install_test: signup_check links libcairn-client.so, not the archive"
  exit 1
fi

# Only the shared library, with every dependency of the static libraries
# made unfindable, each in a way that stops the configure if anything asks
# for it: find modules that fail (find_package tries a module on
# CMAKE_MODULE_PATH first, also for config packages), the Boost.System
# package above, no FindPkgConfig and an empty pkg-config path (libsodium),
# and libphonenumber's directory ignored (find_library; with a merged /usr
# it is reached as /lib/... too).
for name in OpenSSL ICU PkgConfig simdjson RapidJSON; do
  printf 'message(FATAL_ERROR "install_test: %s was looked for")\n' "$name" \
    >"$poison/modules/Find$name.cmake"
done
mkdir -p "$poison/pkgconfig"
phonenumber=$(sed -n 's/^PHONENUMBER_LIBRARY:FILEPATH=//p' "$build/CMakeCache.txt")
test -n "$phonenumber"
phonenumber_dir=$(dirname "$phonenumber")
case $phonenumber_dir in
  /usr/*) phonenumber_alias=${phonenumber_dir#/usr} ;;
  *) phonenumber_alias=/usr$phonenumber_dir ;;
esac
(
  export PKG_CONFIG_LIBDIR="$poison/pkgconfig" PKG_CONFIG_PATH=""
  configure shared -DSIGNUP_CHECK_SHARED_ONLY=ON \
    -DCMAKE_MODULE_PATH="$poison/modules" \
    -Dboost_system_DIR="$poison/boost_system" \
    -DCMAKE_IGNORE_PATH="$phonenumber_dir;$phonenumber_alias"
)
"$work/shared/signup_check_shared"

# The same unfindable dependency, asked for without naming components:
# find_package(Cairn) fails and says which dependency is missing and that
# the shared component needs none.
mkdir -p "$work/default"
printf '%s\n' 'cmake_minimum_required(VERSION 3.25)' \
  'project(CairnDefault LANGUAGES CXX)' 'find_package(Cairn 0.1 REQUIRED)' \
  >"$work/default/CMakeLists.txt"
if cmake -S "$work/default" -B "$work/default/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_DISABLE_FIND_PACKAGE_simdjson=ON \
  >"$work/default.log" 2>&1; then
  echo "install_test: find_package(Cairn) passed without simdjson"
  exit 1
fi
# (CMake wraps the message: compare it with the line breaks as spaces.)
message=$(tr -s ' \n' '  ' <"$work/default.log")
case $message in
  *"need simdjson (libsimdjson-dev), which could not be found"*"COMPONENTS shared"*) ;;
  *) cat "$work/default.log"; echo "install_test: no hint in the failure"; exit 1 ;;
esac

# pkg-config finds the installed prefix from the .pc file's own location
# (it must not point at the configure-time prefix): a program compiles and
# links with nothing but `pkg-config --cflags --libs cairn-client`, and runs,
# with no other .pc file visible (none of the static libraries'
# dependencies is needed for the shared library).
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
pc_dir=$(dirname "$(find "$work/prefix" -name cairn-client.pc | head -n 1)")
test "$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=prefix cairn-client |
  xargs realpath)" = "$(realpath "$work/prefix")"
pc_flags=$(PKG_CONFIG_LIBDIR="$pc_dir" PKG_CONFIG_PATH="" \
  pkg-config --cflags --libs cairn-client)
pc_libdir=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=libdir cairn-client)
# shellcheck disable=SC2086 # the flags are words
"${cxx:-c++}" -std=c++20 $flags -DCONSUMER_SHARED_ONLY \
  "$source/docs/examples/signup-check/signup_check.cc" -o "$work/pc_check" \
  $pc_flags -Wl,-rpath,"$pc_libdir" >"$work/pc.log" 2>&1 ||
  { cat "$work/pc.log"; exit 1; }
"$work/pc_check"

# A static link from `pkg-config --static`: with the shared library removed
# from a copy of the prefix, -lcairn-client is the archive, and Libs.private
# must name everything it and libcairn_common.a need (and no
# -lboost_system, which they do not).
cp -R "$work/prefix" "$work/static-prefix"
find "$work/static-prefix" -name 'libcairn-client.so*' -exec rm -f {} +
static_pc_dir="$work/static-prefix/${pc_dir#"$work/prefix/"}"
static_flags=$(PKG_CONFIG_PATH="$static_pc_dir" \
  pkg-config --static --cflags --libs cairn-client)
case " $static_flags " in
  *" -lboost_system "*)
    echo "install_test: Libs.private names -lboost_system, which the archives do not use"
    exit 1 ;;
esac
# shellcheck disable=SC2086 # the flags are words
"${cxx:-c++}" -std=c++20 $flags -DCONSUMER_SHARED_ONLY \
  "$source/docs/examples/signup-check/signup_check.cc" \
  -o "$work/pc_static_check" $static_flags >"$work/pc-static.log" 2>&1 ||
  { cat "$work/pc-static.log"; exit 1; }
"$work/pc_static_check"
