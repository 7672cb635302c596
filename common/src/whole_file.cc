#include "cairn/whole_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace cairn {
namespace {

tl::unexpected<Error> CannotRead(const std::filesystem::path& file,
                                 std::string_view what, std::string_view reason,
                                 std::string_view remedy) {
  std::string message = "cannot read ";
  message.append(what).append(" ").append(file.string());
  message.append(": ").append(reason).append("; ").append(remedy);
  return MakeError(ErrorCode::kIo, std::move(message));
}

}  // namespace

Result<std::string> ReadWholeFile(const std::filesystem::path& file,
                                  std::string_view what,
                                  std::string_view remedy) {
  // An ifstream opens a directory on Linux and then reads nothing, which
  // would look like an empty file.
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    return CannotRead(file, what, "it is a directory", remedy);
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    return CannotRead(file, what,
                      err != 0 ? std::strerror(err) : "cannot open it", remedy);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return CannotRead(file, what, "read error", remedy);
  }
  return std::move(text).str();
}

}  // namespace cairn
