#include "db/schedule_rows.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "db/pg_rows.h"

namespace jobd::db {
namespace {

using nlohmann::json;

// Durations and times are kept as integer microseconds (times: since the Unix epoch).
json Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }
json Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Duration DurationAt(const json& doc, const char* key) {
  return absl::Microseconds(doc.at(key).get<int64_t>());
}
std::optional<absl::Duration> OptionalDuration(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  return absl::Microseconds(it->get<int64_t>());
}
std::optional<absl::Time> OptionalTime(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  return absl::FromUnixMicros(it->get<int64_t>());
}
template <typename T>
void PutOptional(json& doc, const char* key, const std::optional<T>& value) {
  if (value) doc[key] = Micros(*value);
}

void PutPreset(json& doc, const JobPreset& p) {
  doc["type"] = p.type;
  doc["payload"] = json::parse(p.payload_json);
  doc["max_attempts"] = p.max_attempts;
  PutOptional(doc, "initial_backoff_us", p.initial_backoff);
  PutOptional(doc, "max_backoff_us", p.max_backoff);
  doc["backoff_multiplier"] = p.backoff_multiplier;
  PutOptional(doc, "timeout_us", p.timeout);
  PutOptional(doc, "ttl_us", p.ttl);
  doc["labels"] = p.labels;
  doc["priority"] = p.priority;
  if (!p.template_name.empty()) doc["template"] = p.template_name;
}
void ReadPreset(const json& doc, JobPreset& p) {
  p.type = doc.value("type", "");
  p.payload_json = doc.contains("payload") ? doc.at("payload").dump() : "{}";
  p.max_attempts = doc.value("max_attempts", 0);
  p.initial_backoff = OptionalDuration(doc, "initial_backoff_us");
  p.max_backoff = OptionalDuration(doc, "max_backoff_us");
  p.backoff_multiplier = doc.value("backoff_multiplier", 0.0);
  p.timeout = OptionalDuration(doc, "timeout_us");
  p.ttl = OptionalDuration(doc, "ttl_us");
  p.labels = doc.value("labels", std::map<std::string, std::string>{});
  p.priority = doc.value("priority", 0);
  p.template_name = doc.value("template", "");
}

std::optional<absl::Time> TimeColumn(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return ParseTimestamp(field.c_str());
}

OverlapPolicy ReadOverlapPolicy(const std::string& text) {
  for (OverlapPolicy p : {OverlapPolicy::kSkip, OverlapPolicy::kBufferOne, OverlapPolicy::kAllowAll,
                          OverlapPolicy::kCancelOther}) {
    if (text == OverlapPolicyName(p)) return p;
  }
  throw std::runtime_error(absl::StrCat("unknown overlap policy ", text));
}

std::string TimeOrEmpty(const std::optional<absl::Time>& time) {
  return time ? FormatTimestamp(*time) : "";
}

}  // namespace

ScheduleParams::ScheduleParams(const Schedule& s)
    : spec(SpecToJson(s.spec)),
      job(JobPresetToJson(s.job)),
      overlap(OverlapPolicyText(s.overlap_policy)),
      next_run(TimeOrEmpty(s.next_run_time)),
      next_fire(TimeOrEmpty(s.next_fire_time)),
      buffered(TimeOrEmpty(s.buffered_run_time)),
      last_run(TimeOrEmpty(s.last_run_time)) {}

pqxx::result WriteSchedule(pqxx::transaction_base& tx, const Schedule& s) {
  const ScheduleParams p(s);
  return tx.exec_prepared(
      "update_schedule", s.id, s.name, p.spec, p.job, p.overlap,
      absl::ToInt64Microseconds(s.catchup_window), s.paused, s.pause_note, NullIfEmpty(p.next_run),
      NullIfEmpty(p.next_fire), NullIfEmpty(p.buffered), NullIfEmpty(p.last_run),
      NullIfEmpty(s.last_job_id), s.runs_fired, s.runs_skipped, s.last_skip_reason);
}

std::string SpecToJson(const ScheduleSpec& spec) {
  json doc;
  doc["cron"] = spec.cron;
  json intervals = json::array();
  for (const IntervalSpec& i : spec.intervals) {
    intervals.push_back({{"every_us", Micros(i.every)}, {"offset_us", Micros(i.offset)}});
  }
  doc["intervals"] = intervals;
  doc["time_zone"] = spec.time_zone;
  PutOptional(doc, "start_time_us", spec.start_time);
  PutOptional(doc, "end_time_us", spec.end_time);
  doc["jitter_us"] = Micros(spec.jitter);
  return doc.dump();
}

std::string JobPresetToJson(const JobPreset& job) {
  json doc;
  PutPreset(doc, job);
  return doc.dump();
}

std::string TemplateBodyToJson(const JobTemplate& t) {
  json doc;
  doc["description"] = t.description;
  PutPreset(doc, t.defaults);
  if (!t.payload_schema_json.empty()) doc["payload_schema"] = json::parse(t.payload_schema_json);
  return doc.dump();
}

std::string OverlapPolicyText(OverlapPolicy policy) { return OverlapPolicyName(policy); }

Schedule ReadSchedule(const pqxx::row& row) {
  Schedule s;
  s.id = row["id"].c_str();
  s.workspace_id = row["workspace_id"].c_str();
  s.name = row["name"].c_str();
  const json spec = json::parse(row["spec"].c_str());
  s.spec.cron = spec.value("cron", std::vector<std::string>{});
  for (const json& i : spec.value("intervals", json::array())) {
    s.spec.intervals.push_back({DurationAt(i, "every_us"), DurationAt(i, "offset_us")});
  }
  s.spec.time_zone = spec.value("time_zone", "");
  s.spec.start_time = OptionalTime(spec, "start_time_us");
  s.spec.end_time = OptionalTime(spec, "end_time_us");
  s.spec.jitter = absl::Microseconds(spec.value("jitter_us", int64_t{0}));
  const json job = json::parse(row["job"].c_str());
  ReadPreset(job, s.job);
  s.overlap_policy = ReadOverlapPolicy(row["overlap_policy"].c_str());
  s.catchup_window = absl::Microseconds(row["catchup_window_us"].as<int64_t>());
  s.paused = row["paused"].as<bool>();
  s.pause_note = row["pause_note"].c_str();
  s.next_run_time = TimeColumn(row["next_run_time"]);
  s.next_fire_time = TimeColumn(row["next_fire_time"]);
  s.buffered_run_time = TimeColumn(row["buffered_run_time"]);
  s.last_run_time = TimeColumn(row["last_run_time"]);
  if (!row["last_job_id"].is_null()) s.last_job_id = row["last_job_id"].c_str();
  s.runs_fired = row["runs_fired"].as<int64_t>();
  s.runs_skipped = row["runs_skipped"].as<int64_t>();
  s.last_skip_reason = row["last_skip_reason"].c_str();
  s.version = row["version"].as<int64_t>();
  s.created_by = row["created_by"].c_str();
  s.create_time = ParseTimestamp(row["create_time"].c_str());
  s.update_time = ParseTimestamp(row["update_time"].c_str());
  return s;
}

JobTemplate ReadTemplate(const pqxx::row& row) {
  JobTemplate t;
  t.id = row["id"].c_str();
  t.workspace_id = row["workspace_id"].c_str();
  t.name = row["name"].c_str();
  const json body = json::parse(row["body"].c_str());
  t.description = body.value("description", "");
  ReadPreset(body, t.defaults);
  if (body.contains("payload_schema")) t.payload_schema_json = body.at("payload_schema").dump();
  t.create_time = ParseTimestamp(row["create_time"].c_str());
  t.update_time = ParseTimestamp(row["update_time"].c_str());
  return t;
}

}  // namespace jobd::db
