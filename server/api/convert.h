// Translation between jobd.v1 protos and the core's domain types.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/job.h"
#include "jobd/v1/job.pb.h"
#include "jobd/v1/job_service.pb.h"
#include "jobd/v1/worker_service.pb.h"
#include "server/core/commands.h"
#include "server/core/worker_manager.h"

namespace jobd::api {

// Timestamps at microsecond precision, as stored; INVALID_ARGUMENT naming `field` when out
// of the Timestamp range.
void SetTime(absl::Time time, google::protobuf::Timestamp* out);
absl::StatusOr<absl::Time> ReadTime(const google::protobuf::Timestamp& t, const char* field);
void SetDuration(absl::Duration d, google::protobuf::Duration* out);
absl::StatusOr<absl::Duration> ReadDuration(const google::protobuf::Duration& d, const char* field);
// False when `json` is not an object protobuf can hold (never for JSON the core made).
bool JsonToStruct(const std::string& json, google::protobuf::Struct* out);

// Fills `out` from a job; computed fields (duration, estimated_finish_time) use `now`.
void ToProto(const Job& job, absl::Time now, bool include_payload, v1::Job* out);

// INVALID_ARGUMENT naming the field when a value cannot be represented (e.g. a payload with a
// number JSON cannot hold, or an out-of-range duration).
absl::StatusOr<core::CreateJobCommand> FromProto(const v1::CreateJobRequest& request);
absl::StatusOr<core::ListJobsCommand> FromProto(const v1::ListJobsRequest& request);

// Per-state totals (every state, zeros included, in enum order), per-(type, state) counts,
// and the oldest QUEUED job's age at `now`.
void ToProto(const JobStats& stats, absl::Time now, v1::GetJobStatsResponse* out);

// A leased job: the job (with payload), its lease token and expiry.
void ToProto(const Job& job, absl::Time now, v1::LeasedJob* out);
void ToProto(const core::ProgressResult& result, v1::ReportProgressResponse* out);
absl::StatusOr<core::AcquireCommand> FromProto(const v1::AcquireJobsRequest& request);
absl::StatusOr<core::ProgressReport> FromProto(const v1::ReportProgressRequest& request);
// A Struct as JSON text; INVALID_ARGUMENT naming `field` when it cannot be encoded.
absl::StatusOr<std::string> StructToJson(const google::protobuf::Struct& value, const char* field);

// An event as the API shows it: the job's fields after the event (the event's own columns
// over `job`, the job now), payload left out.
void ToProto(const JobEvent& event, const Job& job, absl::Time now, v1::JobEvent* out);

v1::JobState ToProto(JobState state);
absl::StatusOr<JobState> FromProto(v1::JobState state, const char* field);

}  // namespace jobd::api
