// Watches the database with its own connection and reports serving/not serving on change,
// so health turns NOT_SERVING within a probe interval of PostgreSQL going away and SERVING
// again when it returns, without a restart.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "db/connection_pool.h"

namespace jobd::background {

class DatabaseHealth {
 public:
  using Listener = std::function<void(bool serving)>;

  DatabaseHealth(db::DatabaseConfig config, absl::Duration interval, Listener listener);
  ~DatabaseHealth();
  // Probes once (so the first status is known), then every `interval` on a thread.
  void Start();
  void Stop();
  bool serving() const { return serving_.load(); }

 private:
  bool Probe();
  void Loop();

  const db::DatabaseConfig config_;
  const absl::Duration interval_;
  const Listener listener_;
  std::unique_ptr<pqxx::connection> conn_;
  std::atomic<bool> serving_{false};
  bool reported_ = false;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jobd::background
