// Brings events written by other jobd processes onto this process's bus: hints from their
// notifications (job id and sequence range only) are coalesced, filtered to what local
// watchers want, read in one query per batch and published. Every `poll_interval` it also
// compares each watched job's latest sequence with what was seen here (one query), so a lost
// notification delays an event and never loses it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "db/model/job_store.h"
#include "server/core/event_bus.h"

namespace jobd::core {

class EventFetcher {
 public:
  EventFetcher(JobStore& store, EventBus& bus, absl::Duration poll_interval);
  ~EventFetcher();
  void Start();
  void Stop();

  // Events other processes committed (never blocks).
  void Hint(const std::vector<EventRange>& ranges);
  // Run the backstop check now (e.g. after notifications may have been lost).
  void CheckNow();

 private:
  void Loop();
  void Fetch(const std::vector<EventRange>& hints);
  void Backstop();
  void Failed(const absl::Status& status);

  JobStore& store_;
  EventBus& bus_;
  const absl::Duration poll_interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<std::string, EventRange> hints_;  // job id -> merged range
  bool check_now_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// Parses a notification payload "id:after-last,id:after-last"; malformed entries are skipped.
std::vector<EventRange> ParseEventHints(const std::string& payload);
// Notification payloads for the ranges, each at most `max_bytes` long.
std::vector<std::string> FormatEventHints(const std::vector<EventRange>& ranges,
                                          size_t max_bytes = 7900);

}  // namespace jobd::core
