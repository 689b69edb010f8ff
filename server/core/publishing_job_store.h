// A JobStore that publishes the events of every committed write: to this process's event bus
// when the job is watched here (with the job as written, so local watchers read nothing) and,
// as sequence ranges, to `announce` (the notifications other processes listen to). Every
// write path goes through it, so no event is forgotten; reads pass through untouched.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "db/model/job_store.h"
#include "server/core/event_bus.h"

namespace jobd::core {

class PublishingJobStore : public JobStore {
 public:
  using Announce = std::function<void(const std::vector<EventRange>&)>;
  PublishingJobStore(JobStore& store, EventBus& bus, Announce announce)
      : store_(store), bus_(bus), announce_(std::move(announce)) {}

  absl::StatusOr<std::vector<CreatedJob>> CreateJobs(const std::vector<Job>& jobs) override;
  absl::StatusOr<std::vector<CreatedJob>> CreateJobBatch(const std::vector<Job>& jobs) override;
  absl::StatusOr<ScheduledRun> CreateScheduledJob(const Job& job, const Schedule& schedule_after,
                                                  int64_t expected_version) override;
  absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobs(
      const std::vector<JobChange>& changes) override;
  absl::StatusOr<std::vector<Job>> AcquireJobs(const AcquireQuery& query) override;
  absl::StatusOr<UpdatedAndLeased> UpdateJobsAndAcquire(const std::vector<JobChange>& changes,
                                                        const AcquireQuery& query) override;
  absl::StatusOr<std::vector<Job>> PromoteScheduledJobs(int limit) override;

  absl::StatusOr<Job> GetJob(const std::string& id) override { return store_.GetJob(id); }
  absl::StatusOr<std::vector<Job>> ListJobs(const ListJobsQuery& query) override {
    return store_.ListJobs(query);
  }
  absl::StatusOr<std::vector<std::string>> ListExpiredLeases(int limit) override {
    return store_.ListExpiredLeases(limit);
  }
  absl::StatusOr<JobStats> GetJobStats(const std::string& workspace_id) override {
    return store_.GetJobStats(workspace_id);
  }
  absl::StatusOr<int> DeleteExpiredJobs(int limit) override {
    return store_.DeleteExpiredJobs(limit);
  }
  absl::StatusOr<std::vector<JobEvent>> ListJobEvents(const std::string& job_id,
                                                      int64_t after_sequence,
                                                      int32_t limit) override {
    return store_.ListJobEvents(job_id, after_sequence, limit);
  }
  absl::StatusOr<std::vector<RecordedEvent>> ReadEvents(const std::vector<EventRange>& ranges,
                                                        int32_t limit) override {
    return store_.ReadEvents(ranges, limit);
  }
  absl::StatusOr<std::vector<Job>> GetJobs(const std::vector<std::string>& ids) override {
    return store_.GetJobs(ids);
  }
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> GetJobSequences(
      const std::vector<std::string>& ids) override {
    return store_.GetJobSequences(ids);
  }
  absl::StatusOr<std::string> NewestJobId() override { return store_.NewestJobId(); }
  absl::StatusOr<std::vector<std::string>> FindJobIds(const JobFilter& filter,
                                                      const std::string& after_id,
                                                      const std::string& max_id,
                                                      int32_t limit) override {
    return store_.FindJobIds(filter, after_id, max_id, limit);
  }
  absl::StatusOr<int64_t> CountJobs(const JobFilter& filter, const std::string& max_id) override {
    return store_.CountJobs(filter, max_id);
  }
  // Deletes make no events: a deleted job's watchers end when they next read it.
  absl::StatusOr<std::vector<std::string>> DeleteFinishedJobs(
      const std::string& workspace_id, const std::vector<std::string>& ids,
      const std::vector<JobState>& states) override {
    return store_.DeleteFinishedJobs(workspace_id, ids, states);
  }
  absl::StatusOr<int> TrimFinishedJobs(int64_t keep_per_workspace, int limit) override {
    return store_.TrimFinishedJobs(keep_per_workspace, limit);
  }

 private:
  // Every write's ranges go to other processes (any of them may watch any job); its events
  // are built only for jobs watched here, as building them copies the job on the write path.
  bool WatchedHere(const Job& job);
  // Announces the ranges and publishes the batches (one job's events each).
  void Publish(const std::vector<EventRange>& ranges, std::vector<EventBatch> batches);
  // What each mutation decided, to know the events its write made.
  struct Decided {
    int64_t read_sequence = 0;
    JobState read_state = JobState::kQueued;
    std::optional<JobUpdate> update;
  };
  // The changes, each recording its decision in `decided` (same index) as the store runs it.
  std::vector<JobChange> Observed(const std::vector<JobChange>& changes,
                                  std::vector<Decided>& decided);
  // The events of the written changes, and of the jobs leased.
  void PublishUpdates(const std::vector<JobChange>& changes, const std::vector<Decided>& decided,
                      const std::vector<absl::StatusOr<Job>>& results);
  void PublishLeased(const std::vector<Job>& jobs);
  // The CREATED events of the jobs that were created.
  void PublishCreated(const std::vector<CreatedJob>& created);

  JobStore& store_;
  EventBus& bus_;
  const Announce announce_;
};

// The job as watchers see it: payload left out (events never carry it).
std::shared_ptr<const Job> WatchedJob(const Job& job);
// An event with the job's current fields (state, progress, …) at the job's sequence.
JobEvent EventFromJob(const Job& job, EventKind kind);
// A SNAPSHOT of the job now, at its latest sequence.
BusEventPtr SnapshotEvent(std::shared_ptr<const Job> job);

}  // namespace jobd::core
