#include "server/http/message_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace jobd::http {
namespace {

using google::protobuf::FieldDescriptor;

absl::Status ParseJson(absl::string_view json, google::protobuf::Message* message,
                       absl::string_view what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message().ToString()));
}

// A query value as the JSON value of `field`.
nlohmann::json QueryValue(const FieldDescriptor& field, const std::string& value) {
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL && (value == "true" || value == "false")) {
    return value == "true";
  }
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
      field.enum_type()->FindValueByName(value) == nullptr &&
      field.enum_type()->value_count() > 0) {
    // A query may leave out the enum's prefix: state=QUEUED for JOB_STATE_QUEUED.
    absl::string_view first = field.enum_type()->value(0)->name();  // FOO_UNSPECIFIED
    if (absl::ConsumeSuffix(&first, "UNSPECIFIED")) {
      const std::string full = absl::StrCat(first, absl::AsciiStrToUpper(value));
      if (field.enum_type()->FindValueByName(full) != nullptr) return full;
    }
  }
  return value;  // numbers and enum names are accepted quoted by the JSON mapping
}

absl::Status BindQuery(const Pairs& query, const std::vector<QueryParam>* params,
                       google::protobuf::Message* request) {
  if (query.empty()) return absl::OkStatus();
  nlohmann::json object = nlohmann::json::object();
  const google::protobuf::Descriptor* type = request->GetDescriptor();
  for (const auto& [name, value] : query) {
    const QueryParam* param = nullptr;
    if (params != nullptr) {
      for (const QueryParam& p : *params) {
        if (name == p.name) param = &p;
      }
    }
    const FieldDescriptor* field = param ? type->FindFieldByName(param->field) : nullptr;
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\" is not known on this route"));
    }
    nlohmann::json& slot = object[field->name()];
    if (field->is_map()) {
      const size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": use KEY:VALUE"));
      }
      const std::string key = value.substr(0, colon);
      if (slot.contains(key)) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": key \"", key, "\" given twice"));
      }
      slot[key] = value.substr(colon + 1);
    } else if (field->is_repeated()) {
      slot.push_back(QueryValue(*field, value));
    } else {
      if (!slot.is_null()) return absl::InvalidArgumentError(absl::StrCat(name, ": given twice"));
      slot = QueryValue(*field, value);
    }
  }
  std::unique_ptr<google::protobuf::Message> from_query(request->New());
  absl::Status parsed =
      ParseJson(object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                from_query.get(), "query");
  if (!parsed.ok()) return parsed;
  request->MergeFrom(*from_query);
  return absl::OkStatus();
}

}  // namespace

absl::Status BindRequest(absl::string_view body, const Pairs& path_fields, const Pairs& query,
                         const std::vector<QueryParam>* params,
                         google::protobuf::Message* request) {
  if (!absl::StripAsciiWhitespace(body).empty()) {
    if (absl::Status s = ParseJson(body, request, "request body"); !s.ok()) return s;
  }
  for (const auto& [name, value] : path_fields) {
    // "schedule.id": the field of a nested message.
    google::protobuf::Message* holder = request;
    const std::vector<std::string> parts = absl::StrSplit(name, '.');
    const FieldDescriptor* field = nullptr;
    for (size_t i = 0; i < parts.size(); ++i) {
      field = holder->GetDescriptor()->FindFieldByName(parts[i]);
      if (field == nullptr) break;
      if (i + 1 < parts.size()) {
        if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
          field = nullptr;
          break;
        }
        holder = holder->GetReflection()->MutableMessage(holder, field);
      }
    }
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      return absl::InternalError(absl::StrCat("route binds an unknown field ", name));
    }
    const google::protobuf::Reflection* reflection = holder->GetReflection();
    const std::string in_body = reflection->GetString(*holder, field);
    if (!in_body.empty() && in_body != value) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": the body says \"", in_body,
                                                     "\" but the path says \"", value, "\""));
    }
    reflection->SetString(holder, field, value);
  }
  return BindQuery(query, params, request);
}

std::string MessageToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  // Either way the result is valid JSON: a Struct holds only what JSON can.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace jobd::http
