#include "cairn/wire/error.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

namespace cairn::wire {

std::string EncodeErrorBody(const Error& error) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  const auto code = ErrorCodeName(error.code);
  writer.Key("code");
  writer.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  writer.Key("message");
  writer.String(error.message.data(),
                static_cast<rapidjson::SizeType>(error.message.size()));
  if (!error.field.empty()) {
    writer.Key("field");
    writer.String(error.field.data(),
                  static_cast<rapidjson::SizeType>(error.field.size()));
  }
  if (error.index) {
    writer.Key("index");
    writer.Uint64(*error.index);
  }
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<Error> DecodeErrorBody(std::string_view json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  auto bad = [](const std::string& what) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "hub sent a malformed error body: " + what);
  };
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return bad("not JSON");
  simdjson::ondemand::object err;
  if (doc["error"].get_object().get(err)) return bad("no \"error\" object");
  Error out;
  bool have_code = false;
  for (auto field : err) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("bad key");
    if (key == "code") {
      std::string_view code;
      if (field.value().get_string().get(code)) return bad("code");
      out.code = ErrorCodeFromName(code).value_or(ErrorCode::kInternal);
      have_code = true;
    } else if (key == "message") {
      std::string_view message;
      if (field.value().get_string().get(message)) return bad("message");
      out.message = std::string(message);
    } else if (key == "field") {
      std::string_view path;
      if (field.value().get_string().get(path)) return bad("field");
      out.field = std::string(path);
    } else if (key == "index") {
      std::uint64_t index = 0;
      if (field.value().get_uint64().get(index)) return bad("index");
      out.index = index;
    }
  }
  if (!have_code) return bad("no code");
  return out;
}

}  // namespace cairn::wire
