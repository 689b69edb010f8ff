#include "db/pg_job_store.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "db/pg_array.h"
#include "db/pg_rows.h"
#include "db/schedule_rows.h"

namespace jobd::db {
namespace {

std::optional<std::string> NonEmpty(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

std::optional<std::string> Timestamp(const std::optional<absl::Time>& time) {
  if (!time) return std::nullopt;
  return FormatTimestamp(*time);
}

std::optional<std::string> Micros(const std::optional<absl::Duration>& duration) {
  if (!duration) return std::nullopt;
  return std::to_string(absl::ToInt64Microseconds(*duration));
}

std::string Micros(absl::Duration duration) {
  return std::to_string(absl::ToInt64Microseconds(duration));
}

absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
}

}  // namespace

namespace {

// One array per column of a batch of new jobs (see db/queries/insert_jobs.sql).
class NewJobColumns {
 public:
  void Add(const Job& job) {
    ids_.Add(job.id);
    workspaces_.Add(job.workspace_id);
    types_.Add(job.type);
    states_.Add(std::string(StateName(job.state)));
    priorities_.Add(std::to_string(job.priority));
    payloads_.Add(job.payload_json);
    requested_by_.Add(job.requested_by);
    max_attempts_.Add(std::to_string(job.retry_policy.max_attempts));
    initial_backoffs_.Add(Micros(job.retry_policy.initial_backoff));
    max_backoffs_.Add(Micros(job.retry_policy.max_backoff));
    multipliers_.Add(pqxx::to_string(job.retry_policy.multiplier));  // round-trip precision
    timeouts_.Add(Micros(job.timeout));
    ttls_.Add(Micros(job.ttl));
    labels_.Add(LabelsToJson(job.labels));
    keys_.Add(NonEmpty(job.idempotency_key));
    fingerprints_.Add(NonEmpty(job.request_fingerprint));
    create_times_.Add(FormatTimestamp(job.create_time));
    run_afters_.Add(FormatTimestamp(job.run_after));
  }

  pqxx::result Insert(pqxx::transaction_base& tx) const {
    return tx.exec_prepared("insert_jobs", ids_.Close(), workspaces_.Close(), types_.Close(),
                            states_.Close(), priorities_.Close(), payloads_.Close(),
                            requested_by_.Close(), max_attempts_.Close(), initial_backoffs_.Close(),
                            max_backoffs_.Close(), multipliers_.Close(), timeouts_.Close(),
                            ttls_.Close(), labels_.Close(), keys_.Close(), fingerprints_.Close(),
                            create_times_.Close(), run_afters_.Close());
  }

 private:
  ArrayLiteral ids_, workspaces_, types_, states_, priorities_, payloads_, requested_by_,
      max_attempts_, initial_backoffs_, max_backoffs_, multipliers_, timeouts_, ttls_, labels_,
      keys_, fingerprints_, create_times_, run_afters_;
};

// One array per column of a batch of job changes (see db/queries/update_jobs.sql).
class JobChangeColumns {
 public:
  void Add(int64_t read_sequence, const JobUpdate& update) {
    const Job& next = update.next;
    ids_.Add(next.id);
    read_sequences_.Add(std::to_string(read_sequence));
    states_.Add(std::string(StateName(next.state)));
    attempts_.Add(std::to_string(next.attempt));
    last_attempts_.Add(std::to_string(next.last_attempt));
    progress_percents_.Add(pqxx::to_string(next.progress_percent));
    progress_messages_.Add(next.progress_message);
    results_.Add(next.result_json);
    error_messages_.Add(next.error_message);
    worker_ids_.Add(next.worker_id);
    lease_tokens_.Add(NonEmpty(next.lease_token));
    lease_expire_times_.Add(Timestamp(next.lease_expire_time));
    lease_durations_.Add(Micros(next.lease_duration));
    update_times_.Add(FormatTimestamp(next.update_time));
    start_times_.Add(Timestamp(next.start_time));
    finish_times_.Add(Timestamp(next.finish_time));
    run_afters_.Add(FormatTimestamp(next.run_after));
    expire_times_.Add(Timestamp(next.expire_time));
    attempt_deadlines_.Add(Timestamp(next.attempt_deadline));
    if (update.event_kind) {
      event_kinds_.Add(std::string(EventKindName(*update.event_kind)));
    } else {
      event_kinds_.AddNull();
    }
    attempt_progress_events_.Add(std::to_string(next.attempt_progress_events));
    fold_sequences_.Add(std::to_string(next.fold_sequence));
    fold_counts_.Add(std::to_string(next.fold_count));
    replaces_latest_.Add(std::string(update.replaces_latest_event ? "t" : "f"));
    if (update.checkpoint_changed && next.checkpoint_json) {
      checkpoints_.Add(*next.checkpoint_json);
    } else {
      checkpoints_.AddNull();
    }
  }

  pqxx::result Update(pqxx::transaction_base& tx) const {
    return tx.exec_prepared("update_jobs", ids_.Close(), read_sequences_.Close(), states_.Close(),
                            attempts_.Close(), last_attempts_.Close(), progress_percents_.Close(),
                            progress_messages_.Close(), results_.Close(), error_messages_.Close(),
                            worker_ids_.Close(), lease_tokens_.Close(), lease_expire_times_.Close(),
                            lease_durations_.Close(), update_times_.Close(), start_times_.Close(),
                            finish_times_.Close(), run_afters_.Close(), expire_times_.Close(),
                            attempt_deadlines_.Close(), event_kinds_.Close(),
                            attempt_progress_events_.Close(), fold_sequences_.Close(),
                            fold_counts_.Close(), replaces_latest_.Close(), checkpoints_.Close());
  }

 private:
  ArrayLiteral ids_, read_sequences_, states_, attempts_, last_attempts_, progress_percents_,
      progress_messages_, results_, error_messages_, worker_ids_, lease_tokens_,
      lease_expire_times_, lease_durations_, update_times_, start_times_, finish_times_,
      run_afters_, expire_times_, attempt_deadlines_, event_kinds_, attempt_progress_events_,
      fold_sequences_, fold_counts_, replaces_latest_, checkpoints_;
};

}  // namespace

absl::StatusOr<std::vector<CreatedJob>> PgJobStore::CreateJobs(const std::vector<Job>& jobs) {
  return InsertJobs(jobs, /*all_or_nothing=*/false);
}

absl::StatusOr<std::vector<CreatedJob>> PgJobStore::CreateJobBatch(const std::vector<Job>& jobs) {
  return InsertJobs(jobs, /*all_or_nothing=*/true);
}

absl::StatusOr<JobStore::ScheduledRun> PgJobStore::CreateScheduledJob(
    const Job& job, const Schedule& schedule_after, int64_t expected_version) {
  ScheduledRun run;
  InsertHooks hooks;
  // The schedule's row first (locked until commit), then the workspace's quota: no other
  // path takes them in the other order.
  hooks.before = [&](pqxx::transaction_base& tx) -> absl::Status {
    pqxx::result r = tx.exec_prepared("lock_schedule_version", schedule_after.id);
    if (r.empty()) return absl::NotFoundError("schedule deleted");
    if (r[0][0].as<int64_t>() != expected_version) {
      return absl::AbortedError("schedule moved on by another replica");
    }
    return absl::OkStatus();
  };
  hooks.after = [&](pqxx::transaction_base& tx,
                    const std::vector<CreatedJob>& created) -> absl::Status {
    Schedule after = schedule_after;
    after.last_job_id = created.at(0).job.id;
    run.version = ReadSchedule(WriteSchedule(tx, after).at(0)).version;
    return absl::OkStatus();
  };
  absl::StatusOr<std::vector<CreatedJob>> created =
      InsertJobs({job}, /*all_or_nothing=*/true, &hooks);
  if (!created.ok()) return created.status();
  run.created = std::move(created->at(0));
  return run;
}

absl::StatusOr<std::vector<CreatedJob>> PgJobStore::InsertJobs(const std::vector<Job>& jobs,
                                                               bool all_or_nothing,
                                                               const InsertHooks* hooks) {
  // Insert in idempotency-key order: two batches holding the same keys then lock them in the
  // same order and cannot deadlock.
  std::vector<size_t> order(jobs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(jobs[a].workspace_id, jobs[a].idempotency_key) <
           std::tie(jobs[b].workspace_id, jobs[b].idempotency_key);
  });
  bool with_keys = false;
  for (const Job& job : jobs) with_keys = with_keys || !job.idempotency_key.empty();
  const bool with_quota = options_.max_active_jobs_per_workspace > 0;
  return pool_.Run<std::vector<CreatedJob>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<CreatedJob>> {
        // Without idempotency keys or quota the insert is the only statement, atomic on its
        // own: no BEGIN/COMMIT round trips. Otherwise the lookups of key holders and the quota
        // counts share one transaction with it, so that a failure anywhere leaves the whole
        // batch unwritten and a retry is safe.
        std::unique_ptr<pqxx::transaction_base> tx;
        if (with_keys || with_quota || all_or_nothing || hooks) {
          tx = std::make_unique<pqxx::work>(conn);
        } else {
          tx = std::make_unique<pqxx::nontransaction>(conn);
        }
        if (hooks && hooks->before) {
          if (absl::Status s = hooks->before(*tx); !s.ok()) return s;
        }
        std::vector<bool> refused(jobs.size(), false);
        if (with_quota) refused = RefuseBeyondQuota(*tx, jobs, order);
        NewJobColumns columns;
        for (size_t i : order) {
          if (!refused[i]) columns.Add(jobs[i]);
        }
        std::unordered_map<std::string, Job> inserted;
        for (Job& job : ReadJobs(columns.Insert(*tx))) inserted.emplace(job.id, std::move(job));
        std::vector<CreatedJob> out(jobs.size());
        for (size_t i = 0; i < jobs.size(); ++i) {
          if (refused[i]) {
            out[i].created = false;
            out[i].refused = QuotaExceeded(jobs[i].workspace_id);
            continue;
          }
          auto it = inserted.find(jobs[i].id);
          if (it != inserted.end()) {
            out[i] = CreatedJob{it->second, true, absl::OkStatus()};
            continue;
          }
          // Skipped: its idempotency key belongs to an earlier job (committed by now).
          pqxx::result r = tx->exec_prepared("select_job_by_idempotency_key", jobs[i].workspace_id,
                                             jobs[i].idempotency_key);
          if (r.empty()) {
            return absl::AbortedError("idempotency key changed hands concurrently; retry");
          }
          out[i] = CreatedJob{ReadJobs(r)[0], false, absl::OkStatus()};
        }
        if (all_or_nothing && RefuseBatch(jobs, out)) return out;  // rolled back: tx not committed
        if (hooks && hooks->after) {
          if (absl::Status s = hooks->after(*tx, out); !s.ok()) return s;
        }
        tx->commit();
        return out;
      });
}

absl::Status PgJobStore::QuotaExceeded(const std::string& workspace_id) const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "quota: workspace \"", workspace_id, "\" has ", options_.max_active_jobs_per_workspace,
      " active (queued, scheduled or running) jobs, its limit "
      "(--max_active_jobs_per_workspace); retry once some have finished"));
}

int64_t& PgJobStore::LockedActiveCount(pqxx::transaction_base& tx, const std::string& workspace_id,
                                       ActiveCounts& active) {
  auto it = active.find(workspace_id);
  if (it == active.end()) {
    tx.exec_prepared("lock_workspace_quota", workspace_id);
    it = active
             .emplace(workspace_id,
                      tx.exec_prepared1("count_active_jobs", workspace_id)[0].as<int64_t>())
             .first;
  }
  return it->second;
}

bool PgJobStore::TakeQuota(pqxx::transaction_base& tx, const std::string& workspace_id,
                           ActiveCounts& active) {
  if (options_.max_active_jobs_per_workspace <= 0) return true;
  int64_t& count = LockedActiveCount(tx, workspace_id, active);
  if (count >= options_.max_active_jobs_per_workspace) return false;
  ++count;
  return true;
}

std::vector<bool> PgJobStore::RefuseBeyondQuota(pqxx::transaction_base& tx,
                                                const std::vector<Job>& jobs,
                                                const std::vector<size_t>& order) {
  // Every workspace locked first, before the key lookups below, in sorted order (`order`
  // sorts by workspace): two batches lock them alike.
  ActiveCounts active;
  for (size_t i : order) LockedActiveCount(tx, jobs[i].workspace_id, active);
  std::vector<bool> refused(jobs.size(), false);
  std::set<std::pair<std::string, std::string>> keys_counted;  // of this batch
  for (size_t i : order) {
    const Job& job = jobs[i];
    // A repeat of an idempotent create returns its first job and adds nothing, whether that
    // job exists or is the batch's own (a retry sent before the first call was answered).
    if (!job.idempotency_key.empty() &&
        (!keys_counted.emplace(job.workspace_id, job.idempotency_key).second ||
         !tx.exec_prepared("select_job_by_idempotency_key", job.workspace_id, job.idempotency_key)
              .empty())) {
      continue;
    }
    refused[i] = !TakeQuota(tx, job.workspace_id, active);
  }
  return refused;
}

absl::StatusOr<Job> PgJobStore::GetJob(const std::string& id) {
  return pool_.Run<Job>([&](pqxx::connection& conn) -> absl::StatusOr<Job> {
    pqxx::nontransaction tx(conn);  // one statement: no BEGIN/COMMIT round trips
    pqxx::result r = tx.exec_prepared("select_job", id);
    if (r.empty()) return NotFound(id);
    return ReadJobs(r)[0];
  });
}

absl::StatusOr<std::vector<Job>> PgJobStore::ListJobs(const ListJobsQuery& query) {
  return pool_.Run<std::vector<Job>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Job>> {
        pqxx::nontransaction tx(conn);  // one statement: no BEGIN/COMMIT round trips
        const std::string states = StatesToArray(query.states);
        const std::string labels = LabelsToJson(query.labels);
        const std::string after = query.after_id.empty() ? kMaxUuid : query.after_id;
        const bool bodies = query.with_bodies;
        const int64_t budget = query.max_body_bytes;
        pqxx::result r =
            !query.labels.empty()
                ? tx.exec_prepared("list_jobs_by_labels", query.workspace_id, states, labels, after,
                                   query.limit, NonEmpty(query.type), bodies, budget)
            : query.type.empty()
                ? tx.exec_prepared("list_jobs", query.workspace_id, states, labels, after,
                                   query.limit, bodies, budget)
                : tx.exec_prepared("list_jobs_by_type", query.workspace_id, states, labels, after,
                                   query.limit, query.type, bodies, budget);
        return ReadJobs(r);
      });
}

absl::StatusOr<std::vector<absl::StatusOr<Job>>> PgJobStore::UpdateJobs(
    const std::vector<JobChange>& changes) {
  using Results = std::vector<absl::StatusOr<Job>>;
  return pool_.Run<Results>([&](pqxx::connection& conn) -> absl::StatusOr<Results> {
    pqxx::work tx(conn);
    absl::StatusOr<Results> results = UpdateJobsIn(tx, changes);
    if (results.ok()) tx.commit();
    return results;
  });
}

absl::StatusOr<JobStore::UpdatedAndLeased> PgJobStore::UpdateJobsAndAcquire(
    const std::vector<JobChange>& changes, const AcquireQuery& query) {
  return pool_.Run<UpdatedAndLeased>(
      [&](pqxx::connection& conn) -> absl::StatusOr<UpdatedAndLeased> {
        pqxx::work tx(conn);
        absl::StatusOr<std::vector<absl::StatusOr<Job>>> updated = UpdateJobsIn(tx, changes);
        if (!updated.ok()) return updated.status();
        UpdatedAndLeased out{std::move(*updated), AcquireJobsIn(tx, query)};
        tx.commit();
        return out;
      });
}

absl::StatusOr<std::vector<absl::StatusOr<Job>>> PgJobStore::UpdateJobsIn(
    pqxx::transaction_base& tx, const std::vector<JobChange>& changes) {
  using Results = std::vector<absl::StatusOr<Job>>;
  // PostgreSQL prints uuids in lower case; callers may pass upper case.
  std::vector<std::string> keys;
  for (const JobChange& change : changes) keys.push_back(absl::AsciiStrToLower(change.id));
  // Lock in id order, so batches touching the same jobs cannot deadlock.
  std::vector<std::string> ids = keys;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ArrayLiteral id_array;
  for (const std::string& id : ids) id_array.Add(id);
  std::unordered_map<std::string, Job> current;
  const pqxx::result locked = tx.exec_prepared("select_jobs_for_update", id_array.Close());
  // The database's time decides the changes (leases, deadlines), not this replica's clock.
  const absl::Time now =
      locked.empty() ? absl::Time() : ParseTimestamp(locked[0]["db_now"].c_str());
  for (Job& job : ReadJobs(locked)) current.emplace(job.id, std::move(job));
  Results results(changes.size(), absl::InternalError("not decided"));
  JobChangeColumns columns;
  std::vector<std::pair<size_t, JobUpdate>> written;  // (change index, its update)
  std::unordered_set<std::string> seen;
  ActiveCounts active;  // per workspace, once its quota is locked
  for (size_t i = 0; i < changes.size(); ++i) {
    auto it = current.find(keys[i]);
    if (it == current.end()) {
      results[i] = NotFound(changes[i].id);
      continue;
    }
    if (!seen.insert(keys[i]).second) {
      results[i] = absl::AbortedError("the same job twice in one batch; retry");
      continue;
    }
    absl::StatusOr<std::optional<JobUpdate>> decision = changes[i].mutate(it->second, now);
    if (!decision.ok()) {
      results[i] = decision.status();
    } else if (!decision->has_value()) {
      results[i] = it->second;
    } else if (IsTerminal(it->second.state) && !IsTerminal((*decision)->next.state) &&
               !TakeQuota(tx, it->second.workspace_id, active)) {
      // A retry makes a finished job active again: the workspace's quota applies as to a create.
      results[i] = QuotaExceeded(it->second.workspace_id);
    } else {
      JobUpdate& update = **decision;
      update.next.id = it->first;
      columns.Add(it->second.sequence, update);
      written.emplace_back(i, std::move(update));
    }
  }
  if (!written.empty()) {
    std::unordered_map<std::string, Job> after;
    for (Job& job : ReadJobs(columns.Update(tx))) after.emplace(job.id, std::move(job));
    for (const auto& [i, update] : written) {
      auto it = after.find(keys[i]);
      if (it == after.end()) {
        return absl::AbortedError(absl::StrCat("job ", changes[i].id, " changed concurrently"));
      }
      results[i] = it->second;
      for (const JobMessage& message : update.messages) {
        results[i] = ReadJobs(tx.exec_prepared("append_job_message", keys[i],
                                               MessageLevelName(message.level), message.text))[0];
      }
    }
  }
  return results;
}

absl::StatusOr<std::vector<Job>> PgJobStore::AcquireJobs(const AcquireQuery& query) {
  return pool_.Run<std::vector<Job>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Job>> {
        bool limited;
        {
          pqxx::nontransaction tx(conn);  // no statement while the list is fresh
          limited = MayHaveLimitedQueues(tx, query.workspace_id);
        }
        if (!limited) {
          pqxx::nontransaction tx(conn);  // one statement: atomic without BEGIN/COMMIT
          return LeaseJobs(tx, query, /*limited_queues=*/false);
        }
        // One transaction: the queue locks last until the leases commit, and a failure
        // (a deadline while waiting for a lock) leaves nothing leased.
        pqxx::work tx(conn);
        std::vector<Job> jobs = AcquireJobsIn(tx, query);
        tx.commit();
        return jobs;
      });
}

std::vector<Job> PgJobStore::AcquireJobsIn(pqxx::transaction_base& tx, const AcquireQuery& query) {
  // Limited queues first, so that a busy unlimited one cannot starve them; then the rest.
  std::vector<Job> jobs;
  if (MayHaveLimitedQueues(tx, query.workspace_id)) AcquireLimitedIn(tx, query, jobs);
  if (jobs.size() < static_cast<size_t>(query.limit)) {
    AcquireQuery rest = query;
    rest.limit = query.limit - static_cast<int32_t>(jobs.size());
    if (query.max_bytes > 0 && !jobs.empty()) {
      // What the limited queues' jobs took of the budget (their text, near enough).
      int64_t used = 0;
      for (const Job& job : jobs) {
        used += static_cast<int64_t>(job.payload_json.size() +
                                     (job.checkpoint_json ? job.checkpoint_json->size() : 0));
      }
      if (used >= query.max_bytes) return jobs;
      rest.max_bytes = query.max_bytes - used;
    }
    for (Job& job : LeaseJobs(tx, rest, /*limited_queues=*/false)) jobs.push_back(std::move(job));
  }
  return jobs;
}

std::vector<Job> PgJobStore::LeaseJobs(pqxx::transaction_base& tx, const AcquireQuery& query,
                                       bool limited_queues) {
  return ReadJobs(tx.exec_prepared(
      "acquire_jobs", query.workspace_id, TextArray(query.types), query.limit, query.worker_id,
      absl::ToInt64Microseconds(query.lease_duration), limited_queues, query.max_bytes));
}

absl::StatusOr<std::vector<std::string>> PgJobStore::ListExpiredLeases(int limit) {
  return pool_.Run<std::vector<std::string>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);
        std::vector<std::string> ids;
        for (const auto& row : tx.exec_prepared("expired_leases", limit)) {
          ids.push_back(row[0].c_str());
        }
        return ids;
      });
}

absl::StatusOr<std::vector<Job>> PgJobStore::PromoteScheduledJobs(int limit) {
  return pool_.Run<std::vector<Job>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Job>> {
        pqxx::nontransaction tx(conn);  // one statement: atomic without BEGIN/COMMIT
        return ReadJobs(tx.exec_prepared("promote_scheduled", limit));
      });
}

absl::StatusOr<JobStats> PgJobStore::GetJobStats(const std::string& workspace_id) {
  return pool_.Run<JobStats>([&](pqxx::connection& conn) -> absl::StatusOr<JobStats> {
    pqxx::work tx(conn);  // one snapshot for both statements
    JobStats stats;
    for (const auto& row : tx.exec_prepared("job_stats", workspace_id)) {
      auto state = StateFromName(row[1].c_str());
      if (!state) return absl::InternalError(absl::StrCat("unknown job state ", row[1].c_str()));
      stats.counts.push_back({row[0].c_str(), *state, row[2].as<int64_t>()});
    }
    pqxx::row oldest = tx.exec_prepared1("oldest_queued", workspace_id);
    if (!oldest[0].is_null()) stats.oldest_queued_since = ParseTimestamp(oldest[0].c_str());
    tx.commit();
    return stats;
  });
}

absl::StatusOr<int> PgJobStore::DeleteExpiredJobs(int limit) {
  return pool_.Run<int>([&](pqxx::connection& conn) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(conn);  // one statement: atomic without BEGIN/COMMIT
    return tx.exec_prepared1("delete_expired_jobs", limit)[0].as<int>();
  });
}

absl::StatusOr<std::vector<JobEvent>> PgJobStore::ListJobEvents(const std::string& job_id,
                                                                int64_t after_sequence,
                                                                int32_t limit) {
  return pool_.Run<std::vector<JobEvent>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<JobEvent>> {
        pqxx::nontransaction tx(conn);  // one statement: no BEGIN/COMMIT round trips
        pqxx::result r = tx.exec_prepared("list_job_events", job_id, after_sequence, limit);
        std::vector<JobEvent> events;
        events.reserve(r.size());
        for (const auto& row : r) events.push_back(ReadEvent(row));
        return events;
      });
}

absl::StatusOr<std::vector<RecordedEvent>> PgJobStore::ReadEvents(
    const std::vector<EventRange>& ranges, int32_t limit) {
  ArrayLiteral ids, afters, lasts;
  for (const EventRange& range : ranges) {
    ids.Add(range.job_id);
    afters.Add(std::to_string(range.after_sequence));
    lasts.Add(std::to_string(range.last_sequence));
  }
  return pool_.Run<std::vector<RecordedEvent>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<RecordedEvent>> {
        pqxx::nontransaction tx(conn);
        pqxx::result r =
            tx.exec_prepared("read_events", ids.Close(), afters.Close(), lasts.Close(), limit);
        std::vector<RecordedEvent> events;
        events.reserve(r.size());
        for (const auto& row : r) {
          RecordedEvent recorded{ReadEvent(row), std::nullopt};
          if (!row["previous_state"].is_null()) {
            recorded.previous_state = StateFromName(row["previous_state"].c_str());
          }
          events.push_back(std::move(recorded));
        }
        return events;
      });
}

absl::StatusOr<std::vector<Job>> PgJobStore::GetJobs(const std::vector<std::string>& ids) {
  ArrayLiteral id_array;
  for (const std::string& id : ids) id_array.Add(id);
  return pool_.Run<std::vector<Job>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Job>> {
        pqxx::nontransaction tx(conn);
        return ReadJobs(tx.exec_prepared("select_jobs", id_array.Close()));
      });
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> PgJobStore::GetJobSequences(
    const std::vector<std::string>& ids) {
  using Sequences = std::vector<std::pair<std::string, int64_t>>;
  ArrayLiteral id_array;
  for (const std::string& id : ids) id_array.Add(id);
  return pool_.Run<Sequences>([&](pqxx::connection& conn) -> absl::StatusOr<Sequences> {
    pqxx::nontransaction tx(conn);
    Sequences out;
    for (const auto& row : tx.exec_prepared("select_job_sequences", id_array.Close())) {
      out.emplace_back(row[0].c_str(), row[1].as<int64_t>());
    }
    return out;
  });
}

}  // namespace jobd::db
