// Translation between the ScheduleService / TemplateService protos and the domain types.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/model/schedule.h"
#include "jobd/v1/schedule_service.pb.h"
#include "jobd/v1/template_service.pb.h"

namespace jobd::api {

// The request's fields; output-only fields are ignored. Errors name the field under
// "schedule." ("schedule.spec.cron[0]: …" comes from the core as "spec.cron[0]: …").
absl::StatusOr<Schedule> FromProto(const v1::Schedule& schedule);
void ToProto(const Schedule& schedule, const std::vector<absl::Time>& next_run_times,
             v1::Schedule* out);

absl::StatusOr<JobTemplate> FromProto(const v1::JobTemplate& job_template);
void ToProto(const JobTemplate& job_template, v1::JobTemplate* out);

// A job preset as the CreateJobRequest it stands for, and back (`field` names it in errors;
// workspace_id, idempotency_key and run_after must be empty, template only when allowed).
absl::StatusOr<JobPreset> PresetFromProto(const v1::CreateJobRequest& request,
                                          const std::string& field, bool allow_template);
void ToProto(const JobPreset& preset, v1::CreateJobRequest* out);

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask);

}  // namespace jobd::api
