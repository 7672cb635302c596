// Shared by the harnesses: invariant checks that turn a wrong answer into a
// crash libFuzzer records (a harness that only looks for memory errors misses
// decoders that accept garbage or encoders that do not round-trip).
#ifndef CAIRN_FUZZ_FUZZ_UTIL_H_
#define CAIRN_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

namespace cairn::fuzz {

// Aborts with `what` when `ok` is false.
inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::fflush(stderr);
    std::abort();
  }
}

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::uint8_t> AsSpan(const std::uint8_t* data,
                                            std::size_t size) {
  return {data, size};
}

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_FUZZ_UTIL_H_
