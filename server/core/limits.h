// Input limits of the API (see shared/API.md "Errors and limits"); configurable per server.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace jobd::core {

struct Limits {
  size_t max_payload_bytes = 256 * 1024;
  size_t max_type_length = 128;
  size_t max_workspace_id_length = 64;
  size_t max_labels = 32;
  size_t max_label_key_length = 128;
  size_t max_label_value_length = 256;
  size_t max_idempotency_key_length = 256;
  size_t max_text_bytes = 4 * 1024;  // messages, cancel reasons
  int32_t default_page_size = 20;
  int32_t max_page_size = 500;
  // A ListJobs page ends early (with a token) before its payloads and results pass this;
  // the first job of a page always goes out.
  int64_t max_list_page_body_bytes = 1024 * 1024;
  size_t max_batch_create = 1000;  // CreateJobRequests per BatchCreateJobs
  int32_t max_attempts = 100;
  double max_backoff_multiplier = 10.0;
  absl::Duration max_backoff = absl::Hours(24);
  absl::Duration max_ttl = absl::Hours(24 * 365);
  absl::Duration max_timeout = absl::Hours(24 * 365);
  absl::Duration max_run_after_delay = absl::Hours(24 * 365);
  absl::Duration max_wait = absl::Seconds(60);  // AcquireJobs long poll
  size_t max_long_polls_per_key = 100;          // AcquireJobs calls waiting (0: no limit)
  // Bounded history: progress events of one attempt kept before they fold into the latest,
  // and MESSAGE events kept per job before one final notice.
  int32_t max_progress_events_per_attempt = 10000;
  int32_t max_messages_per_job = 10000;
};

}  // namespace jobd::core
