#include "cairn/whole_file.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace cairn {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using namespace std::string_literals;

fs::path FreshDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("cairn_whole_file_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST_CASE("ReadWholeFile returns every byte, including NUL and CR") {
  const fs::path dir = FreshDir("bytes");
  const std::string bytes = "line 1\r\n\0binary\xff\nend"s;
  REQUIRE(bytes.size() == 20);
  {
    std::ofstream out(dir / "f", std::ios::binary);
    out << bytes;
  }
  auto text = ReadWholeFile(dir / "f", "test file");
  REQUIRE(text.has_value());
  CHECK(*text == bytes);
  fs::remove_all(dir);
}

TEST_CASE("ReadWholeFile returns an empty file as an empty string") {
  const fs::path dir = FreshDir("empty");
  { std::ofstream out(dir / "empty"); }
  auto text = ReadWholeFile(dir / "empty", "test file");
  REQUIRE(text.has_value());
  CHECK(text->empty());
  fs::remove_all(dir);
}

TEST_CASE("ReadWholeFile names the file, the reason and the remedy") {
  const fs::path dir = FreshDir("errors");
  SECTION("a missing file") {
    auto text = ReadWholeFile(dir / "absent.toml", "configuration file",
                              "check the path given with --config");
    REQUIRE_FALSE(text.has_value());
    CHECK(text.error().code == ErrorCode::kIo);
    CHECK(text.error().message ==
          "cannot read configuration file " + (dir / "absent.toml").string() +
              ": No such file or directory; check the path given with "
              "--config");
  }
  SECTION("a directory, which an ifstream would read as empty") {
    auto text = ReadWholeFile(dir, "hub keys file");
    REQUIRE_FALSE(text.has_value());
    CHECK(text.error().code == ErrorCode::kIo);
    CHECK_THAT(text.error().message, Contains("is a directory"));
    CHECK_THAT(text.error().message,
               Contains("check the path and its permissions"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cairn
