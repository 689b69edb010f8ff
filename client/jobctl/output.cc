#include "client/jobctl/output.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/jobctl/args.h"

namespace jobd::jobctl {
namespace {

constexpr const char* kUnset = "-";

std::string FormatProgress(const v1::Job& job) {
  std::string out = absl::StrCat(job.progress_percent(), "%");
  if (!job.progress_message().empty()) absl::StrAppend(&out, " ", job.progress_message());
  return out;
}

std::string FormatAttempt(const v1::Job& job) {
  const int max = job.retry_policy().max_attempts();
  return max > 0 ? absl::StrCat(job.attempt(), " of ", max) : absl::StrCat(job.attempt());
}

}  // namespace

std::string FormatTime(const google::protobuf::Timestamp& ts, absl::Time now) {
  const absl::Time t = FromProto(ts);
  const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  return t <= now ? absl::StrCat(when, " (", FormatCompact(now - t), " ago)")
                  : absl::StrCat(when, " (in ", FormatCompact(t - now), ")");
}

std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return kUnset;
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  return absl::StrJoin(sorted, ", ", absl::PairFormatter("="));
}

std::string FormatStruct(const google::protobuf::Struct& s) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(s, &json).ok()) return "?";
  return json;
}

std::string OrUnset(const std::string& s) { return s.empty() ? kUnset : s; }

std::string FormatTable(const std::vector<Row>& rows) {
  std::vector<size_t> widths;
  for (const Row& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatCompact(absl::Duration d) {
  d = std::max(d, absl::ZeroDuration());
  if (d < absl::Minutes(1)) return absl::StrCat(absl::ToInt64Seconds(d), "s");
  if (d < absl::Hours(1)) return absl::StrCat(absl::ToInt64Minutes(d), "m");
  if (d < absl::Hours(24)) return absl::StrCat(absl::ToInt64Hours(d), "h");
  return absl::StrCat(absl::ToInt64Hours(d) / 24, "d");
}

std::string StateName(v1::JobState state) {
  return std::string(absl::StripPrefix(v1::JobState_Name(state), "JOB_STATE_"));
}

std::string FormatJob(const v1::Job& job, absl::Time now) {
  auto time = [&](bool has, const google::protobuf::Timestamp& ts) {
    return has ? FormatTime(ts, now) : kUnset;
  };
  auto duration = [](bool has, const google::protobuf::Duration& d) {
    return has ? absl::FormatDuration(FromProto(d)) : kUnset;
  };
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"id", OrUnset(job.id())},
      {"type", OrUnset(job.type())},
      {"workspace", OrUnset(job.workspace_id())},
      {"state", StateName(job.state())},
      {"attempt", FormatAttempt(job)},
      {"progress", FormatProgress(job)},
      {"priority", absl::StrCat(job.priority())},
      {"labels", FormatLabels(job.labels())},
      {"payload", job.has_payload() ? FormatStruct(job.payload()) : kUnset},
      {"result", job.has_result() ? FormatStruct(job.result()) : kUnset},
      {"error", OrUnset(job.error_message())},
      {"requested_by", OrUnset(job.requested_by())},
      {"worker", OrUnset(job.worker_id())},
      {"idempotency_key", OrUnset(job.idempotency_key())},
      {"created", time(job.has_create_time(), job.create_time())},
      {"updated", time(job.has_update_time(), job.update_time())},
      {"run_after", time(job.has_run_after(), job.run_after())},
      {"started", time(job.has_start_time(), job.start_time())},
      {"finished", time(job.has_finish_time(), job.finish_time())},
      {"duration", duration(job.has_duration(), job.duration())},
      {"estimated_finish", time(job.has_estimated_finish_time(), job.estimated_finish_time())},
      {"expires", time(job.has_expire_time(), job.expire_time())},
      {"timeout", duration(job.has_timeout(), job.timeout())},
      {"ttl", duration(job.has_ttl(), job.ttl())},
      {"sequence", absl::StrCat(job.sequence())},
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : fields) rows.push_back({absl::StrCat(key, ":"), value});
  return FormatTable(rows);
}

std::string FormatJobTable(const google::protobuf::RepeatedPtrField<v1::Job>& jobs,
                           absl::Time now) {
  std::vector<Row> rows = {{"ID", "TYPE", "STATE", "PROGRESS", "AGE", "DURATION"}};
  for (const v1::Job& job : jobs) {
    rows.push_back(
        {job.id(), job.type(), StateName(job.state()), absl::StrCat(job.progress_percent(), "%"),
         job.has_create_time() ? FormatCompact(now - FromProto(job.create_time())) : kUnset,
         job.has_duration() ? FormatCompact(FromProto(job.duration())) : kUnset});
  }
  return FormatTable(rows);
}

absl::StatusOr<std::string> FormatJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return absl::InternalError(status.message().as_string());
  return json;
}

absl::StatusOr<std::string> FormatJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = FormatJsonLine(message);
  if (!json.ok()) return json.status();
  // Protobuf indents by one space; re-indent by two, keeping the field order.
  return nlohmann::ordered_json::parse(*json).dump(2);
}

}  // namespace jobd::jobctl
