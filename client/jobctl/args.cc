#include "client/jobctl/args.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace jobd::jobctl {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", problem));
}

constexpr absl::string_view kDurationHelp = "use e.g. 30s, 5m, 2h or 1h30m";

// Nothing when `text` is not RFC 3339 at all; else the time, or an error when it is outside
// years 1 to 9999.
std::optional<absl::StatusOr<absl::Time>> TryRfc3339(absl::string_view flag,
                                                     absl::string_view text) {
  absl::Time t;
  std::string ignored;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &ignored)) return std::nullopt;
  // absl also reads "infinite-future"; a protobuf Timestamp holds years 1 to 9999 only.
  static const absl::Time kFirst = absl::FromCivil(absl::CivilSecond(1, 1, 1), absl::UTCTimeZone());
  static const absl::Time kLast =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1), absl::UTCTimeZone());
  if (t < kFirst || t >= kLast) {
    return FlagError(flag, absl::StrCat("'", text, "' is outside years 1 to 9999"));
  }
  return t;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view flag, absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration()) {
    return FlagError(flag, absl::StrCat("'", text, "' is not a duration (", kDurationHelp, ")"));
  }
  if (d <= absl::ZeroDuration()) return FlagError(flag, "must be positive");
  return d;
}

absl::StatusOr<absl::Duration> ParseNonNegativeDuration(absl::string_view flag,
                                                        absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration() ||
      d == -absl::InfiniteDuration()) {
    return FlagError(flag, absl::StrCat("'", text, "' is not a duration (", kDurationHelp, ")"));
  }
  if (d < absl::ZeroDuration()) return FlagError(flag, "must not be negative");
  return d;
}

absl::StatusOr<absl::Duration> ParseSecondsOrDuration(absl::string_view flag,
                                                      absl::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds)) return ParseDuration(flag, text);
  if (!(seconds > 0) || seconds > 1e9)
    return FlagError(flag, "must be a positive number of seconds");
  return absl::Seconds(seconds);
}

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view flag, absl::string_view text) {
  std::optional<absl::StatusOr<absl::Time>> t = TryRfc3339(flag, text);
  if (t) return *t;
  return FlagError(
      flag, absl::StrCat("'", text, "' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)"));
}

absl::Status ParseRfc3339(absl::string_view flag, absl::string_view text,
                          google::protobuf::Timestamp* out) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(flag, text);
  if (!t.ok()) return t.status();
  ToProto(*t, out);
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ParseTimeOrDelay(absl::string_view flag, absl::string_view text,
                                            absl::Time now) {
  if (std::optional<absl::StatusOr<absl::Time>> t = TryRfc3339(flag, text)) return *t;
  absl::Duration d;
  // A delay may be zero or negative ("now", "a minute ago"): the server then queues the job.
  if (absl::ParseDuration(text, &d) && d != absl::InfiniteDuration() &&
      d != -absl::InfiniteDuration()) {
    return now + d;
  }
  return FlagError(flag, absl::StrCat("'", text,
                                      "' is neither an RFC 3339 time (2024-05-01T10:00:00Z) "
                                      "nor a duration from now (",
                                      kDurationHelp, ")"));
}

absl::StatusOr<v1::JobState> ParseState(absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(name, "JOB_STATE_")) name = absl::StrCat("JOB_STATE_", name);
  v1::JobState state;
  if (!v1::JobState_Parse(name, &state) || state == v1::JOB_STATE_UNSPECIFIED) {
    return FlagError("--state",
                     absl::StrCat("unknown state '", text,
                                  "' (use scheduled, queued, running, paused, succeeded, failed "
                                  "or cancelled)"));
  }
  return state;
}

absl::Status ParseStates(const std::vector<std::string>& names,
                         google::protobuf::RepeatedField<int>* states) {
  for (const std::string& name : names) {
    absl::StatusOr<v1::JobState> state = ParseState(name);
    if (!state.ok()) return state.status();
    states->Add(*state);
  }
  return absl::OkStatus();
}

absl::Status ParseLabels(absl::string_view flag, const std::vector<std::string>& pairs,
                         google::protobuf::Map<std::string, std::string>* labels) {
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return FlagError(flag, absl::StrCat("'", pair, "' is not key=value"));
    }
    (*labels)[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return absl::OkStatus();
}

absl::Status ParsePayload(absl::string_view flag, const std::string& json,
                          google::protobuf::Struct* payload) {
  // nlohmann first: its errors say where the JSON breaks, protobuf's only that it does.
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers out of range
    return FlagError(flag, absl::StrCat("not valid JSON: ", e.what()));
  }
  if (!parsed.is_object()) {
    return FlagError(flag, R"(must be a JSON object, e.g. '{"rows": 10}')");
  }
  google::protobuf::util::Status status =
      google::protobuf::util::JsonStringToMessage(json, payload);
  if (!status.ok()) return FlagError(flag, status.message().as_string());
  return absl::OkStatus();
}

std::string FindApiKeyFile(const std::string& start_dir) {
  for (std::filesystem::path dir = start_dir; !dir.empty(); dir = dir.parent_path()) {
    const std::filesystem::path candidate = dir / ".jobd" / "admin.key";
    struct stat info;
    // Someone else's file (e.g. planted in /tmp) is not our key.
    if (::stat(candidate.c_str(), &info) == 0 && info.st_uid == ::getuid() &&
        ::access(candidate.c_str(), R_OK) == 0) {
      return candidate.string();
    }
    if (dir == dir.parent_path()) break;  // the root
  }
  return "";
}

absl::StatusOr<std::string> ReadApiKeyFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  }
  absl::string_view key = absl::StripAsciiWhitespace(line);
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is empty"));
  return std::string(key);
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  // ToUnixSeconds rounds toward the past, so nanos is never negative as Timestamp requires.
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace jobd::jobctl
