// The CLI's progress line: what a person watching a long import reads.
#include <catch2/catch.hpp>

#include "client/src/cli/progress.h"

namespace cairn::cli {
namespace {

using std::chrono::duration;

TEST_CASE("thousands are grouped for reading", "[cli][progress]") {
  struct Case {
    std::size_t n;
    const char* text;
  };
  const Case cases[] = {{0, "0"},
                        {7, "7"},
                        {999, "999"},
                        {1000, "1,000"},
                        {12345, "12,345"},
                        {123456, "123,456"},
                        {1234567, "1,234,567"}};
  for (const auto& c : cases) {
    CAPTURE(c.n);
    CHECK(GroupThousands(c.n) == c.text);
  }
}

TEST_CASE("the bar, share, counts, rate and time left", "[cli][progress]") {
  struct Case {
    std::size_t done;
    std::size_t total;
    double seconds;
    const char* line;
  };
  const Case cases[] = {
      // Nothing measured yet: no rate, no estimate.
      {0, 50000, 0.0, "[..........]   0%  0/50,000 rows"},
      {25000, 50000, 5.0,
       "[#####.....]  50%  25,000/50,000 rows  5,000 rows/s  5s left"},
      {12500, 50000, 1.0,
       "[##........]  25%  12,500/50,000 rows  12,500 rows/s  3s left"},
      {1000, 600000, 1.0,
       "[..........]   0%  1,000/600,000 rows  1,000 rows/s  9m59s left"},
      {1000, 4000000, 1.0,
       "[..........]   0%  1,000/4,000,000 rows  1,000 rows/s  1h6m left"},
      // Done: no estimate.
      {50000, 50000, 10.0,
       "[##########] 100%  50,000/50,000 rows  5,000 rows/s"},
      // More rows reported than announced (a file that grew): capped.
      {60000, 50000, 10.0,
       "[##########] 100%  50,000/50,000 rows  5,000 rows/s"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.done, c.total, c.seconds);
    CHECK(RenderProgress(c.done, c.total, duration<double>(c.seconds), 10) ==
          c.line);
  }
}

TEST_CASE("a disabled bar prints nothing, and an enabled one ends its line",
          "[cli][progress]") {
  char buffer[4096] = {};
  std::FILE* out = fmemopen(buffer, sizeof buffer, "w");
  REQUIRE(out != nullptr);
  ProgressBar quiet(out, 100, false);
  quiet.Update(50);
  quiet.Update(100);
  std::fflush(out);
  CHECK(std::string(buffer).empty());

  ProgressBar bar(out, 100, true);
  bar.Update(100);  // the final row always draws
  std::fclose(out);
  const std::string text(buffer);
  CHECK(text.find("100/100 rows") != std::string::npos);
  CHECK(text.front() == '\r');
  CHECK(text.back() == '\n');
}

}  // namespace
}  // namespace cairn::cli
