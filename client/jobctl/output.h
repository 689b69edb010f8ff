// jobctl's output: the readable "key: value" block of one job, the job table of `list`, the
// JSON form of any response, and the pieces other commands' displays share (tables, times,
// labels). Pure functions of the message and the current time.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/map.h>
#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jobd/v1/job.pb.h"

namespace jobd::jobctl {

// The largest whole unit: 850ms -> 0s, 5s, 3m, 2h, 4d. Negative counts as zero.
std::string FormatCompact(absl::Duration d);

// 2027-01-15T08:00:00Z (3m ago), 2027-01-15T08:10:00Z (in 7m).
std::string FormatTime(const google::protobuf::Timestamp& ts, absl::Time now);

// k1=v1, k2=v2 sorted by key (a proto map's order is unspecified; output should be stable);
// "-" when empty.
std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels);

// A Struct as compact JSON ("?" if it cannot be printed).
std::string FormatStruct(const google::protobuf::Struct& s);

// The text, or "-" when it is empty.
std::string OrUnset(const std::string& s);

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
using Row = std::vector<std::string>;
std::string FormatTable(const std::vector<Row>& rows);

// JOB_STATE_QUEUED -> QUEUED.
std::string StateName(v1::JobState state);

// One "key: value" line per field, aligned; unset times and empty values show "-".
std::string FormatJob(const v1::Job& job, absl::Time now);

// Columns ID, TYPE, STATE, PROGRESS, AGE, DURATION; the header even when there are no jobs.
std::string FormatJobTable(const google::protobuf::RepeatedPtrField<v1::Job>& jobs, absl::Time now);

// The message as indented JSON with proto field names (workspace_id) and every scalar field
// present, defaults included, so that scripts need not know proto3's omission rules.
absl::StatusOr<std::string> FormatJson(const google::protobuf::Message& message);

// The message as one line of JSON with proto field names and defaults printed, like
// FormatJson but unindented (jobctl watch: one event per line).
absl::StatusOr<std::string> FormatJsonLine(const google::protobuf::Message& message);

}  // namespace jobd::jobctl
