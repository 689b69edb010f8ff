// One WatchJob stream's logic, without gRPC: the SNAPSHOT or the history after
// `after_sequence`, then live events from the bus, each sequence once and in order. A
// bounded buffer takes live events; when it overflows, or a sequence is skipped, the watch
// reads what it missed from the table (on the executor, never on the caller's thread).
// See docs/EVENTS.md.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "db/model/clock.h"
#include "db/model/job_store.h"
#include "server/core/access.h"
#include "server/core/event_bus.h"
#include "server/core/executor.h"
#include "server/core/limits.h"
#include "server/core/streams_by_key.h"

namespace jobd::core {

// Where a watch sends its events: the api layer's stream. At most one Write is outstanding;
// the stream answers it with WriteDone. End is called once, with no Write outstanding.
// Takes the next element of a vector used as a queue; frees the consumed front now and then.
BusEventPtr PopFront(std::vector<BusEventPtr>& queue, size_t& head);

class WatchSink {
 public:
  virtual ~WatchSink() = default;
  virtual void Write(const BusEventPtr& event) = 0;
  virtual void End(const absl::Status& status) = 0;
  // The watch is established (a workspace watch, which may stay quiet for long): a stream
  // that shows its head only with its first event can show it now. Must not call the watch.
  virtual void Opened() {}
};

struct WatchOptions {
  size_t buffer_events = 256;   // live events a stream holds before it is marked behind
  int32_t catch_up_page = 256;  // events per read from the table
  // Unfinished jobs one WatchJobs stream remembers (those it has shown); beyond, it ends
  // RESOURCE_EXHAUSTED. Bounds a stream's memory (~150 bytes a job) whatever the workspace holds.
  size_t max_tracked_jobs = 10000;
};

struct WatchDeps {
  const Limits& limits;
  JobStore& store;
  EventBus& bus;
  Executor& executor;
  WatchOptions options;
  // Streams register here to end when their key is revoked; null: they do not.
  StreamsByKey* streams_by_key = nullptr;
  // jobd's clock (the database's time), against which jobs' create times are read; null:
  // the system clock.
  Clock* clock = nullptr;
};

class JobWatch : public EventSubscriber, public std::enable_shared_from_this<JobWatch> {
 public:
  // A job the caller may not see ends the stream NOT_FOUND, as an unknown id does.
  JobWatch(WatchDeps deps, Principal caller, const std::string& job_id, WatchSink* sink);
  // Validates, subscribes and starts reading; errors reach the sink through End. Call once,
  // on a watch held by a shared_ptr.
  void Open(std::optional<int64_t> after_sequence);

  void WriteDone(bool ok);
  // The caller left or its deadline passed.
  void Cancel();
  // Ends the stream with `status` once the event being written (if any) is out.
  void EndWith(const absl::Status& status);

  void Deliver(const EventBatch& events) override;
  void Behind(const std::string& job_id, int64_t sequence) override;
  void FeedInterrupted() override {}  // the fetcher's backstop covers job watchers
  void Close() override;

 private:
  // Decides the next step; called with the lock held, may release it.
  void Pump(std::unique_lock<std::mutex>& lock);
  void EndLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status);
  void Begin(std::optional<int64_t> after_sequence);
  void CatchUp();
  void Post(void (JobWatch::*step)());

  WatchDeps deps_;
  const Principal caller_;
  const std::string job_id_;
  WatchSink* const sink_;

  std::mutex mu_;
  std::vector<BusEventPtr> pending_;  // read from the table, sent before live events
  size_t pending_head_ = 0;
  std::vector<BusEventPtr> live_;  // from the bus, bounded by buffer_events
  size_t live_head_ = 0;
  int64_t last_sent_ = -1;  // -1: nothing sent yet
  bool last_sent_terminal_ = false;
  bool started_ = false;  // the first read is done
  bool behind_ = false;   // read the table before taking live events
  bool writing_ = false;  // a Write is outstanding
  bool reading_ = false;  // a database read is outstanding
  bool cancelled_ = false;
  std::optional<absl::Status> closing_;
  bool ended_ = false;
};

}  // namespace jobd::core
