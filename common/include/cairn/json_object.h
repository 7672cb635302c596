// A builder for one flat JSON object, written compactly with keys in the
// order they are added: the CLI's --json lines and the hub's audit-entry
// details (whose key order docs/protocol.md fixes) both use it.
#ifndef CAIRN_JSON_OBJECT_H_
#define CAIRN_JSON_OBJECT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

class JsonObjectWriter {
 public:
  JsonObjectWriter();
  ~JsonObjectWriter();
  JsonObjectWriter(JsonObjectWriter&&) noexcept;
  JsonObjectWriter& operator=(JsonObjectWriter&&) noexcept;

  // Strings are escaped as JSON requires; they must be UTF-8.
  JsonObjectWriter& Add(std::string_view key, std::string_view value);
  JsonObjectWriter& Add(std::string_view key, const char* value);
  JsonObjectWriter& Add(std::string_view key, const std::string& value);
  JsonObjectWriter& Add(std::string_view key, std::uint64_t value);
  JsonObjectWriter& Add(std::string_view key, int value);
  JsonObjectWriter& Add(std::string_view key, bool value);
  JsonObjectWriter& Add(std::string_view key,
                        const std::vector<std::string>& values);
  // Inserts already-encoded JSON (an object or array) as the value of `key`.
  JsonObjectWriter& AddRaw(std::string_view key, std::string_view json);

  // The finished object, without a trailing newline. Call once.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn

#endif  // CAIRN_JSON_OBJECT_H_
