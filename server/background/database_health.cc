#include "server/background/database_health.h"

#include <pqxx/nontransaction>

#include "db/pg_errors.h"
#include "server/core/log.h"

namespace jobd::background {

DatabaseHealth::DatabaseHealth(db::DatabaseConfig config, absl::Duration interval,
                               Listener listener)
    : config_(std::move(config)), listener_(std::move(listener)), loop_(interval, [this] { Probe(); }) {}

DatabaseHealth::~DatabaseHealth() { Stop(); }

void DatabaseHealth::Start() {
  Probe();
  loop_.Start();
}

void DatabaseHealth::Stop() { loop_.Stop(); }

void DatabaseHealth::Probe() {
  absl::Status status;
  if (!conn_) {
    auto conn = db::OpenConnection(config_);
    if (conn.ok()) {
      conn_ = std::move(*conn);
    } else {
      status = conn.status();
    }
  }
  if (conn_) {
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec_prepared("ping");
    } catch (...) {
      status = db::TranslateException(std::current_exception());
      conn_.reset();  // reconnect on the next probe
    }
  }
  const bool serving = status.ok();
  if (!reported_ || serving != serving_.load()) {
    serving_ = serving;
    reported_ = true;
    if (serving) {
      core::Log(core::LogLevel::kInfo, "database reachable: serving");
    } else {
      core::Log(core::LogLevel::kWarning, "database unreachable: not serving",
                {{"error", std::string(status.message())}});
    }
    listener_(serving);
  }
}

}  // namespace jobd::background
