#include "server/core/workspace_watch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/publishing_job_store.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

// Jobs remembered for order and duplicates before finished ones are forgotten (ForgetJobs).
constexpr size_t kMaxTrackedJobs = 4096;
constexpr size_t kSnapshotsPerRead = 1000;
// In missed_: a job never shown here that owes the stream an event it wanted (not a sequence).
constexpr int64_t kOwedUnshown = -1;

}  // namespace

void WorkspaceWatch::Open() {
  // Even a refusal happens on the executor: the stream must not be finished from inside
  // gRPC's method handler.
  std::unique_lock<std::mutex> lock(mu_);
  reading_ = true;
  lock.unlock();
  auto self = shared_from_this();
  if (!deps_.executor.Post([self] { self->Subscribe(); })) {
    lock.lock();
    reading_ = false;
    EndLocked(lock, absl::UnavailableError("jobd is overloaded; retry"));
  }
}

void WorkspaceWatch::Subscribe() {
  absl::Status invalid = CheckWorkspace(caller_, filter_.workspace_id);
  if (invalid.ok()) invalid = ValidateWorkspaceId(filter_.workspace_id, deps_.limits);
  for (const std::string& type : filter_.types) {
    if (!invalid.ok()) break;
    invalid = ValidateType("types", type, deps_.limits);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    subscribed_at_ = deps_.clock != nullptr ? deps_.clock->Now() : absl::Now();
  }
  if (invalid.ok() && !deps_.bus.SubscribeWorkspace(filter_.workspace_id, shared_from_this())) {
    invalid = absl::UnavailableError("jobd is shutting down");
  }
  std::unique_lock<std::mutex> lock(mu_);
  reading_ = false;
  if (!invalid.ok()) return EndLocked(lock, invalid);
  if (ended_) {  // cancelled while this was queued: EndLocked unsubscribed before we did
    lock.unlock();
    deps_.bus.UnsubscribeWorkspace(filter_.workspace_id, this);
    return;
  }
  sink_->Opened();
  Pump(lock);
}

WorkspaceWatch::WorkspaceWatch(WatchDeps deps, Principal caller, WorkspaceWatchFilter filter,
                               WatchSink* sink)
    : deps_(deps),
      caller_(std::move(caller)),
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
  // Whether the stream showed the job is kept with the debt: its SNAPSHOT must go out even
  // if the job has left the watched states, and ForgetJobs may drop last_seen_ meanwhile.
  auto tracked = last_seen_.find(job_id);
  int64_t& sent = missed_[job_id];
  if (tracked != last_seen_.end() && tracked->second.sent_sequence > 0) {
    sent = std::max(sent, tracked->second.sent_sequence);
  }
  if (missed_.size() > kMaxMissedJobs && !closing_) {
    closing_ = absl::ResourceExhaustedError(absl::StrCat("the watcher fell behind on more than ",
                                                         kMaxMissedJobs,
                                                         " jobs; list the jobs and watch again"));
  }
}

void WorkspaceWatch::ForgetJobs() {
  // Only finished jobs with nothing left to send: they rarely have more events (a retry),
  // and then only their first event goes unchecked. Live jobs are kept (~150 bytes each, up
  // to --watch_max_jobs): forgetting one could repeat or lose its events.
  std::unordered_set<std::string> pending;
  for (size_t i = snapshots_head_; i < snapshots_.size(); ++i) {
    pending.insert(snapshots_[i]->event.job_id);
  }
  for (size_t i = head_; i < queue_.size(); ++i) pending.insert(queue_[i]->event.job_id);
  for (auto it = last_seen_.begin(); it != last_seen_.end();) {
    const bool forget =
        it->second.terminal && pending.count(it->first) == 0 && missed_.count(it->first) == 0;
    it = forget ? last_seen_.erase(it) : std::next(it);
  }
}

bool WorkspaceWatch::MakeRoom() {
  const size_t most = deps_.options.max_tracked_jobs;
  if (last_seen_.size() >= std::min(forget_above_, most)) {
    ForgetJobs();
    // Live jobs stay: look again when the map has doubled from what remained.
    forget_above_ = std::max(kMaxTrackedJobs, 2 * last_seen_.size());
  }
  if (last_seen_.size() < most) return true;
  if (!closing_) {
    closing_ = absl::ResourceExhaustedError(absl::StrCat(
        "the stream follows ", most,
        " unfinished jobs, its limit (--watch_max_jobs); narrow it with states or types"));
  }
  return false;
}

void WorkspaceWatch::Deliver(const EventBatch& events) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ended_) return;
  for (const BusEventPtr& event : events) {
    // Gaps are judged on every event of a job the stream follows (one it has shown), before
    // the filter drops some.
    const JobEvent& e = event->event;
    auto seen = last_seen_.find(e.job_id);
    if (seen == last_seen_.end()) {
      // A job this stream never showed is remembered only once it has something to show:
      // what the filter drops costs nothing, however many jobs the workspace makes.
      if (!Matches(*event)) continue;
      if (!MakeRoom()) break;
      seen = last_seen_.emplace(e.job_id, Tracked{e.sequence, false, 0}).first;
      // A job made since this stream began whose first event here is not its first: the
      // earlier ones are on their way (another jobd wrote them; the fetcher brings them after
      // this replica's own later event), and would be dropped as old. Owed as a SNAPSHOT if
      // this stream wants them: any state, or the state just left is watched.
      if (e.sequence > 1 && event->job->create_time > subscribed_at_ &&
          (states_.empty() ||
           (event->previous_state && states_.count(*event->previous_state) > 0))) {
        Miss(e.job_id);
        int64_t& owed = missed_[e.job_id];
        if (owed == 0) owed = kOwedUnshown;  // its SNAPSHOT goes out whatever its state
      }
    } else if (e.sequence <= seen->second.sequence) {
      continue;  // seen already
    } else {
      if (!FollowsOn(e, seen->second.sequence)) Miss(e.job_id);  // skipped: SNAPSHOT
      seen->second.sequence = e.sequence;
    }
    seen->second.terminal = IsTerminal(e.state);
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
    if (ended_ || writing_) return;
    // A read in flight does not hold up the end: its result is dropped.
    if (cancelled_) return EndLocked(lock, absl::CancelledError("the watch was cancelled"));
    if (closing_) return EndLocked(lock, *closing_);
    if (reading_) return;
    BusEventPtr next;
    if (snapshots_head_ < snapshots_.size()) {
      next = PopFront(snapshots_, snapshots_head_);
      if (missed_.count(next->event.job_id) > 0) continue;  // a newer SNAPSHOT is owed
    } else if (head_ < queue_.size()) {
      next = PopFront(queue_, head_);
      if (missed_.count(next->event.job_id) > 0) continue;  // its SNAPSHOT will cover it
    } else if (!missed_.empty()) {
      std::unordered_map<std::string, int64_t> ids;  // job id -> last sequence sent (0: none)
      for (auto it = missed_.begin(); it != missed_.end() && ids.size() < kSnapshotsPerRead;) {
        ids.insert(*it);
        it = missed_.erase(it);
      }
      reading_ = true;
      auto self = shared_from_this();
      lock.unlock();
      if (!deps_.executor.Post([self, ids = std::move(ids)] { self->SnapshotMissed(ids); })) {
        lock.lock();
        reading_ = false;
        EndLocked(lock, absl::UnavailableError("jobd is overloaded; watch again later"));
      }
      return;
    } else {
      return;
    }
    auto tracked = last_seen_.find(next->event.job_id);
    if (tracked != last_seen_.end()) {
      // Already sent: e.g. a second SNAPSHOT at the same sequence, or an event it covers.
      if (next->event.sequence <= tracked->second.sent_sequence) continue;
      tracked->second.sent_sequence = next->event.sequence;
    }
    writing_ = true;
    lock.unlock();
    sink_->Write(next);
    return;
  }
}

void WorkspaceWatch::SnapshotMissed(const std::unordered_map<std::string, int64_t>& owed) {
  std::vector<std::string> ids;
  ids.reserve(owed.size());
  for (const auto& [id, sent] : owed) ids.push_back(id);
  absl::StatusOr<std::vector<Job>> jobs = deps_.store.GetJobs(ids);
  std::unique_lock<std::mutex> lock(mu_);
  reading_ = false;
  if (ended_) return;
  if (!jobs.ok()) return EndLocked(lock, jobs.status());
  std::unordered_map<std::string, int64_t> snapshot_sequences;
  for (const Job& job : *jobs) {
    auto known = last_seen_.find(job.id);
    if (known == last_seen_.end()) {
      // Never shown here: remembered only if its SNAPSHOT goes out.
      const bool wanted = (types_.empty() || types_.count(job.type) > 0) &&
                          (states_.empty() || states_.count(job.state) > 0);
      const bool shown = owed.at(job.id) != 0;  // and forgotten since, or owed unshown
      if ((!wanted && !shown) || !MakeRoom()) continue;
      known = last_seen_.emplace(job.id, Tracked{}).first;
    }
    Tracked& tracked = known->second;
    tracked.sequence = std::max(tracked.sequence, job.sequence);
    tracked.terminal = IsTerminal(job.state);
    auto sent = owed.find(job.id);
    if (sent != owed.end()) tracked.sent_sequence = std::max(tracked.sent_sequence, sent->second);
    if (tracked.sent_sequence >= job.sequence) continue;  // nothing new since it was sent
    if (!types_.empty() && types_.count(job.type) == 0) continue;
    // A job this stream showed before gets its SNAPSHOT whatever its state (it may have just
    // left the watched states); others only when they match.
    const bool owed_unshown = sent != owed.end() && sent->second == kOwedUnshown;
    if (!states_.empty() && states_.count(job.state) == 0 && tracked.sent_sequence == 0 &&
        !owed_unshown) {
      continue;
    }
    snapshot_sequences.emplace(job.id, job.sequence);
    snapshots_.push_back(SnapshotEvent(WatchedJob(job)));
  }
  // Queued events the SNAPSHOTs already cover would come after them, out of order: drop them.
  std::vector<BusEventPtr> kept;
  for (size_t i = head_; i < queue_.size(); ++i) {
    auto snapshot = snapshot_sequences.find(queue_[i]->event.job_id);
    if (snapshot == snapshot_sequences.end() || queue_[i]->event.sequence > snapshot->second) {
      kept.push_back(std::move(queue_[i]));
    }
  }
  queue_.swap(kept);
  head_ = 0;
  Pump(lock);
}

void WorkspaceWatch::EndLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status) {
  if (ended_) return;
  ended_ = true;
  queue_.clear();
  snapshots_.clear();
  missed_.clear();
  last_seen_.clear();
  head_ = snapshots_head_ = 0;
  lock.unlock();
  deps_.bus.UnsubscribeWorkspace(filter_.workspace_id, this);
  sink_->End(status);
}

void WorkspaceWatch::WriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) cancelled_ = true;
  Pump(lock);
}

void WorkspaceWatch::EndWith(const absl::Status& status) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!closing_) closing_ = status;
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
  EndWith(absl::UnavailableError(
      "events from other jobd processes may have been missed; list the jobs and watch again"));
}

void WorkspaceWatch::Close() {
  EndWith(absl::UnavailableError("jobd is shutting down; watch again"));
}

}  // namespace jobd::core
