// JsonObjectWriter: key order, escaping and every value type, as the CLI's
// --json lines and the hub's audit details rely on them.
#include "cairn/json_object.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cairn {
namespace {

TEST_CASE("keys come out in the order they were added, compactly") {
  const std::string out = JsonObjectWriter()
                              .Add("z", "last-first")
                              .Add("a", std::uint64_t{18446744073709551615u})
                              .Add("n", -3)
                              .Add("t", true)
                              .Add("f", false)
                              .Finish();
  CHECK(out == R"({"z":"last-first","a":18446744073709551615,"n":-3,"t":true,)"
               R"("f":false})");
}

TEST_CASE("strings are escaped, and a char pointer is a string, not a bool") {
  const std::string s = "quote\" back\\ nl\n tab\t ctl\x01 é";
  const char* literal = "x";
  CHECK(JsonObjectWriter().Add("s", s).Add("p", literal).Finish() ==
        R"({"s":"quote\" back\\ nl\n tab\t ctl\u0001 é","p":"x"})");
}

TEST_CASE("arrays of strings, raw JSON values and the empty object") {
  const std::vector<std::string> ids{"s_1", "s\"2"};
  CHECK(JsonObjectWriter()
            .Add("ids", ids)
            .Add("none", std::vector<std::string>{})
            .AddRaw("raw", R"({"k":[1,2]})")
            .Finish() ==
        R"({"ids":["s_1","s\"2"],"none":[],"raw":{"k":[1,2]}})");
  CHECK(JsonObjectWriter().Finish() == "{}");
}

TEST_CASE("a moved-to writer carries on where the moved-from one stopped") {
  JsonObjectWriter a;
  a.Add("first", 1);
  JsonObjectWriter b = std::move(a);
  b.Add("second", 2);
  CHECK(b.Finish() == R"({"first":1,"second":2})");
}

}  // namespace
}  // namespace cairn
