// An in-memory JobStore for the event tests: jobs in a map, each job's events in a vector.
// Writes bump sequences and append events the way PgJobStore does (one event per change with
// an event_kind, one MESSAGE per message, CREATED at sequence 1), so the watchers, the fetcher
// and PublishingJobStore see the same rows they would read from PostgreSQL. Thread-safe: the
// watchers read it from executor threads. Paths no event code uses are UNIMPLEMENTED.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/job_store.h"
#include "server/core/publishing_job_store.h"

namespace jobd::event_testing {

class FakeJobStore : public JobStore {
 public:
  absl::StatusOr<std::vector<CreatedJob>> CreateJobs(const std::vector<Job>& jobs) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<CreatedJob> out;
    for (const Job& input : jobs) {
      if (!input.idempotency_key.empty()) {
        const Job* holder = nullptr;
        for (const auto& [id, job] : jobs_) {
          if (job.workspace_id == input.workspace_id &&
              job.idempotency_key == input.idempotency_key) {
            holder = &job;
          }
        }
        if (holder != nullptr) {
          out.push_back({*holder, false, absl::OkStatus()});
          continue;
        }
      }
      Job job = input;
      job.id = absl::AsciiStrToLower(job.id);
      if (job.create_time == absl::Time()) job.create_time = absl::Now();
      job.update_time = job.create_time;
      job.attempt = 1;
      job.sequence = 1;
      jobs_[job.id] = job;
      events_[job.id].push_back(core::EventFromJob(job, EventKind::kCreated));
      out.push_back({job, true, absl::OkStatus()});
    }
    return out;
  }

  absl::StatusOr<Job> GetJob(const std::string& id) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hook = std::exchange(before_get_job_, nullptr);
    }
    if (hook) hook();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(absl::AsciiStrToLower(id));
    if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
    return it->second;
  }

  absl::StatusOr<std::vector<Job>> ListJobs(const ListJobsQuery&) override {
    return absl::UnimplementedError("FakeJobStore::ListJobs");
  }

  absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobs(
      const std::vector<JobChange>& changes) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<absl::StatusOr<Job>> results;
    std::unordered_set<std::string> seen;
    for (const JobChange& change : changes) {
      const std::string key = absl::AsciiStrToLower(change.id);
      auto it = jobs_.find(key);
      if (it == jobs_.end()) {
        results.push_back(absl::NotFoundError(absl::StrCat("job ", change.id, " not found")));
        continue;
      }
      if (!seen.insert(key).second) {
        results.push_back(absl::AbortedError("the same job twice in one batch; retry"));
        continue;
      }
      absl::StatusOr<std::optional<JobUpdate>> decision = change.mutate(it->second);
      if (!decision.ok()) {
        results.push_back(decision.status());
        continue;
      }
      if (!decision->has_value()) {
        results.push_back(it->second);
        continue;
      }
      const JobUpdate& update = **decision;
      Job& job = it->second;
      ApplyMutableFields(update.next, job);
      if (update.event_kind) {
        ++job.sequence;
        events_[key].push_back(core::EventFromJob(job, *update.event_kind));
      }
      for (const JobMessage& message : update.messages) {
        ++job.sequence;
        JobEvent event = core::EventFromJob(job, EventKind::kMessage);
        event.message = message;
        events_[key].push_back(std::move(event));
      }
      results.push_back(job);
    }
    return results;
  }

  absl::StatusOr<std::vector<Job>> AcquireJobs(const AcquireQuery&) override {
    return absl::UnimplementedError("FakeJobStore::AcquireJobs");
  }
  absl::StatusOr<std::vector<std::string>> ListExpiredLeases(absl::Time, int) override {
    return absl::UnimplementedError("FakeJobStore::ListExpiredLeases");
  }
  absl::StatusOr<std::vector<Job>> PromoteScheduledJobs(absl::Time, int) override {
    return absl::UnimplementedError("FakeJobStore::PromoteScheduledJobs");
  }
  absl::StatusOr<JobStats> GetJobStats(const std::string&) override {
    return absl::UnimplementedError("FakeJobStore::GetJobStats");
  }
  absl::StatusOr<int> DeleteExpiredJobs(absl::Time, int) override {
    return absl::UnimplementedError("FakeJobStore::DeleteExpiredJobs");
  }

  absl::StatusOr<std::vector<RecordedEvent>> ReadEvents(const std::vector<EventRange>& ranges,
                                                        int32_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    read_requests_.push_back(ranges);
    // Like read_events.sql: ordered by job id, then sequence.
    std::vector<EventRange> sorted = ranges;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const EventRange& a, const EventRange& b) { return a.job_id < b.job_id; });
    std::vector<RecordedEvent> out;
    for (const EventRange& range : sorted) {
      auto it = events_.find(absl::AsciiStrToLower(range.job_id));
      if (it == events_.end()) continue;
      const std::vector<JobEvent>& events = it->second;
      for (size_t i = 0; i < events.size(); ++i) {
        const JobEvent& e = events[i];
        if (e.sequence <= range.after_sequence || e.sequence > range.last_sequence) continue;
        if (out.size() >= static_cast<size_t>(limit)) return out;
        RecordedEvent recorded{e, std::nullopt};
        if (i > 0 && events[i - 1].sequence == e.sequence - 1) {
          recorded.previous_state = events[i - 1].state;
        }
        out.push_back(std::move(recorded));
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<Job>> GetJobs(const std::vector<std::string>& ids) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Job> out;
    for (const std::string& id : ids) {
      auto it = jobs_.find(absl::AsciiStrToLower(id));
      if (it != jobs_.end()) out.push_back(it->second);
    }
    return out;
  }

  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> GetJobSequences(
      const std::vector<std::string>& ids) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<std::string, int64_t>> out;
    for (const std::string& id : ids) {
      auto it = jobs_.find(absl::AsciiStrToLower(id));
      if (it != jobs_.end()) out.emplace_back(it->first, it->second.sequence);
    }
    return out;
  }

  absl::StatusOr<std::vector<JobEvent>> ListJobEvents(const std::string& job_id,
                                                      int64_t after_sequence,
                                                      int32_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<JobEvent> out;
    auto it = events_.find(absl::AsciiStrToLower(job_id));
    if (it == events_.end()) return out;
    for (const JobEvent& e : it->second) {
      if (e.sequence <= after_sequence) continue;
      if (out.size() >= static_cast<size_t>(limit)) break;
      out.push_back(e);
    }
    return out;
  }

  // ---- Test helpers ----

  // Deletes the job's events with sequence <= `through` (as if retention had taken them).
  void DropEventsThrough(const std::string& id, int64_t through) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<JobEvent>& events = events_[absl::AsciiStrToLower(id)];
    events.erase(std::remove_if(events.begin(), events.end(),
                                [&](const JobEvent& e) { return e.sequence <= through; }),
                 events.end());
  }

  // Runs `hook` (once, without the store's lock) at the start of the next GetJob: lets a test
  // act inside a reader's window, e.g. between a watch's subscription and its first read.
  void BeforeNextGetJob(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    before_get_job_ = std::move(hook);
  }

  // Every ReadEvents call's ranges, in call order.
  std::vector<std::vector<EventRange>> read_requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return read_requests_;
  }
  size_t read_events_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return read_requests_.size();
  }

 private:
  // What update_jobs.sql sets; identity, payload, labels and the rest stay.
  static void ApplyMutableFields(const Job& next, Job& job) {
    job.state = next.state;
    job.attempt = next.attempt;
    job.last_attempt = next.last_attempt;
    job.progress_percent = next.progress_percent;
    job.progress_message = next.progress_message;
    job.result_json = next.result_json;
    job.error_message = next.error_message;
    job.worker_id = next.worker_id;
    job.lease_token = next.lease_token;
    job.lease_expire_time = next.lease_expire_time;
    job.lease_duration = next.lease_duration;
    job.update_time = next.update_time;
    job.start_time = next.start_time;
    job.finish_time = next.finish_time;
    job.run_after = next.run_after;
    job.expire_time = next.expire_time;
    job.attempt_deadline = next.attempt_deadline;
  }

  std::mutex mu_;
  std::map<std::string, Job> jobs_;
  std::map<std::string, std::vector<JobEvent>> events_;
  std::vector<std::vector<EventRange>> read_requests_;
  std::function<void()> before_get_job_;
};

}  // namespace jobd::event_testing
