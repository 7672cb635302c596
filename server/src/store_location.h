// Where a hub keeps its database inside its data directory. Shared by
// cairnd and cairnctl so that both always agree.
#ifndef CAIRN_SERVER_STORE_LOCATION_H_
#define CAIRN_SERVER_STORE_LOCATION_H_

#include <filesystem>

namespace cairn::server {

inline std::filesystem::path DatabasePath(const std::filesystem::path& dir) {
  return dir / "cairn.db";
}

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_LOCATION_H_
