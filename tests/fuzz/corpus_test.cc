// The committed seed corpora: one per harness, small enough to replay in
// CI in seconds and to review (fuzz/corpus/<harness>/).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CorpusCase {
  const char* harness;
};

constexpr CorpusCase kHarnesses[] = {
    {"wire"}, {"normalise"}, {"encoding"}, {"oprf"}, {"api"},
};

constexpr std::size_t kMaxFiles = 50;
constexpr std::uintmax_t kMaxFileBytes = 64 * 1024;

TEST_CASE("every harness has a small committed seed corpus") {
  for (const auto& c : kHarnesses) {
    CAPTURE(c.harness);
    const fs::path dir =
        fs::path(CAIRN_SOURCE_DIR) / "fuzz" / "corpus" / c.harness;
    REQUIRE(fs::is_directory(dir));
    REQUIRE(fs::is_regular_file(fs::path(CAIRN_SOURCE_DIR) / "fuzz" /
                                ("fuzz_" + std::string(c.harness) + ".cc")));
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      CAPTURE(entry.path().string());
      CHECK(entry.is_regular_file());
      CHECK(entry.file_size() <= kMaxFileBytes);
      ++files;
    }
    CHECK(files >= 1);
    CHECK(files <= kMaxFiles);
  }
}

}  // namespace
