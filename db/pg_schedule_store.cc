#include "db/pg_schedule_store.h"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "db/pg_rows.h"
#include "db/schedule_rows.h"

namespace jobd::db {
namespace {

absl::Status NotFound(const char* what, const std::string& id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

// A name already taken is reported with the name (the unique violation's text names none).
template <typename T>
absl::StatusOr<T> NameTaken(absl::StatusOr<T> result, const char* what, const std::string& name) {
  if (absl::IsAlreadyExists(result.status())) {
    return absl::AlreadyExistsError(absl::StrCat(what, " \"", name, "\" already exists"));
  }
  return result;
}

}  // namespace

absl::StatusOr<Schedule> PgScheduleStore::InsertSchedule(const Schedule& s) {
  auto result = pool_.Run<Schedule>([&](pqxx::connection& conn) -> absl::StatusOr<Schedule> {
    pqxx::work tx(conn);
    const ScheduleParams p(s);
    pqxx::result r =
        tx.exec_prepared("insert_schedule", s.id, s.workspace_id, s.name, p.spec, p.job, p.overlap,
                         absl::ToInt64Microseconds(s.catchup_window), s.paused, s.pause_note,
                         NullIfEmpty(p.next_run), NullIfEmpty(p.next_fire), NullIfEmpty(p.buffered),
                         NullIfEmpty(p.last_run), NullIfEmpty(s.last_job_id), s.runs_fired,
                         s.runs_skipped, s.last_skip_reason, s.created_by);
    tx.commit();
    return ReadSchedule(r.at(0));
  });
  return NameTaken(std::move(result), "schedule", s.name);
}

absl::StatusOr<Schedule> PgScheduleStore::GetSchedule(const std::string& id) {
  return pool_.Run<Schedule>([&](pqxx::connection& conn) -> absl::StatusOr<Schedule> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("select_schedule", id);
    if (r.empty()) return NotFound("schedule", id);
    return ReadSchedule(r.at(0));
  });
}

absl::StatusOr<std::vector<Schedule>> PgScheduleStore::ListSchedules(
    const std::string& workspace_id, const std::string& after_name, int limit) {
  using Out = std::vector<Schedule>;
  return pool_.Run<Out>([&](pqxx::connection& conn) -> absl::StatusOr<Out> {
    pqxx::nontransaction tx(conn);
    Out out;
    for (const pqxx::row& row :
         tx.exec_prepared("list_schedules", workspace_id, after_name, limit)) {
      out.push_back(ReadSchedule(row));
    }
    return out;
  });
}

absl::StatusOr<Schedule> PgScheduleStore::UpdateSchedule(const std::string& id,
                                                         const ScheduleChange& change) {
  std::string name;
  auto result = pool_.Run<Schedule>([&](pqxx::connection& conn) -> absl::StatusOr<Schedule> {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("select_schedule_for_update", id);
    if (r.empty()) return NotFound("schedule", id);
    Schedule s = ReadSchedule(r.at(0));
    if (absl::Status st = change(s, ParseTimestamp(r.at(0)["db_now"].c_str())); !st.ok()) {
      return st;
    }
    name = s.name;
    r = WriteSchedule(tx, s);
    tx.commit();
    return ReadSchedule(r.at(0));
  });
  return NameTaken(std::move(result), "schedule", name);
}

absl::Status PgScheduleStore::DeleteSchedule(const std::string& id) {
  return pool_.Run([&](pqxx::connection& conn) -> absl::Status {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_schedule", id);
    if (r.affected_rows() == 0) return NotFound("schedule", id);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<DueSchedules> PgScheduleStore::SchedulesDueNow(int limit) {
  using Out = DueSchedules;
  return pool_.Run<Out>([&](pqxx::connection& conn) -> absl::StatusOr<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("due_schedules", limit);
    Out out;
    if (r.empty()) {
      out.now = absl::FromUnixMicros(tx.exec_prepared("ping").at(0)[0].as<int64_t>());
      return out;
    }
    out.now = ParseTimestamp(r.at(0)["db_now"].c_str());
    for (const pqxx::row& row : r) out.schedules.push_back(ReadSchedule(row));
    return out;
  });
}

absl::StatusOr<std::optional<absl::Duration>> PgScheduleStore::TimeToNextFire() {
  using Out = std::optional<absl::Duration>;
  return pool_.Run<Out>([&](pqxx::connection& conn) -> absl::StatusOr<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("time_to_next_fire");
    if (r.empty() || r.at(0)[0].is_null()) return Out();
    return Out(std::max(absl::ZeroDuration(), absl::Microseconds(r.at(0)[0].as<int64_t>())));
  });
}

absl::StatusOr<JobTemplate> PgScheduleStore::InsertTemplate(const JobTemplate& t) {
  auto result = pool_.Run<JobTemplate>([&](pqxx::connection& conn) -> absl::StatusOr<JobTemplate> {
    pqxx::work tx(conn);
    pqxx::result r =
        tx.exec_prepared("insert_template", t.id, t.workspace_id, t.name, TemplateBodyToJson(t));
    tx.commit();
    return ReadTemplate(r.at(0));
  });
  return NameTaken(std::move(result), "template", t.name);
}

absl::StatusOr<JobTemplate> PgScheduleStore::GetTemplate(const std::string& id) {
  return pool_.Run<JobTemplate>([&](pqxx::connection& conn) -> absl::StatusOr<JobTemplate> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("select_template", id);
    if (r.empty()) return NotFound("template", id);
    return ReadTemplate(r.at(0));
  });
}

absl::StatusOr<JobTemplate> PgScheduleStore::FindTemplate(const std::string& workspace_id,
                                                          const std::string& name) {
  return pool_.Run<JobTemplate>([&](pqxx::connection& conn) -> absl::StatusOr<JobTemplate> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("find_template", workspace_id, name);
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("template \"", name, "\" not found"));
    }
    return ReadTemplate(r.at(0));
  });
}

absl::StatusOr<std::vector<JobTemplate>> PgScheduleStore::ListTemplates(
    const std::string& workspace_id, const std::string& after, int limit) {
  // `after` is "name" or "name\nworkspace": templates sort by (name, workspace).
  const size_t cut = after.find('\n');
  const std::string after_name = after.substr(0, cut);
  const std::string after_workspace = cut == std::string::npos ? "" : after.substr(cut + 1);
  using Out = std::vector<JobTemplate>;
  return pool_.Run<Out>([&](pqxx::connection& conn) -> absl::StatusOr<Out> {
    pqxx::nontransaction tx(conn);
    Out out;
    for (const pqxx::row& row :
         tx.exec_prepared("list_templates", workspace_id, after_name, after_workspace, limit)) {
      out.push_back(ReadTemplate(row));
    }
    return out;
  });
}

absl::StatusOr<JobTemplate> PgScheduleStore::UpdateTemplate(const std::string& id,
                                                            const TemplateChange& change) {
  std::string name;
  auto result = pool_.Run<JobTemplate>([&](pqxx::connection& conn) -> absl::StatusOr<JobTemplate> {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("select_template_for_update", id);
    if (r.empty()) return NotFound("template", id);
    JobTemplate t = ReadTemplate(r.at(0));
    if (absl::Status st = change(t, ParseTimestamp(r.at(0)["db_now"].c_str())); !st.ok()) {
      return st;
    }
    name = t.name;
    r = tx.exec_prepared("update_template", id, t.name, TemplateBodyToJson(t));
    tx.commit();
    return ReadTemplate(r.at(0));
  });
  return NameTaken(std::move(result), "template", name);
}

absl::Status PgScheduleStore::DeleteTemplate(const std::string& id) {
  return pool_.Run([&](pqxx::connection& conn) -> absl::Status {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_template", id);
    if (r.affected_rows() == 0) return NotFound("template", id);
    tx.commit();
    return absl::OkStatus();
  });
}

}  // namespace jobd::db
