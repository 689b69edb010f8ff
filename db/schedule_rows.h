// Conversions between the rows of schedules and job_templates and their domain types.
// Private to db/.
#pragma once

#include <string>

#include <pqxx/result>
#include <pqxx/row>
#include <pqxx/transaction_base>

#include "db/model/schedule.h"

namespace jobd::db {

// The jsonb documents: spec and job of a schedule, body of a template.
std::string SpecToJson(const ScheduleSpec& spec);
std::string JobPresetToJson(const JobPreset& job);
std::string TemplateBodyToJson(const JobTemplate& job_template);

std::string OverlapPolicyText(OverlapPolicy policy);
Schedule ReadSchedule(const pqxx::row& row);

// The text parameters of a schedule's row (insert_schedule.sql, update_schedule.sql).
struct ScheduleParams {
  explicit ScheduleParams(const Schedule& s);
  std::string spec, job, overlap, next_run, next_fire, buffered, last_run;
};
// update_schedule.sql with every mutable field of `s` (its version bumped); the row as written.
pqxx::result WriteSchedule(pqxx::transaction_base& tx, const Schedule& s);
JobTemplate ReadTemplate(const pqxx::row& row);

}  // namespace jobd::db
