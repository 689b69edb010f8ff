// A connection of its own that answers "is the database there": health checks keep working
// when the pool is exhausted, and a probe never waits behind requests.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/database_config.h"

namespace jobd::db {

class DatabaseProbe {
 public:
  explicit DatabaseProbe(DatabaseConfig config);
  ~DatabaseProbe();
  DatabaseProbe(const DatabaseProbe&) = delete;
  DatabaseProbe& operator=(const DatabaseProbe&) = delete;

  // One round trip; (re)connects first when needed. Returns the database clock's offset from
  // ours (database time - local time, taken at the middle of the round trip). Not
  // thread-safe: one caller at a time.
  absl::StatusOr<absl::Duration> Ping();

 private:
  const DatabaseConfig config_;
  struct Connection;  // libpqxx's, kept out of this header
  std::unique_ptr<Connection> conn_;
};

}  // namespace jobd::db
