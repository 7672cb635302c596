// The JSON details of an audit entry.
#ifndef CAIRN_SERVER_STORE_AUDIT_DETAILS_H_
#define CAIRN_SERVER_STORE_AUDIT_DETAILS_H_

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::server::store_internal {

// Builds an audit entry's details: a compact JSON object whose keys come in
// the order the caller writes them (docs/protocol.md lists each action's).
class Details {
 public:
  Details() : writer_(buffer_) { writer_.StartObject(); }
  Details& Add(std::string_view key, std::string_view value) {
    Key(key);
    writer_.String(value.data(),
                   static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  Details& Add(std::string_view key, std::uint64_t value) {
    Key(key);
    writer_.Uint64(value);
    return *this;
  }
  Details& AddBool(std::string_view key, bool value) {
    Key(key);
    writer_.Bool(value);
    return *this;
  }
  Details& Add(std::string_view key, const std::vector<std::string>& values) {
    Key(key);
    writer_.StartArray();
    for (const auto& v : values) {
      writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    writer_.EndArray();
    return *this;
  }
  std::string Done() {
    writer_.EndObject();
    return std::string(buffer_.GetString(), buffer_.GetSize());
  }

 private:
  void Key(std::string_view key) {
    writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  }
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_AUDIT_DETAILS_H_
