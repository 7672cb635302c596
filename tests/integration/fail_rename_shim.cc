// A test-only LD_PRELOAD library: rename(2) fails with EACCES when its
// source path contains one of the ':'-separated substrings in
// $CAIRN_TEST_FAIL_RENAME_FROM, and behaves normally otherwise.
//
// It lets a test reach error paths that no file permission can reach when
// the tests run as root (cairnctl restore's rollback), without a test hook
// in the production code.
#include <dlfcn.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace {

bool ShouldFail(std::string_view from) {
  const char* list = std::getenv("CAIRN_TEST_FAIL_RENAME_FROM");
  if (list == nullptr) return false;
  std::string_view rest = list;
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string_view part = rest.substr(0, colon);
    if (!part.empty() && from.find(part) != std::string_view::npos) return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

}  // namespace

extern "C" int rename(const char* from, const char* to) {
  if (from != nullptr && ShouldFail(from)) {
    errno = EACCES;
    return -1;
  }
  using RenameFn = int (*)(const char*, const char*);
  static const auto next =
      reinterpret_cast<RenameFn>(dlsym(RTLD_NEXT, "rename"));
  if (next == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return next(from, to);
}
