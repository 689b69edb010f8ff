// How `jobctl watch`, `jobctl events` and the waiting of `jobctl run` / `create --wait` show a
// job's events. The stream loop that follows the job (reconnecting, nothing twice, nothing
// missed) is the client library's (client/resumable_watch.h); this file is the rendering:
//   - pure functions of an event (or job) and "now" that make the plain line, the message
//     line, the progress bar and the JSON line;
//   - WatchPrinter: what goes to the terminal, and the choice of display;
//   - the exit codes of a watched job.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "jobd/v1/job.pb.h"

namespace jobd::jobctl {

// Exit codes of `watch`, `run` and `create --wait` once the job ended.
constexpr int kExitJobSucceeded = 0;
constexpr int kExitJobNotSucceeded = 1;  // FAILED or CANCELLED

// ---- rendering (pure) ----------------------------------------------------------------------

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

}  // namespace jobd::jobctl
