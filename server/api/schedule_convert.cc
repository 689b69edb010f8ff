#include "server/api/schedule_convert.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/core/job_presets.h"
#include "server/core/validation.h"

namespace jobd::api {
namespace {

// Times and durations at the precision they are stored with, so a schedule reads back as made.
absl::Duration Micros(absl::Duration d) { return absl::Trunc(d, absl::Microseconds(1)); }
absl::Time Micros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

std::optional<OverlapPolicy> FromProto(v1::OverlapPolicy policy) {
  switch (policy) {
    case v1::OVERLAP_POLICY_UNSPECIFIED:
    case v1::OVERLAP_POLICY_SKIP:
      return OverlapPolicy::kSkip;
    case v1::OVERLAP_POLICY_BUFFER_ONE:
      return OverlapPolicy::kBufferOne;
    case v1::OVERLAP_POLICY_ALLOW_ALL:
      return OverlapPolicy::kAllowAll;
    case v1::OVERLAP_POLICY_CANCEL_OTHER:
      return OverlapPolicy::kCancelOther;
    default:
      return std::nullopt;
  }
}

v1::OverlapPolicy ToProto(OverlapPolicy policy) {
  switch (policy) {
    case OverlapPolicy::kSkip:
      return v1::OVERLAP_POLICY_SKIP;
    case OverlapPolicy::kBufferOne:
      return v1::OVERLAP_POLICY_BUFFER_ONE;
    case OverlapPolicy::kAllowAll:
      return v1::OVERLAP_POLICY_ALLOW_ALL;
    case OverlapPolicy::kCancelOther:
      return v1::OVERLAP_POLICY_CANCEL_OTHER;
  }
  return v1::OVERLAP_POLICY_SKIP;
}

absl::StatusOr<ScheduleSpec> FromProto(const v1::ScheduleSpec& p) {
  ScheduleSpec spec;
  spec.cron.assign(p.cron().begin(), p.cron().end());
  for (int i = 0; i < p.intervals_size(); ++i) {
    const std::string field = absl::StrCat("spec.intervals[", i, "]");
    IntervalSpec interval;
    absl::StatusOr<absl::Duration> every =
        ReadDuration(p.intervals(i).every(), absl::StrCat(field, ".every").c_str());
    if (!every.ok()) return every.status();
    absl::StatusOr<absl::Duration> offset =
        ReadDuration(p.intervals(i).offset(), absl::StrCat(field, ".offset").c_str());
    if (!offset.ok()) return offset.status();
    spec.intervals.push_back({Micros(*every), Micros(*offset)});
  }
  spec.time_zone = p.time_zone();
  if (p.has_start_time()) {
    absl::StatusOr<absl::Time> t = ReadTime(p.start_time(), "spec.start_time");
    if (!t.ok()) return t.status();
    spec.start_time = Micros(*t);
  }
  if (p.has_end_time()) {
    absl::StatusOr<absl::Time> t = ReadTime(p.end_time(), "spec.end_time");
    if (!t.ok()) return t.status();
    spec.end_time = Micros(*t);
  }
  if (p.has_jitter()) {
    absl::StatusOr<absl::Duration> jitter = ReadDuration(p.jitter(), "spec.jitter");
    if (!jitter.ok()) return jitter.status();
    spec.jitter = Micros(*jitter);
  }
  return spec;
}

void ToProto(const ScheduleSpec& spec, v1::ScheduleSpec* out) {
  for (const std::string& cron : spec.cron) out->add_cron(cron);
  for (const IntervalSpec& i : spec.intervals) {
    v1::ScheduleInterval* interval = out->add_intervals();
    SetDuration(i.every, interval->mutable_every());
    if (i.offset != absl::ZeroDuration()) SetDuration(i.offset, interval->mutable_offset());
  }
  out->set_time_zone(spec.time_zone);
  if (spec.start_time) SetTime(*spec.start_time, out->mutable_start_time());
  if (spec.end_time) SetTime(*spec.end_time, out->mutable_end_time());
  if (spec.jitter != absl::ZeroDuration()) SetDuration(spec.jitter, out->mutable_jitter());
}

}  // namespace

absl::StatusOr<JobPreset> PresetFromProto(const v1::CreateJobRequest& request,
                                          const std::string& field, bool allow_template) {
  absl::StatusOr<core::CreateJobCommand> command = FromProto(request);
  if (!command.ok()) return core::ForItem(command.status(), field);
  if (absl::Status s = core::CheckPresetRequest(*command, field, allow_template); !s.ok()) {
    return s;
  }
  return core::PresetFromCommand(*command);
}

void ToProto(const JobPreset& p, v1::CreateJobRequest* out) {
  out->set_template_(p.template_name);
  out->set_type(p.type);
  JsonToStruct(p.payload_json, out->mutable_payload());
  out->set_priority(p.priority);
  if (p.max_attempts != 0 || p.initial_backoff || p.max_backoff || p.backoff_multiplier != 0) {
    v1::RetryPolicy* r = out->mutable_retry_policy();
    r->set_max_attempts(p.max_attempts);
    if (p.initial_backoff) SetDuration(*p.initial_backoff, r->mutable_initial_backoff());
    if (p.max_backoff) SetDuration(*p.max_backoff, r->mutable_max_backoff());
    r->set_multiplier(p.backoff_multiplier);
  }
  if (p.timeout) SetDuration(*p.timeout, out->mutable_timeout());
  if (p.ttl) SetDuration(*p.ttl, out->mutable_ttl());
  out->mutable_labels()->insert(p.labels.begin(), p.labels.end());
}

absl::StatusOr<Schedule> FromProto(const v1::Schedule& p) {
  Schedule s;
  s.id = p.id();
  s.workspace_id = p.workspace_id();
  s.name = p.name();
  absl::StatusOr<ScheduleSpec> spec = FromProto(p.spec());
  if (!spec.ok()) return spec.status();
  s.spec = std::move(*spec);
  absl::StatusOr<JobPreset> job = PresetFromProto(p.job(), "job", /*allow_template=*/true);
  if (!job.ok()) return job.status();
  s.job = std::move(*job);
  std::optional<OverlapPolicy> policy = FromProto(p.overlap_policy());
  if (!policy) return absl::InvalidArgumentError("overlap_policy: unknown value");
  s.overlap_policy = *policy;
  if (p.has_catchup_window()) {
    absl::StatusOr<absl::Duration> window = ReadDuration(p.catchup_window(), "catchup_window");
    if (!window.ok()) return window.status();
    s.catchup_window = Micros(*window);
  }
  s.paused = p.paused();
  s.pause_note = p.pause_note();
  return s;
}

void ToProto(const Schedule& s, const std::vector<absl::Time>& next_run_times, v1::Schedule* out) {
  out->set_id(s.id);
  out->set_workspace_id(s.workspace_id);
  out->set_name(s.name);
  ToProto(s.spec, out->mutable_spec());
  ToProto(s.job, out->mutable_job());
  out->set_overlap_policy(ToProto(s.overlap_policy));
  SetDuration(s.catchup_window, out->mutable_catchup_window());
  out->set_paused(s.paused);
  out->set_pause_note(s.pause_note);
  for (absl::Time t : next_run_times) SetTime(t, out->add_next_run_times());
  if (s.last_run_time) SetTime(*s.last_run_time, out->mutable_last_run_time());
  out->set_last_job_id(s.last_job_id);
  out->set_runs_fired(s.runs_fired);
  out->set_runs_skipped(s.runs_skipped);
  out->set_last_skip_reason(s.last_skip_reason);
  if (s.buffered_run_time) SetTime(*s.buffered_run_time, out->mutable_buffered_run_time());
  out->set_created_by(s.created_by);
  SetTime(s.create_time, out->mutable_create_time());
  SetTime(s.update_time, out->mutable_update_time());
}

absl::StatusOr<JobTemplate> FromProto(const v1::JobTemplate& p) {
  JobTemplate t;
  t.id = p.id();
  t.workspace_id = p.workspace_id();
  t.name = p.name();
  t.description = p.description();
  absl::StatusOr<JobPreset> defaults =
      PresetFromProto(p.defaults(), "defaults", /*allow_template=*/false);
  if (!defaults.ok()) return defaults.status();
  t.defaults = std::move(*defaults);
  if (p.has_payload_schema()) {
    absl::StatusOr<std::string> schema = StructToJson(p.payload_schema(), "payload_schema");
    if (!schema.ok()) return schema.status();
    t.payload_schema_json = std::move(*schema);
  }
  return t;
}

void ToProto(const JobTemplate& t, v1::JobTemplate* out) {
  out->set_id(t.id);
  out->set_workspace_id(t.workspace_id);
  out->set_name(t.name);
  out->set_description(t.description);
  ToProto(t.defaults, out->mutable_defaults());
  if (!t.payload_schema_json.empty())
    JsonToStruct(t.payload_schema_json, out->mutable_payload_schema());
  SetTime(t.create_time, out->mutable_create_time());
  SetTime(t.update_time, out->mutable_update_time());
}

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

}  // namespace jobd::api
