#include "server/background/database_health.h"

#include "server/core/log.h"

namespace jobd::background {

DatabaseHealth::DatabaseHealth(db::DatabaseConfig config, absl::Duration interval,
                               Listener listener)
    : listener_(std::move(listener)),
      probe_(std::move(config)),
      loop_(interval, [this] { Probe(); }) {}

DatabaseHealth::~DatabaseHealth() { Stop(); }

void DatabaseHealth::Start() {
  Probe();
  loop_.Start();
}

void DatabaseHealth::Stop() { loop_.Stop(); }

void DatabaseHealth::Probe() {
  const absl::Status status = probe_.Ping();
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
