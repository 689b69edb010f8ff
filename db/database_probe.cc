#include "db/database_probe.h"

#include <pqxx/nontransaction>

#include "db/connection_pool.h"
#include "db/pg_errors.h"

namespace jobd::db {

struct DatabaseProbe::Connection {
  std::unique_ptr<pqxx::connection> conn;
};

DatabaseProbe::DatabaseProbe(DatabaseConfig config) : config_(std::move(config)) {}
DatabaseProbe::~DatabaseProbe() = default;

absl::Status DatabaseProbe::Ping() {
  if (!conn_) {
    auto conn = OpenConnection(config_);
    if (!conn.ok()) return conn.status();
    conn_ = std::make_unique<Connection>(Connection{std::move(*conn)});
  }
  try {
    pqxx::nontransaction tx(*conn_->conn);
    tx.exec_prepared("ping");
    return absl::OkStatus();
  } catch (...) {
    conn_.reset();  // reconnect on the next ping
    return TranslateException(std::current_exception());
  }
}

}  // namespace jobd::db
