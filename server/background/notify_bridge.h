// What jobd processes of one database tell each other, without a NOTIFY in any job
// transaction (PostgreSQL serializes notifying commits). One sender per process sends, at
// most every `min_gap`: `jobd_ready` naming the queues (workspace, type) where local jobs
// became ready, and
// `jobd_events` with the job id and sequence ranges of committed events (never job data).
// One listener connection wakes the local waiters of those queues on `jobd_ready` and hands
// `jobd_events` hints to the event fetcher. Backstops (each waiter's own recheck, the
// fetcher's sequence check) cover what a lost notification would miss; after the listener
// reconnects, every waiter looks again and watchers are told.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "db/database_config.h"
#include "server/core/event_bus.h"
#include "server/core/event_fetcher.h"
#include "server/core/ready_waiters.h"

namespace jobd::background {

class NotifyBridge {
 public:
  NotifyBridge(db::DatabaseConfig config, core::ReadyWaiters& waiters, core::EventBus& bus,
               core::EventFetcher& fetcher, absl::Duration min_gap);
  ~NotifyBridge();
  void Start();
  void Stop();
  // A job of `type` in `workspace_id` became ready in this process: tell the others
  // (coalesced).
  void MarkReady(const std::string& workspace_id, const std::string& type);
  // Events were committed in this process: tell the others (coalesced).
  void MarkEvents(const std::vector<EventRange>& ranges);

 private:
  void SendLoop();
  void ListenLoop();
  bool Stopping();

  const db::DatabaseConfig config_;
  core::ReadyWaiters& waiters_;
  core::EventBus& bus_;
  core::EventFetcher& fetcher_;
  const absl::Duration min_gap_;
  std::atomic<int> sender_pid_{0};  // our sender's backend, whose notifications we ignore
  std::mutex mu_;
  std::condition_variable sender_wake_;    // something to send, or stopping
  std::condition_variable listener_wake_;  // stopping (ends a reconnect back-off early)
  std::set<std::pair<std::string, std::string>> ready_;  // queues to announce
  std::unordered_map<std::string, EventRange> events_;   // job id -> merged range to announce
  bool stopping_ = false;
  std::thread sender_;
  std::thread listener_;
};

}  // namespace jobd::background
