#include "server/http/http_message.h"

namespace jobd::http {

std::vector<absl::string_view> HttpRequest::HeaderValues(absl::string_view name) const {
  std::vector<absl::string_view> values;
  for (const auto& [key, value] : headers) {
    if (key == name) values.emplace_back(value);
  }
  return values;
}

absl::string_view HttpRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

}  // namespace jobd::http
