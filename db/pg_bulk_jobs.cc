// PgJobStore's bulk reads and deletes: the jobs a bulk operation works through, in id
// chunks, and retention by count.
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/ascii.h"
#include "db/pg_array.h"
#include "db/pg_job_store.h"
#include "db/pg_rows.h"

namespace jobd::db {
namespace {

constexpr char kNoId[] = "00000000-0000-0000-0000-000000000000";

// A uuid[] literal of `ids` (PostgreSQL prints uuids in lower case; callers may not).
std::string IdArray(const std::vector<std::string>& ids) {
  ArrayLiteral array;
  for (const std::string& id : ids) array.Add(absl::AsciiStrToLower(id));
  return array.Close();
}

// The parameters $1..$7 of find_job_ids.sql and count_jobs.sql.
struct FilterParams {
  explicit FilterParams(const JobFilter& filter)
      : states(StatesToArray(filter.states)), labels(LabelsToJson(filter.labels)) {
    if (filter.created_before) created_before = FormatTimestamp(*filter.created_before);
    if (filter.created_after) created_after = FormatTimestamp(*filter.created_after);
    if (!filter.ids.empty()) ids = IdArray(filter.ids);
  }
  std::string states;
  std::string labels;
  std::optional<std::string> created_before, created_after, ids;
};

}  // namespace

absl::StatusOr<std::string> PgJobStore::NewestJobId() {
  return pool_.Run<std::string>([&](pqxx::connection& conn) -> absl::StatusOr<std::string> {
    pqxx::nontransaction tx(conn);
    return std::string(tx.exec_prepared1("newest_job_id")[0].c_str());
  });
}

absl::StatusOr<std::vector<std::string>> PgJobStore::FindJobIds(const JobFilter& filter,
                                                                const std::string& after_id,
                                                                const std::string& max_id,
                                                                int32_t limit) {
  const FilterParams p(filter);
  return pool_.Run<std::vector<std::string>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);
        std::vector<std::string> ids;
        for (const auto& row :
             tx.exec_prepared("find_job_ids", filter.workspace_id, p.states, filter.type, p.labels,
                              p.created_before, p.created_after, p.ids,
                              after_id.empty() ? kNoId : after_id, max_id, limit)) {
          ids.push_back(row[0].c_str());
        }
        return ids;
      });
}

absl::StatusOr<int64_t> PgJobStore::CountJobs(const JobFilter& filter, const std::string& max_id) {
  const FilterParams p(filter);
  return pool_.Run<int64_t>([&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
    pqxx::nontransaction tx(conn);
    return tx
        .exec_prepared1("count_jobs", filter.workspace_id, p.states, filter.type, p.labels,
                        p.created_before, p.created_after, p.ids, max_id)[0]
        .as<int64_t>();
  });
}

absl::StatusOr<std::vector<std::string>> PgJobStore::DeleteFinishedJobs(
    const std::string& workspace_id, const std::vector<std::string>& ids,
    const std::vector<JobState>& states) {
  const std::string id_array = IdArray(ids);
  return pool_.Run<std::vector<std::string>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);  // one statement: atomic without BEGIN/COMMIT
        std::vector<std::string> deleted;
        for (const auto& row : tx.exec_prepared("delete_finished_jobs", workspace_id, id_array,
                                                StatesToArray(states))) {
          deleted.push_back(row[0].c_str());
        }
        return deleted;
      });
}

absl::StatusOr<int> PgJobStore::TrimFinishedJobs(int64_t keep_per_workspace, int limit) {
  return pool_.Run<int>([&](pqxx::connection& conn) -> absl::StatusOr<int> {
    pqxx::work tx(conn);
    tx.exec_prepared("lock_trim");
    const int deleted =
        tx.exec_prepared1("trim_finished_jobs", keep_per_workspace, limit)[0].as<int>();
    tx.commit();
    return deleted;
  });
}

}  // namespace jobd::db
