#include "db/pg_job_store.h"

#include <algorithm>
#include <tuple>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "db/pg_rows.h"

namespace jobd::db {
namespace {

// Above every UUID: the first page's upper bound, so ListJobs always has a range condition.
constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

const char* OrNull(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

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

absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
}

}  // namespace

absl::StatusOr<std::vector<CreatedJob>> PgJobStore::CreateJobs(const std::vector<Job>& jobs) {
  // Insert in idempotency-key order: two batches holding the same keys then lock them in the
  // same order and cannot deadlock.
  std::vector<size_t> order(jobs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(jobs[a].workspace_id, jobs[a].idempotency_key) <
           std::tie(jobs[b].workspace_id, jobs[b].idempotency_key);
  });
  return pool_.Run<std::vector<CreatedJob>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<CreatedJob>> {
        std::vector<CreatedJob> out(jobs.size());
        pqxx::work tx(conn);
        for (size_t i : order) {
          const Job& job = jobs[i];
          const std::string labels = LabelsToJson(job.labels);
          const auto key = NonEmpty(job.idempotency_key);
          const auto fingerprint = NonEmpty(job.request_fingerprint);
          const auto timeout = Micros(job.timeout);
          pqxx::result r = tx.exec_prepared(
              "insert_job", job.id, job.workspace_id, job.type, StateName(job.state),
              job.priority, job.payload_json, job.requested_by, job.retry_policy.max_attempts,
              absl::ToInt64Microseconds(job.retry_policy.initial_backoff),
              absl::ToInt64Microseconds(job.retry_policy.max_backoff),
              job.retry_policy.multiplier, OrNull(timeout), absl::ToInt64Microseconds(job.ttl),
              labels, OrNull(key), OrNull(fingerprint), FormatTimestamp(job.create_time),
              FormatTimestamp(job.run_after));
          if (!r.empty()) {
            out[i] = CreatedJob{ReadJobs(r)[0], true};
            continue;
          }
          r = tx.exec_prepared("select_job_by_idempotency_key", job.workspace_id,
                               job.idempotency_key);
          if (r.empty()) {
            // The holder of the key was deleted between our insert and select.
            return absl::AbortedError("idempotency key changed hands concurrently; retry");
          }
          out[i] = CreatedJob{ReadJobs(r)[0], false};
        }
        tx.commit();
        return out;
      });
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
        pqxx::result r =
            query.type.empty()
                ? tx.exec_prepared("list_jobs", query.workspace_id, states, labels, after,
                                   query.limit)
                : tx.exec_prepared("list_jobs_by_type", query.workspace_id, states, labels,
                                   after, query.limit, query.type);
        return ReadJobs(r);
      });
}

absl::StatusOr<Job> PgJobStore::UpdateJob(const std::string& id, const Mutation& mutate) {
  return pool_.Run<Job>([&](pqxx::connection& conn) -> absl::StatusOr<Job> {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("select_job_for_update", id);
    if (r.empty()) return NotFound(id);
    const Job current = ReadJobs(r)[0];
    absl::StatusOr<std::optional<JobUpdate>> update = mutate(current);
    if (!update.ok()) return update.status();
    if (!update->has_value()) {
      tx.commit();
      return current;
    }
    const JobUpdate& change = **update;
    const Job& next = change.next;
    const auto lease_token = NonEmpty(next.lease_token);
    const auto lease_expire = Timestamp(next.lease_expire_time);
    const auto start = Timestamp(next.start_time);
    const auto finish = Timestamp(next.finish_time);
    const auto expire = Timestamp(next.expire_time);
    const auto deadline = Timestamp(next.attempt_deadline);
    if (change.event_kind) {
      r = tx.exec_prepared("update_job", id, current.sequence, StateName(next.state),
                           next.attempt, next.last_attempt, next.progress_percent,
                           next.progress_message, OrNull(next.result_json), next.error_message,
                           next.worker_id, OrNull(lease_token), OrNull(lease_expire),
                           FormatTimestamp(next.update_time), OrNull(start), OrNull(finish),
                           FormatTimestamp(next.run_after), OrNull(expire),
                           EventKindName(*change.event_kind), OrNull(deadline));
    } else {
      r = tx.exec_prepared("update_job_silently", id, current.sequence, StateName(next.state),
                           next.attempt, next.last_attempt, next.progress_percent,
                           next.progress_message, OrNull(next.result_json), next.error_message,
                           next.worker_id, OrNull(lease_token), OrNull(lease_expire),
                           FormatTimestamp(next.update_time), OrNull(start), OrNull(finish),
                           FormatTimestamp(next.run_after), OrNull(expire), OrNull(deadline));
    }
    if (r.empty()) return absl::AbortedError(absl::StrCat("job ", id, " changed concurrently"));
    for (const JobMessage& message : change.messages) {
      r = tx.exec_prepared("append_job_message", id, MessageLevelName(message.level),
                           message.text);
    }
    Job updated = ReadJobs(r)[0];
    tx.commit();
    return updated;
  });
}

absl::StatusOr<std::vector<Job>> PgJobStore::AcquireJobs(const AcquireQuery& query) {
  return pool_.Run<std::vector<Job>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Job>> {
        pqxx::work tx(conn);
        pqxx::result r = tx.exec_prepared(
            "acquire_jobs", query.workspace_id, TextArray(query.types), query.limit,
            query.worker_id, FormatTimestamp(query.now),
            absl::ToInt64Microseconds(query.lease_duration));
        std::vector<Job> jobs = ReadJobs(r);
        tx.commit();
        return jobs;
      });
}

absl::StatusOr<std::vector<std::string>> PgJobStore::ListExpiredLeases(absl::Time now,
                                                                       int limit) {
  return pool_.Run<std::vector<std::string>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);
        std::vector<std::string> ids;
        for (const auto& row : tx.exec_prepared("expired_leases", FormatTimestamp(now), limit)) {
          ids.push_back(row[0].c_str());
        }
        return ids;
      });
}

absl::StatusOr<std::vector<Job>> PgJobStore::PromoteScheduledJobs(absl::Time now, int limit) {
  return pool_.Run<std::vector<Job>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Job>> {
        pqxx::work tx(conn);
        std::vector<Job> jobs =
            ReadJobs(tx.exec_prepared("promote_scheduled", FormatTimestamp(now), limit));
        tx.commit();
        return jobs;
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

absl::StatusOr<int> PgJobStore::DeleteExpiredJobs(absl::Time now, int limit) {
  return pool_.Run<int>([&](pqxx::connection& conn) -> absl::StatusOr<int> {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_expired_jobs", FormatTimestamp(now), limit);
    tx.commit();
    return static_cast<int>(r.affected_rows());
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

}  // namespace jobd::db
