// Watches the database with its own connection and reports serving/not serving on change,
// so health turns NOT_SERVING within a probe interval of PostgreSQL going away and SERVING
// again when it returns, without a restart. Each probe also reads the database's clock and
// keeps jobd's DatabaseClock on it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "db/database_probe.h"
#include "db/model/clock.h"
#include "server/background/periodic.h"

namespace jobd::background {

// Keeps a DatabaseClock on the offsets measured, and warns when this replica's clock is more
// than a second away from the database's (nothing depends on it, but operators should know).
class ClockSkewWatch {
 public:
  explicit ClockSkewWatch(DatabaseClock& clock) : clock_(clock) {}
  void Measured(absl::Duration offset);

 private:
  DatabaseClock& clock_;
  bool skewed_ = false;
};

class DatabaseHealth {
 public:
  using Listener = std::function<void(bool serving)>;

  DatabaseHealth(db::DatabaseConfig config, absl::Duration interval, ClockSkewWatch& clock,
                 Listener listener);
  ~DatabaseHealth();
  // Probes once (so the first status is known), then every `interval` on a thread.
  void Start();
  void Stop();
  bool serving() const { return serving_.load(); }

 private:
  void Probe();

  const Listener listener_;
  ClockSkewWatch& clock_;
  db::DatabaseProbe probe_;  // used only by Probe, on one thread at a time
  std::atomic<bool> serving_{false};
  bool reported_ = false;
  Periodic loop_;
};

}  // namespace jobd::background
