// libpq connection strings: jobd's defaults for a database that fails or goes silent, and
// rewriting settings (tests give each jobd its own database).
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace jobd::db {

// `url` (a URI or keyword/value string) as a keyword/value string with `settings` applied:
// each replaces the URL's value, or only fills it in when `only_if_unset`.
absl::StatusOr<std::string> WithSettings(const std::string& url,
                                         const std::map<std::string, std::string>& settings,
                                         bool only_if_unset);

// Connect within 3 s, and notice a database host that went silent within ~10 s (TCP
// keepalives and tcp_user_timeout), unless the URL says otherwise. Without these, a
// black-holed host keeps queries, health probes and shutdown waiting for minutes.
absl::StatusOr<std::string> WithConnectionDefaults(const std::string& url);

}  // namespace jobd::db
