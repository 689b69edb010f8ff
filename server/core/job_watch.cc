#include "server/core/job_watch.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/core/publishing_job_store.h"
#include "server/core/validation.h"

namespace jobd::core {
BusEventPtr PopFront(std::vector<BusEventPtr>& queue, size_t& head) {
  BusEventPtr next = std::move(queue[head++]);
  if (head == queue.size()) {
    queue.clear();
    head = 0;
  } else if (head >= 64 && head * 2 >= queue.size()) {
    queue.erase(queue.begin(), queue.begin() + head);
    head = 0;
  }
  return next;
}

JobWatch::JobWatch(WatchDeps deps, Principal caller, const std::string& job_id, WatchSink* sink)
    : deps_(deps),
      caller_(std::move(caller)),
      job_id_(absl::AsciiStrToLower(job_id)),
      sink_(sink) {}

void JobWatch::Open(std::optional<int64_t> after_sequence) {
  // Everything, even a refusal, happens on the executor: the stream must not be finished
  // from inside gRPC's method handler.
  std::unique_lock<std::mutex> lock(mu_);
  reading_ = true;  // until Begin's read is done
  lock.unlock();
  auto self = shared_from_this();
  if (!deps_.executor.Post([self, after_sequence] { self->Begin(after_sequence); })) {
    lock.lock();
    reading_ = false;
    EndLocked(lock, absl::UnavailableError("jobd is overloaded; retry"));
  }
}

void JobWatch::Begin(std::optional<int64_t> after_sequence) {
  absl::Status invalid = ValidateJobId("id", job_id_);
  if (invalid.ok() && after_sequence && *after_sequence < 0) {
    invalid = absl::InvalidArgumentError("after_sequence: must not be negative");
  }
  if (invalid.ok() && !deps_.bus.SubscribeJob(job_id_, shared_from_this())) {
    invalid = absl::UnavailableError("jobd is shutting down");
  }
  if (invalid.ok()) {
    std::unique_lock<std::mutex> lock(mu_);
    if (ended_) {  // cancelled while this was queued: EndLocked unsubscribed before we did
      lock.unlock();
      deps_.bus.UnsubscribeJob(job_id_, this);
      return;
    }
  }
  if (!invalid.ok()) {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    return EndLocked(lock, invalid);
  }
  absl::StatusOr<Job> job = deps_.store.GetJob(job_id_);
  if (job.ok() && !CanSeeJob(caller_, *job)) job = JobNotFound(job_id_);
  if (job.ok()) deps_.bus.NoteSequence(job_id_, job->sequence);
  std::unique_lock<std::mutex> lock(mu_);
  reading_ = false;
  if (ended_) return;
  if (!job.ok()) return EndLocked(lock, job.status());
  if (after_sequence && *after_sequence > job->sequence) {
    return EndLocked(lock, absl::InvalidArgumentError(
                               absl::StrCat("after_sequence: ", *after_sequence,
                                            " is beyond the job's latest event ", job->sequence)));
  }
  if (!after_sequence) {
    pending_.push_back(SnapshotEvent(WatchedJob(*job)));
  } else {
    last_sent_ = *after_sequence;
    behind_ = behind_ || *after_sequence < job->sequence;  // or events were dropped already
    // Nothing after a terminal event but its own write's messages, which N already covers.
    last_sent_terminal_ = *after_sequence == job->sequence && IsTerminal(job->state);
  }
  started_ = true;
  Pump(lock);
}

void JobWatch::CatchUp() {
  int64_t after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    after = last_sent_;
  }
  // The job first: every event up to its sequence is committed, so the read below finds
  // them all unless they were deleted.
  absl::StatusOr<Job> job = deps_.store.GetJob(job_id_);
  absl::StatusOr<std::vector<RecordedEvent>> events = std::vector<RecordedEvent>{};
  if (!job.ok()) {
    events = job.status();
  } else {
    events = deps_.store.ReadEvents({{job_id_, after, std::numeric_limits<int64_t>::max()}},
                                    deps_.options.catch_up_page);
  }
  std::unique_lock<std::mutex> lock(mu_);
  reading_ = false;
  if (ended_) return;
  if (!events.ok()) return EndLocked(lock, events.status());
  std::shared_ptr<const Job> base = WatchedJob(*job);
  const bool deleted =
      events->empty() ? job->sequence > after : !FollowsOn(events->front().event, after);
  if (deleted) pending_.push_back(SnapshotEvent(base));
  for (RecordedEvent& e : *events) {
    if (deleted && e.event.sequence <= job->sequence) continue;
    auto out = std::make_shared<BusEvent>();
    out->event = std::move(e.event);
    out->job = base;
    out->previous_state = e.previous_state;
    pending_.push_back(std::move(out));
  }
  if (events->size() == static_cast<size_t>(deps_.options.catch_up_page)) behind_ = true;
  Pump(lock);
}

void JobWatch::Pump(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (ended_ || writing_) return;
    // A read in flight does not hold up the end: its result is dropped.
    if (cancelled_) return EndLocked(lock, absl::CancelledError("the watch was cancelled"));
    if (closing_) return EndLocked(lock, *closing_);
    if (reading_) return;
    if (!started_) return;
    BusEventPtr next;
    if (pending_head_ < pending_.size()) {
      next = PopFront(pending_, pending_head_);
    } else if (behind_) {
      behind_ = false;
      reading_ = true;
      auto self = shared_from_this();
      lock.unlock();
      if (!deps_.executor.Post([self] { self->CatchUp(); })) {
        lock.lock();
        reading_ = false;
        EndLocked(lock, absl::UnavailableError("jobd is overloaded; watch again later"));
      }
      return;
    } else if (live_head_ < live_.size()) {
      next = PopFront(live_, live_head_);
    } else {
      if (last_sent_terminal_) EndLocked(lock, absl::OkStatus());
      return;
    }
    const JobEvent& event = next->event;
    if (event.kind != EventKind::kSnapshot) {
      if (event.sequence <= last_sent_) continue;  // already sent
      if (last_sent_ >= 0 && !FollowsOn(event, last_sent_)) {
        behind_ = true;  // a skipped sequence: read it from the table
        continue;
      }
    }
    // Only the terminal write's own messages follow its terminal event.
    if (last_sent_terminal_ && event.kind != EventKind::kMessage) {
      return EndLocked(lock, absl::OkStatus());
    }
    last_sent_ = event.sequence;
    last_sent_terminal_ = IsTerminal(event.state);
    writing_ = true;
    lock.unlock();
    sink_->Write(next);
    return;
  }
}

void JobWatch::EndLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status) {
  if (ended_) return;
  ended_ = true;
  pending_.clear();
  live_.clear();
  pending_head_ = live_head_ = 0;
  lock.unlock();
  deps_.bus.UnsubscribeJob(job_id_, this);
  sink_->End(status);
}

void JobWatch::WriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) cancelled_ = true;  // the stream is gone
  Pump(lock);
}

void JobWatch::EndWith(const absl::Status& status) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!closing_) closing_ = status;
  Pump(lock);
}

void JobWatch::Cancel() {
  std::unique_lock<std::mutex> lock(mu_);
  cancelled_ = true;
  Pump(lock);
}

void JobWatch::Close() {
  EndWith(absl::UnavailableError(
      "jobd is shutting down; watch again with after_sequence set to the last event seen"));
}

void JobWatch::Deliver(const EventBatch& events) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ended_) return;
  for (const BusEventPtr& event : events) live_.push_back(event);
  if (live_.size() - live_head_ > deps_.options.buffer_events) {
    // Too far behind: drop the buffer and read from the table when the stream is ready.
    live_.clear();
    live_.shrink_to_fit();
    live_head_ = 0;
    behind_ = true;
  }
  Pump(lock);
}

void JobWatch::Behind(const std::string&, int64_t sequence) {
  std::unique_lock<std::mutex> lock(mu_);
  if (sequence > last_sent_) behind_ = true;
  Pump(lock);
}

}  // namespace jobd::core
