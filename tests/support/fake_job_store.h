// An in-memory JobStore for tests of the core, the event code, the background loops and the
// request fuzzer: jobs in a map, each job's events in a vector. Writes bump sequences and
// append events the way PgJobStore does (CREATED at sequence 1, one event per change with an
// event_kind, one MESSAGE per message, a STATE_CHANGED per lease and per promotion), and the
// queries follow db/queries/*.sql (filters, order, limits), so what the core reads back is
// what it would read from PostgreSQL. Thread-safe: managers and watchers call it from their
// own threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/model/call_deadline.h"
#include "db/model/clock.h"
#include "db/model/job_store.h"
#include "server/core/ids.h"
#include "server/core/publishing_job_store.h"

namespace jobd::fakes {

class FakeJobStore : public JobStore {
 public:
  // `clock` plays the database's clock (leases, deadlines, due jobs, expiry); none: absl::Now.
  explicit FakeJobStore(Clock* clock = nullptr) : clock_(clock) {}

  struct ListEventsCall {
    std::string job_id;
    int64_t after_sequence;
    int32_t limit;
  };

  absl::StatusOr<std::vector<CreatedJob>> CreateJobs(const std::vector<Job>& jobs) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    return CreateLocked(jobs);
  }

  absl::StatusOr<std::vector<CreatedJob>> CreateJobBatch(const std::vector<Job>& jobs) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    auto jobs_before = jobs_;
    auto events_before = events_;
    std::vector<CreatedJob> out = CreateLocked(jobs);
    if (RefuseBatch(jobs, out)) {
      jobs_ = std::move(jobs_before);
      events_ = std::move(events_before);
    }
    return out;
  }

  // Schedules live elsewhere (no fake holds them): the job alone, as a batch of one.
  absl::StatusOr<ScheduledRun> CreateScheduledJob(const Job& job, const Schedule&,
                                                  int64_t expected_version) override {
    absl::StatusOr<std::vector<CreatedJob>> created = CreateJobBatch({job});
    if (!created.ok()) return created.status();
    return ScheduledRun{created->front(), expected_version + 1};
  }

  std::vector<CreatedJob> CreateLocked(const std::vector<Job>& jobs) {
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
      if (max_active_jobs_ > 0 && ActiveJobsLocked(input.workspace_id) >= max_active_jobs_) {
        out.push_back({input, false,
                       absl::ResourceExhaustedError(
                           absl::StrCat("quota: workspace \"", input.workspace_id, "\" has ",
                                        max_active_jobs_, " active jobs"))});
        continue;
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
    if (!failure_.ok()) return failure_;
    auto it = jobs_.find(absl::AsciiStrToLower(id));
    if (it == jobs_.end()) return NotFound(id);
    return it->second;
  }

  // list_jobs.sql: newest (largest id) first, below after_id, every filter matching.
  absl::StatusOr<std::vector<Job>> ListJobs(const ListJobsQuery& query) override {
    std::lock_guard<std::mutex> lock(mu_);
    list_queries_.push_back(query);
    if (!failure_.ok()) return failure_;
    const std::string after = absl::AsciiStrToLower(query.after_id);
    std::vector<Job> out;
    size_t body_bytes = 0;
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
      if (out.size() >= static_cast<size_t>(std::max(0, query.limit))) break;
      const Job& job = it->second;
      if (!after.empty() && it->first >= after) continue;
      if (job.workspace_id != query.workspace_id) continue;
      if (!query.type.empty() && job.type != query.type) continue;
      if (std::find(query.states.begin(), query.states.end(), job.state) == query.states.end()) {
        continue;
      }
      bool labels_match = true;
      for (const auto& [key, value] : query.labels) {
        auto label = job.labels.find(key);
        labels_match = labels_match && label != job.labels.end() && label->second == value;
      }
      if (!labels_match) continue;
      out.push_back(job);
      if (!query.with_bodies) {
        out.back().payload_json.clear();
        out.back().result_json.reset();
      }
      body_bytes += job.payload_json.size() + (job.result_json ? job.result_json->size() : 0);
      // Like the SQL: stop after the first job past the budget, and never before the second.
      if (query.max_body_bytes > 0 && query.with_bodies && out.size() >= 2 &&
          body_bytes > static_cast<size_t>(query.max_body_bytes)) {
        break;
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<absl::StatusOr<Job>>> UpdateJobs(
      const std::vector<JobChange>& changes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (updates_before_failure_ == 0) {
      failure_ = pending_failure_;
      updates_before_failure_ = -1;
    }
    if (!failure_.ok()) return failure_;
    if (updates_before_failure_ > 0) --updates_before_failure_;
    std::vector<absl::StatusOr<Job>> results;
    std::unordered_set<std::string> seen;
    for (const JobChange& change : changes) {
      const std::string key = absl::AsciiStrToLower(change.id);
      auto it = jobs_.find(key);
      if (it == jobs_.end()) {
        results.push_back(NotFound(change.id));
        continue;
      }
      if (!seen.insert(key).second) {
        results.push_back(absl::AbortedError("the same job twice in one batch; retry"));
        continue;
      }
      absl::StatusOr<std::optional<JobUpdate>> decision = change.mutate(it->second, Now());
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
      std::vector<JobEvent>& history = events_[key];
      // update_jobs.sql: the folded event goes, the new one counts it.
      if (update.replaces_latest_event && !history.empty() &&
          history.back().sequence == job.sequence) {
        history.pop_back();
      }
      if (update.event_kind) {
        AppendEventLocked(job, *update.event_kind);
        if (job.fold_sequence == job.sequence) history.back().folded = job.fold_count;
      }
      for (const JobMessage& message : update.messages) {
        ++job.message_count;
        ++job.sequence;
        JobEvent event = core::EventFromJob(job, EventKind::kMessage);
        event.message = message;
        events_[key].push_back(std::move(event));
      }
      results.push_back(job);
    }
    return results;
  }

  // acquire_jobs.sql: QUEUED or due SCHEDULED jobs of the workspace and types, highest
  // priority first, then longest waiting; each leased with a fresh token and a RUNNING event.
  // Not one transaction here: what the core sees of it is the same.
  absl::StatusOr<UpdatedAndLeased> UpdateJobsAndAcquire(const std::vector<JobChange>& changes,
                                                        const AcquireQuery& query) override {
    absl::StatusOr<std::vector<absl::StatusOr<Job>>> updated = UpdateJobs(changes);
    if (!updated.ok()) return updated.status();
    absl::StatusOr<std::vector<Job>> leased = AcquireJobs(query);
    if (!leased.ok()) return leased.status();
    return UpdatedAndLeased{std::move(*updated), std::move(*leased)};
  }

  absl::StatusOr<std::vector<Job>> AcquireJobs(const AcquireQuery& query) override {
    const absl::Time now = Now();
    std::lock_guard<std::mutex> lock(mu_);
    acquire_queries_.push_back(query);
    acquire_deadlines_.push_back(CurrentCallDeadline());
    if (!failure_.ok()) return failure_;
    std::vector<Job*> ready;
    for (auto& [id, job] : jobs_) {
      if (job.workspace_id != query.workspace_id || job.run_after > now) continue;
      if (job.state != JobState::kQueued && job.state != JobState::kScheduled) continue;
      if (std::find(query.types.begin(), query.types.end(), job.type) == query.types.end()) {
        continue;
      }
      ready.push_back(&job);
    }
    std::sort(ready.begin(), ready.end(), [](const Job* a, const Job* b) {
      return std::make_tuple(-a->priority, a->run_after, a->id) <
             std::make_tuple(-b->priority, b->run_after, b->id);
    });
    if (ready.size() > static_cast<size_t>(std::max(0, query.limit))) {
      ready.resize(std::max(0, query.limit));
    }
    std::vector<Job> out;
    for (Job* job : ready) {
      job->state = JobState::kRunning;
      job->worker_id = query.worker_id;
      job->lease_token = core::NewRandomUuid();
      job->lease_duration = query.lease_duration;
      job->attempt_deadline.reset();
      job->lease_expire_time = now + query.lease_duration;
      if (job->timeout) {
        job->attempt_deadline = now + *job->timeout;
        job->lease_expire_time = std::min(*job->lease_expire_time, *job->attempt_deadline);
      }
      job->start_time = now;
      job->update_time = now;
      job->attempt_progress_events = 0;
      AppendEventLocked(*job, EventKind::kStateChanged);
      out.push_back(*job);
    }
    return out;
  }

  // expired_leases.sql: RUNNING jobs whose lease expired by `now`, oldest expiry first.
  absl::StatusOr<std::vector<std::string>> ListExpiredLeases(int limit) override {
    const absl::Time now = Now();
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    std::vector<const Job*> expired;
    for (const auto& [id, job] : jobs_) {
      if (job.state == JobState::kRunning && job.lease_expire_time &&
          *job.lease_expire_time <= now) {
        expired.push_back(&job);
      }
    }
    std::stable_sort(expired.begin(), expired.end(), [](const Job* a, const Job* b) {
      return *a->lease_expire_time < *b->lease_expire_time;
    });
    std::vector<std::string> out;
    for (const Job* job : expired) {
      if (out.size() >= static_cast<size_t>(std::max(0, limit))) break;
      out.push_back(job->id);
    }
    return out;
  }

  // promote_scheduled.sql: due SCHEDULED jobs, earliest first, become QUEUED with an event.
  absl::StatusOr<std::vector<Job>> PromoteScheduledJobs(int limit) override {
    const absl::Time now = Now();
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    std::vector<Job*> due;
    for (auto& [id, job] : jobs_) {
      if (job.state == JobState::kScheduled && job.run_after <= now) due.push_back(&job);
    }
    std::stable_sort(due.begin(), due.end(),
                     [](const Job* a, const Job* b) { return a->run_after < b->run_after; });
    if (due.size() > static_cast<size_t>(std::max(0, limit))) due.resize(std::max(0, limit));
    std::vector<Job> out;
    for (Job* job : due) {
      job->state = JobState::kQueued;
      job->update_time = now;
      AppendEventLocked(*job, EventKind::kStateChanged);
      out.push_back(*job);
    }
    return out;
  }

  // job_stats.sql and oldest_queued.sql; counts ordered by (type, state).
  absl::StatusOr<JobStats> GetJobStats(const std::string& workspace_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    std::map<std::pair<std::string, JobState>, int64_t> counts;
    JobStats stats;
    for (const auto& [id, job] : jobs_) {
      if (job.workspace_id != workspace_id) continue;
      ++counts[{job.type, job.state}];
      if (job.state == JobState::kQueued &&
          (!stats.oldest_queued_since || job.run_after < *stats.oldest_queued_since)) {
        stats.oldest_queued_since = job.run_after;
      }
    }
    for (const auto& [key, count] : counts) stats.counts.push_back({key.first, key.second, count});
    return stats;
  }

  // delete_expired_jobs.sql: up to `limit` jobs with expire_time <= now, with their events.
  absl::StatusOr<int> DeleteExpiredJobs(int limit) override {
    const absl::Time now = Now();
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    std::vector<const Job*> expired;
    for (const auto& [id, job] : jobs_) {
      if (job.expire_time && *job.expire_time <= now) expired.push_back(&job);
    }
    std::stable_sort(expired.begin(), expired.end(),
                     [](const Job* a, const Job* b) { return *a->expire_time < *b->expire_time; });
    if (expired.size() > static_cast<size_t>(std::max(0, limit))) {
      expired.resize(std::max(0, limit));
    }
    std::vector<std::string> ids;
    for (const Job* job : expired) ids.push_back(absl::AsciiStrToLower(job->id));
    for (const std::string& id : ids) {
      jobs_.erase(id);
      events_.erase(id);
    }
    return static_cast<int>(ids.size());
  }

  absl::StatusOr<std::vector<RecordedEvent>> ReadEvents(const std::vector<EventRange>& ranges,
                                                        int32_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    read_requests_.push_back(ranges);
    if (!failure_.ok()) return failure_;
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
    if (!failure_.ok()) return failure_;
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
    if (!failure_.ok()) return failure_;
    std::vector<std::pair<std::string, int64_t>> out;
    for (const std::string& id : ids) {
      auto it = jobs_.find(absl::AsciiStrToLower(id));
      if (it != jobs_.end()) out.emplace_back(it->first, it->second.sequence);
    }
    return out;
  }

  absl::StatusOr<std::string> NewestJobId() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    return jobs_.empty() ? std::string() : jobs_.rbegin()->first;
  }

  absl::StatusOr<std::vector<std::string>> FindJobIds(const JobFilter& filter,
                                                      const std::string& after_id,
                                                      const std::string& max_id,
                                                      int32_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    std::vector<std::string> out;
    for (auto it = jobs_.upper_bound(after_id);
         it != jobs_.end() && it->first <= max_id && out.size() < static_cast<size_t>(limit);
         ++it) {
      if (Matches(filter, it->second)) out.push_back(it->first);
    }
    return out;
  }

  absl::StatusOr<int64_t> CountJobs(const JobFilter& filter, const std::string& max_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    int64_t count = 0;
    for (auto it = jobs_.begin(); it != jobs_.end() && it->first <= max_id; ++it) {
      count += Matches(filter, it->second) ? 1 : 0;
    }
    return count;
  }

  absl::StatusOr<std::vector<std::string>> DeleteFinishedJobs(
      const std::string& workspace_id, const std::vector<std::string>& ids,
      const std::vector<JobState>& states) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    std::vector<std::string> deleted;
    for (const std::string& id : ids) {
      auto it = jobs_.find(absl::AsciiStrToLower(id));
      if (it == jobs_.end() || it->second.workspace_id != workspace_id ||
          !IsTerminal(it->second.state) ||
          std::find(states.begin(), states.end(), it->second.state) == states.end()) {
        continue;
      }
      deleted.push_back(it->first);
      events_.erase(it->first);
      jobs_.erase(it);
    }
    return deleted;
  }

  absl::StatusOr<int> TrimFinishedJobs(int64_t, int) override { return 0; }

  absl::StatusOr<std::vector<JobEvent>> ListJobEvents(const std::string& job_id,
                                                      int64_t after_sequence,
                                                      int32_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    list_event_calls_.push_back({job_id, after_sequence, limit});
    if (!failure_.ok()) return failure_;
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

  // Stores `job` exactly as given (replacing any job with its id), without writing an event:
  // a row in any state, for a test that starts mid-lifecycle.
  void Put(const Job& job) {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_[absl::AsciiStrToLower(job.id)] = job;
  }

  // The stored job, if any (no hook, no injected failure).
  std::optional<Job> Peek(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(absl::AsciiStrToLower(id));
    if (it == jobs_.end()) return std::nullopt;
    return it->second;
  }

  // Every retained event of the job, oldest first.
  std::vector<JobEvent> Events(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = events_.find(absl::AsciiStrToLower(id));
    return it == events_.end() ? std::vector<JobEvent>{} : it->second;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return jobs_.size();
  }

  // Forgets every job, event, recorded call, hook, failure and quota.
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.clear();
    events_.clear();
    read_requests_.clear();
    list_queries_.clear();
    acquire_queries_.clear();
    acquire_deadlines_.clear();
    list_event_calls_.clear();
    before_get_job_ = nullptr;
    failure_ = absl::OkStatus();
    updates_before_failure_ = -1;
    max_active_jobs_ = 0;
  }

  // Until called again with OK, every store call fails with `status` and writes nothing (as a
  // lost database would); calls are still recorded.
  void FailCalls(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = std::move(status);
  }

  // As FailCalls, from the call after the next `updates` UpdateJobs calls on (a database lost
  // part-way through a long operation).
  void FailCallsAfterUpdates(int updates, absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    updates_before_failure_ = updates;
    pending_failure_ = std::move(status);
  }

  // Like PgJobStoreOptions::max_active_jobs_per_workspace: creates beyond it are refused
  // (CreatedJob::refused) with RESOURCE_EXHAUSTED. 0: no limit.
  void SetMaxActiveJobsPerWorkspace(int64_t max) {
    std::lock_guard<std::mutex> lock(mu_);
    max_active_jobs_ = max;
  }

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
  // The queries of every ListJobs, AcquireJobs and ListJobEvents call, in call order.
  std::vector<ListJobsQuery> list_queries() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_queries_;
  }
  std::vector<AcquireQuery> acquire_queries() {
    std::lock_guard<std::mutex> lock(mu_);
    return acquire_queries_;
  }
  // The call deadline each AcquireJobs ran under (db/model/call_deadline.h).
  std::vector<absl::Time> acquire_deadlines() {
    std::lock_guard<std::mutex> lock(mu_);
    return acquire_deadlines_;
  }
  std::vector<ListEventsCall> list_event_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_event_calls_;
  }

 private:
  // As db/queries/find_job_ids.sql.
  static bool Matches(const JobFilter& filter, const Job& job) {
    if (job.workspace_id != filter.workspace_id) return false;
    if (std::find(filter.states.begin(), filter.states.end(), job.state) == filter.states.end()) {
      return false;
    }
    if (!filter.type.empty() && job.type != filter.type) return false;
    for (const auto& [key, value] : filter.labels) {
      auto label = job.labels.find(key);
      if (label == job.labels.end() || label->second != value) return false;
    }
    if (filter.created_before && !(job.create_time < *filter.created_before)) return false;
    if (filter.created_after && job.create_time < *filter.created_after) return false;
    return filter.ids.empty() ||
           std::find(filter.ids.begin(), filter.ids.end(), job.id) != filter.ids.end();
  }

  static absl::Status NotFound(const std::string& id) {
    return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
  }

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
    job.attempt_progress_events = next.attempt_progress_events;
    job.fold_sequence = next.fold_sequence;
    job.fold_count = next.fold_count;
  }

  // Bumps the job's sequence and records its event at it.
  void AppendEventLocked(Job& job, EventKind kind) {
    ++job.sequence;
    events_[absl::AsciiStrToLower(job.id)].push_back(core::EventFromJob(job, kind));
  }

  int64_t ActiveJobsLocked(const std::string& workspace_id) const {
    int64_t active = 0;
    for (const auto& [id, job] : jobs_) {
      if (job.workspace_id == workspace_id && !IsTerminal(job.state)) ++active;
    }
    return active;
  }

  absl::Time Now() const { return clock_ != nullptr ? clock_->Now() : absl::Now(); }

  Clock* const clock_;
  std::mutex mu_;
  std::map<std::string, Job> jobs_;  // by lower-case id: ids order as PostgreSQL's uuids
  std::map<std::string, std::vector<JobEvent>> events_;
  std::vector<std::vector<EventRange>> read_requests_;
  std::vector<ListJobsQuery> list_queries_;
  std::vector<AcquireQuery> acquire_queries_;
  std::vector<absl::Time> acquire_deadlines_;
  std::vector<ListEventsCall> list_event_calls_;
  std::function<void()> before_get_job_;
  absl::Status failure_;
  int updates_before_failure_ = -1;  // -1: none pending
  absl::Status pending_failure_;
  int64_t max_active_jobs_ = 0;
};

}  // namespace jobd::fakes
