// One WatchJobs stream's logic, without gRPC: live events of the workspace's jobs that pass
// the filters. Per job, order is kept and nothing is sent twice; a job whose events were
// missed (buffer overflow, a skipped sequence) gets one SNAPSHOT instead, read from the
// table on the executor. See docs/EVENTS.md.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/core/job_watch.h"

namespace jobd::core {

struct WorkspaceWatchFilter {
  std::string workspace_id;
  std::vector<JobState> states;    // empty: any
  std::vector<std::string> types;  // empty: any
};

class WorkspaceWatch : public EventSubscriber, public std::enable_shared_from_this<WorkspaceWatch> {
 public:
  // Jobs missed at once beyond this end the stream (RESOURCE_EXHAUSTED): list and watch again.
  static constexpr size_t kMaxMissedJobs = 10000;

  // A workspace the caller may not use ends the stream PERMISSION_DENIED.
  WorkspaceWatch(WatchDeps deps, Principal caller, WorkspaceWatchFilter filter, WatchSink* sink);
  // Validates and subscribes; errors reach the sink through End. Call once, on a watch held
  // by a shared_ptr.
  void Open();

  void WriteDone(bool ok);
  void Cancel();
  // Ends the stream with `status` once the event being written (if any) is out.
  void EndWith(const absl::Status& status);

  void Deliver(const EventBatch& events) override;
  void Behind(const std::string& job_id, int64_t sequence) override;
  void FeedInterrupted() override;
  void Close() override;

 private:
  void Subscribe();
  bool Matches(const BusEvent& event) const;
  void Pump(std::unique_lock<std::mutex>& lock);
  void EndLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status);
  void Miss(const std::string& job_id);
  // Makes room in last_seen_: drops finished jobs with nothing left to send.
  void ForgetJobs();
  // Whether one more job may be remembered; if not, the stream is set to end.
  bool MakeRoom();
  void SnapshotMissed(const std::unordered_map<std::string, int64_t>& owed);

  WatchDeps deps_;
  const Principal caller_;
  const WorkspaceWatchFilter filter_;
  const std::set<JobState> states_;
  const std::unordered_set<std::string> types_;
  WatchSink* const sink_;

  std::mutex mu_;
  std::vector<BusEventPtr> snapshots_;  // of missed jobs, sent before queued events
  size_t snapshots_head_ = 0;
  std::vector<BusEventPtr> queue_;  // live events, bounded by buffer_events
  size_t head_ = 0;
  std::unordered_map<std::string, int64_t> missed_;  // owed a SNAPSHOT -> last sequence sent
  struct Tracked {
    int64_t sequence = 0;       // the latest event seen, filtered or not
    bool terminal = false;      // in a terminal state after it
    int64_t sent_sequence = 0;  // the last event of the job sent on this stream (0: none)
  };
  std::unordered_map<std::string, Tracked> last_seen_;  // gaps, duplicates, SNAPSHOT filter
  size_t forget_above_ = 4096;  // ForgetJobs runs when last_seen_ reaches this size
  bool writing_ = false;        // a Write is outstanding
  bool reading_ = false;        // a database read is outstanding
  bool cancelled_ = false;
  std::optional<absl::Status> closing_;
  bool ended_ = false;
  absl::Time subscribed_at_ = absl::InfiniteFuture();  // jobs made after: all their events owed
};

}  // namespace jobd::core
