#!/usr/bin/env bash
# ctest's fuzz_ci_run (CAIRN_CI_FUZZ=ON): builds the libFuzzer harnesses with
# clang-14 in BUILD_DIR and runs each for SECONDS, starting from its
# committed corpus. New inputs go to a scratch directory, never into the
# source tree. Any crash, leak or invariant violation fails the test and
# leaves the reproducer in BUILD_DIR/artifacts/.
#
# usage: fuzz/ci_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
src=${1:?usage: ci_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]}
build=${2:?usage: ci_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]}
seconds=${3:-5}

if ! command -v clang++-14 >/dev/null; then
  echo "ci_fuzz.sh: clang++-14 not found; install clang-14 libfuzzer-14-dev" \
       "libclang-rt-14-dev (install-deps.sh does)" >&2
  exit 1
fi

start=$(date +%s)
# -O0: a few seconds per harness do not repay an optimised build (the long
# local runs of docs/security.md use an optimised one).
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCAIRN_FUZZ=ON -DCAIRN_BUILD_TESTS=OFF \
  >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j2 --target fuzz
built=$(date +%s)

mkdir -p "$build/artifacts"
status=0
for harness in "$src"/fuzz/corpus/*/; do
  name=$(basename "$harness")
  exe="$build/fuzz/fuzz_$name"
  [ -x "$exe" ] || { echo "ci_fuzz.sh: $exe missing" >&2; status=1; continue; }
  scratch=$(mktemp -d)
  if ! "$exe" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$name-" "$scratch" "$harness" \
       >"$build/$name.log" 2>&1; then
    echo "ci_fuzz.sh: fuzz_$name failed; reproducer in $build/artifacts/" >&2
    tail -40 "$build/$name.log" >&2
    status=1
  fi
  grep -h "stat::number_of_executed_units" "$build/$name.log" |
    sed "s/^/fuzz_$name: /" || true
  rm -rf "$scratch"
done
end=$(date +%s)
echo "ci_fuzz.sh: build $((built - start)) s, runs $((end - built)) s"
exit $status
