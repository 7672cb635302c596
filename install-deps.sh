#!/usr/bin/env bash
# Installs every Debian 12 package Cairn needs to build, test and run.
# Run as root. Debian packages only: nothing is downloaded from anywhere else.
#
# Boost is Debian's default 1.74: libphonenumber-dev depends on it, and it
# conflicts with libboost1.81-dev (see docs/adr/0001-foundation-choices.md).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git ca-certificates
  # libraries
  libboost-dev libboost-system-dev
  libssl-dev openssl
  libsodium-dev
  libsqlite3-dev sqlite3
  libsimdjson-dev rapidjson-dev
  libexpected-dev
  libcli11-dev
  libspdlog-dev libfmt-dev
  libtomlplusplus-dev
  libphonenumber-dev libprotobuf-dev
  libicu-dev
  prometheus-cpp-dev
  libgoogle-perftools-dev
  # tests
  catch2 libbenchmark-dev curl python3 python3-jsonschema python3-yaml procps
  # the compliance report's HTML is rendered headless in a test
  chromium
  # fuzzing (fuzz/: libFuzzer harnesses, clang only)
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  # TLS scans of a running hub (docs/security.md)
  testssl.sh sslscan
)

export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get install)" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps.sh: ${#packages[@]} packages present"
