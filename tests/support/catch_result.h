// Lets Catch print a cairn::Result: `REQUIRE(hub)` on a failed
// RunningHub::Start (or any Result) then shows the error's code and
// message, where Catch would otherwise print "{?}" and leave a failure
// that happens only on a loaded machine unexplained.
#ifndef CAIRN_TESTS_SUPPORT_CATCH_RESULT_H_
#define CAIRN_TESTS_SUPPORT_CATCH_RESULT_H_

#include <catch2/catch.hpp>
#include <string>
#include <type_traits>

#include "cairn/result.h"

namespace Catch {

template <typename T>
struct StringMaker<tl::expected<T, cairn::Error>> {
  static std::string convert(const tl::expected<T, cairn::Error>& result) {
    if (result.has_value()) {
      // The value too: `REQUIRE(h.Stop() == 0)` must show the exit code.
      if constexpr (std::is_void_v<T>) {
        return "ok";
      } else {
        return "ok: " + Catch::Detail::stringify(*result);
      }
    }
    return "error " + std::string(cairn::ErrorCodeName(result.error().code)) +
           ": " + result.error().message;
  }
};

}  // namespace Catch

#endif  // CAIRN_TESTS_SUPPORT_CATCH_RESULT_H_
