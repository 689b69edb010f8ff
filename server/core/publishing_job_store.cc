#include "server/core/publishing_job_store.h"

#include <optional>

namespace jobd::core {
namespace {

BusEventPtr MakeEvent(JobEvent event, std::shared_ptr<const Job> job,
                      std::optional<JobState> previous_state) {
  auto out = std::make_shared<BusEvent>();
  out->event = std::move(event);
  out->job = std::move(job);
  out->previous_state = previous_state;
  return out;
}

// The single event a statement wrote for `job` (its latest), e.g. an acquire or a promotion.
EventBatch OneEvent(const Job& job, EventKind kind, std::optional<JobState> previous_state) {
  std::shared_ptr<const Job> watched = WatchedJob(job);
  return {MakeEvent(EventFromJob(job, kind), watched, previous_state)};
}

}  // namespace

std::shared_ptr<const Job> WatchedJob(const Job& job) {
  auto watched = std::make_shared<Job>(job);
  watched->payload_json.clear();
  watched->payload_json.shrink_to_fit();
  watched->checkpoint_json.reset();  // events carry neither (up to 256 KiB each)
  return watched;
}

JobEvent EventFromJob(const Job& job, EventKind kind) {
  JobEvent event;
  event.job_id = job.id;
  event.sequence = job.sequence;
  event.time = job.update_time;
  event.kind = kind;
  event.state = job.state;
  event.attempt = job.attempt;
  event.progress_percent = job.progress_percent;
  event.progress_message = job.progress_message;
  event.error_message = job.error_message;
  event.worker_id = job.worker_id;
  return event;
}

BusEventPtr SnapshotEvent(std::shared_ptr<const Job> job) {
  JobEvent event = EventFromJob(*job, EventKind::kSnapshot);
  return MakeEvent(std::move(event), std::move(job), std::nullopt);
}

bool PublishingJobStore::WatchedHere(const Job& job) {
  return bus_.HasSubscribers(job.id, job.workspace_id);
}

void PublishingJobStore::Publish(const std::vector<EventRange>& ranges,
                                 std::vector<EventBatch> batches) {
  if (!batches.empty()) bus_.Publish(std::move(batches));
  if (!ranges.empty()) announce_(ranges);
}

absl::StatusOr<std::vector<CreatedJob>> PublishingJobStore::CreateJobs(
    const std::vector<Job>& jobs) {
  absl::StatusOr<std::vector<CreatedJob>> created = store_.CreateJobs(jobs);
  if (created.ok()) PublishCreated(*created);
  return created;
}

absl::StatusOr<std::vector<CreatedJob>> PublishingJobStore::CreateJobBatch(
    const std::vector<Job>& jobs) {
  absl::StatusOr<std::vector<CreatedJob>> created = store_.CreateJobBatch(jobs);
  if (created.ok()) PublishCreated(*created);  // none when refused: all have created = false
  return created;
}

absl::StatusOr<JobStore::ScheduledRun> PublishingJobStore::CreateScheduledJob(
    const Job& job, const Schedule& schedule_after, int64_t expected_version) {
  absl::StatusOr<ScheduledRun> run =
      store_.CreateScheduledJob(job, schedule_after, expected_version);
  if (run.ok()) PublishCreated({run->created});
  return run;
}

void PublishingJobStore::PublishCreated(const std::vector<CreatedJob>& created) {
  std::vector<EventRange> ranges;
  std::vector<EventBatch> batches;
  for (const CreatedJob& c : created) {
    if (!c.created) continue;
    ranges.push_back({c.job.id, 0, c.job.sequence});
    if (WatchedHere(c.job)) batches.push_back(OneEvent(c.job, EventKind::kCreated, std::nullopt));
  }
  Publish(ranges, std::move(batches));
}

absl::StatusOr<std::vector<absl::StatusOr<Job>>> PublishingJobStore::UpdateJobs(
    const std::vector<JobChange>& changes) {
  std::vector<Decided> decided(changes.size());
  absl::StatusOr<std::vector<absl::StatusOr<Job>>> results =
      store_.UpdateJobs(Observed(changes, decided));
  if (results.ok()) PublishUpdates(changes, decided, *results);
  return results;
}

absl::StatusOr<JobStore::UpdatedAndLeased> PublishingJobStore::UpdateJobsAndAcquire(
    const std::vector<JobChange>& changes, const AcquireQuery& query) {
  std::vector<Decided> decided(changes.size());
  absl::StatusOr<UpdatedAndLeased> out =
      store_.UpdateJobsAndAcquire(Observed(changes, decided), query);
  if (!out.ok()) return out;
  PublishUpdates(changes, decided, out->updated);
  PublishLeased(out->leased);
  return out;
}

std::vector<JobStore::JobChange> PublishingJobStore::Observed(const std::vector<JobChange>& changes,
                                                              std::vector<Decided>& decided) {
  std::vector<JobChange> observed;
  observed.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    observed.push_back(
        {changes[i].id,
         [&, i](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
           absl::StatusOr<std::optional<JobUpdate>> decision = changes[i].mutate(current, now);
           decided[i] = Decided{current.sequence, current.state, std::nullopt};
           if (decision.ok()) decided[i].update = *decision;
           return decision;
         }});
  }
  return observed;
}

void PublishingJobStore::PublishUpdates(const std::vector<JobChange>& changes,
                                        const std::vector<Decided>& decided,
                                        const std::vector<absl::StatusOr<Job>>& results) {
  std::vector<EventRange> ranges;
  std::vector<EventBatch> batches;
  for (size_t i = 0; i < changes.size(); ++i) {
    const absl::StatusOr<Job>& after = results[i];
    if (!after.ok() || !decided[i].update) continue;
    const JobUpdate& update = *decided[i].update;
    const int64_t events = (update.event_kind ? 1 : 0) + update.messages.size();
    if (events == 0 || after->sequence != decided[i].read_sequence + events) continue;
    ranges.push_back({after->id, decided[i].read_sequence, after->sequence});
    if (!WatchedHere(*after)) continue;
    std::shared_ptr<const Job> watched = WatchedJob(*after);
    EventBatch batch;
    int64_t sequence = decided[i].read_sequence;
    std::optional<JobState> previous = decided[i].read_state;
    if (update.event_kind) {
      JobEvent event = EventFromJob(*after, *update.event_kind);
      event.sequence = ++sequence;
      if (after->fold_sequence == sequence) event.folded = after->fold_count;
      batch.push_back(MakeEvent(std::move(event), watched, previous));
      previous = after->state;
    }
    for (const JobMessage& message : update.messages) {
      JobEvent event = EventFromJob(*after, EventKind::kMessage);
      event.sequence = ++sequence;
      event.message = message;
      batch.push_back(MakeEvent(std::move(event), watched, previous));
      previous = after->state;
    }
    batches.push_back(std::move(batch));
  }
  Publish(ranges, std::move(batches));
}

absl::StatusOr<std::vector<Job>> PublishingJobStore::AcquireJobs(const AcquireQuery& query) {
  absl::StatusOr<std::vector<Job>> jobs = store_.AcquireJobs(query);
  if (jobs.ok()) PublishLeased(*jobs);
  return jobs;
}

void PublishingJobStore::PublishLeased(const std::vector<Job>& jobs) {
  std::vector<EventRange> ranges;
  std::vector<EventBatch> batches;
  // Mostly QUEUED before; a due SCHEDULED job taken directly reads as QUEUED here.
  for (const Job& job : jobs) {
    ranges.push_back({job.id, job.sequence - 1, job.sequence});
    if (WatchedHere(job)) {
      batches.push_back(OneEvent(job, EventKind::kStateChanged, JobState::kQueued));
    }
  }
  Publish(ranges, std::move(batches));
}

absl::StatusOr<std::vector<Job>> PublishingJobStore::PromoteScheduledJobs(int limit) {
  absl::StatusOr<std::vector<Job>> jobs = store_.PromoteScheduledJobs(limit);
  if (!jobs.ok()) return jobs;
  std::vector<EventRange> ranges;
  std::vector<EventBatch> batches;
  for (const Job& job : *jobs) {
    ranges.push_back({job.id, job.sequence - 1, job.sequence});
    if (WatchedHere(job)) {
      batches.push_back(OneEvent(job, EventKind::kStateChanged, JobState::kScheduled));
    }
  }
  Publish(ranges, std::move(batches));
  return jobs;
}

}  // namespace jobd::core
