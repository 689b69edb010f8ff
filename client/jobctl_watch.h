// `jobctl watch`, `jobctl events` and the waiting of `jobctl run` / `create --wait`.
//
// Three layers, so that each can be tested alone:
//   - rendering: pure functions of an event (or job) and "now" that make the plain line, the
//     message line, the progress bar and the JSON line;
//   - WatchJobEvents: the stream loop over an abstract EventStream, which reconnects with
//     after_sequence = the last sequence shown, drops what it already showed and warns about
//     gaps (a server bug), so the caller sees every event once, in order;
//   - WatchPrinter and the gRPC glue: what goes to the terminal, and the real stream.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/jobctl_output.h"  // FormatJsonLine, for --output json
#include "client/jobd_client.h"
#include "jobd/v1/job.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"

namespace jobd::jobctl {

// Exit codes of `watch`, `run` and `create --wait` once the job ended.
constexpr int kExitJobSucceeded = 0;
constexpr int kExitJobNotSucceeded = 1;  // FAILED or CANCELLED

// ---- rendering (pure) ----------------------------------------------------------------------

bool IsTerminal(v1::JobState state);

// SUCCEEDED -> 0; FAILED, CANCELLED (and anything else) -> 1.
int ExitCodeForFinalState(v1::JobState state);

// 40 -> "40", 42.5 -> "42.5", 33.333 -> "33.3"; clamped to 0..100, and below 100 never
// rounds up to "100".
std::string FormatPercent(float percent);

// 12s, 4m05s, 2h03m (also beyond a day: 26h00m). Floors; negative counts as zero.
std::string FormatElapsed(absl::Duration d);

// MESSAGE_LEVEL_WARNING -> WARNING.
std::string LevelName(v1::MessageLevel level);

// One line per event, for pipes and logs and `jobctl events`:
//   #5 RUNNING 40% "copying" attempt 2 elapsed 1m05s eta 30s
//   #6 WARNING "disk almost full"
//   #9 FAILED 50% "half" elapsed 3s error "exit code 4"
//   #4 RUNNING 40% "copying" elapsed 12s (snapshot)
// attempt shows from 2 on; elapsed runs from start_time (else create_time) to finish_time
// (else the event's time); eta is estimated_finish_time minus the event's time; error shows
// while the job is SCHEDULED (backing off), FAILED or CANCELLED. Texts are quoted with
// control characters, quotes and backslashes escaped, so that an event is always one line.
// `now` stands in for an event without a time.
std::string FormatEventLine(const v1::JobEvent& event, absl::Time now);

// A message as the terminal shows it above the bar: `WARNING disk almost full` (control
// characters escaped).
std::string FormatMessageLine(const v1::JobMessage& message);

// The live bar, at most width - 1 columns (the last column would make a terminal wrap):
//   RUNNING [########............]  40% copying  elapsed 1m05s  eta 30s
// The progress message is cut (ending in "...") before elapsed and eta are.
std::string FormatBar(const v1::Job& job, absl::Time now, int width);

// ---- ordering ------------------------------------------------------------------------------

// Decides for each received event whether it is shown. An event at or below the last shown
// sequence was shown already (a resumed stream may repeat); one that is not last + 1 means
// the server skipped events, except for a SNAPSHOT, which legitimately jumps (the first event
// of a watch, or after retention deleted what we missed).
class EventSequencer {
 public:
  enum class Verdict { kNext, kDuplicate, kGap };

  // `after`: the sequence the watch starts after, if any.
  explicit EventSequencer(std::optional<int64_t> after = std::nullopt) : last_(after) {}

  // Records a shown event (kNext, kGap) as the last one.
  Verdict Accept(const v1::JobEvent& event);

  std::optional<int64_t> last() const { return last_; }

 private:
  std::optional<int64_t> last_;
};

// ---- the stream loop -----------------------------------------------------------------------

// One WatchJob call: its events, then its status. Finish is called once, after Read returned
// false.
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
  // Whether a first call that fails before any event is retried too. `jobctl watch` fails at
  // once (a wrong address or a down server should say so, like every other command); `run`
  // retries, since its job was created and goes on without us.
  bool reconnect_before_first_event = false;
};

struct WatchHooks {
  std::function<void(const v1::JobEvent&)> on_event;   // each shown event, in order
  std::function<void(const std::string&)> on_warning;  // gaps, lost connections
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
};

struct WatchOutcome {
  // OK once the stream ended after the job's terminal event; else why the watch stopped.
  absl::Status status;
  // The state of the last shown event that carried the job.
  v1::JobState final_state = v1::JOB_STATE_UNSPECIFIED;
  std::optional<int64_t> last_sequence;
};

// A stream that ends with an error or ends early is retried when the error says "the
// connection went away" (UNAVAILABLE; CANCELLED, INTERNAL, UNKNOWN that we did not cause).
bool IsReconnectable(absl::StatusCode code);

WatchOutcome WatchJobEvents(const StreamOpener& open, const WatchOptions& options,
                            const WatchHooks& hooks);

// ---- output --------------------------------------------------------------------------------

enum class WatchDisplay {
  kBar,    // a terminal: the bar redrawn in place, messages above it
  kLines,  // FormatEventLine per event
  kJson,   // FormatJsonLine of the JobEvent per event
  kNone,   // nothing (run --output json: stdout is for the final job only)
};

// Writes what a watch shows to `out`; warnings go to stderr. In bar mode a ticker redraws the
// bar every second, so elapsed and eta move between events. Thread-safe.
class WatchPrinter {
 public:
  WatchPrinter(WatchDisplay display, FILE* out);
  ~WatchPrinter();  // Finish()
  WatchPrinter(const WatchPrinter&) = delete;
  WatchPrinter& operator=(const WatchPrinter&) = delete;

  void Event(const v1::JobEvent& event) ABSL_LOCKS_EXCLUDED(mu_);
  void Warning(absl::string_view text) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the bar's line and stops the ticker. Idempotent.
  void Finish() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void DrawBarLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearBarLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Tick() ABSL_LOCKS_EXCLUDED(mu_);

  const WatchDisplay display_;
  FILE* const out_;
  absl::Mutex mu_;
  std::optional<v1::Job> job_ ABSL_GUARDED_BY(mu_);  // the bar's job: the latest one seen
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

// The display for `out` given --output: JSON, or a bar on a terminal, else lines.
WatchDisplay DisplayFor(FILE* out, bool json);

// ---- gRPC ----------------------------------------------------------------------------------

// A channel for jobctl: like grpc::CreateChannel, but it tries to reconnect every 100 ms to
// 2 s (gRPC's default grows to 2 minutes), so that a watch resumes soon after jobd is back.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeJobctlChannel(
    const client::ClientOptions& options);

// Opens real WatchJob streams, with no deadline (a watch may last hours) and the API key.
StreamOpener GrpcStreamOpener(std::shared_ptr<grpc::ChannelInterface> channel, std::string api_key);

// Every page of ListJobEvents, oldest first, each event handed to on_event as its page comes.
// Each call has `timeout` as its deadline.
absl::Status ListAllJobEvents(std::shared_ptr<grpc::ChannelInterface> channel,
                              const std::string& api_key, absl::Duration timeout,
                              const std::string& job_id, int page_size,
                              const std::function<void(const v1::JobEvent&)>& on_event);

}  // namespace jobd::jobctl
