// A refusal that knows when a retry may succeed (a rate limit) carries that wait in the
// status, so that any transport can tell its client (HTTP: the Retry-After header).
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace jobd::core {

inline constexpr char kRetryAfterPayload[] = "jobd/retry-after-ms";

inline absl::Status WithRetryAfter(absl::Status status, absl::Duration wait) {
  status.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(absl::ToInt64Milliseconds(
                                            absl::Ceil(wait, absl::Milliseconds(1))))));
  return status;
}

inline std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryAfterPayload);  // absl::optional
  int64_t ms = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &ms) || ms < 0) return std::nullopt;
  return absl::Milliseconds(ms);
}

}  // namespace jobd::core
