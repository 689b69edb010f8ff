// The flags that bound what one caller or connection may hold (README "Limits").
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "server/config.h"

ABSL_FLAG(int64_t, max_streams_per_key, 100,
          "watch streams (WatchJob, WatchJobs; gRPC and HTTP) one API key may have open on "
          "this jobd; 0 = no limit");
ABSL_FLAG(int64_t, max_long_polls_per_key, 100,
          "AcquireJobs calls with a wait one API key may have in progress on this jobd; 0 = no "
          "limit");
ABSL_FLAG(int64_t, watch_max_jobs, 10000,
          "unfinished jobs one WatchJobs stream remembers (those it has shown); beyond, the "
          "stream ends RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, list_page_max_body_bytes, 1024 * 1024,
          "a ListJobs page ends early, with a token, before its payloads and results pass this "
          "many bytes (its first job always goes out)");
ABSL_FLAG(int32_t, grpc_max_concurrent_streams, 100,
          "gRPC calls in flight on one connection; more wait for a free slot");
ABSL_FLAG(int64_t, grpc_max_memory_bytes, int64_t{1} << 30,
          "memory gRPC may use for connections and messages (its resource quota)");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Minutes(1),
          "jobd pings a gRPC connection idle this long, and closes it if no answer comes within "
          "--keepalive_timeout");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20), "see --keepalive_time");
ABSL_FLAG(absl::Duration, min_client_ping_interval, absl::Seconds(10),
          "a client pinging more often than this is sent GOAWAY (gRPC keepalive policy)");
ABSL_FLAG(int32_t, max_progress_events_per_attempt, 10000,
          "progress events one attempt keeps as they come; past it, each replaces the previous "
          "one past the limit (when nothing came between) and counts what it folds");
ABSL_FLAG(int32_t, max_messages_per_job, 10000,
          "MESSAGE events one job keeps; past it, one warning says so and later ones are dropped");
ABSL_FLAG(int64_t, http_max_connections, 4096,
          "open HTTP connections; beyond, new ones are closed at once");

namespace jobd {

absl::Status ReadBounds(BoundsConfig* bounds, core::Limits* limits) {
  const int64_t streams = absl::GetFlag(FLAGS_max_streams_per_key);
  const int64_t long_polls = absl::GetFlag(FLAGS_max_long_polls_per_key);
  const int64_t watch_jobs = absl::GetFlag(FLAGS_watch_max_jobs);
  const int64_t page_bytes = absl::GetFlag(FLAGS_list_page_max_body_bytes);
  const int64_t http_connections = absl::GetFlag(FLAGS_http_max_connections);
  for (auto [name, value] : {std::pair<const char*, int64_t>{"max_streams_per_key", streams},
                             {"max_long_polls_per_key", long_polls}}) {
    if (value < 0 || value > 1000000) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be between 0 and 1000000"));
    }
  }
  if (watch_jobs < 1 || watch_jobs > 10000000) {
    return absl::InvalidArgumentError("watch_max_jobs: must be between 1 and 10000000");
  }
  if (page_bytes < 1 || page_bytes > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError("list_page_max_body_bytes: must be between 1 and 1 GiB");
  }
  if (http_connections < 1 || http_connections > 1000000) {
    return absl::InvalidArgumentError("http_max_connections: must be between 1 and 1000000");
  }
  bounds->max_streams_per_key = static_cast<size_t>(streams);
  limits->max_long_polls_per_key = static_cast<size_t>(long_polls);
  bounds->watch_max_jobs = static_cast<size_t>(watch_jobs);
  limits->max_list_page_body_bytes = page_bytes;
  bounds->http_max_connections = static_cast<size_t>(http_connections);
  bounds->grpc_max_concurrent_streams = absl::GetFlag(FLAGS_grpc_max_concurrent_streams);
  if (bounds->grpc_max_concurrent_streams < 1) {
    return absl::InvalidArgumentError("grpc_max_concurrent_streams: must be at least 1");
  }
  bounds->grpc_max_memory_bytes = absl::GetFlag(FLAGS_grpc_max_memory_bytes);
  if (bounds->grpc_max_memory_bytes < (int64_t{16} << 20)) {
    return absl::InvalidArgumentError("grpc_max_memory_bytes: must be at least 16 MiB");
  }
  limits->max_progress_events_per_attempt = absl::GetFlag(FLAGS_max_progress_events_per_attempt);
  limits->max_messages_per_job = absl::GetFlag(FLAGS_max_messages_per_job);
  if (limits->max_progress_events_per_attempt < 1 || limits->max_messages_per_job < 1) {
    return absl::InvalidArgumentError(
        "max_progress_events_per_attempt and max_messages_per_job: must be at least 1");
  }
  bounds->keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  bounds->keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  bounds->min_client_ping_interval = absl::GetFlag(FLAGS_min_client_ping_interval);
  for (auto [name, value] :
       {std::pair<const char*, absl::Duration>{"keepalive_time", bounds->keepalive_time},
        {"keepalive_timeout", bounds->keepalive_timeout},
        {"min_client_ping_interval", bounds->min_client_ping_interval}}) {
    if (value < absl::Milliseconds(100) || value > absl::Hours(24)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be between 100ms and 24h"));
    }
  }
  return absl::OkStatus();
}

}  // namespace jobd
