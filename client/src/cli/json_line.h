// A tiny builder for the one-object-per-line JSON the CLI prints with
// --json, on top of RapidJSON's Writer.
#ifndef CAIRN_CLIENT_SRC_CLI_JSON_LINE_H_
#define CAIRN_CLIENT_SRC_CLI_JSON_LINE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cairn::cli {

class JsonLine {
 public:
  JsonLine() : writer_(buffer_) { writer_.StartObject(); }

  JsonLine& Add(std::string_view key, std::string_view value) {
    Key(key);
    writer_.String(value.data(),
                   static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  JsonLine& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonLine& Add(std::string_view key, const std::string& value) {
    return Add(key, std::string_view(value));
  }
  JsonLine& Add(std::string_view key, std::uint64_t value) {
    Key(key);
    writer_.Uint64(value);
    return *this;
  }
  JsonLine& Add(std::string_view key, int value) {
    Key(key);
    writer_.Int(value);
    return *this;
  }
  JsonLine& Add(std::string_view key, bool value) {
    Key(key);
    writer_.Bool(value);
    return *this;
  }
  JsonLine& Add(std::string_view key, const std::vector<std::string>& values) {
    Key(key);
    writer_.StartArray();
    for (const auto& v : values) {
      writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    writer_.EndArray();
    return *this;
  }
  // Inserts already-encoded JSON as the value of `key`.
  JsonLine& AddRaw(std::string_view key, std::string_view json) {
    Key(key);
    writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
  }

  // The finished object (no trailing newline).
  std::string Finish() {
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

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_JSON_LINE_H_
