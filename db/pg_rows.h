// Conversions between PostgreSQL rows/parameters and domain types. Private to db/.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/result>
#include <pqxx/row>

#include "absl/time/time.h"
#include "db/model/job.h"

namespace jobd::db {

// The largest UUID: the upper bound of a keyset page that starts at the beginning.
inline constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

// libpqxx 6 sends a null `const char*` parameter as NULL.
inline const char* NullIfEmpty(const std::string& value) {
  return value.empty() ? nullptr : value.c_str();
}

// timestamptz text for a parameter: "2026-11-22T06:00:00.123456+00:00".
std::string FormatTimestamp(absl::Time time);
// Parses timestamptz output of a UTC session ("2026-11-22 06:00:00.123456+00").
absl::Time ParseTimestamp(const char* text);

std::string LabelsToJson(const std::map<std::string, std::string>& labels);
// PostgreSQL array literal of states: {queued,running}.
std::string StatesToArray(const std::vector<JobState>& states);
// PostgreSQL array literal of strings, quoted: {"a","b"}.
std::string TextArray(const std::vector<std::string>& values);

// Column positions of `jobs`, found once per result.
class JobColumns {
 public:
  explicit JobColumns(const pqxx::result& result);
  Job Read(const pqxx::row& row) const;

 private:
  pqxx::row::size_type id_, workspace_id_, type_, state_, priority_, payload_, result_,
      error_message_, requested_by_, attempt_, last_attempt_, max_attempts_, initial_backoff_us_,
      max_backoff_us_, backoff_multiplier_, timeout_us_, ttl_us_, labels_, idempotency_key_,
      request_fingerprint_, progress_percent_, progress_message_, worker_id_, lease_token_,
      lease_expire_time_, lease_duration_us_, attempt_deadline_, create_time_, update_time_,
      start_time_, finish_time_, run_after_, expire_time_, sequence_;
  // The history counters, which lists leave out: -1 when the result has none.
  int attempt_progress_events_ = -1, message_count_ = -1, fold_sequence_ = -1, fold_count_ = -1;
  int checkpoint_ = -1;  // lists leave it out
};

std::vector<Job> ReadJobs(const pqxx::result& result);
JobEvent ReadEvent(const pqxx::row& row);

}  // namespace jobd::db
