// Conversions between the rows of schedules and job_templates and their domain types.
// Private to db/.
#pragma once

#include <string>

#include <pqxx/result>
#include <pqxx/row>

#include "db/model/schedule.h"

namespace jobd::db {

// The jsonb documents: spec and job of a schedule, body of a template.
std::string SpecToJson(const ScheduleSpec& spec);
std::string JobPresetToJson(const JobPreset& job);
std::string TemplateBodyToJson(const JobTemplate& job_template);

std::string OverlapPolicyText(OverlapPolicy policy);
Schedule ReadSchedule(const pqxx::row& row);
JobTemplate ReadTemplate(const pqxx::row& row);

}  // namespace jobd::db
