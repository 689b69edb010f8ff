// What jobd processes of one database tell each other, without a NOTIFY in any job
// transaction (PostgreSQL serializes notifying commits). One sender per process sends, at
// most every `min_gap`: a payload-free `jobd_ready` after local jobs became ready, and
// `jobd_events` with the job id and sequence ranges of committed events (never job data).
// One listener connection wakes local waiters on `jobd_ready` and hands `jobd_events` hints
// to the event fetcher. Backstops (the acquire poll, the fetcher's sequence check) cover
// what a lost notification would miss; after the listener reconnects, watchers are told.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
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
               core::EventFetcher& fetcher, absl::Duration min_gap, absl::Duration backstop);
  ~NotifyBridge();
  void Start();
  void Stop();
  // A job became ready in this process: tell the others (coalesced).
  void MarkReady();
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
  const absl::Duration backstop_;
  std::atomic<int> sender_pid_{0};  // our sender's backend, whose notifications we ignore
  std::mutex mu_;
  std::condition_variable sender_wake_;    // something to send, or stopping
  std::condition_variable listener_wake_;  // stopping (ends a reconnect back-off early)
  bool ready_dirty_ = false;
  std::unordered_map<std::string, EventRange> events_;  // job id -> merged range to announce
  bool stopping_ = false;
  std::thread sender_;
  std::thread listener_;
};

}  // namespace jobd::background
