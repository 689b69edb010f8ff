// jobctl's parsing of flag values (durations, times, states, labels, payload) into proto
// fields. Kept apart from main() so that each rule can be unit-tested; every error is
// INVALID_ARGUMENT with a message that names the flag.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/map.h>
#include <google/protobuf/repeated_field.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "jobd/v1/job.pb.h"

namespace jobd::jobctl {

// A positive Go-style duration: 30s, 5m, 2h, 1h30m, 1.5s.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view flag, absl::string_view text);

// A duration that may be zero (0s): an offset, a jitter, a window.
absl::StatusOr<absl::Duration> ParseNonNegativeDuration(absl::string_view flag,
                                                        absl::string_view text);

// A positive number of seconds (45, 2.5) or a duration (45s, 2m).
absl::StatusOr<absl::Duration> ParseSecondsOrDuration(absl::string_view flag,
                                                      absl::string_view text);

// An RFC 3339 time (2024-05-01T10:00:00Z) in years 1 to 9999 (what a Timestamp holds).
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view flag, absl::string_view text);
// The same into a proto field; `out` is left alone on error.
absl::Status ParseRfc3339(absl::string_view flag, absl::string_view text,
                          google::protobuf::Timestamp* out);

// An RFC 3339 time (2024-05-01T10:00:00Z), or a duration counted from `now`.
absl::StatusOr<absl::Time> ParseTimeOrDelay(absl::string_view flag, absl::string_view text,
                                            absl::Time now);

// `queued`, `QUEUED` or `JOB_STATE_QUEUED`, in any case.
absl::StatusOr<v1::JobState> ParseState(absl::string_view text);

// Each --state value (ParseState) appended to `states`, a proto's `repeated JobState`.
absl::Status ParseStates(const std::vector<std::string>& names,
                         google::protobuf::RepeatedField<int>* states);

// Each `key=value` (split at the first '='; the key must not be empty) into `labels`.
absl::Status ParseLabels(absl::string_view flag, const std::vector<std::string>& pairs,
                         google::protobuf::Map<std::string, std::string>* labels);

// A JSON object into a Struct; anything else (bad JSON, an array, a number) is an error.
absl::Status ParsePayload(absl::string_view flag, const std::string& json,
                          google::protobuf::Struct* payload);

// Where the run command keeps its admin key: the first `.jobd/admin.key` found in `start_dir`
// or a directory above it that belongs to this user; empty when there is none.
std::string FindApiKeyFile(const std::string& start_dir);
// The key in a key file: its first line without surrounding blanks. INVALID_ARGUMENT naming
// `flag` when the file cannot be read or is empty.
absl::StatusOr<std::string> ReadApiKeyFile(absl::string_view flag, const std::string& path);

void ToProto(absl::Duration d, google::protobuf::Duration* out);
void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Duration FromProto(const google::protobuf::Duration& d);
absl::Time FromProto(const google::protobuf::Timestamp& t);

}  // namespace jobd::jobctl
