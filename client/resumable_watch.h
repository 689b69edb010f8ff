// The resumable, gap-free watch of one job: a loop over WatchJob streams that reconnects with
// after_sequence = the last event it handed on, drops what it handed on already and warns
// about gaps (a server bug), so that the caller sees every event once, in order, across
// dropped connections and jobd restarts. The loop runs over an abstract EventStream, so that
// tests can script streams; JobdClient::WatchJobResumable runs it over real WatchJob calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "jobd/v1/job.pb.h"
#include "jobd/v1/job_service.pb.h"

namespace jobd::client {

// SUCCEEDED, FAILED and CANCELLED: the job will not change again (short of a retry).
bool IsTerminal(v1::JobState state);

// Decides for each received event whether it is handed on. An event at or below the last
// handed-on sequence was seen already (a resumed stream may repeat); one that is not last + 1
// means the server skipped events, except for a SNAPSHOT, which legitimately jumps (the first
// event of a watch, or after retention deleted what we missed).
class EventSequencer {
 public:
  enum class Verdict { kNext, kDuplicate, kGap };

  // `after`: the sequence the watch starts after, if any.
  explicit EventSequencer(std::optional<int64_t> after = std::nullopt) : last_(after) {}

  // Records a handed-on event (kNext, kGap) as the last one.
  Verdict Accept(const v1::JobEvent& event);

  std::optional<int64_t> last() const { return last_; }

 private:
  std::optional<int64_t> last_;
};

// One WatchJob call: its events, then its status. Finish is called once, after Read returned
// false. Destroying a stream before its end cancels the call.
class EventStream {
 public:
  virtual ~EventStream() = default;
  virtual bool Read(v1::JobEvent* event) = 0;
  virtual absl::Status Finish() = 0;
};

using StreamOpener = std::function<std::unique_ptr<EventStream>(const v1::WatchJobRequest&)>;

struct WatchOptions {
  std::string job_id;
  // Unset: start with a SNAPSHOT of the job now.
  std::optional<int64_t> after_sequence;
  // How long reconnect attempts may fail in a row (counted from the first failure since the
  // last new event) before the watch gives up with the last error.
  absl::Duration reconnect_timeout = absl::Seconds(60);
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // Whether a first call that fails before any event is retried too. A watch started by hand
  // should fail at once (a wrong address or a down server should say so, like any other
  // call); one that follows a job it just created retries, since the job goes on without us.
  bool reconnect_before_first_event = false;
};

struct WatchHooks {
  std::function<void(const v1::JobEvent&)> on_event;   // each new event, in order
  std::function<void(const std::string&)> on_warning;  // gaps, lost connections
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
};

struct WatchOutcome {
  // OK once the stream ended after the job's terminal event; else why the watch stopped.
  absl::Status status;
  // The state of the last handed-on event that carried the job.
  v1::JobState final_state = v1::JOB_STATE_UNSPECIFIED;
  std::optional<int64_t> last_sequence;
};

// A stream that ends with an error or ends early is retried when the error says "the
// connection went away" (UNAVAILABLE; CANCELLED, INTERNAL, UNKNOWN that we did not cause).
bool IsReconnectable(absl::StatusCode code);

// Follows options.job_id until its terminal event, a non-reconnectable error, or
// options.reconnect_timeout of failed reconnects. Blocks; hooks run on the calling thread.
WatchOutcome WatchJobEvents(const StreamOpener& open, const WatchOptions& options,
                            const WatchHooks& hooks);

}  // namespace jobd::client
