#include "db/database_probe.h"

#include <pqxx/nontransaction>

#include "absl/time/clock.h"
#include "db/connection_pool.h"
#include "db/pg_errors.h"

namespace jobd::db {

struct DatabaseProbe::Connection {
  std::unique_ptr<pqxx::connection> conn;
};

DatabaseProbe::DatabaseProbe(DatabaseConfig config) : config_(std::move(config)) {}
DatabaseProbe::~DatabaseProbe() = default;

absl::StatusOr<absl::Duration> DatabaseProbe::Ping() {
  if (!conn_) {
    auto conn = OpenConnection(config_);
    if (!conn.ok()) return conn.status();
    conn_ = std::make_unique<Connection>(Connection{std::move(*conn)});
  }
  try {
    pqxx::nontransaction tx(*conn_->conn);
    const absl::Time sent = absl::Now();
    const int64_t database_us = tx.exec_prepared1("ping")[0].as<int64_t>();
    const absl::Time received = absl::Now();
    return absl::FromUnixMicros(database_us) - (sent + (received - sent) / 2);
  } catch (...) {
    conn_.reset();  // reconnect on the next ping
    return TranslateException(std::current_exception());
  }
}

}  // namespace jobd::db
