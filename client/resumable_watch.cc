#include "client/resumable_watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jobd::client {

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

// ---- ordering ------------------------------------------------------------------------------

EventSequencer::Verdict EventSequencer::Accept(const v1::JobEvent& event) {
  const int64_t sequence = event.sequence();
  if (last_ && sequence <= *last_) return Verdict::kDuplicate;
  // A progress event that folded the ones before it (bounded history) follows on too.
  const bool in_order = !last_ || sequence == *last_ + 1 ||
                        sequence - event.folded_progress_events() <= *last_ + 1 ||
                        event.kind() == v1::JOB_EVENT_KIND_SNAPSHOT;
  last_ = sequence;
  return in_order ? Verdict::kNext : Verdict::kGap;
}

// ---- the stream loop -----------------------------------------------------------------------

bool IsReconnectable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kCancelled ||
         code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown;
}

namespace {

void Warn(const WatchHooks& hooks, const std::string& text) {
  if (hooks.on_warning) hooks.on_warning(text);
}

// Reads one stream to its end, handing on what is new. Returns the stream's status and
// whether it brought anything new.
struct AttemptResult {
  absl::Status status;
  bool got_events = false;  // any event, even a repeated one: the server was reached
  bool got_new = false;
};

AttemptResult ReadStream(EventStream& stream, EventSequencer& sequencer, WatchOutcome& outcome,
                         const WatchHooks& hooks) {
  AttemptResult result;
  v1::JobEvent event;
  while (stream.Read(&event)) {
    result.got_events = true;
    const std::optional<int64_t> before = sequencer.last();
    switch (sequencer.Accept(event)) {
      case EventSequencer::Verdict::kDuplicate:
        // Not handed on again; but when nothing told us the job's state yet (a watch that
        // started after the job's last event), this is how the job stands.
        if (outcome.final_state == v1::JOB_STATE_UNSPECIFIED && event.has_job()) {
          outcome.final_state = event.job().state();
        }
        continue;
      case EventSequencer::Verdict::kGap:
        Warn(hooks, absl::StrCat("warning: event #", event.sequence(), " came after #", *before,
                                 ": the server skipped #", *before + 1,
                                 event.sequence() - 1 > *before + 1
                                     ? absl::StrCat("..#", event.sequence() - 1)
                                     : ""));
        break;
      case EventSequencer::Verdict::kNext:
        break;
    }
    result.got_new = true;
    outcome.last_sequence = event.sequence();
    if (event.has_job()) outcome.final_state = event.job().state();
    if (hooks.on_event) hooks.on_event(event);
  }
  result.status = stream.Finish();
  return result;
}

}  // namespace

WatchOutcome WatchJobEvents(const StreamOpener& open, const WatchOptions& options,
                            const WatchHooks& hooks) {
  EventSequencer sequencer(options.after_sequence);
  WatchOutcome outcome;
  bool reached = false;  // some stream delivered an event
  bool asked_for_snapshot = false;
  std::optional<absl::Time> failing_since;  // first failure since the last new event
  absl::Duration backoff = options.initial_backoff;
  for (;;) {
    v1::WatchJobRequest request;
    request.set_id(options.job_id);
    const bool snapshot = asked_for_snapshot && !outcome.last_sequence;
    if (sequencer.last() && !snapshot) request.set_after_sequence(*sequencer.last());
    std::unique_ptr<EventStream> stream = open(request);
    AttemptResult attempt = ReadStream(*stream, sequencer, outcome, hooks);
    reached = reached || attempt.got_events;

    absl::Status status = attempt.status;
    if (status.ok() && IsTerminal(outcome.final_state)) return outcome;
    // after_sequence was the finished job's last event: the server rightly sent nothing, so
    // ask for its SNAPSHOT (a repeat, not handed on) to learn how it ended.
    if (status.ok() && outcome.final_state == v1::JOB_STATE_UNSPECIFIED && !asked_for_snapshot) {
      asked_for_snapshot = true;
      continue;
    }
    // The server ends a stream with OK only after the terminal event; an early end is a
    // dropped stream as far as we can tell, and resuming costs nothing.
    if (status.ok()) status = absl::UnavailableError("the stream ended before the job did");
    if (!IsReconnectable(status.code()) || (!reached && !options.reconnect_before_first_event)) {
      outcome.status = status;
      return outcome;
    }

    if (attempt.got_new) {
      failing_since.reset();
      backoff = options.initial_backoff;
    }
    const absl::Time now = hooks.now();
    if (!failing_since) {
      failing_since = now;
      Warn(hooks, absl::StrCat("connection lost (", absl::StatusCodeToString(status.code()), ": ",
                               status.message(), "); reconnecting",
                               sequencer.last() ? absl::StrCat(" after #", *sequencer.last())
                                                : std::string()));
    } else if (now - *failing_since >= options.reconnect_timeout) {
      outcome.status =
          absl::Status(status.code(), absl::StrCat("gave up reconnecting after ",
                                                   absl::FormatDuration(options.reconnect_timeout),
                                                   ": ", status.message()));
      return outcome;
    }
    hooks.sleep(backoff);
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

}  // namespace jobd::client
