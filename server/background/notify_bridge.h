// Wakes workers waiting on other jobd processes of the same database, without a NOTIFY in
// any job transaction (PostgreSQL serializes notifying commits): one sender per process
// sends a payload-free `pg_notify('jobd_ready')` at most every `min_gap` after local jobs
// became ready; one listener connection turns notifications from other processes into a
// wake-up of every local waiter. A slow backstop wakes them too, so a lost notification
// delays a job and never strands it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "db/connection_pool.h"
#include "server/core/ready_waiters.h"

namespace jobd::background {

class NotifyBridge {
 public:
  NotifyBridge(db::DatabaseConfig config, core::ReadyWaiters& waiters, absl::Duration min_gap,
               absl::Duration backstop);
  ~NotifyBridge();
  void Start();
  void Stop();
  // A job became ready in this process: tell the others (coalesced).
  void MarkReady();

 private:
  void SendLoop();
  void ListenLoop();
  bool Stopping();

  const db::DatabaseConfig config_;
  core::ReadyWaiters& waiters_;
  const absl::Duration min_gap_;
  const absl::Duration backstop_;
  std::atomic<int> sender_pid_{0};  // our sender's backend, whose notifications we ignore
  std::mutex mu_;
  std::condition_variable sender_wake_;    // dirty or stopping
  std::condition_variable listener_wake_;  // stopping (ends a reconnect back-off early)
  bool dirty_ = false;
  bool stopping_ = false;
  std::thread sender_;
  std::thread listener_;
};

}  // namespace jobd::background
