// A fixed-size pool of libpqxx connections, opened lazily and replaced when they break.
// libpqxx 6 has no async API, so each connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/database_config.h"
#include "db/query_canceller.h"

namespace jobd::db {

// Opens a connection set up for jobd: UTC session time zone, search_path, named statements.
absl::StatusOr<std::unique_ptr<pqxx::connection>> OpenConnection(const DatabaseConfig& config);

class ConnectionPool {
 public:
  explicit ConnectionPool(DatabaseConfig config);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs `work` on a pooled connection. pqxx exceptions are translated to a status; a
  // connection that broke is dropped and a fresh one opened on a later call. Within a
  // ScopedCallDeadline the work does not start after the deadline and its query is cancelled
  // at it (DEADLINE_EXCEEDED).
  absl::Status Run(const std::function<absl::Status(pqxx::connection&)>& work);

  template <typename T>
  absl::StatusOr<T> Run(const std::function<absl::StatusOr<T>(pqxx::connection&)>& work) {
    absl::StatusOr<T> out = absl::InternalError("not run");
    absl::Status status = Run([&](pqxx::connection& conn) -> absl::Status {
      out = work(conn);
      return out.status();
    });
    if (!status.ok()) return status;
    return out;
  }

  const DatabaseConfig& config() const { return config_; }

 private:
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Take(absl::Time call_deadline);
  // Take's wait for an idle connection (or room to open one), then the taking; `lock` held.
  absl::StatusOr<std::unique_ptr<pqxx::connection>> TakeWaiting(
      std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point deadline,
      bool call_first);
  void Give(std::unique_ptr<pqxx::connection> conn);

  const DatabaseConfig config_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_or_opening_ = 0;  // connections idle or in use, or being opened
  // Cancels queries of calls whose deadline passed (db/call_deadline.h).
  std::unique_ptr<QueryCanceller> canceller_ = std::make_unique<QueryCanceller>();
};

}  // namespace jobd::db
