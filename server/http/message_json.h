// Requests and responses in protobuf's JSON mapping, so that bodies are exactly what grpcurl
// and generated clients show: lowerCamelCase out, both spellings in, unknown fields refused.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/http/routes.h"

namespace jobd::http {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Fills `request` from the JSON body (empty: no fields), then the path's variables (a body
// that names one of them must agree), then the query parameters `route` binds (null: none
// allowed). INVALID_ARGUMENT naming the field or parameter; `request` is then unusable.
absl::Status BindRequest(absl::string_view body, const Pairs& path_fields, const Pairs& query,
                         const std::vector<QueryParam>* params, google::protobuf::Message* request);

std::string MessageToJson(const google::protobuf::Message& message);

}  // namespace jobd::http
