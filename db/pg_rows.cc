#include "db/pg_rows.h"

#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace jobd::db {
namespace {

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return ParseTimestamp(field.c_str());
}

std::string Text(const pqxx::field& field) { return field.is_null() ? "" : field.c_str(); }

JobState ReadState(const pqxx::field& field) {
  auto state = StateFromName(field.c_str());
  if (!state) throw std::runtime_error(absl::StrCat("unknown job state ", field.c_str()));
  return *state;
}

}  // namespace

std::string FormatTimestamp(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", time, absl::UTCTimeZone());
}

absl::Time ParseTimestamp(const char* text) {
  // A UTC session prints "+00"; absl wants "+00:00".
  std::string value(text);
  if (value.size() >= 3 && (value[value.size() - 3] == '+' || value[value.size() - 3] == '-')) {
    value += ":00";
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S%Ez", value, &time, &error)) {
    throw std::runtime_error(absl::StrCat("unreadable timestamp '", text, "': ", error));
  }
  return time;
}

std::string LabelsToJson(const std::map<std::string, std::string>& labels) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : labels) object[key] = value;
  return object.dump();
}

std::string StatesToArray(const std::vector<JobState>& states) {
  return absl::StrCat(
      "{",
      absl::StrJoin(states, ",",
                    [](std::string* out, JobState state) { out->append(StateName(state)); }),
      "}");
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    out += "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += "\\";
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

JobColumns::JobColumns(const pqxx::result& r)
    : id_(r.column_number("id")),
      workspace_id_(r.column_number("workspace_id")),
      type_(r.column_number("type")),
      state_(r.column_number("state")),
      priority_(r.column_number("priority")),
      payload_(r.column_number("payload")),
      result_(r.column_number("result")),
      error_message_(r.column_number("error_message")),
      requested_by_(r.column_number("requested_by")),
      attempt_(r.column_number("attempt")),
      last_attempt_(r.column_number("last_attempt")),
      max_attempts_(r.column_number("max_attempts")),
      initial_backoff_us_(r.column_number("initial_backoff_us")),
      max_backoff_us_(r.column_number("max_backoff_us")),
      backoff_multiplier_(r.column_number("backoff_multiplier")),
      timeout_us_(r.column_number("timeout_us")),
      ttl_us_(r.column_number("ttl_us")),
      labels_(r.column_number("labels")),
      idempotency_key_(r.column_number("idempotency_key")),
      request_fingerprint_(r.column_number("request_fingerprint")),
      progress_percent_(r.column_number("progress_percent")),
      progress_message_(r.column_number("progress_message")),
      worker_id_(r.column_number("worker_id")),
      lease_token_(r.column_number("lease_token")),
      lease_expire_time_(r.column_number("lease_expire_time")),
      lease_duration_us_(r.column_number("lease_duration_us")),
      attempt_deadline_(r.column_number("attempt_deadline")),
      create_time_(r.column_number("create_time")),
      update_time_(r.column_number("update_time")),
      start_time_(r.column_number("start_time")),
      finish_time_(r.column_number("finish_time")),
      run_after_(r.column_number("run_after")),
      expire_time_(r.column_number("expire_time")),
      sequence_(r.column_number("sequence")) {
  for (pqxx::row::size_type i = 0; i < r.columns(); ++i) {
    const absl::string_view name = r.column_name(i);
    if (name == "attempt_progress_events") attempt_progress_events_ = static_cast<int>(i);
    if (name == "message_count") message_count_ = static_cast<int>(i);
    if (name == "checkpoint") checkpoint_ = static_cast<int>(i);
    if (name == "fold_sequence") fold_sequence_ = static_cast<int>(i);
    if (name == "fold_count") fold_count_ = static_cast<int>(i);
  }
}

Job JobColumns::Read(const pqxx::row& row) const {
  Job job;
  job.id = row[id_].c_str();
  job.workspace_id = row[workspace_id_].c_str();
  job.type = row[type_].c_str();
  job.state = ReadState(row[state_]);
  job.priority = row[priority_].as<int32_t>();
  job.payload_json = row[payload_].is_null() ? "" : row[payload_].c_str();
  if (!row[result_].is_null()) job.result_json = row[result_].c_str();
  job.error_message = row[error_message_].c_str();
  job.requested_by = row[requested_by_].c_str();
  job.attempt = row[attempt_].as<int32_t>();
  job.last_attempt = row[last_attempt_].as<int32_t>();
  job.retry_policy.max_attempts = row[max_attempts_].as<int32_t>();
  job.retry_policy.initial_backoff = absl::Microseconds(row[initial_backoff_us_].as<int64_t>());
  job.retry_policy.max_backoff = absl::Microseconds(row[max_backoff_us_].as<int64_t>());
  job.retry_policy.multiplier = row[backoff_multiplier_].as<double>();
  if (!row[timeout_us_].is_null()) job.timeout = absl::Microseconds(row[timeout_us_].as<int64_t>());
  job.ttl = absl::Microseconds(row[ttl_us_].as<int64_t>());
  const nlohmann::json labels = nlohmann::json::parse(row[labels_].c_str());
  for (const auto& [key, value] : labels.items()) {
    job.labels[key] = value.get<std::string>();
  }
  job.idempotency_key = Text(row[idempotency_key_]);
  job.request_fingerprint = Text(row[request_fingerprint_]);
  job.progress_percent = row[progress_percent_].as<float>();
  job.progress_message = row[progress_message_].c_str();
  job.worker_id = row[worker_id_].c_str();
  job.lease_token = Text(row[lease_token_]);
  job.lease_expire_time = OptionalTime(row[lease_expire_time_]);
  if (!row[lease_duration_us_].is_null()) {
    job.lease_duration = absl::Microseconds(row[lease_duration_us_].as<int64_t>());
  }
  job.attempt_deadline = OptionalTime(row[attempt_deadline_]);
  job.create_time = ParseTimestamp(row[create_time_].c_str());
  job.update_time = ParseTimestamp(row[update_time_].c_str());
  job.start_time = OptionalTime(row[start_time_]);
  job.finish_time = OptionalTime(row[finish_time_]);
  job.run_after = ParseTimestamp(row[run_after_].c_str());
  job.expire_time = OptionalTime(row[expire_time_]);
  job.sequence = row[sequence_].as<int64_t>();
  if (attempt_progress_events_ >= 0) {
    job.attempt_progress_events = row[attempt_progress_events_].as<int32_t>();
  }
  if (message_count_ >= 0) job.message_count = row[message_count_].as<int32_t>();
  if (fold_sequence_ >= 0) job.fold_sequence = row[fold_sequence_].as<int64_t>();
  if (fold_count_ >= 0) job.fold_count = row[fold_count_].as<int32_t>();
  if (checkpoint_ >= 0 && !row[checkpoint_].is_null()) {
    job.checkpoint_json = row[checkpoint_].c_str();
  }
  return job;
}

std::vector<Job> ReadJobs(const pqxx::result& result) {
  std::vector<Job> jobs;
  if (result.empty()) return jobs;
  JobColumns columns(result);
  jobs.reserve(result.size());
  for (const auto& row : result) jobs.push_back(columns.Read(row));
  return jobs;
}

JobEvent ReadEvent(const pqxx::row& row) {
  JobEvent event;
  event.job_id = row["job_id"].c_str();
  event.sequence = row["sequence"].as<int64_t>();
  event.time = ParseTimestamp(row["time"].c_str());
  auto kind = EventKindFromName(row["kind"].c_str());
  if (!kind) throw std::runtime_error(absl::StrCat("unknown event kind ", row["kind"].c_str()));
  event.kind = *kind;
  event.state = ReadState(row["state"]);
  event.attempt = row["attempt"].as<int32_t>();
  event.progress_percent = row["progress_percent"].as<float>();
  event.progress_message = row["progress_message"].c_str();
  event.error_message = row["error_message"].c_str();
  event.worker_id = row["worker_id"].c_str();
  event.folded = row["folded"].as<int32_t>();
  if (!row["message_level"].is_null()) {
    auto level = MessageLevelFromName(row["message_level"].c_str());
    event.message = JobMessage{level.value_or(MessageLevel::kInfo), Text(row["message_text"])};
  }
  return event;
}

}  // namespace jobd::db
