#include "server/background/database_health.h"

#include "server/core/log.h"

namespace jobd::background {

void ClockSkewWatch::Measured(absl::Duration offset) {
  clock_.SetOffset(offset);
  const bool skewed = absl::AbsDuration(offset) > absl::Seconds(1);
  if (skewed == skewed_) return;
  skewed_ = skewed;
  const double seconds = absl::ToDoubleSeconds(offset);
  if (skewed) {
    core::Log(core::LogLevel::kWarning,
              "this machine's clock differs from the database's by more than a second; jobd "
              "decides on the database's time, but check the clock (NTP)",
              {{"database_minus_local_seconds", seconds}});
  } else {
    core::Log(core::LogLevel::kInfo, "this machine's clock agrees with the database's again",
              {{"database_minus_local_seconds", seconds}});
  }
}

DatabaseHealth::DatabaseHealth(db::DatabaseConfig config, absl::Duration interval,
                               ClockSkewWatch& clock, Listener listener)
    : listener_(std::move(listener)),
      clock_(clock),
      probe_(std::move(config)),
      loop_(interval, [this] { Probe(); }) {}

DatabaseHealth::~DatabaseHealth() { Stop(); }

void DatabaseHealth::Start() {
  Probe();
  loop_.Start();
}

void DatabaseHealth::Stop() { loop_.Stop(); }

void DatabaseHealth::Probe() {
  const absl::StatusOr<absl::Duration> offset = probe_.Ping();
  if (offset.ok()) clock_.Measured(*offset);
  const absl::Status status = offset.status();
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
