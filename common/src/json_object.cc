#include "cairn/json_object.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cairn {

struct JsonObjectWriter::Impl {
  Impl() : writer(buffer) { writer.StartObject(); }
  void Key(std::string_view key) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  }
  void String(std::string_view s) {
    writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer;
};

JsonObjectWriter::JsonObjectWriter() : impl_(std::make_unique<Impl>()) {}
JsonObjectWriter::~JsonObjectWriter() = default;
JsonObjectWriter::JsonObjectWriter(JsonObjectWriter&&) noexcept = default;
JsonObjectWriter& JsonObjectWriter::operator=(JsonObjectWriter&&) noexcept =
    default;

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key,
                                        std::string_view value) {
  impl_->Key(key);
  impl_->String(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key,
                                        const char* value) {
  return Add(key, std::string_view(value));
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key,
                                        const std::string& value) {
  return Add(key, std::string_view(value));
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key,
                                        std::uint64_t value) {
  impl_->Key(key);
  impl_->writer.Uint64(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, int value) {
  impl_->Key(key);
  impl_->writer.Int(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, bool value) {
  impl_->Key(key);
  impl_->writer.Bool(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(
    std::string_view key, const std::vector<std::string>& values) {
  impl_->Key(key);
  impl_->writer.StartArray();
  for (const auto& v : values) impl_->String(v);
  impl_->writer.EndArray();
  return *this;
}

JsonObjectWriter& JsonObjectWriter::AddRaw(std::string_view key,
                                           std::string_view json) {
  impl_->Key(key);
  impl_->writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

std::string JsonObjectWriter::Finish() {
  impl_->writer.EndObject();
  return std::string(impl_->buffer.GetString(), impl_->buffer.GetSize());
}

}  // namespace cairn
