// How jobd reaches its database; no libpqxx here, so that configuration and the loops that
// only pass it on need no database headers.
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"

namespace jobd::db {

struct DatabaseConfig {
  std::string url;  // libpq connection string or URI
  int pool_size = 8;
  std::string search_path;  // empty: the server's default (tests use a schema each)
  absl::Duration acquire_timeout = absl::Seconds(5);
  // PostgreSQL's statement_timeout for every connection; zero: none (migrations set none).
  absl::Duration statement_timeout = absl::ZeroDuration();
  // Told how long each call waited for a busy pool's connection (metrics); none: nothing.
  std::function<void(absl::Duration)> on_pool_wait;
};

}  // namespace jobd::db
