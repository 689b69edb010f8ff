#include "server/core/workspace_watch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/publishing_job_store.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

// Jobs remembered for order and duplicates; beyond this the memory starts over (a stream
// watching more jobs at once than this may then send an event a second time only if two
// replicas race on one job).
constexpr size_t kMaxTrackedJobs = 4096;
constexpr size_t kSnapshotsPerRead = 1000;

}  // namespace

void WorkspaceWatch::Open() {
  // Even a refusal happens on the executor: the stream must not be finished from inside
  // gRPC's method handler.
  std::unique_lock<std::mutex> lock(mu_);
  busy_ = true;
  lock.unlock();
  auto self = shared_from_this();
  if (!deps_.executor.Post([self] { self->Subscribe(); })) {
    lock.lock();
    busy_ = false;
    EndLocked(lock, absl::UnavailableError("jobd is overloaded; retry"));
  }
}

void WorkspaceWatch::Subscribe() {
  absl::Status invalid = ValidateWorkspaceId(filter_.workspace_id, deps_.limits);
  for (const std::string& type : filter_.types) {
    if (!invalid.ok()) break;
    invalid = ValidateType("types", type, deps_.limits);
  }
  if (invalid.ok() && !deps_.bus.SubscribeWorkspace(filter_.workspace_id, shared_from_this())) {
    invalid = absl::UnavailableError("jobd is shutting down");
  }
  std::unique_lock<std::mutex> lock(mu_);
  busy_ = false;
  if (!invalid.ok()) return EndLocked(lock, invalid);
  Pump(lock);
}

WorkspaceWatch::WorkspaceWatch(WatchDeps deps, WorkspaceWatchFilter filter, WatchSink* sink)
    : deps_(deps),
      filter_(std::move(filter)),
      states_(filter_.states.begin(), filter_.states.end()),
      types_(filter_.types.begin(), filter_.types.end()),
      sink_(sink) {}

bool WorkspaceWatch::Matches(const BusEvent& event) const {
  if (!types_.empty() && types_.count(event.job->type) == 0) return false;
  if (states_.empty() || states_.count(event.event.state) > 0) return true;
  // A job leaving a watched state is news too.
  return event.previous_state && states_.count(*event.previous_state) > 0;
}

void WorkspaceWatch::Miss(const std::string& job_id) {
  missed_.insert(job_id);
  if (missed_.size() > kMaxMissedJobs && !closing_) {
    closing_ = absl::ResourceExhaustedError(absl::StrCat(
        "the watcher fell behind on more than ", kMaxMissedJobs,
        " jobs; list the jobs and watch again"));
  }
}

void WorkspaceWatch::Deliver(const EventBatch& events) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ended_) return;
  for (const BusEventPtr& event : events) {
    // Gaps are judged on every event of the job, before the filter drops some.
    const JobEvent& e = event->event;
    auto seen = last_seen_.find(e.job_id);
    if (seen == last_seen_.end()) {
      if (last_seen_.size() >= kMaxTrackedJobs) last_seen_.clear();
      last_seen_.emplace(e.job_id, e.sequence);
    } else if (e.sequence <= seen->second) {
      continue;  // seen already
    } else {
      if (e.sequence != seen->second + 1) Miss(e.job_id);  // a skipped sequence: SNAPSHOT
      seen->second = e.sequence;
    }
    if (Matches(*event)) queue_.push_back(event);
  }
  if (queue_.size() - head_ > deps_.options.buffer_events) {
    // Too far behind: owe each job in the buffer a SNAPSHOT instead of its events.
    for (size_t i = head_; i < queue_.size(); ++i) Miss(queue_[i]->event.job_id);
    queue_.clear();
    queue_.shrink_to_fit();
    head_ = 0;
  }
  Pump(lock);
}

void WorkspaceWatch::Pump(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (ended_ || busy_) return;
    if (cancelled_) return EndLocked(lock, absl::CancelledError("the watch was cancelled"));
    if (closing_) return EndLocked(lock, *closing_);
    BusEventPtr next;
    if (snapshots_head_ < snapshots_.size()) {
      next = PopFront(snapshots_, snapshots_head_);
    } else if (head_ < queue_.size()) {
      next = PopFront(queue_, head_);
      if (missed_.count(next->event.job_id) > 0) continue;  // its SNAPSHOT will cover it
    } else if (!missed_.empty()) {
      std::vector<std::string> ids;
      for (auto it = missed_.begin(); it != missed_.end() && ids.size() < kSnapshotsPerRead;) {
        ids.push_back(*it);
        it = missed_.erase(it);
      }
      busy_ = true;
      auto self = shared_from_this();
      lock.unlock();
      if (!deps_.executor.Post([self, ids = std::move(ids)] { self->SnapshotMissed(ids); })) {
        lock.lock();
        busy_ = false;
        EndLocked(lock, absl::UnavailableError("jobd is overloaded; watch again later"));
      }
      return;
    } else {
      return;
    }
    const JobEvent& event = next->event;
    auto sent = last_sent_.find(event.job_id);
    if (sent != last_sent_.end()) {
      if (event.sequence <= sent->second) continue;  // already sent (or older than a snapshot)
    } else if (last_sent_.size() >= kMaxTrackedJobs) {
      last_sent_.clear();
    }
    last_sent_[event.job_id] = event.sequence;
    busy_ = true;
    lock.unlock();
    sink_->Write(next);
    return;
  }
}

void WorkspaceWatch::SnapshotMissed(std::vector<std::string> ids) {
  absl::StatusOr<std::vector<Job>> jobs = deps_.store.GetJobs(ids);
  std::unique_lock<std::mutex> lock(mu_);
  busy_ = false;
  if (!jobs.ok()) return EndLocked(lock, jobs.status());
  for (const Job& job : *jobs) {
    int64_t& seen = last_seen_[job.id];
    seen = std::max(seen, job.sequence);
    if (!types_.empty() && types_.count(job.type) == 0) continue;
    snapshots_.push_back(SnapshotEvent(WatchedJob(job)));
  }
  Pump(lock);
}

void WorkspaceWatch::EndLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status) {
  if (ended_) return;
  ended_ = true;
  queue_.clear();
  snapshots_.clear();
  missed_.clear();
  last_seen_.clear();
  last_sent_.clear();
  head_ = snapshots_head_ = 0;
  lock.unlock();
  deps_.bus.UnsubscribeWorkspace(filter_.workspace_id, this);
  sink_->End(status);
}

void WorkspaceWatch::WriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  busy_ = false;
  if (!ok) cancelled_ = true;
  Pump(lock);
}

void WorkspaceWatch::Cancel() {
  std::unique_lock<std::mutex> lock(mu_);
  cancelled_ = true;
  Pump(lock);
}

void WorkspaceWatch::Behind(const std::string& job_id, int64_t) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ended_) return;
  Miss(job_id);
  Pump(lock);
}

void WorkspaceWatch::FeedInterrupted() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!closing_) {
    closing_ = absl::UnavailableError(
        "events from other jobd processes may have been missed; list the jobs and watch again");
  }
  Pump(lock);
}

void WorkspaceWatch::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!closing_) closing_ = absl::UnavailableError("jobd is shutting down; watch again");
  Pump(lock);
}

}  // namespace jobd::core
