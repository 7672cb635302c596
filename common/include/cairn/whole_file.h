// Reading a small file (a key list, a configuration, a saved answer) whole.
//
// The one reader the hub's and the tools' file loaders share, so that each
// says the same things when a file cannot be read: which file, what the
// system said, and what to do.
#ifndef CAIRN_WHOLE_FILE_H_
#define CAIRN_WHOLE_FILE_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "cairn/result.h"

namespace cairn {

// Returns the bytes of `file`. `what` names it for a person ("hub keys
// file"); `remedy` says what to do when it cannot be read. A directory, a
// missing or unreadable file, and a read error are kIo errors of the form
// "cannot read <what> <file>: <reason>; <remedy>". An empty file is an
// empty string: whether that is acceptable is the caller's decision.
Result<std::string> ReadWholeFile(
    const std::filesystem::path& file, std::string_view what,
    std::string_view remedy = "check the path and its permissions");

}  // namespace cairn

#endif  // CAIRN_WHOLE_FILE_H_
