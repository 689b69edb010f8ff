#include "db/connection_pool.h"

#include <chrono>

#include <pqxx/nontransaction>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/conninfo.h"
#include "db/model/call_deadline.h"
#include "db/pg_errors.h"
#include "db/sql_files.h"

namespace jobd::db {

absl::StatusOr<std::unique_ptr<pqxx::connection>> OpenConnection(const DatabaseConfig& config) {
  absl::StatusOr<std::string> conninfo = WithConnectionDefaults(config.url);
  if (!conninfo.ok()) return conninfo.status();
  try {
    auto conn = std::make_unique<pqxx::connection>(*conninfo);
    pqxx::nontransaction setup(*conn);
    // Timestamps are parsed in db/pg_rows.cc: ISO format, UTC offset.
    setup.exec("SET TIME ZONE 'UTC'");
    setup.exec("SET DateStyle TO ISO");
    if (config.statement_timeout > absl::ZeroDuration()) {
      setup.exec(
          absl::StrCat("SET statement_timeout = ",
                       std::max<int64_t>(1, absl::ToInt64Milliseconds(config.statement_timeout))));
    }
    if (!config.search_path.empty()) {
      setup.exec(absl::StrCat("SET search_path TO ", setup.quote_name(config.search_path)));
    }
    setup.commit();
    // Never reconnect silently: that would lose the session settings above. A broken
    // connection surfaces as UNAVAILABLE and the pool replaces it. libpqxx 6.4 deprecates the
    // call (7 drops reactivation altogether) but still reactivates without it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    // libpqxx 6 prepares lazily, on first use: registering costs no round trip.
    for (const SqlFile& query : Queries()) conn->prepare(query.name, query.text);
    return conn;
  } catch (...) {
    return TranslateException(std::current_exception());
  }
}

ConnectionPool::ConnectionPool(DatabaseConfig config) : config_(std::move(config)) {}

ConnectionPool::~ConnectionPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Take(absl::Time call_deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool call_first = call_deadline < absl::Now() + config_.acquire_timeout;
  const auto deadline = std::chrono::steady_clock::now() +
                        absl::ToChronoMilliseconds(call_first ? call_deadline - absl::Now()
                                                              : config_.acquire_timeout);
  // Every connection busy: how long this call waits is worth watching.
  const bool waits = idle_.empty() && open_or_opening_ >= config_.pool_size;
  const absl::Time since = absl::Now();
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = TakeWaiting(lock, deadline, call_first);
  if (lock.owns_lock()) lock.unlock();
  if (waits && config_.on_pool_wait) config_.on_pool_wait(absl::Now() - since);
  return conn;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::TakeWaiting(
    std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point deadline,
    bool call_first) {
  while (idle_.empty() && open_or_opening_ >= config_.pool_size) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_or_opening_ >= config_.pool_size) {
      if (call_first) {
        return absl::DeadlineExceededError(
            "the call's deadline passed while it waited for a database connection");
      }
      return absl::ResourceExhaustedError(
          absl::StrCat("all ", config_.pool_size, " database connections are busy"));
    }
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  ++open_or_opening_;
  lock.unlock();
  auto conn = OpenConnection(config_);
  if (!conn.ok()) {
    lock.lock();
    --open_or_opening_;
    available_.notify_one();
  }
  return conn;
}

void ConnectionPool::Give(std::unique_ptr<pqxx::connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn) {
    idle_.push_back(std::move(conn));
  } else {
    --open_or_opening_;
  }
  available_.notify_one();
}

absl::Status ConnectionPool::Run(const std::function<absl::Status(pqxx::connection&)>& work) {
  const absl::Time deadline = CurrentCallDeadline();
  if (deadline <= absl::Now()) {
    return absl::DeadlineExceededError("the call's deadline passed before its database work");
  }
  auto conn = Take(deadline);
  if (!conn.ok()) return conn.status();
  const bool watched = deadline != absl::InfiniteFuture();
  const uint64_t handle = watched ? canceller_->Watch(**conn, deadline) : 0;
  absl::Status status;
  try {
    status = work(**conn);
  } catch (...) {
    status = TranslateException(std::current_exception());
  }
  if (watched) canceller_->Forget(handle);
  if (IsConnectionLost(status) || !(*conn)->is_open()) conn->reset();
  Give(std::move(*conn));
  return status;
}

}  // namespace jobd::db
