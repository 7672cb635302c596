// A main() for the harnesses without libFuzzer: feeds every regular file of
// the directories (or the files) named on the command line to
// LLVMFuzzerTestOneInput, in name order. Built with the normal compiler, so
// CI replays the corpora (and the crash regressions) without clang; a
// harness's invariant checks abort the process, which fails the test.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size);

namespace {

// The input being replayed, named when a check aborts so that CI's log says
// which corpus file to look at.
const char* current_input = "";

extern "C" void NameInputOnAbort(int) {
  std::fprintf(stderr, "replay: failing input: %s\n", current_input);
  std::signal(SIGABRT, SIG_DFL);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const auto& entry : fs::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr,
                   "replay: %s is neither a file nor a directory; pass "
                   "corpus directories or input files\n",
                   argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr,
                 "replay: no inputs found; an empty corpus replays nothing, "
                 "so check the paths given\n");
    return 2;
  }
  std::signal(SIGABRT, NameInputOnAbort);
  for (const auto& file : files) {
    current_input = file.c_str();
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
      return 2;
    }
    // A copy of exactly `size` bytes, so that ASan sees reads past the end.
    std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::printf("replay: %zu inputs, no failure\n", files.size());
  return 0;
}
