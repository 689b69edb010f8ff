#include "db/pg_job_store.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

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

namespace {

// One PostgreSQL array literal per column of a batch (see db/queries/insert_jobs.sql).
class BatchColumns {
 public:
  void Add(const Job& job) {
    Text(ids_, job.id);
    Text(workspaces_, job.workspace_id);
    Text(types_, job.type);
    Text(states_, StateName(job.state));
    Plain(priorities_, std::to_string(job.priority));
    Text(payloads_, job.payload_json);
    Text(requested_by_, job.requested_by);
    Plain(max_attempts_, std::to_string(job.retry_policy.max_attempts));
    Plain(initial_backoffs_, std::to_string(absl::ToInt64Microseconds(job.retry_policy.initial_backoff)));
    Plain(max_backoffs_, std::to_string(absl::ToInt64Microseconds(job.retry_policy.max_backoff)));
    Plain(multipliers_, pqxx::to_string(job.retry_policy.multiplier));  // round-trip precision
    Plain(timeouts_, job.timeout ? std::to_string(absl::ToInt64Microseconds(*job.timeout)) : "NULL");
    Plain(ttls_, std::to_string(absl::ToInt64Microseconds(job.ttl)));
    Text(labels_, LabelsToJson(job.labels));
    NullableText(keys_, job.idempotency_key);
    NullableText(fingerprints_, job.request_fingerprint);
    Text(create_times_, FormatTimestamp(job.create_time));
    Text(run_afters_, FormatTimestamp(job.run_after));
  }

  pqxx::result Insert(pqxx::transaction_base& tx) {
    return tx.exec_prepared("insert_jobs", Close(ids_), Close(workspaces_), Close(types_),
                            Close(states_), Close(priorities_), Close(payloads_),
                            Close(requested_by_), Close(max_attempts_), Close(initial_backoffs_),
                            Close(max_backoffs_), Close(multipliers_), Close(timeouts_),
                            Close(ttls_), Close(labels_), Close(keys_), Close(fingerprints_),
                            Close(create_times_), Close(run_afters_));
  }

 private:
  static void Separate(std::string& out) { out += out.empty() ? "{" : ","; }
  static void Plain(std::string& out, const std::string& value) {
    Separate(out);
    out += value;
  }
  // A quoted element: backslash and double quote escaped, as array input requires.
  static void Text(std::string& out, const std::string& value) {
    Separate(out);
    out.reserve(out.size() + value.size() + 2);
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  static void NullableText(std::string& out, const std::string& value) {
    if (value.empty()) {
      Plain(out, "NULL");
    } else {
      Text(out, value);
    }
  }
  static std::string Close(std::string& out) { return out.empty() ? "{}" : out + "}"; }

  std::string ids_, workspaces_, types_, states_, priorities_, payloads_, requested_by_,
      max_attempts_, initial_backoffs_, max_backoffs_, multipliers_, timeouts_, ttls_, labels_,
      keys_, fingerprints_, create_times_, run_afters_;
};

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
  BatchColumns columns;
  for (size_t i : order) columns.Add(jobs[i]);
  return pool_.Run<std::vector<CreatedJob>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<CreatedJob>> {
        // One statement is atomic on its own: no BEGIN/COMMIT round trips.
        pqxx::nontransaction tx(conn);
        std::unordered_map<std::string, Job> inserted;
        for (Job& job : ReadJobs(columns.Insert(tx))) inserted.emplace(job.id, std::move(job));
        std::vector<CreatedJob> out(jobs.size());
        for (size_t i = 0; i < jobs.size(); ++i) {
          auto it = inserted.find(jobs[i].id);
          if (it != inserted.end()) {
            out[i] = CreatedJob{it->second, true};
            continue;
          }
          // Skipped: its idempotency key belongs to an earlier job (committed by now).
          pqxx::result r = tx.exec_prepared("select_job_by_idempotency_key",
                                            jobs[i].workspace_id, jobs[i].idempotency_key);
          if (r.empty()) {
            return absl::AbortedError("idempotency key changed hands concurrently; retry");
          }
          out[i] = CreatedJob{ReadJobs(r)[0], false};
        }
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
