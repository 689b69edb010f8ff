#include "db/conninfo.h"

#include <libpq-fe.h>

#include "absl/strings/str_cat.h"

namespace jobd::db {
namespace {

std::string Quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<std::string> WithSettings(const std::string& url,
                                         const std::map<std::string, std::string>& settings,
                                         bool only_if_unset) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "cannot be parsed";
    PQfreemem(error);
    return absl::InvalidArgumentError(absl::StrCat("database_url: ", message));
  }
  std::map<std::string, std::string> values;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  for (const auto& [key, value] : settings) {
    if (!only_if_unset || values.count(key) == 0) values[key] = value;
  }
  std::string out;
  for (const auto& [key, value] : values) {
    if (!out.empty()) out.push_back(' ');
    absl::StrAppend(&out, key, "=", Quote(value));
  }
  return out;
}

absl::StatusOr<std::string> WithConnectionDefaults(const std::string& url) {
  return WithSettings(url,
                      {{"connect_timeout", "3"},
                       {"keepalives", "1"},
                       {"keepalives_idle", "5"},
                       {"keepalives_interval", "2"},
                       {"keepalives_count", "3"},
                       {"tcp_user_timeout", "10000"}},
                      /*only_if_unset=*/true);
}

}  // namespace jobd::db
