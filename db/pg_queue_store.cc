// PgJobStore as the QueueStore: queue settings, and the limited half of acquiring jobs.
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "db/pg_job_store.h"
#include "db/pg_rows.h"
#include "nlohmann/json.hpp"

namespace jobd::db {
namespace {

// How long a replica trusts its list of workspaces with limited queues. Limits are enforced
// by the statements whatever the list says; a stale list only delays serving a queue that
// was limited elsewhere meanwhile.
constexpr absl::Duration kLimitedWorkspacesRefresh = absl::Seconds(1);

QueueSettings ReadSettings(const pqxx::row& row) {
  QueueSettings s;
  s.workspace_id = row["workspace_id"].c_str();
  s.type = row["type"].c_str();
  s.paused = row["paused"].as<bool>();
  if (!row["max_running"].is_null()) s.max_running = row["max_running"].as<int32_t>();
  if (!row["max_starts_per_second"].is_null()) {
    s.max_starts_per_second = row["max_starts_per_second"].as<double>();
  }
  s.burst = row["burst"].as<int32_t>();
  if (!row["update_time"].is_null()) s.update_time = ParseTimestamp(row["update_time"].c_str());
  return s;
}

}  // namespace

absl::StatusOr<QueueSettings> PgJobStore::SetQueuePaused(const std::string& workspace_id,
                                                         const std::string& type, bool paused) {
  return pool_.Run<QueueSettings>([&](pqxx::connection& conn) -> absl::StatusOr<QueueSettings> {
    pqxx::nontransaction tx(conn);
    return ReadSettings(tx.exec_prepared1("set_queue_paused", workspace_id, type, paused));
  });
}

absl::StatusOr<QueueSettings> PgJobStore::SetQueueLimits(const QueueSettings& limits) {
  absl::StatusOr<QueueSettings> written =
      pool_.Run<QueueSettings>([&](pqxx::connection& conn) -> absl::StatusOr<QueueSettings> {
        pqxx::nontransaction tx(conn);
        return ReadSettings(tx.exec_prepared1("set_queue_limits", limits.workspace_id, limits.type,
                                              limits.max_running, limits.max_starts_per_second,
                                              limits.burst));
      });
  if (written.ok() && (written->max_running || written->max_starts_per_second)) {
    std::lock_guard<std::mutex> lock(limited_.mu);
    limited_.workspaces.insert(written->workspace_id);
  }
  return written;
}

absl::StatusOr<std::vector<QueueInfo>> PgJobStore::ListQueues(const std::string& workspace_id,
                                                              int32_t limit) {
  return pool_.Run<std::vector<QueueInfo>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<QueueInfo>> {
        pqxx::nontransaction tx(conn);
        std::vector<QueueInfo> queues;
        for (const auto& row : tx.exec_prepared("list_queues", workspace_id, limit)) {
          QueueInfo info;
          info.settings = ReadSettings(row);
          const nlohmann::json counts = nlohmann::json::parse(row["counts"].c_str());
          for (auto it = counts.begin(); it != counts.end(); ++it) {
            std::optional<JobState> state = StateFromName(it.key());
            if (!state) return absl::InternalError(absl::StrCat("unknown job state ", it.key()));
            info.counts[*state] = it.value().get<int64_t>();
          }
          if (!row["oldest_queued_since"].is_null()) {
            info.oldest_queued_since = ParseTimestamp(row["oldest_queued_since"].c_str());
          }
          queues.push_back(std::move(info));
        }
        return queues;
      });
}

absl::StatusOr<std::vector<QueueInfo>> PgJobStore::CountEveryQueue(int32_t limit) {
  return pool_.Run<std::vector<QueueInfo>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<QueueInfo>> {
        pqxx::nontransaction tx(conn);
        std::vector<QueueInfo> queues;
        for (const auto& row : tx.exec_prepared("count_every_queue", limit)) {
          const std::string workspace = row["workspace_id"].c_str(), type = row["type"].c_str();
          if (queues.empty() || queues.back().settings.workspace_id != workspace ||
              queues.back().settings.type != type) {
            queues.emplace_back();
            queues.back().settings.workspace_id = workspace;
            queues.back().settings.type = type;
            if (!row["since"].is_null()) {
              queues.back().oldest_queued_since = ParseTimestamp(row["since"].c_str());
            }
          }
          std::optional<JobState> state = StateFromName(row["state"].c_str());
          if (!state)
            return absl::InternalError(absl::StrCat("unknown job state ", row["state"].c_str()));
          queues.back().counts[*state] = row["n"].as<int64_t>();
        }
        return queues;
      });
}

absl::StatusOr<std::optional<absl::Time>> PgJobStore::NextQueueAdmission(
    const std::string& workspace_id, const std::vector<std::string>& types) {
  {
    // Asked after every empty poll: no connection when the list says there is nothing.
    std::lock_guard<std::mutex> lock(limited_.mu);
    if (absl::Now() - limited_.loaded < kLimitedWorkspacesRefresh &&
        limited_.workspaces.count(workspace_id) == 0) {
      return std::optional<absl::Time>();
    }
  }
  return pool_.Run<std::optional<absl::Time>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::optional<absl::Time>> {
        pqxx::nontransaction tx(conn);
        if (!MayHaveLimitedQueues(tx, workspace_id)) return std::optional<absl::Time>();
        pqxx::row row = tx.exec_prepared1("next_queue_admission", workspace_id, TextArray(types));
        if (row[0].is_null()) return std::optional<absl::Time>();
        return std::optional<absl::Time>(ParseTimestamp(row[0].c_str()));
      });
}

bool PgJobStore::MayHaveLimitedQueues(pqxx::transaction_base& tx, const std::string& workspace_id) {
  const absl::Time now = absl::Now();  // a cache's age, not a decision
  {
    std::lock_guard<std::mutex> lock(limited_.mu);
    if (now - limited_.loaded < kLimitedWorkspacesRefresh) {
      return limited_.workspaces.count(workspace_id) > 0;
    }
  }
  std::set<std::string> workspaces;
  for (const auto& row : tx.exec_prepared("limited_queue_workspaces")) {
    workspaces.insert(row[0].c_str());
  }
  std::lock_guard<std::mutex> lock(limited_.mu);
  limited_.workspaces = std::move(workspaces);
  limited_.loaded = now;
  return limited_.workspaces.count(workspace_id) > 0;
}

void PgJobStore::AcquireLimitedIn(pqxx::transaction_base& tx, const AcquireQuery& query,
                                  std::vector<Job>& jobs) {
  std::vector<std::string> locked;
  for (const auto& row :
       tx.exec_prepared("lock_limited_queues", query.workspace_id, TextArray(query.types))) {
    locked.push_back(row[0].c_str());
  }
  if (locked.empty()) return;
  AcquireQuery limited = query;
  limited.types = std::move(locked);
  limited.limit = query.limit - static_cast<int32_t>(jobs.size());
  for (Job& job : LeaseJobs(tx, limited, /*limited_queues=*/true)) jobs.push_back(std::move(job));
}

}  // namespace jobd::db
