#include "server/api/convert.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "server/core/clip.h"
#include "server/core/lifecycle.h"

namespace jobd::api {

using google::protobuf::util::TimeUtil;

void SetTime(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  out->set_seconds(micros / 1000000 - (micros % 1000000 < 0 ? 1 : 0));
  out->set_nanos(static_cast<int32_t>(((micros % 1000000) + 1000000) % 1000000 * 1000));
}

absl::StatusOr<absl::Time> ReadTime(const google::protobuf::Timestamp& t, const char* field) {
  if (t.seconds() < TimeUtil::kTimestampMinSeconds ||
      t.seconds() > TimeUtil::kTimestampMaxSeconds || t.nanos() < 0 || t.nanos() >= 1000000000) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is not a valid timestamp"));
  }
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

absl::StatusOr<absl::Duration> ReadDuration(const google::protobuf::Duration& d,
                                            const char* field) {
  if (d.seconds() < TimeUtil::kDurationMinSeconds || d.seconds() > TimeUtil::kDurationMaxSeconds ||
      d.nanos() <= -1000000000 || d.nanos() >= 1000000000 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": is not a valid duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

bool JsonToStruct(const std::string& json, google::protobuf::Struct* out) {
  return google::protobuf::util::JsonStringToMessage(json, out).ok();
}

namespace {

// Reads an optional proto field (`has`): unset leaves `out` alone.
template <typename Proto, typename Value>
absl::Status ReadIfSet(bool has, const Proto& value, const char* field,
                       absl::StatusOr<Value> (*read)(const Proto&, const char*),
                       std::optional<Value>* out) {
  if (!has) return absl::OkStatus();
  absl::StatusOr<Value> read_value = read(value, field);
  if (!read_value.ok()) return read_value.status();
  *out = *read_value;
  return absl::OkStatus();
}

}  // namespace

v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kScheduled:
      return v1::JOB_STATE_SCHEDULED;
    case JobState::kQueued:
      return v1::JOB_STATE_QUEUED;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kSucceeded:
      return v1::JOB_STATE_SUCCEEDED;
    case JobState::kFailed:
      return v1::JOB_STATE_FAILED;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
    case JobState::kPaused:
      return v1::JOB_STATE_PAUSED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

absl::StatusOr<JobState> FromProto(v1::JobState state, const char* field) {
  switch (state) {
    case v1::JOB_STATE_SCHEDULED:
      return JobState::kScheduled;
    case v1::JOB_STATE_QUEUED:
      return JobState::kQueued;
    case v1::JOB_STATE_RUNNING:
      return JobState::kRunning;
    case v1::JOB_STATE_SUCCEEDED:
      return JobState::kSucceeded;
    case v1::JOB_STATE_FAILED:
      return JobState::kFailed;
    case v1::JOB_STATE_CANCELLED:
      return JobState::kCancelled;
    case v1::JOB_STATE_PAUSED:
      return JobState::kPaused;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", static_cast<int>(state), " is not a job state"));
  }
}

void ToProto(const Job& job, absl::Time now, bool include_payload, v1::Job* out) {
  out->set_id(job.id);
  out->set_workspace_id(job.workspace_id);
  out->set_type(job.type);
  out->set_state(ToProto(job.state));
  out->set_progress_percent(job.progress_percent);
  out->set_progress_message(job.progress_message);
  // Stored JSON came from a Struct, so it converts back; a failure leaves the field unset.
  if (include_payload) JsonToStruct(job.payload_json, out->mutable_payload());
  if (include_payload && job.checkpoint_json) {
    JsonToStruct(*job.checkpoint_json, out->mutable_checkpoint());
  }
  if (job.result_json) JsonToStruct(*job.result_json, out->mutable_result());
  out->set_error_message(job.error_message);
  out->set_requested_by(job.requested_by);
  out->set_priority(job.priority);
  out->set_attempt(job.attempt);
  v1::RetryPolicy* policy = out->mutable_retry_policy();
  policy->set_max_attempts(job.retry_policy.max_attempts);
  SetDuration(job.retry_policy.initial_backoff, policy->mutable_initial_backoff());
  SetDuration(job.retry_policy.max_backoff, policy->mutable_max_backoff());
  policy->set_multiplier(job.retry_policy.multiplier);
  if (job.timeout) SetDuration(*job.timeout, out->mutable_timeout());
  SetDuration(job.ttl, out->mutable_ttl());
  for (const auto& [key, value] : job.labels) (*out->mutable_labels())[key] = value;
  out->set_idempotency_key(job.idempotency_key);
  out->set_worker_id(job.worker_id);
  SetTime(job.create_time, out->mutable_create_time());
  SetTime(job.update_time, out->mutable_update_time());
  if (job.start_time) SetTime(*job.start_time, out->mutable_start_time());
  if (job.finish_time) SetTime(*job.finish_time, out->mutable_finish_time());
  SetTime(job.run_after, out->mutable_run_after());
  if (job.expire_time) SetTime(*job.expire_time, out->mutable_expire_time());
  const core::DerivedTimes derived = core::ComputeDerivedTimes(job, now);
  if (derived.duration) SetDuration(*derived.duration, out->mutable_duration());
  if (derived.estimated_finish_time) {
    SetTime(*derived.estimated_finish_time, out->mutable_estimated_finish_time());
  }
  out->set_sequence(job.sequence);
}

absl::StatusOr<core::CreateJobCommand> FromProto(const v1::CreateJobRequest& r) {
  core::CreateJobCommand c;
  c.workspace_id = r.workspace_id();
  c.type = r.type();
  if (r.has_payload()) {
    absl::StatusOr<std::string> payload = StructToJson(r.payload(), "payload");
    if (!payload.ok()) return payload.status();
    c.payload_json = std::move(*payload);
  }
  c.priority = r.priority();
  if (r.has_retry_policy()) {
    const v1::RetryPolicy& p = r.retry_policy();
    c.retry_policy.max_attempts = p.max_attempts();
    if (auto st =
            ReadIfSet(p.has_initial_backoff(), p.initial_backoff(), "retry_policy.initial_backoff",
                      ReadDuration, &c.retry_policy.initial_backoff);
        !st.ok()) {
      return st;
    }
    if (auto st = ReadIfSet(p.has_max_backoff(), p.max_backoff(), "retry_policy.max_backoff",
                            ReadDuration, &c.retry_policy.max_backoff);
        !st.ok()) {
      return st;
    }
    c.retry_policy.multiplier = p.multiplier();
    if (c.retry_policy.multiplier < 0) {
      return absl::InvalidArgumentError("retry_policy.multiplier: must be between 1.0 and 10.0");
    }
  }
  for (absl::Status st :
       {ReadIfSet(r.has_timeout(), r.timeout(), "timeout", ReadDuration, &c.timeout),
        ReadIfSet(r.has_ttl(), r.ttl(), "ttl", ReadDuration, &c.ttl),
        ReadIfSet(r.has_run_after(), r.run_after(), "run_after", ReadTime, &c.run_after)}) {
    if (!st.ok()) return st;
  }
  c.labels.insert(r.labels().begin(), r.labels().end());
  c.idempotency_key = r.idempotency_key();
  c.template_name = r.template_();
  return c;
}

absl::StatusOr<core::ListJobsCommand> FromProto(const v1::ListJobsRequest& r) {
  core::ListJobsCommand c;
  c.workspace_id = r.workspace_id();
  for (int state : r.states()) {
    auto s = FromProto(static_cast<v1::JobState>(state), "states");
    if (!s.ok()) return s.status();
    c.states.push_back(*s);
  }
  c.type = r.type();
  c.labels.insert(r.labels().begin(), r.labels().end());
  c.page_size = r.page_size();
  c.page_token = r.page_token();
  switch (r.view()) {
    case v1::JOB_VIEW_UNSPECIFIED:
    case v1::JOB_VIEW_FULL:
      c.view = core::JobView::kFull;
      break;
    case v1::JOB_VIEW_BASIC:
      c.view = core::JobView::kBasic;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("view: ", static_cast<int>(r.view()), " is not a job view"));
  }
  return c;
}

void ToProto(const JobStats& stats, absl::Time now, v1::GetJobStatsResponse* out) {
  std::map<JobState, int64_t> totals;
  for (JobState state : AllJobStates()) {
    totals[state] = 0;
  }
  for (const JobStats::Count& count : stats.counts) {
    totals[count.state] += count.count;
    v1::JobTypeStateCount* out_count = out->add_type_state_counts();
    out_count->set_type(count.type);
    out_count->set_state(ToProto(count.state));
    out_count->set_count(count.count);
  }
  for (const auto& [state, count] : totals) {
    v1::JobStateCount* out_count = out->add_state_counts();
    out_count->set_state(ToProto(state));
    out_count->set_count(count);
  }
  if (stats.oldest_queued_since) {
    SetDuration(std::max(absl::ZeroDuration(), now - *stats.oldest_queued_since),
                out->mutable_oldest_queued_age());
  }
}

namespace {

// protobuf's JSON printer silently drops Values without a kind, and Values or lists that
// carry only unknown fields, and prints NaN and infinities as strings: refuse all of these
// instead of storing something other than what was sent. `path` locates the value.
absl::Status CheckJsonable(const google::protobuf::Value& value, const std::string& path,
                           int depth);

absl::Status NotJson(const std::string& path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(path, why));
}

bool HasUnknownFields(const google::protobuf::Message& message) {
  return !message.GetReflection()->GetUnknownFields(message).empty();
}

absl::Status CheckJsonable(const google::protobuf::Struct& value, const std::string& path,
                           int depth) {
  if (HasUnknownFields(value)) return NotJson(path, " has fields unknown to a Struct");
  for (const auto& [key, field] : value.fields()) {
    if (absl::Status s =
            CheckJsonable(field, absl::StrCat(path, ".", core::ClipForMessage(key, 64)), depth);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckJsonable(const google::protobuf::Value& value, const std::string& path,
                           int depth) {
  // gRPC refuses deeper messages when parsing; this only bounds our own recursion.
  if (depth > 200) return NotJson(path, " is nested too deeply");
  if (HasUnknownFields(value)) return NotJson(path, " has fields unknown to a Value");
  switch (value.kind_case()) {
    case google::protobuf::Value::KIND_NOT_SET:
      return NotJson(path, " has no kind set (null, number, string, bool, struct or list)");
    case google::protobuf::Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return NotJson(path, absl::StrCat(" is ", value.number_value(), ", not a JSON number"));
      }
      return absl::OkStatus();
    case google::protobuf::Value::kStructValue:
      return CheckJsonable(value.struct_value(), path, depth + 1);
    case google::protobuf::Value::kListValue:
      if (HasUnknownFields(value.list_value())) {
        return NotJson(path, " has fields unknown to a ListValue");
      }
      for (int i = 0; i < value.list_value().values_size(); ++i) {
        if (absl::Status s = CheckJsonable(value.list_value().values(i),
                                           absl::StrCat(path, "[", i, "]"), depth + 1);
            !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::string> StructToJson(const google::protobuf::Struct& value, const char* field) {
  // Messages read "payload: value at .a.b[2] has no kind set …".
  if (absl::Status s = CheckJsonable(value, "", 0); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": value at ", s.message().empty() || s.message()[0] != '.' ? "." : "",
                     s.message()));
  }
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(value, &json);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot be encoded as JSON: ", status.message().as_string()));
  }
  return json;
}

void ToProto(const Job& job, absl::Time now, v1::LeasedJob* out) {
  ToProto(job, now, /*include_payload=*/true, out->mutable_job());
  out->set_lease_token(job.lease_token);
  if (job.lease_expire_time) SetTime(*job.lease_expire_time, out->mutable_lease_expire_time());
}

void ToProto(const core::ProgressResult& result, v1::ReportProgressResponse* out) {
  out->set_cancelled(result.cancelled);
  out->set_paused(result.paused);
  if (result.lease_expire_time)
    SetTime(*result.lease_expire_time, out->mutable_lease_expire_time());
}

absl::StatusOr<core::AcquireCommand> FromProto(const v1::AcquireJobsRequest& r) {
  core::AcquireCommand c;
  c.workspace_id = r.workspace_id();
  c.types.assign(r.types().begin(), r.types().end());
  c.worker_id = r.worker_id();
  c.max_jobs = r.max_jobs();
  std::optional<absl::Duration> wait;
  for (absl::Status st : {ReadIfSet(r.has_wait(), r.wait(), "wait", ReadDuration, &wait),
                          ReadIfSet(r.has_lease_duration(), r.lease_duration(), "lease_duration",
                                    ReadDuration, &c.lease_duration)}) {
    if (!st.ok()) return st;
  }
  c.wait = wait.value_or(absl::ZeroDuration());
  return c;
}

absl::StatusOr<core::ProgressReport> FromProto(const v1::ReportProgressRequest& r) {
  core::ProgressReport report;
  report.percent = r.progress_percent();
  report.message = r.progress_message();
  for (int i = 0; i < r.messages_size(); ++i) {
    const v1::JobMessage& m = r.messages(i);
    JobMessage message;
    switch (m.level()) {
      case v1::MESSAGE_LEVEL_INFO:
        message.level = MessageLevel::kInfo;
        break;
      case v1::MESSAGE_LEVEL_WARNING:
        message.level = MessageLevel::kWarning;
        break;
      case v1::MESSAGE_LEVEL_ERROR:
        message.level = MessageLevel::kError;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("messages[", i, "].level: must be INFO, WARNING or ERROR"));
    }
    message.text = m.text();
    report.messages.push_back(std::move(message));
  }
  if (r.has_checkpoint()) {
    absl::StatusOr<std::string> checkpoint = StructToJson(r.checkpoint(), "checkpoint");
    if (!checkpoint.ok()) return checkpoint.status();
    report.checkpoint_json = std::move(*checkpoint);
  }
  return report;
}

void ToProto(const JobEvent& event, const Job& job, absl::Time now, v1::JobEvent* out) {
  out->set_job_id(event.job_id);
  out->set_sequence(event.sequence);
  out->set_folded_progress_events(event.folded);
  SetTime(event.time, out->mutable_time());
  switch (event.kind) {
    case EventKind::kSnapshot:
      out->set_kind(v1::JOB_EVENT_KIND_SNAPSHOT);
      break;
    case EventKind::kCreated:
      out->set_kind(v1::JOB_EVENT_KIND_CREATED);
      break;
    case EventKind::kStateChanged:
      out->set_kind(v1::JOB_EVENT_KIND_STATE_CHANGED);
      break;
    case EventKind::kProgress:
      out->set_kind(v1::JOB_EVENT_KIND_PROGRESS);
      break;
    case EventKind::kMessage:
      out->set_kind(v1::JOB_EVENT_KIND_MESSAGE);
      break;
  }
  Job at_event = job;
  at_event.state = event.state;
  at_event.attempt = event.attempt;
  at_event.progress_percent = event.progress_percent;
  at_event.progress_message = event.progress_message;
  at_event.error_message = event.error_message;
  at_event.worker_id = event.worker_id;
  at_event.update_time = event.time;
  at_event.sequence = event.sequence;
  // A result is set by the terminal write; an earlier event did not have it yet (messages of
  // that write come after its terminal event and keep it).
  if (event.sequence < job.sequence && !IsTerminal(event.state)) at_event.result_json.reset();
  ToProto(at_event, now, /*include_payload=*/false, out->mutable_job());
  if (event.message) {
    v1::JobMessage* message = out->mutable_message();
    switch (event.message->level) {
      case MessageLevel::kInfo:
        message->set_level(v1::MESSAGE_LEVEL_INFO);
        break;
      case MessageLevel::kWarning:
        message->set_level(v1::MESSAGE_LEVEL_WARNING);
        break;
      case MessageLevel::kError:
        message->set_level(v1::MESSAGE_LEVEL_ERROR);
        break;
    }
    message->set_text(event.message->text);
  }
}

}  // namespace jobd::api
